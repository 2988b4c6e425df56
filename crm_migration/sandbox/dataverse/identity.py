"""The Microsoft Entra ID endpoints a confidential client (msal) uses, served by the sandbox itself so
that the authority is ``https://127.0.0.1:PORT/<tenant_id>``:

- ``GET /common/discovery/instance`` (instance discovery, used unless the client turns it off),
- ``GET /{tenant}/v2.0/.well-known/openid-configuration`` (tenant discovery),
- ``POST /{tenant}/oauth2/v2.0/token`` (client credentials; ``scope=<environment URL>/.default``),
- ``GET /{tenant}/discovery/v2.0/keys``.

Access tokens are JWTs (HS256 with a key kept in the store) with ``aud`` = the environment URL,
``appid``, ``oid`` (the application user), ``tid`` and ``exp`` (``token_ttl_seconds``). The Web API
accepts a token only for its own URL, unexpired and not revoked. Errors use Entra ID's shape
(``error``, ``error_description`` with an AADSTS code) and never echo a secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from urllib.parse import parse_qs, urlparse

from starlette.requests import Request
from starlette.responses import JSONResponse

from crm_migration.sandbox.dataverse.org import Org


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _aad_error(error: str, code: int, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": f"AADSTS{code}: {description}", "error_codes": [code],
                         "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
                         "trace_id": str(uuid.uuid4()), "correlation_id": str(uuid.uuid4())}, status_code=status)


def _unknown_tenant(tenant: str) -> JSONResponse:
    return _aad_error("invalid_tenant", 90002, f"Tenant '{tenant}' not found. Check to make sure you have the correct "
                                               "tenant ID and are signing into the correct cloud.")


async def instance_discovery(request: Request) -> JSONResponse:
    org: Org = request.app.state.org
    base = base_url(request)
    host = urlparse(base).netloc
    return JSONResponse({"tenant_discovery_endpoint": f"{base}/{org.credentials['tenant_id']}/v2.0/.well-known/openid-configuration",
                         "api-version": "1.1",
                         "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}]})


async def openid_configuration(request: Request) -> JSONResponse:
    org: Org = request.app.state.org
    tenant = request.path_params["tenant"]
    if tenant != org.credentials["tenant_id"]:
        return _unknown_tenant(tenant)
    root = f"{base_url(request)}/{tenant}"
    return JSONResponse({
        "token_endpoint": f"{root}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": f"{root}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{root}/v2.0",
        "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
        "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
        "request_uri_parameter_supported": False,
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
    })


async def keys(request: Request) -> JSONResponse:
    # Tokens are signed with a shared key (HS256): there is no public key to publish.
    return JSONResponse({"keys": []})


async def token(request: Request) -> JSONResponse:
    org: Org = request.app.state.org
    tenant = request.path_params["tenant"]
    if tenant != org.credentials["tenant_id"]:
        return _unknown_tenant(tenant)
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True).items()}
    client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("basic ") and not client_secret:
        try:
            client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return _aad_error("invalid_client", 7000216, "'client_assertion', 'client_secret' or 'request' is required "
                                                         "for the 'client_credentials' grant type.", 401)
    if form.get("grant_type") != "client_credentials":
        return _aad_error("unsupported_grant_type", 70003, "The app requested an unsupported grant type "
                                                           f"'{form.get('grant_type')}'.")
    if not secrets.compare_digest(client_id, org.credentials["client_id"]):
        return _aad_error("unauthorized_client", 700016, f"Application with identifier '{client_id}' was not found in "
                                                         f"the directory '{tenant}'.")
    if not client_secret:
        return _aad_error("invalid_client", 7000216, "'client_assertion', 'client_secret' or 'request' is required for "
                                                     "the 'client_credentials' grant type.", 401)
    if not secrets.compare_digest(client_secret, org.credentials["client_secret"]):
        return _aad_error("invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in "
                                                     f"the request is the client secret value, not the client secret "
                                                     f"ID, for a secret added to app '{client_id}'.", 401)
    scopes = form.get("scope", "").split()
    base = base_url(request)
    resource = scopes[0].removesuffix("/.default").rstrip("/") if len(scopes) == 1 and scopes[0].endswith("/.default") else None
    if resource is None:
        return _aad_error("invalid_scope", 1002012, f"The provided value for scope {form.get('scope')} is not valid. "
                                                    "Client credential flows must have a scope value with /.default "
                                                    "suffixed to the resource identifier (application ID URI).")
    if resource.lower() != base.lower():
        return _aad_error("invalid_resource", 500011, f"The resource principal named {resource} was not found in the "
                                                      f"tenant named {tenant}.")
    user = org.store.get("systemuser", org.ids["app_user"])
    if user is None or user.get("isdisabled"):
        return _aad_error("invalid_client", 7000112, f"Application '{client_id}' is disabled.", 401)
    ttl = int(org.config["token_ttl_seconds"])
    return JSONResponse({"token_type": "Bearer", "expires_in": ttl, "ext_expires_in": ttl,
                         "access_token": issue(org, base, ttl)})


def issue(org: Org, audience: str, ttl: int) -> str:
    now = int(time.time())
    header = {"typ": "JWT", "alg": "HS256"}
    claims = {"aud": audience, "iss": f"https://sts.windows.net/{org.credentials['tenant_id']}/", "iat": now,
              "nbf": now, "exp": now + ttl, "appid": org.credentials["client_id"], "oid": org.ids["app_user"],
              "sub": org.ids["app_user"], "tid": org.credentials["tenant_id"], "idtyp": "app", "ver": "1.0",
              "jti": str(uuid.uuid4())}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(org.signing_key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def claims_of(org: Org, token: str) -> dict | None:
    """The token's claims when it is well formed and signed by this sandbox; None otherwise."""
    try:
        head, body, sig = token.split(".")
        expected = hmac.new(org.signing_key.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(sig)):
            return None
        return json.loads(_unb64(body))
    except (ValueError, TypeError):
        return None


def check(org: Org, token: str, base: str) -> tuple[str | None, str]:
    """(user id, '') for a valid token; (None, why) otherwise."""
    claims = claims_of(org, token)
    if claims is None or str(claims.get("aud", "")).rstrip("/").lower() != base.lower():
        return None, "Error during token validation!"
    if claims.get("jti") in org.revoked:
        return None, "The access token has been revoked"
    if claims.get("exp", 0) <= time.time():
        return None, "The access token is expired"
    return claims.get("oid"), ""
