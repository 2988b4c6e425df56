"""The accounts server's OAuth 2.0 token endpoint (``POST /oauth/v2/token``).

Grants: ``refresh_token`` (what the SDK uses) and ``client_credentials`` (a self client's server-to-
server flow). Access tokens expire after ``access_token_ttl_seconds``. Like Zoho's, refusals are
answered with HTTP 200 and ``{"error": ...}`` (``invalid_client``, ``invalid_client_secret``,
``invalid_code``, ``unsupported_grant_type``); no answer ever echoes a secret.
"""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse


async def token(request: Request) -> JSONResponse:
    crm = request.app.state.crm
    raw = (await request.body()).decode("utf-8", errors="replace")
    form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
    form = {**{k: v for k, v in request.query_params.items()}, **form}
    creds = crm.credentials
    grant = form.get("grant_type")
    if grant not in ("refresh_token", "client_credentials"):
        return JSONResponse({"error": "unsupported_grant_type"})
    if not secrets.compare_digest(str(form.get("client_id") or ""), creds["client_id"]):
        return JSONResponse({"error": "invalid_client"})
    if not secrets.compare_digest(str(form.get("client_secret") or ""), creds["client_secret"]):
        return JSONResponse({"error": "invalid_client_secret"})
    if grant == "refresh_token" and not secrets.compare_digest(str(form.get("refresh_token") or ""), creds["refresh_token"]):
        return JSONResponse({"error": "invalid_code"})
    access, ttl = crm.issue_token(crm.admin_id)
    return JSONResponse({"access_token": access, "scope": "ZohoCRM.modules.ALL ZohoCRM.settings.ALL ZohoCRM.users.READ "
                         "ZohoCRM.org.READ ZohoCRM.bulk.ALL ZohoCRM.coql.READ ZohoFiles.files.ALL",
                         "api_domain": str(request.base_url).rstrip("/"), "token_type": "Bearer", "expires_in": ttl})
