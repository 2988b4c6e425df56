"""OAuth 2.0 token endpoint (client credentials and username-password flows)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from urllib.parse import parse_qs
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse

if TYPE_CHECKING:
    from crm_migration.sandbox.salesforce.org import Org


def _oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


async def token(request: Request) -> JSONResponse:
    org: Org = request.app.state.org
    raw = (await request.body()).decode("utf-8", errors="replace")
    if request.method == "POST" and not raw and request.url.query:
        raw = request.url.query  # simple-salesforce style: parameters in the query string
    form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
    creds = org.credentials
    grant = form.get("grant_type")
    client_id = form.get("client_id") or ""
    client_secret = form.get("client_secret") or ""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("basic ") and not client_id:
        try:
            client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return _oauth_error("invalid_client", "invalid client credentials")
    if grant not in ("client_credentials", "password"):
        return _oauth_error("unsupported_grant_type", "grant type not supported")
    if not secrets.compare_digest(str(client_id), creds["client_id"]):
        return _oauth_error("invalid_client_id", "client identifier invalid")
    if not secrets.compare_digest(str(client_secret), creds["client_secret"]):
        return _oauth_error("invalid_client", "invalid client credentials")
    user_id = org.integration_user_id
    if grant == "password":
        username = str(form.get("username") or "")
        password = str(form.get("password") or "")
        user_obj = org.schema.get("User")
        found = org.store.lookup("User", user_obj.field("Username"), username)
        expected = creds["password"] + creds["security_token"]
        if not found or found[0] != org.integration_user_id or not secrets.compare_digest(password, expected):
            return _oauth_error("invalid_grant", "authentication failure")
        user_id = found[0]
    user = org.store.get(user_id)
    if user is None or not user.get("IsActive"):
        return _oauth_error("invalid_grant", "user is inactive")
    access = org.issue_token(user_id)
    base = str(request.base_url).rstrip("/")
    ident = f"{base}/id/{org.org_id}/{user_id}"
    issued = str(int(time.time() * 1000))
    sig = base64.b64encode(hmac.new(creds["client_secret"].encode(), (ident + issued).encode(),
                                    hashlib.sha256).digest()).decode()
    return JSONResponse({"access_token": access, "instance_url": base, "id": ident, "token_type": "Bearer",
                         "issued_at": issued, "signature": sig, "scope": "api"})
