"""The ASGI application: identity and admin routes (Starlette), and the gateway every Web API request
(``/api/data/v9.x/...``) passes through: fault injection, the bearer token, service protection (requests
per user per window and concurrent requests, both answered with 429 + ``Retry-After``), then
:func:`webapi.handle`. Requests are handled on the event loop one at a time, so a change set needs no
lock; ``slow_ms`` sleeps while the request counts as in flight, which is how concurrency builds up.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from crm_migration.sandbox.dataverse import admin, errors as E, identity, webapi
from crm_migration.sandbox.dataverse.faults import DataverseFaults
from crm_migration.sandbox.dataverse.org import Org

API_RE = re.compile(r"^/api/data/v9\.\d(?:/|$)")


def routes() -> list[Route]:
    return [
        Route("/common/discovery/instance", identity.instance_discovery, methods=["GET"]),
        Route("/{tenant}/v2.0/.well-known/openid-configuration", identity.openid_configuration, methods=["GET"]),
        Route("/{tenant}/oauth2/v2.0/token", identity.token, methods=["POST"]),
        Route("/{tenant}/discovery/v2.0/keys", identity.keys, methods=["GET"]),
        Route("/__sandbox__/health", admin.health, methods=["GET"]),
        Route("/__sandbox__/stats", admin.stats, methods=["GET"]),
        Route("/__sandbox__/stats/reset", admin.stats_reset, methods=["POST"]),
        Route("/__sandbox__/faults", admin.faults, methods=["GET", "POST", "DELETE"]),
        Route("/__sandbox__/config", admin.config, methods=["GET", "POST"]),
        Route("/__sandbox__/users", admin.users, methods=["GET", "POST"]),
        Route("/__sandbox__/reset", admin.reset, methods=["POST"]),
    ]


async def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"error": "not_found", "message": f"no such resource: {request.url.path}"}, status_code=404)


class Gateway:
    def __init__(self, app: Starlette, org: Org) -> None:
        self.app = app
        self.org = org

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not API_RE.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        org, faults = self.org, self.app.state.faults
        method, path = scope["method"], scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        base = f"{scope.get('scheme', 'https')}://{headers.get('host', '')}"
        body = await self._body(receive)
        fault = faults.before(path)
        if fault is not None:
            org.stats.fault(fault)
            org.stats.request(f"{method} <fault:{fault}>")
            await self._fault(fault, send, headers, base)
            return
        token = headers.get("authorization", "")[7:].strip() if headers.get("authorization", "")[:7].lower() == "bearer " else ""
        user, why = identity.check(org, token, base) if token else (None, "Bearer token is missing")
        if user is None:
            org.stats.request(f"{method} <unauthorized>")
            await self._send(send, 401, b"", {"WWW-Authenticate": self._challenge(base, why)})
            return
        wait = org.count_request(user)
        if wait is None and org.in_flight >= org.config["max_concurrent_requests"]:
            code, message, wait = (E.TOO_MANY_CONCURRENT, "Number of concurrent requests exceeded the limit of "
                                   f"{org.config['max_concurrent_requests']}.", 1)
        else:
            code, message = (E.TOO_MANY_REQUESTS, f"Number of requests exceeded the limit of "
                             f"{org.config['requests_per_window']} over time window of {org.config['window_seconds']} seconds.")
        if wait is not None:
            org.stats.throttled += 1
            org.stats.request(f"{method} <throttled>")
            await self._json(send, 429, {"error": {"code": code, "message": message}}, {"Retry-After": str(int(wait + 0.999))})
            return
        org.in_flight += 1
        try:
            if faults.slow_ms and faults.applies(path):
                await asyncio.sleep(faults.slow_ms / 1000)
            rest = API_RE.sub("", path, count=1)
            query = scope.get("query_string", b"").decode("latin-1")
            req = webapi.Request(method, rest, dict(parse_qsl(query, keep_blank_values=True)), headers, body, base, user)
            resp = webapi.handle(org, req)
            org.stats.request(f"{method} {rest.split('(')[0].split('/')[0] or '/'}")
        finally:
            org.in_flight -= 1
        if (method in ("POST", "PATCH", "PUT", "DELETE") and resp.status < 300
                and faults.draw(faults.error_after_commit_rate)):
            org.stats.fault("error_after_commit")
            await self._json(send, 500, {"error": {"code": E.UNEXPECTED, "message": "An unexpected error occurred."}})
            return
        await self._send(send, resp.status, resp.body, resp.headers)

    @staticmethod
    async def _body(receive) -> bytes:
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        return b"".join(chunks)

    def _challenge(self, base: str, why: str) -> str:
        tenant = self.org.credentials["tenant_id"]
        return (f"Bearer error=invalid_token, error_description={why}, "
                f"authorization_uri={base}/{tenant}/oauth2/authorize, resource_id={base}/")

    async def _fault(self, fault: str, send, headers: dict[str, str], base: str) -> None:
        faults = self.app.state.faults
        if fault == "drop":
            await self._drop(send)
        elif fault == "throttle":
            self.org.stats.throttled += 1
            await self._json(send, 429, {"error": {"code": E.TOO_MANY_REQUESTS, "message": "Number of requests "
                                                   "exceeded the limit of 6000 over time window of 300 seconds."}},
                             {"Retry-After": str(faults.retry_after)})
        elif fault == "error_5xx":
            status = faults.pick_5xx()
            await self._json(send, status, {"error": {"code": E.UNEXPECTED, "message": "An unexpected error occurred."}},
                             {"Retry-After": str(faults.retry_after)} if status == 503 else None)
        elif fault == "expire_session":
            auth = headers.get("authorization", "")
            claims = identity.claims_of(self.org, auth[7:].strip()) if auth[:7].lower() == "bearer " else None
            if claims and claims.get("jti"):
                self.org.revoked.add(claims["jti"])
            await self._send(send, 401, b"", {"WWW-Authenticate": self._challenge(base, "The access token is expired")})

    async def _json(self, send, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        await self._send(send, status, json.dumps(payload).encode(),
                         {"Content-Type": "application/json; odata.metadata=minimal"} | (headers or {}))

    @staticmethod
    async def _send(send, status: int, body: bytes, headers: dict[str, str]) -> None:
        raw = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()]
        raw.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    async def _drop(send) -> None:
        """Close the connection without any response."""
        cycle = getattr(send, "__self__", None)
        transport = getattr(cycle, "transport", None)
        if transport is not None and hasattr(cycle, "disconnected"):
            cycle.disconnected = True
            cycle.keep_alive = False
            transport.abort() if hasattr(transport, "abort") else transport.close()
            return
        raise ConnectionAbortedError("fault injection: drop")


def create_app(state_dir) -> Gateway:
    org = Org(state_dir)
    app = Starlette(routes=routes(), exception_handlers={404: _not_found})
    app.router.redirect_slashes = False
    app.state.org = org
    app.state.faults = DataverseFaults()
    return Gateway(app, org)
