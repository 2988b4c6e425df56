"""The local Salesforce sandbox: REST, sObject Collections, SOQL, Bulk API 2.0, Tooling API and
files over HTTPS on loopback, backed by ``state_dir``.

Modules: ``server`` (bind, server.json, uvicorn), ``app`` (routes and the gateway: auth, API
limit, faults, stats), ``auth`` (OAuth token), ``rest`` (describe, CRUD, upsert, collections,
query), ``bulk`` (Bulk API 2.0), ``tooling`` (CustomField / CustomObject / StandardValueSet),
``admin`` (``/__sandbox__``), ``org`` (state), ``schema`` (objects and fields), ``store``
(SQLite-backed records), ``dml`` (validation and writes), ``behaviour``, ``content`` and ``notes``
(object-specific rules: relations, partner users, campaigns, files, attachments, ContentNote),
``soql``/``records`` (queries), ``values`` (types), ``errors``, ``ids``.
"""


def admin_user(user: dict) -> dict:
    """A demo user (email, first_name, last_name, active) as this sandbox's admin API takes it."""
    return {"Email": user["email"], "FirstName": user["first_name"], "LastName": user["last_name"] or user["first_name"],
            "IsActive": user["active"]}
