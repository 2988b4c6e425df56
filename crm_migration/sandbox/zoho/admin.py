"""Sandbox-only admin API under ``/__sandbox__/`` (header ``X-Sandbox-Admin: <admin_token>``, except
``health``): stats, faults, config, users, reset — the calls :class:`SandboxHandle` makes."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from crm_migration.sandbox import admin_api
from crm_migration.sandbox.zoho.faults import FaultConfig


def _denied(request: Request) -> JSONResponse | None:
    return admin_api.denied(request, request.app.state.crm.credentials["admin_token"])


_body, _bad = admin_api.body, admin_api.bad


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "kind": "zoho"})


async def stats(request: Request) -> JSONResponse:
    if (denied := _denied(request)) is not None:
        return denied
    crm = request.app.state.crm
    s = crm.stats
    with s.lock:
        out = {"requests": s.requests, "by_route": dict(s.by_route), "writes": dict(s.writes),
               "faults_injected": dict(s.faults)}
    out["api_credits_used_today"] = crm.credits_used()
    out["peak_concurrency"] = request.app.state.peak_concurrency
    out["records"] = {name: len(recs) for name, recs in crm.store.records.items()}
    return JSONResponse(out)


async def stats_reset(request: Request) -> JSONResponse:
    if (denied := _denied(request)) is not None:
        return denied
    request.app.state.crm.stats.reset()
    request.app.state.peak_concurrency = 0
    return JSONResponse({"ok": True})


faults = admin_api.faults_endpoint(FaultConfig, _denied)


async def config(request: Request) -> JSONResponse:
    if (denied := _denied(request)) is not None:
        return denied
    crm = request.app.state.crm
    if request.method == "GET":
        return JSONResponse(crm.config)
    body = await _body(request)
    if not isinstance(body, dict):
        return _bad("the body must be a JSON object")
    try:
        return JSONResponse(crm.set_config(body))
    except KeyError as exc:
        return _bad(f"unknown setting {exc.args[0]}")
    except (TypeError, ValueError) as exc:
        return _bad(str(exc))


async def users(request: Request) -> JSONResponse:
    """GET: every user. POST: create users ({email, first_name, last_name, status: active|disabled});
    the answer's ``ids`` are Zoho user ids."""
    if (denied := _denied(request)) is not None:
        return denied
    crm = request.app.state.crm
    if request.method == "GET":
        return JSONResponse(list(crm.store.all("users")))
    body = await _body(request)
    if isinstance(body, dict):
        body = [body]
    if not isinstance(body, list) or not all(isinstance(u, dict) for u in body):
        return _bad("the body must be a list of user objects")
    try:
        return JSONResponse({"ids": crm.create_users(body)})
    except ValueError as exc:
        return _bad(str(exc))


async def reset(request: Request) -> JSONResponse:
    if (denied := _denied(request)) is not None:
        return denied
    body = await _body(request) or {}
    request.app.state.crm.reset(schema=bool(body.get("schema")))
    return JSONResponse({"ok": True})
