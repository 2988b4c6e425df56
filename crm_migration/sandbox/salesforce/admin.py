"""Sandbox-only admin API under ``/__sandbox__/`` (header ``X-Sandbox-Admin: <admin_token>``,
except ``health``): stats, faults, config, users, reset."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from crm_migration.sandbox import admin_api
from crm_migration.sandbox.salesforce.faults import FaultConfig


def _denied(request: Request) -> JSONResponse | None:
    return admin_api.denied(request, request.app.state.org.credentials["admin_token"])


_body, _bad = admin_api.body, admin_api.bad


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "kind": "salesforce"})


async def stats(request: Request) -> JSONResponse:
    if (denied := _denied(request)) is not None:
        return denied
    org = request.app.state.org
    s = org.stats
    with s.lock:
        out = {"requests": s.requests, "by_route": dict(s.by_route), "writes": dict(s.writes),
               "faults_injected": dict(s.faults)}
    out["api_usage_today"] = org.api_usage_today()
    out["records"] = {name: sum(1 for r in recs.values() if not r.get("IsDeleted"))
                      for name, recs in org.store.records.items()}
    return JSONResponse(out)


async def stats_reset(request: Request) -> JSONResponse:
    if (denied := _denied(request)) is not None:
        return denied
    request.app.state.org.stats.reset()
    return JSONResponse({"ok": True})


faults = admin_api.faults_endpoint(FaultConfig, _denied)


async def config(request: Request) -> JSONResponse:
    if (denied := _denied(request)) is not None:
        return denied
    org = request.app.state.org
    if request.method == "GET":
        return JSONResponse(org.config)
    body = await _body(request)
    if not isinstance(body, dict):
        return _bad("the body must be a JSON object")
    try:
        return JSONResponse(org.set_config(body))
    except KeyError as exc:
        return _bad(f"unknown setting {exc.args[0]}")
    except (TypeError, ValueError) as exc:
        return _bad(str(exc))


async def users(request: Request) -> JSONResponse:
    if (denied := _denied(request)) is not None:
        return denied
    org = request.app.state.org
    if request.method == "GET":
        fields = ["Id", "Username", "Email", "FirstName", "LastName", "Name", "Alias", "IsActive"]
        return JSONResponse([{f: u.get(f) for f in fields} for u in org.store.all("User")])
    body = await _body(request)
    if isinstance(body, dict):
        body = [body]
    if not isinstance(body, list) or not all(isinstance(u, dict) for u in body):
        return _bad("the body must be a list of user objects")
    results = org.create_users(body)
    if any(not r.success for r in results):
        return JSONResponse({"ids": [r.id for r in results],
                             "results": [r.as_json() for r in results]}, status_code=400)
    return JSONResponse({"ids": [r.id for r in results], "results": [r.as_json() for r in results]})


async def reset(request: Request) -> JSONResponse:
    if (denied := _denied(request)) is not None:
        return denied
    org = request.app.state.org
    body = await _body(request) or {}
    org.bulk.clear()
    org.reset(schema=bool(body.get("schema")))
    return JSONResponse({"ok": True})
