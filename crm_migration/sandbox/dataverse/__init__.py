"""The local Dataverse (Dynamics 365 Sales) sandbox: Microsoft Entra ID's token endpoints and the
Dataverse Web API v9.2 over HTTPS on loopback, backed by ``state_dir``.

Modules: ``server`` (bind, server.json, uvicorn), ``app`` (routes and the gateway: faults, token,
service protection, stats), ``identity`` (OIDC discovery and the client-credentials token endpoint
msal uses), ``webapi`` (records, queries, metadata, ``$batch``), ``records`` (write rules and
representations), ``odata`` (keys, ``$select``, ``$filter``), ``metadata`` (tables, columns, option
sets, keys, customisations), ``org`` (state), ``store`` (SQLite-backed records with transactions),
``admin`` (``/__sandbox__``), ``faults``, ``errors``.

Start it with ``crm-migration sandbox serve dataverse --state-dir DIR`` or
``crm_migration.sandbox.start_sandbox("dataverse", DIR)``; the authority for msal is
``<url>/<tenant_id>`` and the environment URL is ``<url>``.
"""


def admin_user(user: dict) -> dict:
    """A demo user (email, first_name, last_name, active) as this sandbox's admin API takes it: a systemuser."""
    return {"internalemailaddress": user["email"], "firstname": user["first_name"],
            "lastname": user["last_name"] or user["first_name"], "isdisabled": not user["active"]}
