"""The ASGI application: routes plus the gateway every request passes first.

The gateway (outermost, pure ASGI) normalises trailing slashes, counts requests per route, injects
faults (``faults.py``), enforces the concurrency limit (429 TOO_MANY_REQUESTS), checks the
``Authorization: Zoho-oauthtoken <token>`` header on the API paths (401 INVALID_TOKEN) and spends one
API credit per call from the daily allowance (429 LIMIT_EXCEEDED beyond it; some endpoints charge
more, see ``api.spend``). The accounts server (``/oauth/v2/token``), the CRM API (``/crm/...``), the
file-upload server (``/crm/v8/upload``) and the Bulk Write download server (``/v2/crm/...``) share
one host here; the client is told their URLs separately, as with Zoho's real servers.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from crm_migration.sandbox.zoho import admin, api, auth, bulk, files
from crm_migration.sandbox.zoho.crm import Crm
from crm_migration.sandbox.zoho.errors import ApiError
from crm_migration.sandbox.zoho.faults import FaultConfig

API_PREFIXES = ("/crm/", "/v2/crm/")
V = "/crm/v8"


def routes() -> list[Route]:
    return [
        Route("/oauth/v2/token", auth.token, methods=["POST"]),
        Route("/__sandbox__/health", admin.health, methods=["GET"]),
        Route("/__sandbox__/stats", admin.stats, methods=["GET"]),
        Route("/__sandbox__/stats/reset", admin.stats_reset, methods=["POST"]),
        Route("/__sandbox__/faults", admin.faults, methods=["GET", "POST", "DELETE"]),
        Route("/__sandbox__/config", admin.config, methods=["GET", "POST"]),
        Route("/__sandbox__/users", admin.users, methods=["GET", "POST"]),
        Route("/__sandbox__/reset", admin.reset, methods=["POST"]),
        Route(V + "/upload", bulk.upload, methods=["POST"]),
        Route("/crm/bulk/v8/write", bulk.create_job, methods=["POST"]),
        Route("/crm/bulk/v8/write/{job_id}", bulk.job_details, methods=["GET"]),
        Route("/v2/crm/{zgid}/bulk-write/{job_id}/{name}", bulk.download, methods=["GET"]),
        Route(V + "/coql", api.coql, methods=["POST"]),
        Route(V + "/org", api.org, methods=["GET"]),
        Route(V + "/users", api.users, methods=["GET"]),
        Route(V + "/users/{user_id}", api.users, methods=["GET"]),
        Route(V + "/settings/modules", api.modules, methods=["GET"]),
        Route(V + "/settings/modules/{api_name}", api.modules, methods=["GET"]),
        Route(V + "/settings/fields", api.fields, methods=["GET", "POST", "PATCH"]),
        Route(V + "/settings/fields/{field_id}", api.field, methods=["GET", "PATCH"]),
        Route(V + "/{module}", api.records_root, methods=["GET", "POST", "PUT", "DELETE"]),
        Route(V + "/{module}/upsert", api.upsert, methods=["POST"]),
        Route(V + "/{module}/search", api.search, methods=["GET"]),
        Route(V + "/{module}/{rid}", api.record, methods=["GET", "PUT", "DELETE"]),
        Route(V + "/{module}/{rid}/Attachments", files.attachments, methods=["GET", "POST", "DELETE"]),
        Route(V + "/{module}/{rid}/Attachments/{att_id}", files.attachment, methods=["GET", "DELETE"]),
    ]


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> tuple[int, dict, dict]:
    return status, {"code": code, "details": {}, "message": message, "status": "error"}, headers or {}


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.payload(), status_code=exc.status, headers=exc.headers)


async def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(_error(404, "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one")[1],
                        status_code=404)


async def _method(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(_error(405, "INVALID_REQUEST_METHOD", "The http request method type is not a valid one")[1],
                        status_code=405)


async def _crash(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(_error(500, "INTERNAL_ERROR", f"sandbox error: {type(exc).__name__}: {exc}")[1], status_code=500)


def _json_bytes(payload: Any, headers: dict[str, str]) -> tuple[list, bytes]:
    body = json.dumps(payload).encode()
    hdrs = [(b"content-type", b"application/json;charset=UTF-8"), (b"content-length", str(len(body)).encode())]
    hdrs += [(k.lower().encode(), str(v).encode()) for k, v in headers.items()]
    return hdrs, body


class Gateway:
    def __init__(self, app: Starlette, crm: Crm) -> None:
        self.app = app
        self.crm = crm
        self.in_flight = 0

    async def _send(self, send, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        hdrs, body = _json_bytes(payload, headers or {})
        await send({"type": "http.response.start", "status": status, "headers": hdrs})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if len(path) > 1 and path.endswith("/"):
            scope["path"] = path = path.rstrip("/")
            scope["raw_path"] = path.encode()
        if not path.startswith(API_PREFIXES):
            await self.app(scope, receive, send)
            return
        crm, state, method = self.crm, self.app.state, scope["method"]
        self.in_flight += 1
        state.peak_concurrency = max(state.peak_concurrency, self.in_flight)
        try:
            await self._api(scope, receive, send, crm, state.faults, method, path)
        finally:
            self.in_flight -= 1

    async def _api(self, scope, receive, send, crm: Crm, faults: FaultConfig, method: str, path: str) -> None:
        if self.in_flight > int(crm.config["concurrency_limit"]):
            crm.stats.request(f"{method} <concurrency>")
            await self._send(send, 429, *_error(429, "TOO_MANY_REQUESTS", "concurrency limit exceeded",
                                                {"Retry-After": "1"})[1:])
            return
        if faults.slow_ms and faults.applies(path):
            await asyncio.sleep(faults.slow_ms / 1000)
        fault = faults.before(path)
        if fault is not None:
            crm.stats.fault(fault)
            crm.stats.request(f"{method} <fault:{fault}>")
            if fault == "drop":
                await self._drop(send)
                return
            if fault == "throttle":
                await self._send(send, 429, *_error(429, "TOO_MANY_REQUESTS", "too many requests continuously",
                                                    {"Retry-After": str(faults.retry_after)})[1:])
            elif fault == "error_5xx":
                if faults.pick_5xx() == 503:
                    await self._send(send, 503, *_error(503, "SERVICE_UNAVAILABLE", "the service is temporarily unavailable",
                                                        {"Retry-After": str(faults.retry_after)})[1:])
                else:
                    await self._send(send, 500, *_error(500, "INTERNAL_ERROR", "Internal Server Error")[1:])
            elif fault == "expire_session":
                if token := self._token(scope):
                    crm.revoke_token(token)
                await self._send(send, 401, *_error(401, "INVALID_TOKEN", "invalid oauth token")[1:])
            return
        token = self._token(scope)
        user = crm.check_token(token) if token else None
        if user is None:
            crm.stats.request(f"{method} <unauthorized>")
            if token:
                await self._send(send, 401, *_error(401, "INVALID_TOKEN", "invalid oauth token")[1:])
            else:
                await self._send(send, 401, *_error(401, "AUTHENTICATION_FAILURE", "Authentication failed")[1:])
            return
        scope["zoho_user"] = user
        allowed, used, limit = crm.charge(1)
        if not allowed:
            crm.stats.request(f"{method} <credits>")
            await self._send(send, 429, api.credit_limit(limit).payload())
            return
        after_commit = method in ("POST", "PUT", "PATCH", "DELETE") and faults.applies(path) \
            and faults.draw(faults.error_after_commit_rate)
        swallowed = {"started": False}

        async def wrapped_send(message) -> None:
            if message["type"] == "http.response.start" and after_commit and message["status"] < 300:
                swallowed["started"] = True
                crm.stats.fault("error_after_commit")
                await self._send(send, 500, *_error(500, "INTERNAL_ERROR", "Internal Server Error")[1:])
                return
            if message["type"] == "http.response.body" and swallowed["started"]:
                return
            await send(message)

        try:
            await self.app(scope, receive, wrapped_send)
        finally:
            endpoint = scope.get("endpoint")
            crm.stats.request(f"{method} {endpoint.__module__.rsplit('.', 1)[-1]}.{endpoint.__name__}"
                              if endpoint else f"{method} unmatched")

    @staticmethod
    def _token(scope) -> str | None:
        for k, v in scope.get("headers", []):
            if k == b"authorization":
                text = v.decode("latin-1")
                for prefix in ("zoho-oauthtoken ", "bearer "):
                    if text[:len(prefix)].lower() == prefix:
                        return text[len(prefix):].strip()
        return None

    async def _drop(self, send) -> None:
        """Close the connection with no response at all."""
        cycle = getattr(send, "__self__", None)
        transport = getattr(cycle, "transport", None)
        if transport is not None and hasattr(cycle, "disconnected"):
            cycle.disconnected = True
            cycle.keep_alive = False
            transport.abort() if hasattr(transport, "abort") else transport.close()
            return
        raise ConnectionAbortedError("fault injection: drop")


def create_app(state_dir) -> Gateway:
    crm = Crm(state_dir)
    app = Starlette(routes=routes(), exception_handlers={ApiError: _api_error, 404: _not_found, 405: _method,
                                                         Exception: _crash})
    app.router.redirect_slashes = False
    app.state.crm = crm
    app.state.faults = FaultConfig()
    app.state.peak_concurrency = 0
    app.state.bulk = bulk.BulkWorker(crm)
    return Gateway(app, crm)
