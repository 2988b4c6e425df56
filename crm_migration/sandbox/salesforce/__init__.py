"""The local Salesforce sandbox: REST, sObject Collections, SOQL, Bulk API 2.0, Tooling API and
files over HTTPS on loopback, backed by ``state_dir``.

Modules: ``server`` (bind, server.json, uvicorn), ``app`` (routes and the gateway: auth, API
limit, faults, stats), ``auth`` (OAuth token), ``rest`` (describe, CRUD, upsert, collections,
query), ``bulk`` (Bulk API 2.0), ``tooling`` (CustomField / CustomObject / StandardValueSet),
``admin`` (``/__sandbox__``), ``org`` (state), ``schema`` (objects and fields), ``store``
(SQLite-backed records), ``dml`` (validation and writes), ``behaviour`` and ``content``
(object-specific rules), ``soql``/``records`` (queries), ``values`` (types), ``errors``, ``ids``.
"""
