"""The ASGI application: routes plus the gateway that every request passes first.

The gateway (outermost, pure ASGI) normalises trailing slashes, counts requests per route,
injects faults (see ``faults.py``), checks the Bearer session on ``/services/data/vNN.N/...``,
counts the daily API allowance (403 REQUEST_LIMIT_EXCEEDED beyond it) and adds
``Sforce-Limit-Info: api-usage=N/MAX`` to every API answer.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from crm_migration.sandbox.salesforce import admin, auth, bulk, rest, tooling
from crm_migration.sandbox.salesforce.errors import ApiError
from crm_migration.sandbox.salesforce.faults import FaultConfig
from crm_migration.sandbox.salesforce.org import Org

API_RE = re.compile(r"^/services/data/v\d+\.\d+(/|$)")
ALL = ["GET", "POST", "PATCH", "PUT", "DELETE"]
D = "/services/data/{version}"


def routes() -> list[Route]:
    return [
        Route("/services/oauth2/token", auth.token, methods=["POST"]),
        Route("/__sandbox__/health", admin.health, methods=["GET"]),
        Route("/__sandbox__/stats", admin.stats, methods=["GET"]),
        Route("/__sandbox__/stats/reset", admin.stats_reset, methods=["POST"]),
        Route("/__sandbox__/faults", admin.faults, methods=["GET", "POST", "DELETE"]),
        Route("/__sandbox__/config", admin.config, methods=["GET", "POST"]),
        Route("/__sandbox__/users", admin.users, methods=["GET", "POST"]),
        Route("/__sandbox__/reset", admin.reset, methods=["POST"]),
        Route("/services/data", rest.versions, methods=["GET"]),
        Route(D, rest.resources, methods=["GET"]),
        Route(D + "/limits", rest.limits, methods=["GET"]),
        Route(D + "/sobjects", rest.describe_global, methods=["GET"]),
        Route(D + "/sobjects/{sobject}", rest.sobject_root, methods=["GET", "POST"]),
        Route(D + "/sobjects/{sobject}/describe", rest.describe, methods=["GET"]),
        Route(D + "/sobjects/{sobject}/{rid}", rest.sobject_record, methods=ALL),
        Route(D + "/sobjects/{sobject}/{a}/{b:path}", rest.sobject_sub, methods=ALL),
        Route(D + "/composite/sobjects", rest.collections, methods=["POST", "PATCH", "DELETE"]),
        Route(D + "/composite/sobjects/{sobject}", rest.collections_typed, methods=["GET"]),
        Route(D + "/composite/sobjects/{sobject}/{field}", rest.collections_upsert, methods=ALL),
        Route(D + "/query", rest.query, methods=["GET"]),
        Route(D + "/queryAll", rest.query, methods=["GET"]),
        Route(D + "/query/{locator}", rest.query_more, methods=["GET"]),
        Route(D + "/queryAll/{locator}", rest.query_more, methods=["GET"]),
        Route(D + "/tooling/query", tooling.tooling_query, methods=["GET"]),
        Route(D + "/tooling/sobjects/{type}", tooling.create, methods=["POST"]),
        Route(D + "/tooling/sobjects/{type}/{rid}", tooling.record, methods=["GET", "PATCH", "DELETE"]),
        Route(D + "/jobs/ingest", bulk.ingest_root, methods=["GET", "POST"]),
        Route(D + "/jobs/ingest/{job_id}", bulk.ingest_job, methods=["GET", "PATCH", "DELETE"]),
        Route(D + "/jobs/ingest/{job_id}/batches", bulk.ingest_batches, methods=["PUT"]),
        Route(D + "/jobs/ingest/{job_id}/{kind}", bulk.ingest_results, methods=["GET"]),
        Route(D + "/jobs/query", bulk.query_root, methods=["GET", "POST"]),
        Route(D + "/jobs/query/{job_id}", bulk.query_job, methods=["GET", "PATCH", "DELETE"]),
        Route(D + "/jobs/query/{job_id}/results", bulk.query_results, methods=["GET"]),
    ]


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.payload(), status_code=exc.status, headers=exc.headers)


async def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse([{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}],
                        status_code=404)


async def _method(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse([{"errorCode": "METHOD_NOT_ALLOWED",
                          "message": f"HTTP Method '{request.method}' not allowed."}], status_code=405)


async def _crash(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse([{"errorCode": "UNKNOWN_EXCEPTION",
                          "message": f"An unexpected error occurred in the sandbox: {type(exc).__name__}: {exc}"}],
                        status_code=500)


def _json_bytes(status: int, payload: Any, headers: dict[str, str] | None = None) -> tuple[int, list, bytes]:
    body = json.dumps(payload).encode()
    hdrs = [(b"content-type", b"application/json;charset=UTF-8"), (b"content-length", str(len(body)).encode())]
    for k, v in (headers or {}).items():
        hdrs.append((k.lower().encode(), str(v).encode()))
    return status, hdrs, body


class Gateway:
    def __init__(self, app: Starlette, org: Org) -> None:
        self.app = app
        self.org = org

    async def _send_json(self, send, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        st, hdrs, body = _json_bytes(status, payload, headers)
        await send({"type": "http.response.start", "status": st, "headers": hdrs})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/") or "/"
            scope["path"] = path
            scope["raw_path"] = path.encode()
        org = self.org
        state = self.app.state
        faults: FaultConfig = state.faults
        is_api = API_RE.match(path) is not None
        method = scope["method"]

        fault = faults.before(path) if is_api else None
        if is_api and faults.slow_ms and faults.applies(path):
            await asyncio.sleep(faults.slow_ms / 1000)
        if fault is not None:
            org.stats.fault(fault)
            org.stats.request(f"{method} <fault:{fault}>")
            if fault == "drop":
                await self._drop(send)
                return
            if fault == "throttle":
                await self._send_json(send, 429, [{"errorCode": "REQUEST_LIMIT_EXCEEDED",
                                                   "message": "ConcurrentPerOrgLongTxn Limit exceeded. "
                                                              "Please retry after a short while."}],
                                      {"Retry-After": str(faults.retry_after)})
                return
            if fault == "error_5xx":
                if faults.pick_5xx() == 503:
                    await self._send_json(send, 503, [{"errorCode": "SERVER_UNAVAILABLE",
                                                       "message": "Server temporarily unavailable, please retry"}],
                                          {"Retry-After": str(faults.retry_after)})
                else:
                    await self._send_json(send, 500, [{"errorCode": "UNKNOWN_EXCEPTION",
                                                       "message": "An unexpected error occurred. Please include "
                                                                  "this ErrorId if you contact support: "
                                                                  "1234567890-12345 (-1234567890)"}])
                return
            if fault == "expire_session":
                token = self._bearer(scope)
                if token:
                    org.revoke_token(token)
                await self._send_json(send, 401, [{"message": "Session expired or invalid",
                                                   "errorCode": "INVALID_SESSION_ID"}])
                return

        limit_header: bytes | None = None
        if is_api:
            token = self._bearer(scope)
            user = org.check_token(token) if token else None
            if user is None:
                org.stats.request(f"{method} <unauthorized>")
                await self._send_json(send, 401, [{"message": "Session expired or invalid",
                                                   "errorCode": "INVALID_SESSION_ID"}])
                return
            scope["sf_user"] = user
            allowed, used, maximum = org.use_api()
            limit_header = f"api-usage={used}/{maximum}".encode()
            if not allowed:
                org.stats.request(f"{method} <limit>")
                await self._send_json(send, 403, [{"errorCode": "REQUEST_LIMIT_EXCEEDED",
                                                   "message": "TotalRequests Limit exceeded."}],
                                      {"Sforce-Limit-Info": limit_header.decode()})
                return

        after_commit = (is_api and method in ("POST", "PATCH", "PUT", "DELETE") and faults.applies(path)
                        and faults.draw(faults.error_after_commit_rate))
        swallowed = {"started": False}

        async def wrapped_send(message) -> None:
            if message["type"] == "http.response.start":
                if limit_header is not None:
                    message = dict(message)
                    message["headers"] = list(message.get("headers", [])) + [(b"sforce-limit-info", limit_header)]
                if after_commit and message["status"] < 300:
                    swallowed["started"] = True
                    org.stats.fault("error_after_commit")
                    st, hdrs, body = _json_bytes(500, [{"errorCode": "UNKNOWN_EXCEPTION",
                                                        "message": "An unexpected error occurred. Please include "
                                                                   "this ErrorId if you contact support: "
                                                                   "1234567890-67890 (-1234567890)"}])
                    await send({"type": "http.response.start", "status": st, "headers": hdrs})
                    await send({"type": "http.response.body", "body": body})
                    return
            elif message["type"] == "http.response.body" and swallowed["started"]:
                return
            await send(message)

        try:
            await self.app(scope, receive, wrapped_send)
        finally:
            endpoint = scope.get("endpoint")
            name = getattr(endpoint, "__name__", None) or "unmatched"
            org.stats.request(f"{method} {getattr(endpoint, '__module__', '').rsplit('.', 1)[-1]}.{name}"
                              if endpoint else f"{method} unmatched")

    @staticmethod
    def _bearer(scope) -> str | None:
        for k, v in scope.get("headers", []):
            if k == b"authorization":
                text = v.decode("latin-1")
                if text[:7].lower() == "bearer ":
                    return text[7:].strip()
                if text[:6].lower() == "oauth ":
                    return text[6:].strip()
        return None

    async def _drop(self, send) -> None:
        """Close the connection without any response (falls back to an abrupt 500 elsewhere)."""
        cycle = getattr(send, "__self__", None)
        transport = getattr(cycle, "transport", None)
        if transport is not None and hasattr(cycle, "disconnected"):
            cycle.disconnected = True
            cycle.keep_alive = False
            try:
                transport.abort() if hasattr(transport, "abort") else transport.close()
            except Exception:  # noqa: BLE001
                transport.close()
            return
        raise ConnectionAbortedError("fault injection: drop")


def create_app(state_dir) -> Gateway:
    org = Org(state_dir)
    app = Starlette(routes=routes(), exception_handlers={
        ApiError: _api_error, 404: _not_found, 405: _method, Exception: _crash})
    app.router.redirect_slashes = False
    app.state.org = org
    app.state.faults = FaultConfig()
    org.bulk = bulk.BulkManager(org)
    return Gateway(app, org)
