"""A local Zoho CRM (API v8) sandbox: HTTPS on loopback, the accounts server's token endpoint, records,
COQL, metadata, notes, attachments and Bulk Write, with enforcement, API credits and fault injection.
``crm-migration sandbox serve zoho --state-dir DIR`` runs it (see ``server.py``)."""


def admin_user(user: dict) -> dict:
    """A demo user (email, first_name, last_name, active) as this sandbox's admin API takes it."""
    return {"email": user["email"], "first_name": user["first_name"], "last_name": user["last_name"] or user["first_name"],
            "status": "active" if user["active"] else "disabled"}
