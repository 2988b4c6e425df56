"""What every sandbox's admin API (``/__sandbox__/...``) shares: the admin-token check, reading a JSON
body, the error answer, and the faults endpoint. Each sandbox's ``admin`` module adds its own state."""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

ADMIN_HEADER = "x-sandbox-admin"


def denied(request: Request, admin_token: str) -> JSONResponse | None:
    """403 unless the request carries the sandbox's admin token (compared in constant time)."""
    if not secrets.compare_digest(request.headers.get(ADMIN_HEADER, ""), admin_token):
        return JSONResponse({"error": "forbidden", "message": "missing or wrong X-Sandbox-Admin header"}, status_code=403)
    return None


async def body(request: Request) -> Any:
    """The JSON body ({} when empty), or None when it is not JSON."""
    raw = await request.body()
    try:
        return json.loads(raw) if raw else {}
    except ValueError:
        return None


def bad(message: str) -> JSONResponse:
    return JSONResponse({"error": "bad_request", "message": message}, status_code=400)


def faults_endpoint(fault_config: type, check: Callable[[Request], JSONResponse | None]) -> Callable[[Request], Awaitable[JSONResponse]]:
    """GET the injected faults, POST a new set (replacing the old), DELETE to clear them (``app.state.faults``)."""

    async def faults(request: Request) -> JSONResponse:
        if (refused := check(request)) is not None:
            return refused
        state = request.app.state
        if request.method == "DELETE":
            state.faults = fault_config()
        elif request.method == "POST":
            wanted = await body(request)
            if not isinstance(wanted, dict):
                return bad("the body must be a JSON object")
            new = fault_config()
            try:
                new.update(wanted)
            except (ValueError, TypeError) as exc:
                return bad(str(exc))
            state.faults = new
        return JSONResponse(state.faults.public())

    return faults
