"""Tooling API: CustomField, CustomObject and StandardValueSet, plus a minimal tooling query.

- ``POST tooling/sobjects/CustomField`` ``{"FullName": "Account.Client_Tier__c", "Metadata": {...}}``
  adds the field at once (describe shows it); a second field of the same name answers
  DUPLICATE_DEVELOPER_NAME. ``GET``/``PATCH``/``DELETE tooling/sobjects/CustomField/{id}``.
  Metadata ``type`` may be Text, TextArea, LongTextArea, Html, Number, Checkbox, Date, DateTime,
  Email, Phone, Url, Picklist, MultiselectPicklist, Currency, Percent, Lookup, MasterDetail (to any
  standard or custom object; a master-detail field is required and deleting the master deletes
  the details). Custom fields may be added to any object, User and AccountContactRelation included.
- ``POST tooling/sobjects/CustomObject`` ``{"FullName": "Foo__c", "Metadata": {"label",
  "pluralLabel", "nameField": {"type": "Text", "label"}, ...}}`` creates a custom object with
  Name and OwnerId (key prefixes a00, a01, ...). Tasks, events (and their EventRelations), files
  and attachments may relate to it.
- Standard picklists are edited through ``StandardValueSet`` (one record per value set, e.g.
  ``CaseStatus``, ``CaseOrigin``, ``TaskType``, ``TaskStatus``, ``LeadSource``, ``Industry``):
  find its Id with ``tooling/query?q=SELECT Id, MasterLabel FROM StandardValueSet WHERE
  MasterLabel = 'TaskType'``, read it with ``GET tooling/sobjects/StandardValueSet/{id}`` and
  ``PATCH`` it with ``{"Metadata": {"standardValue": [{"fullName", "label", "default",
  "closed"?}, ...]}}``. The list replaces the active values (send the existing ones plus the new
  ones); values left out become inactive, as Salesforce does. ``closed: true`` on a CaseStatus or
  TaskStatus value makes records with it closed. Every field that uses the value set (Task.Type
  uses TaskType; Event.Type uses EventType) changes at once.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from crm_migration.sandbox.salesforce import soql
from crm_migration.sandbox.salesforce.errors import ApiError, not_found
from crm_migration.sandbox.salesforce.ids import checksum, to18
from crm_migration.sandbox.salesforce.rest import json_body, org_of, version
from crm_migration.sandbox.salesforce.schema import Field, SchemaError, SObjectType, field_from_metadata

if TYPE_CHECKING:
    from crm_migration.sandbox.salesforce.org import Org

SVS_PREFIX = "0Hy"


def _tooling_type(name: str, prefix: str, fields: list[Field]) -> SObjectType:
    obj = SObjectType(name, name, name + "s", prefix)
    for f in fields:
        obj.add(f)
    return obj


def _S(name: str, **kw: Any) -> Field:
    return Field(name, "string", length=255, **kw)


TOOLING_TYPES = {
    "customfield": _tooling_type("CustomField", "00N", [
        Field("Id", "id", length=18), _S("DeveloperName"), _S("FullName"), _S("TableEnumOrId"),
        _S("NamespacePrefix"), _S("Description"), _S("ManageableState"), Field("Metadata", "anyType"),
        Field("Length", "int"), Field("CreatedDate", "datetime"), Field("LastModifiedDate", "datetime")]),
    "customobject": _tooling_type("CustomObject", "01I", [
        Field("Id", "id", length=18), _S("DeveloperName"), _S("FullName"), _S("NamespacePrefix"),
        _S("ExternalName"), _S("Description"), Field("Metadata", "anyType")]),
    "standardvalueset": _tooling_type("StandardValueSet", SVS_PREFIX, [
        Field("Id", "id", length=18), _S("DurableId"), _S("MasterLabel"), _S("FullName"),
        Field("Metadata", "anyType")]),
}


def svs_id(n: int) -> str:
    body = f"{SVS_PREFIX}8d{n:010d}"
    return body + checksum(body)


def _error(exc: SchemaError, status: int = 400) -> JSONResponse:
    return JSONResponse([{"message": exc.message, "errorCode": exc.code, "fields": exc.fields}], status_code=status)


def _field_row(org: "Org", entry: dict[str, Any]) -> dict[str, Any]:
    obj_name, _, api = entry["fullName"].partition(".")
    obj = org.schema.get(obj_name)
    table = obj.tooling_id if obj is not None and obj.custom else obj_name
    md = copy.deepcopy(entry["metadata"])
    md.setdefault("fullName", entry["fullName"])
    return {"Id": entry["id"], "DeveloperName": api[:-3], "FullName": entry["fullName"], "TableEnumOrId": table,
            "NamespacePrefix": None, "Description": md.get("description"), "ManageableState": "unmanaged",
            "Metadata": md, "Length": md.get("length")}


def _object_row(entry: dict[str, Any]) -> dict[str, Any]:
    return {"Id": entry["id"], "DeveloperName": entry["fullName"][:-3], "FullName": entry["fullName"],
            "NamespacePrefix": None, "ExternalName": None, "Description": entry["metadata"].get("description"),
            "Metadata": entry["metadata"]}


def _svs_rows(org: "Org") -> list[dict[str, Any]]:
    rows = []
    for n, name in enumerate(org.schema.standard_value_set_names()):
        rows.append({"Id": svs_id(n), "DurableId": name, "MasterLabel": name, "FullName": name,
                     "Metadata": {"groupingStringEnum": None, "sorted": False, "urls": None,
                                  "standardValue": org.schema.value_set(name)}})
    return rows


def rows_of(org: "Org", kind: str) -> list[dict[str, Any]]:
    if kind == "customfield":
        return [_field_row(org, e) for e in org.schema.custom_fields]
    if kind == "customobject":
        return [_object_row(e) for e in org.schema.custom_objects]
    if kind == "standardvalueset":
        return _svs_rows(org)
    raise not_found()


def _attrs(kind: str, rid: str, v: str) -> dict[str, Any]:
    name = TOOLING_TYPES[kind].name
    return {"type": name, "url": f"/services/data/{v}/tooling/sobjects/{name}/{rid}"}


def _find(org: "Org", kind: str, rid: str) -> dict[str, Any]:
    id18 = to18(rid)
    for row in rows_of(org, kind):
        if row["Id"] == id18:
            return row
    raise not_found()


async def create(request: Request) -> Response:
    org = org_of(request)
    kind = request.path_params["type"].lower()
    body = await json_body(request)
    if kind not in ("customfield", "customobject"):
        raise ApiError(400, "INVALID_TYPE", f"Cannot create {request.path_params['type']} through the sandbox")
    full_name = body.get("FullName") if isinstance(body, dict) else None
    md = body.get("Metadata") if isinstance(body, dict) else None
    if not full_name or not isinstance(md, dict):
        return _error(SchemaError("REQUIRED_FIELD_MISSING", "Required fields are missing: [FullName, Metadata]",
                                  ["FullName", "Metadata"]))
    with org.store.lock:
        tid = org.ids.new(TOOLING_TYPES[kind].key_prefix)
        try:
            if kind == "customfield":
                org.schema.add_custom_field(tid, full_name, md)
            else:
                org.schema.add_custom_object(tid, full_name, md)
        except SchemaError as exc:
            return _error(exc)
        org.persist_schema()
        org.store.rebuild_indexes()
    return JSONResponse({"id": tid, "success": True, "errors": [], "warnings": [], "infos": []}, status_code=201)


async def record(request: Request) -> Response:
    org = org_of(request)
    kind = request.path_params["type"].lower()
    if kind not in TOOLING_TYPES:
        raise not_found()
    rid = request.path_params["rid"]
    v = version(request)
    if request.method == "GET":
        row = _find(org, kind, rid)
        return JSONResponse({"attributes": _attrs(kind, row["Id"], v), **row})
    if request.method == "PATCH":
        body = await json_body(request)
        md = body.get("Metadata") if isinstance(body, dict) else None
        if not isinstance(md, dict):
            raise ApiError(400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [Metadata]", ["Metadata"])
        with org.store.lock:
            row = _find(org, kind, rid)
            try:
                if kind == "standardvalueset":
                    values = md.get("standardValue")
                    if not isinstance(values, list):
                        raise SchemaError("FIELD_INTEGRITY_EXCEPTION", "standardValue must be a list",
                                          ["standardValue"])
                    org.schema.set_value_set(row["FullName"], values)
                elif kind == "customfield":
                    _update_field(org, row, md)
                else:
                    raise SchemaError("INVALID_OPERATION", "Updating custom objects is not supported by the sandbox")
            except SchemaError as exc:
                return _error(exc)
            org.persist_schema()
            org.store.rebuild_indexes()
        return Response(status_code=204)
    if request.method == "DELETE":
        with org.store.lock:
            row = _find(org, kind, rid)
            if kind != "customfield":
                raise ApiError(400, "INVALID_OPERATION", "Only custom fields can be deleted in the sandbox")
            obj_name, _, api = row["FullName"].partition(".")
            obj = org.schema.get(obj_name)
            obj.fields.pop(api.lower(), None)
            org.schema.custom_fields = [e for e in org.schema.custom_fields if e["id"] != row["Id"]]
            org.persist_schema()
            org.store.rebuild_indexes()
        return Response(status_code=204)
    raise ApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed.")


def _update_field(org: "Org", row: dict[str, Any], md: dict[str, Any]) -> None:
    obj_name, _, api = row["FullName"].partition(".")
    obj = org.schema.get(obj_name)
    merged = dict(row["Metadata"])
    merged.pop("fullName", None)
    merged.update(md)
    new = field_from_metadata(api, merged, org.schema)
    old = obj.field(api)
    if old is not None and old.type != new.type:
        raise SchemaError("FIELD_INTEGRITY_EXCEPTION", f"Cannot change the type of {row['FullName']} in the sandbox")
    new.tooling_id = row["Id"]
    obj.add(new)
    for e in org.schema.custom_fields:
        if e["id"] == row["Id"]:
            e["metadata"] = merged


async def tooling_query(request: Request) -> JSONResponse:
    org = org_of(request)
    q = request.query_params.get("q")
    if not q:
        raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
    compiled = soql.compile_query(q, lambda name: TOOLING_TYPES.get(name.lower()))
    kind = compiled.obj.name.lower()
    rows = soql.run(compiled, rows_of(org, kind), lambda rid: None, lambda rid: None)
    v = version(request)
    if compiled.q.count == "plain":
        return JSONResponse({"size": len(rows), "totalSize": len(rows), "done": True, "queryLocator": None,
                             "entityTypeName": compiled.obj.name, "records": []})
    out = []
    for row in rows:
        rec: dict[str, Any] = {"attributes": _attrs(kind, row["Id"], v)}
        for path in compiled.q.select:
            rec[path.leaf.name] = row.get(path.leaf.name)
        out.append(rec)
    return JSONResponse({"size": len(out), "totalSize": len(out), "done": True, "queryLocator": None,
                         "entityTypeName": compiled.obj.name, "records": out})
