"""The v8 REST endpoints: records (insert, update, upsert, get, list, search, delete), COQL, the
modules and fields metadata (with custom field creation), users and the org.

Answers follow Zoho's shapes: ``{"data": [...], "info": {...}}`` for reads (204 with no body when
nothing matches), ``{"data": [{"code", "details", "message", "status"}]}`` for writes with 201/200 when
every record succeeded, 207 when some did and 400 when none did.
"""

from __future__ import annotations

import base64
import json
import math
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from crm_migration.sandbox.zoho import engine
from crm_migration.sandbox.zoho.coql import Query
from crm_migration.sandbox.zoho.crm import Crm, now_iso
from crm_migration.sandbox.zoho.errors import ApiError, invalid_module, invalid_request, missing_param
from crm_migration.sandbox.zoho.schema import SE_MODULE, Module
from crm_migration.sandbox.zoho.values import render

MAX_RECORDS = 100
MAX_PER_PAGE = 200
PAGE_LIMIT = 2000  # beyond this many records, v8 lists page with page_token


def crm_of(request: Request) -> Crm:
    return request.app.state.crm


def user_of(request: Request) -> str:
    return request.scope["zoho_user"]


def module_of(request: Request, name: str | None = None) -> Module:
    name = name or request.path_params["module"]
    module = crm_of(request).schema.get(name)
    if module is None:
        raise invalid_module(name)
    return module


async def json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise invalid_request("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise invalid_request("the request body must be a JSON object")
    return body


def spend(request: Request, credits: int) -> None:
    """Charge what a call costs beyond the one credit the gateway took."""
    if credits > 0:
        ok, used, limit = crm_of(request).charge(credits)
        if not ok:
            raise credit_limit(limit)


def credit_limit(limit: int) -> ApiError:
    return ApiError(429, "LIMIT_EXCEEDED", "API credit limit for the day has been exhausted",
                    {"limit": limit, "duration": "24 hours"})


def render_record(crm: Crm, module: Module, rec: dict[str, Any], names: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names or list(module.fields):
        f = module.fields.get(name)
        if f is None:
            continue
        out[name] = render(crm, module, f, rec.get(name), rec)
        if f.data_type == "lookup" and f.lookup == SE_MODULE:
            out["$se_module"] = rec.get("$se_module")
    out["id"] = rec["id"]
    return out


def no_content() -> Response:
    return Response(status_code=204)


# --- records -------------------------------------------------------------------------------------


def _write_answer(crm: Crm, outcomes: list[engine.Outcome], op: str) -> JSONResponse:
    data = []
    for i, o in enumerate(outcomes):
        if o.error is not None:
            data.append(o.error.as_json(i))
            continue
        rec = crm.store.get(o.id)
        item = {"code": "SUCCESS", "details": {
            "Modified_Time": rec["Modified_Time"], "Modified_By": crm.user_ref(rec["Modified_By"]),
            "Created_Time": rec["Created_Time"], "id": o.id, "Created_By": crm.user_ref(rec["Created_By"])},
            "message": "record added" if o.action == "insert" else "record updated", "status": "success"}
        if op == "upsert":
            item["action"] = o.action
            item["duplicate_field"] = o.duplicate_field
        data.append(item)
    ok = sum(o.error is None for o in outcomes)
    status = (201 if op in ("insert", "upsert") else 200) if ok == len(outcomes) else 207 if ok else 400
    return JSONResponse({"data": data}, status_code=status)


async def _write(request: Request, op: str) -> JSONResponse:
    module = module_of(request)
    body = await json_body(request)
    items = body.get("data")
    if not isinstance(items, list) or not items:
        raise ApiError(400, "MANDATORY_NOT_FOUND", "required field not found", {"api_name": "data", "json_path": "$.data"})
    if len(items) > MAX_RECORDS:
        raise ApiError(400, "LIMIT_EXCEEDED", f"a maximum of {MAX_RECORDS} records can be processed in one call",
                       {"limit": MAX_RECORDS})
    spend(request, math.ceil(len(items) / 10) - 1)
    dup = body.get("duplicate_check_fields")
    if dup is not None and not (isinstance(dup, list) and all(isinstance(d, str) for d in dup)):
        raise invalid_request("duplicate_check_fields must be a list of field API names")
    crm = crm_of(request)
    outcomes = engine.write(crm, module, items, op, user_of(request), dup)
    return _write_answer(crm, outcomes, op)


def _page(request: Request, rows: list[dict[str, Any]], module: Module, names: list[str], limit: int | None = None) -> Response:
    crm = crm_of(request)
    q = request.query_params
    try:
        per_page = min(int(q.get("per_page", MAX_PER_PAGE)), MAX_PER_PAGE)
        page = int(q.get("page", 1))
    except ValueError:
        raise invalid_request("page and per_page must be numbers") from None
    token = q.get("page_token")
    if token:
        try:
            start = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
        except (ValueError, KeyError, TypeError):
            raise ApiError(400, "INVALID_DATA", "invalid page token", {"param_name": "page_token"}) from None
    else:
        start = (page - 1) * per_page
        if limit is not None and start + per_page > limit:
            raise ApiError(400, "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                           f"cannot fetch more than {limit} records with page; use page_token", {"limit": limit})
    chunk = rows[start:start + per_page]
    if not chunk:
        return no_content()
    more = start + per_page < len(rows)
    info = {"per_page": per_page, "count": len(chunk), "page": page, "sort_by": "id", "sort_order": "asc",
            "more_records": more, "previous_page_token": None, "page_token_expiry": None,
            "next_page_token": base64.urlsafe_b64encode(json.dumps({"offset": start + per_page}).encode()).decode()
            if more else None}
    return JSONResponse({"data": [render_record(crm, module, r, names) for r in chunk], "info": info})


def _fields_param(request: Request, module: Module) -> list[str]:
    fields = request.query_params.get("fields")
    if not fields:
        raise missing_param("fields")
    return [n.strip() for n in fields.split(",") if n.strip()]


async def records_root(request: Request) -> Response:
    method = request.method
    if method == "POST":
        return await _write(request, "insert")
    if method == "PUT":
        return await _write(request, "update")
    module = module_of(request)
    crm = crm_of(request)
    if method == "DELETE":
        ids = [i for i in request.query_params.get("ids", "").split(",") if i]
        if not ids:
            raise missing_param("ids")
        if len(ids) > MAX_RECORDS:
            raise ApiError(400, "LIMIT_EXCEEDED", f"a maximum of {MAX_RECORDS} ids can be deleted in one call", {"limit": MAX_RECORDS})
        outcomes = engine.delete(crm, module, ids)
        data = [o.error.as_json() if o.error else {"code": "SUCCESS", "details": {"id": o.id}, "message": "record deleted",
                                                    "status": "success"} for o in outcomes]
        ok = sum(o.error is None for o in outcomes)
        return JSONResponse({"data": data}, status_code=200 if ok == len(outcomes) else 207 if ok else 400)
    names = _fields_param(request, module)
    ids = [i for i in request.query_params.get("ids", "").split(",") if i]
    if ids:
        rows = [crm.store.get(i) for i in ids[:MAX_RECORDS] if crm.store.module_of(i) == module.api_name]
    else:
        rows = sorted(crm.store.all(module.api_name), key=lambda r: int(r["id"]))
        if not request.query_params.get("page_token"):
            return _page(request, rows, module, names, PAGE_LIMIT)
    return _page(request, rows, module, names)


async def upsert(request: Request) -> Response:
    return await _write(request, "upsert")


async def record(request: Request) -> Response:
    module = module_of(request)
    crm = crm_of(request)
    rid = request.path_params["rid"]
    if request.method == "PUT":
        body = await json_body(request)
        items = body.get("data")
        if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
            raise invalid_request("the body must hold one record in data")
        return _write_answer(crm, engine.write(crm, module, [{**items[0], "id": rid}], "update", user_of(request)), "update")
    if request.method == "DELETE":
        (o,) = engine.delete(crm, module, [rid])
        if o.error:
            return JSONResponse({"data": [o.error.as_json()]}, status_code=400)
        return JSONResponse({"data": [{"code": "SUCCESS", "details": {"id": rid}, "message": "record deleted", "status": "success"}]})
    rec = crm.store.get(rid)
    if rec is None or crm.store.module_of(rid) != module.api_name:
        return no_content()
    fields = request.query_params.get("fields")
    names = [n.strip() for n in fields.split(",")] if fields else None
    return JSONResponse({"data": [render_record(crm, module, rec, names)]})


# --- search and COQL -------------------------------------------------------------------------------

SEARCH_OPS = {"equals", "not_equal", "starts_with", "in", "greater_than", "greater_equal", "less_than", "less_equal"}


def _criteria(text: str, module: Module):
    """``(F:op:V)`` terms joined by and/or, nested in parentheses; ``\\`` escapes ``(``, ``)`` and ``,``."""
    pos = 0
    count = 0

    def bad(reason: str) -> ApiError:
        return ApiError(400, "INVALID_QUERY", "invalid query formed", {"reason": reason})

    def skip() -> None:
        nonlocal pos
        while pos < len(text) and text[pos].isspace():
            pos += 1

    def term():
        nonlocal pos, count
        skip()
        if pos >= len(text) or text[pos] != "(":
            raise bad("( expected")
        pos += 1
        skip()
        if pos < len(text) and text[pos] == "(":
            cond = expr()
        else:
            raw = []
            while pos < len(text) and text[pos] != ")":
                if text[pos] == "\\" and pos + 1 < len(text):
                    raw.append(text[pos + 1])
                    pos += 2
                    continue
                raw.append("\x00" if text[pos] == "," else text[pos])
                pos += 1
            parts = "".join(raw).split(":", 2)
            if len(parts) != 3 or parts[1] not in SEARCH_OPS:
                raise bad("invalid criteria")
            name, op, value = parts
            if name != "id" and name not in module.fields:
                raise ApiError(400, "INVALID_QUERY", "invalid query formed", {"api_name": name, "reason": "invalid field"})
            count += 1
            cond = _search_term(name, op, value.split("\x00") if op == "in" else [value.replace("\x00", ",")])
        skip()
        if pos >= len(text) or text[pos] != ")":
            raise bad(") expected")
        pos += 1
        return cond

    def expr():
        nonlocal pos
        left = term()
        while True:
            skip()
            m = re.match(r"(and|or)\b", text[pos:], re.I)
            if not m:
                return left
            pos += m.end()
            right, prev = term(), left
            left = (lambda r, a=prev, b=right: a(r) and b(r)) if m.group(1).lower() == "and" \
                else (lambda r, a=prev, b=right: a(r) or b(r))

    cond = expr()
    skip()
    if pos != len(text):
        raise bad("unexpected text after the criteria")
    if count > 10:
        raise ApiError(400, "LIMIT_EXCEEDED", "a maximum of 10 criteria is allowed", {"limit": 10})
    return cond


def _search_term(name: str, op: str, raw: list[str]):
    values = [v.strip().lower() for v in raw]

    def get(r):
        v = r.get(name)
        if isinstance(v, list):
            return [str(x).lower() for x in v]
        return None if v is None else str(v).lower()

    def check(r):
        v = get(r)
        if v is None:
            return op == "not_equal"
        vs = v if isinstance(v, list) else [v]
        if op in ("equals", "in"):
            return any(x in values for x in vs)
        if op == "not_equal":
            return all(x != values[0] for x in vs)
        if op == "starts_with":
            return any(x.startswith(values[0]) for x in vs)
        try:
            a, b = float(vs[0]), float(values[0])
        except ValueError:
            a, b = vs[0], values[0]
        return {"greater_than": a > b, "greater_equal": a >= b, "less_than": a < b, "less_equal": a <= b}[op]
    return check


async def search(request: Request) -> Response:
    module = module_of(request)
    crm = crm_of(request)
    q = request.query_params
    if q.get("criteria"):
        cond = _criteria(q["criteria"], module)
    elif q.get("email"):
        email = q["email"].lower()
        cond = lambda r: any(str(r.get(f.api_name) or "").lower() == email  # noqa: E731
                             for f in module.fields.values() if f.data_type == "email")
    elif q.get("phone"):
        cond = lambda r: any(r.get(f.api_name) == q["phone"] for f in module.fields.values() if f.data_type == "phone")  # noqa: E731
    elif q.get("word"):
        word = q["word"].lower()
        cond = lambda r: any(isinstance(v, str) and word in v.lower() for v in r.values())  # noqa: E731
    else:
        raise missing_param("criteria")
    fields = q.get("fields")
    names = [n.strip() for n in fields.split(",")] if fields else None
    rows = sorted((r for r in crm.store.all(module.api_name) if cond(r)), key=lambda r: int(r["id"]))
    return _page(request, rows, module, names, PAGE_LIMIT)


async def coql(request: Request) -> Response:
    body = await json_body(request)
    text = body.get("select_query")
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "MANDATORY_NOT_FOUND", "required field not found", {"api_name": "select_query"})
    query = Query(crm_of(request), text)
    spend(request, 0 if query.limit <= 200 else 1 if query.limit <= 1000 else 2)
    rows, more = query.run()
    if not rows:
        return no_content()
    return JSONResponse({"data": rows, "info": {"count": len(rows), "more_records": more}})


# --- metadata ------------------------------------------------------------------------------------


async def modules(request: Request) -> Response:
    crm = crm_of(request)
    if "api_name" in request.path_params:
        return JSONResponse({"modules": [module_of(request, request.path_params["api_name"]).metadata()]})
    return JSONResponse({"modules": [m.metadata() for m in crm.schema.modules.values()]})


def _module_param(request: Request) -> Module:
    name = request.query_params.get("module")
    if not name:
        raise missing_param("module")
    return module_of(request, name)


async def fields(request: Request) -> Response:
    crm = crm_of(request)
    module = _module_param(request)
    if request.method == "GET":
        return JSONResponse({"fields": [f.metadata(module) for f in module.fields.values()]})
    body = await json_body(request)
    items = body.get("fields")
    if not isinstance(items, list) or not items:
        raise ApiError(400, "MANDATORY_NOT_FOUND", "required field not found", {"api_name": "fields"})
    answers = []
    with crm.store.lock:
        for item in items:
            try:
                if request.method == "POST":
                    f = crm.schema.create_field(module.api_name, item if isinstance(item, dict) else {}, now_iso())
                    answers.append({"code": "SUCCESS", "details": {"id": f.id}, "message": "field created", "status": "success"})
                else:
                    answers.append(_update_field(crm, module, str(item.get("id") or ""), item))
            except ValueError as e:
                code, api_name = e.args
                answers.append({"code": code, "details": {"api_name": api_name}, "message": "invalid data" if code == "INVALID_DATA"
                                else "duplicate data" if code == "DUPLICATE_DATA" else "required field not found", "status": "error"})
        crm.persist_schema()
    ok = sum(a["status"] == "success" for a in answers)
    status = (201 if request.method == "POST" else 200) if ok == len(answers) else 207 if ok else 400
    return JSONResponse({"fields": answers}, status_code=status)


def _update_field(crm: Crm, module: Module, field_id: str, item: dict[str, Any]) -> dict[str, Any]:
    f = next((f for f in module.fields.values() if f.id == field_id), None)
    if f is None:
        raise ValueError("INVALID_DATA", "id")
    values = [v.get("display_value") if isinstance(v, dict) else v for v in item.get("pick_list_values") or []]
    if values and f.data_type not in ("picklist", "multiselectpicklist"):
        raise ValueError("INVALID_DATA", "pick_list_values")
    crm.schema.add_options(module.api_name, f.api_name, [str(v) for v in values if v])
    crm.schema.modified_time = now_iso()
    return {"code": "SUCCESS", "details": {"id": f.id}, "message": "field updated", "status": "success"}


async def field(request: Request) -> Response:
    crm = crm_of(request)
    module = _module_param(request)
    field_id = request.path_params["field_id"]
    if request.method == "GET":
        f = next((f for f in module.fields.values() if f.id == field_id or f.api_name == field_id), None)
        if f is None:
            raise invalid_request("the id given seems to be invalid", id=field_id)
        return JSONResponse({"fields": [f.metadata(module)]})
    body = await json_body(request)
    item = (body.get("fields") or [{}])[0]
    with crm.store.lock:
        try:
            answer = _update_field(crm, module, field_id, item if isinstance(item, dict) else {})
        except ValueError as e:
            raise invalid_request("invalid data", api_name=e.args[1]) from None
        crm.persist_schema()
    return JSONResponse({"fields": [answer]})


# --- users and org -------------------------------------------------------------------------------

USER_TYPES = {
    "AllUsers": lambda u, me: u["status"] != "deleted",
    "ActiveUsers": lambda u, me: u["status"] == "active",
    "DeactiveUsers": lambda u, me: u["status"] == "disabled",
    "DeletedUsers": lambda u, me: u["status"] == "deleted",
    "ConfirmedUsers": lambda u, me: u.get("confirm", True),
    "NotConfirmedUsers": lambda u, me: not u.get("confirm", True),
    "ActiveConfirmedUsers": lambda u, me: u["status"] == "active" and u.get("confirm", True),
    "AdminUsers": lambda u, me: u["profile"]["name"] == "Administrator",
    "ActiveConfirmedAdmins": lambda u, me: u["profile"]["name"] == "Administrator" and u["status"] == "active",
    "CurrentUser": lambda u, me: u["id"] == me,
}


async def users(request: Request) -> Response:
    crm = crm_of(request)
    q = request.query_params
    if "user_id" in request.path_params:
        user = crm.store.get(request.path_params["user_id"])
        if user is None or crm.store.module_of(user["id"]) != "users":
            return no_content()
        return JSONResponse({"users": [user]})
    kind = q.get("type", "AllUsers")
    if kind not in USER_TYPES:
        raise ApiError(400, "INVALID_DATA", "invalid data", {"param_name": "type"})
    try:
        per_page = min(int(q.get("per_page", MAX_PER_PAGE)), MAX_PER_PAGE)
        page = int(q.get("page", 1))
    except ValueError:
        raise invalid_request("page and per_page must be numbers") from None
    me = user_of(request)
    rows = sorted((u for u in crm.store.all("users") if USER_TYPES[kind](u, me)), key=lambda u: int(u["id"]))
    chunk = rows[(page - 1) * per_page:page * per_page]
    if not chunk:
        return no_content()
    return JSONResponse({"users": chunk, "info": {"per_page": per_page, "count": len(chunk), "page": page,
                                                  "more_records": page * per_page < len(rows)}})


async def org(request: Request) -> Response:
    crm = crm_of(request)
    return JSONResponse({"org": [{
        "id": crm.org_prefix + "000000000001", "zgid": crm.zgid, "company_name": "crm_migration sandbox",
        "primary_email": crm.store.get(crm.admin_id)["email"], "primary_zuid": crm.admin_id, "time_zone": "UTC",
        "currency": "US Dollar - USD", "currency_symbol": "$", "iso_code": "USD", "country_code": "US",
        "domain_name": f"org{crm.zgid}", "type": "production", "max_per_page": MAX_PER_PAGE,
    }]})
