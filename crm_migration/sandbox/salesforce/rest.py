"""REST API handlers: versions, resources, limits, describe, sObject CRUD and upsert,
sObject Collections and SOQL queries."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from crm_migration.sandbox.salesforce.content import read_version_data
from crm_migration.sandbox.salesforce.dml import Result
from crm_migration.sandbox.salesforce.errors import ApiError, RecordError, not_found
from crm_migration.sandbox.salesforce.ids import to18
from crm_migration.sandbox.salesforce.records import QueryRunner, check_fields_param, record_json
from crm_migration.sandbox.salesforce.schema import SObjectType, describe_global_entry, describe_object

if TYPE_CHECKING:
    from crm_migration.sandbox.salesforce.org import Org

VERSION_RE = re.compile(r"^v\d{2}\.\d$")
COLLECTION_LIMIT = 200
VERSIONS = [("Winter '24", "59.0"), ("Spring '24", "60.0"), ("Summer '24", "61.0"), ("Winter '25", "62.0"),
            ("Spring '25", "63.0"), ("Summer '25", "64.0")]


# --- helpers ---------------------------------------------------------------------------------------

def org_of(request: Request) -> "Org":
    return request.app.state.org


def user_of(request: Request) -> str:
    return request.scope["sf_user"]


def version(request: Request) -> str:
    v = request.path_params.get("version", "")
    if not VERSION_RE.match(v):
        raise not_found()
    return v


def base_url(request: Request) -> str:
    return f"/services/data/{version(request)}"


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body is empty")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character in the request body: {exc}") from None


def sobject(request: Request, name: str) -> SObjectType:
    obj = org_of(request).schema.get(name)
    if obj is None:
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
    return obj


def record_errors(errors: list[RecordError], status: int = 400) -> JSONResponse:
    return JSONResponse([{"message": e.message, "errorCode": e.code, "fields": e.fields} for e in errors],
                        status_code=status)


def bool_param(value: str | None) -> bool:
    return str(value).lower() == "true"


def stored_record(org: "Org", obj: SObjectType, id18: str) -> dict[str, Any] | None:
    """The record ``id18`` of ``obj`` (of a virtual object: its view), or None."""
    if obj.virtual:
        view = org.dml.virtual[obj.name.lower()].get(id18)
        return view or None
    rec = org.store.get(id18)
    return rec if rec is not None and org.store.sobject_of(id18) == obj.name.lower() else None


def blob_id(obj: SObjectType, rec: dict[str, Any]) -> str:
    """Where a record's base64 body is stored: a note's is its latest version's."""
    return rec.get("LatestPublishedVersionId") if obj.virtual else rec["Id"]


def rest_record(org: "Org", obj: SObjectType, raw_id: str) -> dict[str, Any]:
    id18 = to18(raw_id)
    target = org.schema.get(obj.virtual) if obj.virtual else obj
    if id18 is None or org.schema.object_for_id(id18) is not target:
        raise ApiError(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {raw_id}")
    rec = stored_record(org, obj, id18) if obj.virtual else org.store.get(id18)
    if rec is None:
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
    if rec.get("IsDeleted"):
        raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
    return rec


# --- discovery -----------------------------------------------------------------------------------------

async def versions(request: Request) -> JSONResponse:
    return JSONResponse([{"label": label, "url": f"/services/data/v{v}", "version": v} for label, v in VERSIONS])


async def resources(request: Request) -> JSONResponse:
    b = base_url(request)
    names = ["tooling", "metadata", "eclair", "folders", "prechatForms", "chatter", "tabs", "appMenu",
             "quickActions", "queryAll", "commerce", "wave", "iot", "analytics", "search", "identity",
             "composite", "parameterizedSearch", "fingerprint", "theme", "nouns", "recent", "licensing",
             "limits", "async-queries", "query", "sobjects", "jobs", "actions", "support"]
    return JSONResponse({n: f"{b}/{n}" for n in names})


async def limits(request: Request) -> JSONResponse:
    org = org_of(request)
    limit = int(org.config["daily_api_limit"])
    used = org.api_usage_today()
    bulk_used = sum(1 for j in org.bulk.jobs.values() if j.get("operation") in ("query", "queryAll"))
    file_mb = sum(p.stat().st_size for p in org.blobs.root.iterdir() if p.is_file()) // (1024 * 1024)
    data_mb = sum(len(r) for r in org.store.records.values()) * 2 // 1024
    return JSONResponse({
        "DailyApiRequests": {"Max": limit, "Remaining": max(0, limit - used)},
        "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
        "DailyBulkV2QueryJobs": {"Max": org.config["daily_bulk_query_jobs"],
                                 "Remaining": max(0, org.config["daily_bulk_query_jobs"] - bulk_used)},
        "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
        "DataStorageMB": {"Max": 1024, "Remaining": max(0, 1024 - data_mb)},
        "FileStorageMB": {"Max": 1024, "Remaining": max(0, 1024 - file_mb)},
        "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
        "SingleEmail": {"Max": 15, "Remaining": 15},
    })


async def describe_global(request: Request) -> JSONResponse:
    org = org_of(request)
    b = base_url(request)
    return JSONResponse({"encoding": "UTF-8", "maxBatchSize": 200,
                         "sobjects": [describe_global_entry(o, b) for o in org.schema.objects.values()]})


async def describe(request: Request) -> JSONResponse:
    obj = sobject(request, request.path_params["sobject"])
    return JSONResponse(describe_object(obj, base_url(request), org_of(request).schema))


# --- single records ------------------------------------------------------------------------------------

def _single(org: "Org", fn) -> Result:
    results = org.dml.run([fn])
    return results[0]


async def sobject_root(request: Request) -> Response:
    obj = sobject(request, request.path_params["sobject"])
    org = org_of(request)
    if request.method == "GET":
        return JSONResponse({"objectDescribe": describe_global_entry(obj, base_url(request)), "recentItems": []})
    body = await json_body(request)
    item = org.dml.prepare_json(obj, body)
    user = user_of(request)
    result = _single(org, lambda txn: (org.dml.insert_one(obj, item, user, txn), True))
    if not result.success:
        return record_errors(result.errors)
    return JSONResponse({"id": result.id, "success": True, "errors": []}, status_code=201)


async def sobject_record(request: Request) -> Response:
    obj = sobject(request, request.path_params["sobject"])
    org = org_of(request)
    raw_id = request.path_params["rid"]
    if raw_id in ("deleted", "updated", "listviews", "quickActions", "describe"):
        raise not_found()
    if request.method == "GET":
        with org.store.lock:
            rec = rest_record(org, obj, raw_id)
            fields = check_fields_param(obj, request.query_params.get("fields"))
            return JSONResponse(record_json(obj, rec, version(request), fields))
    user = user_of(request)
    if request.method == "PATCH":
        rest_record(org, obj, raw_id)
        body = await json_body(request)
        item = org.dml.prepare_json(obj, body)
        result = _single(org, lambda txn: (org.dml.update_one(obj, raw_id, item, user, txn), False))
        if not result.success:
            return record_errors(result.errors)
        return Response(status_code=204)
    if request.method == "DELETE":
        rest_record(org, obj, raw_id)
        result = org.dml.delete([raw_id], user, expect=obj)[0]
        if not result.success:
            return record_errors(result.errors)
        return Response(status_code=204)
    raise ApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed. Allowed are GET,PATCH,DELETE")


def _ext_field(obj: SObjectType, name: str):
    f = obj.field(name)
    if f is None or not (f.external_id or f.id_lookup or f.name == "Id"):
        raise ApiError(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {name}")
    return f


async def sobject_sub(request: Request) -> Response:
    """``sobjects/{obj}/{a}/{b}``: a blob (``{id}/VersionData``) or an external id (``{field}/{value}``)."""
    obj = sobject(request, request.path_params["sobject"])
    org = org_of(request)
    a, b = request.path_params["a"], request.path_params["b"]
    v = version(request)
    blob = obj.field(b)
    if to18(a) and blob is not None and blob.type == "base64":
        if request.method != "GET":
            raise ApiError(405, "METHOD_NOT_ALLOWED", "Only GET is allowed")
        rec = rest_record(org, obj, a)
        data = read_version_data(org, blob_id(obj, rec))
        if data is None:
            raise not_found()
        return Response(data, media_type="application/octet-stream")
    f = _ext_field(obj, a)
    user = user_of(request)
    if request.method == "GET":
        with org.store.lock:
            ids = org.store.lookup(obj.name, f, b)
            if not ids:
                raise not_found()
            if len(ids) > 1:
                return JSONResponse([f"/services/data/{v}/sobjects/{obj.name}/{i}" for i in ids], status_code=300)
            fields = check_fields_param(obj, request.query_params.get("fields"))
            return JSONResponse(record_json(obj, org.store.get(ids[0]), v, fields))
    if request.method == "PATCH":
        body = await json_body(request)
        item = org.dml.prepare_json(obj, body)
        item.ext_value = b
        if f.name != "Id":
            item.values.pop(f.name, None)
        with org.store.lock:
            matches = org.store.lookup(obj.name, f, b) if f.name != "Id" else []
            if len(matches) > 1:
                return JSONResponse([f"/services/data/{v}/sobjects/{obj.name}/{i}" for i in matches],
                                    status_code=300)
            result = _single(org, lambda txn: org.dml.upsert_one(obj, f, item, user, txn))
        if not result.success:
            return record_errors(result.errors)
        return JSONResponse({"id": result.id, "success": True, "errors": [], "created": bool(result.created)},
                            status_code=201 if result.created else 200)
    if request.method == "DELETE":
        ids = org.store.lookup(obj.name, f, b)
        if not ids:
            raise not_found()
        result = org.dml.delete([ids[0]], user, expect=obj)[0]
        if not result.success:
            return record_errors(result.errors)
        return Response(status_code=204)
    raise ApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed.")


# --- sObject Collections ---------------------------------------------------------------------------------

def _too_many(n: int) -> None:
    if n > COLLECTION_LIMIT:
        raise ApiError(400, "EXCEEDED_ID_LIMIT",
                       f"record limit reached. cannot submit more than {COLLECTION_LIMIT} records into this call")


def _records_of(body: Any) -> tuple[list[Any], bool]:
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be an object with a records array")
    return body["records"], bool(body.get("allOrNone", False))


def _typed(request: Request, raw: Any, default: SObjectType | None = None) -> SObjectType:
    t = (raw.get("attributes") or {}).get("type") if isinstance(raw, dict) else None
    if not t:
        if default is not None:
            return default
        raise ApiError(400, "INVALID_TYPE", "Must send a concrete entity type.")
    return sobject(request, t)


async def collections(request: Request) -> JSONResponse:
    org = org_of(request)
    user = user_of(request)
    dml = org.dml
    if request.method == "DELETE":
        ids = [i for i in (request.query_params.get("ids") or "").split(",") if i]
        if not ids:
            raise ApiError(400, "MISSING_ARGUMENT", "ids parameter is required")
        _too_many(len(ids))
        results = dml.delete(ids, user, all_or_none=bool_param(request.query_params.get("allOrNone")))
        return JSONResponse([r.as_json() | ({"id": r.id or ids[n]} if not r.success else {})
                             for n, r in enumerate(results)])
    body = await json_body(request)
    records, all_or_none = _records_of(body)
    _too_many(len(records))
    ops: list[Any] = []
    for raw in records:
        obj = _typed(request, raw)
        item = dml.prepare_json(obj, raw)
        if request.method == "POST":
            ops.append(lambda txn, o=obj, it=item: (dml.insert_one(o, it, user, txn), True))
        elif request.method == "PATCH":
            rid = raw.get("Id") if isinstance(raw, dict) else None
            if not rid:
                ops.append(RecordError("MISSING_ARGUMENT", "Id not specified in an update call", ["Id"]))
                continue
            ops.append(lambda txn, o=obj, it=item, r=rid: (dml.update_one(o, r, it, user, txn), False))
        else:
            raise ApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed.")
    results = dml.run(ops, all_or_none)
    return JSONResponse([r.as_json() for r in results])


async def collections_typed(request: Request) -> JSONResponse:
    """``GET composite/sobjects/{obj}?ids=&fields=`` (retrieve)."""
    org = org_of(request)
    obj = sobject(request, request.path_params["sobject"])
    ids = [i for i in (request.query_params.get("ids") or "").split(",") if i]
    fields_param = request.query_params.get("fields")
    if not ids or not fields_param:
        raise ApiError(400, "MISSING_ARGUMENT", "ids and fields parameters are required")
    _too_many(len(ids))
    fields = check_fields_param(obj, fields_param)
    out = []
    with org.store.lock:
        for raw in ids:
            id18 = to18(raw)
            rec = stored_record(org, obj, id18) if id18 else None
            ok = rec is not None and not rec.get("IsDeleted")
            out.append(record_json(obj, rec, version(request), fields) if ok else None)
    return JSONResponse(out)


async def collections_upsert(request: Request) -> JSONResponse:
    org = org_of(request)
    user = user_of(request)
    dml = org.dml
    obj = sobject(request, request.path_params["sobject"])
    ext = _ext_field(obj, request.path_params["field"])
    if request.method != "PATCH":
        raise ApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed. Allowed are PATCH")
    body = await json_body(request)
    records, all_or_none = _records_of(body)
    _too_many(len(records))
    items = []
    for raw in records:
        robj = _typed(request, raw, obj)
        if robj is not obj:
            raise ApiError(400, "INVALID_TYPE", f"All records must be of type {obj.name}")
        item = dml.prepare_json(obj, raw)
        item.ext_value = raw.get(ext.name) if isinstance(raw, dict) else None
        if item.ext_value is None and isinstance(raw, dict):
            for k, val in raw.items():
                if k.lower() == ext.name.lower():
                    item.ext_value = val
        items.append(item)
    results = dml.save(obj, "upsert", items, user, ext_field=ext, all_or_none=all_or_none)
    return JSONResponse([r.as_json(with_created=True) for r in results])


# --- SOQL --------------------------------------------------------------------------------------------------

def _batch_size(request: Request) -> int:
    org = org_of(request)
    size = int(org.config["query_batch_size"])
    opts = request.headers.get("sforce-query-options", "")
    m = re.search(r"batchSize\s*=\s*(\d+)", opts)
    if m:
        size = max(200, min(2000, int(m.group(1))))
    return size


async def query(request: Request) -> JSONResponse:
    org = org_of(request)
    include_deleted = request.url.path.rstrip("/").split("/")[4] == "queryAll"
    q = request.query_params.get("q")
    if q is None:
        raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
    runner = QueryRunner(org)
    return JSONResponse(runner.rest_query(q, version(request), include_deleted, _batch_size(request)))


async def query_more(request: Request) -> JSONResponse:
    org = org_of(request)
    include_deleted = request.url.path.split("/")[4] == "queryAll"
    return JSONResponse(QueryRunner(org).more(request.path_params["locator"], version(request), include_deleted))

