"""The Web API (``/api/data/v9.2/...``) as one dispatcher over plain request/response values, so that
a ``$batch`` runs its parts through exactly the code a single request runs through.

Records: ``POST <set>`` creates (204 + ``OData-EntityId``, or 201 with ``Prefer: return=representation``);
``PATCH <set>(<id>|<key>=<value>,...)`` updates or upserts (``If-Match: *`` forbids the create,
``If-None-Match: *`` the update; with ``return=representation`` a create answers 201 and an update
200, which is how a client tells them apart); ``GET`` retrieves or queries (``$select $filter
$orderby $top $count``, paging by ``Prefer: odata.maxpagesize`` and ``@odata.nextLink``); ``DELETE``.

Metadata: ``EntityDefinitions`` (with ``$expand=Attributes,Keys,ManyToOneRelationships``),
``.../Attributes`` (typed casts expand ``OptionSet``), attribute creation, ``.../Keys`` (alternate
keys), ``RelationshipDefinitions`` (lookups), the ``InsertOptionValue`` action and ``WhoAmI``.

``$batch`` (multipart/mixed): up to ``max_batch_requests`` requests; a change set is one atomic
transaction whose failure answers with that single error; without ``Prefer: odata.continue-on-error``
processing stops at the first failure.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlparse

from crm_migration.sandbox.dataverse import errors as E
from crm_migration.sandbox.dataverse import records
from crm_migration.sandbox.dataverse.errors import ApiError
from crm_migration.sandbox.dataverse.metadata import (CUSTOM_OPTION_BASE, KEY_TYPES, OPTIONS, Attribute,
                                                      Entity, Option, attribute_json, attribute_op, entity_json,
                                                      key_json, label_text, relationships_json)
from crm_migration.sandbox.dataverse.odata import compile_filter, parse_key, parse_orderby, parse_select, sort_records
from crm_migration.sandbox.dataverse.org import Org

VERSION_PATH = "/api/data/v9.2"
SEGMENT = re.compile(r"^([A-Za-z_$][\w.$]*)(?:\((.*)\))?$", re.S)
REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
           404: "Not Found", 405: "Method Not Allowed", 412: "Precondition Failed", 429: "Too Many Requests",
           500: "Internal Server Error", 503: "Service Unavailable"}
ATTRIBUTE_TYPES = {"StringAttributeMetadata": "String", "MemoAttributeMetadata": "Memo",
                   "IntegerAttributeMetadata": "Integer", "DecimalAttributeMetadata": "Decimal",
                   "DoubleAttributeMetadata": "Double", "MoneyAttributeMetadata": "Money",
                   "BooleanAttributeMetadata": "Boolean", "DateTimeAttributeMetadata": "DateTime",
                   "PicklistAttributeMetadata": "Picklist",
                   "MultiSelectPicklistAttributeMetadata": "MultiSelectPicklist"}
STRING_FORMATS = {"Text", "Email", "Phone", "Url", "TextArea", "TickerSymbol", "PhoneticGuide", "VersionNumber"}


@dataclass
class Request:
    method: str
    path: str  # after the version prefix, still percent-encoded
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    base: str  # https://host:port
    user: str
    content_ids: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    created: tuple[str, str] | None = None  # (entity, id) of a record this request created


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, {"Content-Type": "application/json; odata.metadata=minimal", "OData-Version": "4.0",
                             **(headers or {})}, json.dumps(payload).encode())


def error_response(e: ApiError) -> Response:
    return json_response(e.status, e.payload(), e.headers)


def handle(org: Org, req: Request) -> Response:
    """One request in its own transaction (a ``$batch`` manages its parts' transactions itself)."""
    if req.path.strip("/") == "$batch":
        try:
            return batch(org, req)
        except ApiError as e:
            return error_response(e)
    org.store.begin()
    try:
        resp = dispatch(org, req)
    except ApiError as e:
        org.store.rollback()
        return error_response(e)
    except Exception as e:  # noqa: BLE001 - a sandbox bug answers like the platform's own 500
        org.store.rollback()
        return error_response(ApiError(500, E.UNEXPECTED, f"An unexpected error occurred: {type(e).__name__}: {e}"))
    org.store.commit()
    return resp


def _json_body(req: Request, set_name: str = "") -> Any:
    if not req.body.strip():
        return {}
    try:
        return json.loads(req.body)
    except ValueError:
        raise E.payload_error(set_name, "The request body is not valid JSON.") from None


def _segments(path: str) -> list[tuple[str, str | None]]:
    out = []
    depth, start, quoted = 0, 0, False
    parts = []
    for i, ch in enumerate(path):  # split on '/' outside parentheses and quotes
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif ch == "/" and depth == 0 and not quoted:
            parts.append(path[start:i])
            start = i + 1
    parts.append(path[start:])
    for raw in parts:
        if not raw:
            continue
        m = SEGMENT.match(unquote(raw))
        if not m:
            raise E.query_error(f"Resource not found for the segment '{unquote(raw)}'.", 404)
        out.append((m.group(1), m.group(2)))
    return out


def dispatch(org: Org, req: Request) -> Response:
    segs = _segments(req.path)
    if not segs:
        sets = [{"name": e.set_name, "kind": "EntitySet", "url": e.set_name} for e in org.schema.entities.values()]
        return json_response(200, {"@odata.context": f"{req.base}{VERSION_PATH}/$metadata", "value": sets})
    name, args = segs[0]
    if name == "WhoAmI":
        return json_response(200, {"@odata.context": f"{req.base}{VERSION_PATH}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
                                   "BusinessUnitId": org.ids["businessunit"], "UserId": req.user,
                                   "OrganizationId": org.ids["organization"]})
    if name == "EntityDefinitions":
        return entity_definitions(org, req, args, segs[1:])
    if name == "RelationshipDefinitions" and req.method == "POST" and len(segs) == 1:
        return create_relationship(org, req)
    if name == "InsertOptionValue" and req.method == "POST" and len(segs) == 1:
        return insert_option_value(org, req)
    if name in ("PublishXml", "PublishAllXml") and req.method == "POST" and len(segs) == 1:
        return Response(204, {"OData-Version": "4.0"})  # customisations take effect at once here
    ent = org.schema.by_set(name)
    if ent is None or len(segs) > 1:
        raise E.query_error(f"Resource not found for the segment '{name if ent is None else segs[1][0]}'.", 404)
    if args is None:
        if req.method == "GET":
            return query(org, req, ent)
        if req.method == "POST":
            return create(org, req, ent)
        raise ApiError(405, E.INVALID_ARGUMENT, f"The HTTP method '{req.method}' is not allowed on '{name}'.")
    key = parse_key(args)
    if req.method == "GET":
        rid = _existing(org, ent, key)
        select = parse_select(ent, req.query.get("$select"))
        return json_response(200, {"@odata.context": f"{req.base}{VERSION_PATH}/$metadata#{ent.set_name}/$entity",
                                   **records.represent(org, ent, org.store.get(ent.name, rid), select,
                                                       records.annotation_filter(req.headers.get("prefer")))})
    if req.method == "PATCH":
        return upsert(org, req, ent, key)
    if req.method == "DELETE":
        records.delete(org, ent, _existing(org, ent, key))
        return Response(204, {"OData-Version": "4.0"})
    raise ApiError(405, E.INVALID_ARGUMENT, f"The HTTP method '{req.method}' is not allowed on a record.")


def _existing(org: Org, ent: Entity, key: str | dict[str, Any]) -> str:
    rid = records.resolve_key(org, ent, key)
    if rid is None:
        if isinstance(key, str):
            raise E.not_found(ent.name, key)
        raise ApiError(404, E.KEY_NOT_FOUND, f"A record with the specified key values does not exist in {ent.name} entity")
    return rid


def _written(org: Org, req: Request, ent: Entity, rec: dict[str, Any], created: bool) -> Response:
    rid = rec[ent.primary_id]
    entity_id = f"{req.base}{VERSION_PATH}/{ent.set_name}({rid})"
    headers = {"OData-EntityId": entity_id, "Location": entity_id}
    ref = (ent.name, rid) if created else None
    if "return=representation" in (req.headers.get("prefer") or ""):
        select = parse_select(ent, req.query.get("$select"))
        body = records.represent(org, ent, rec, select, records.annotation_filter(req.headers.get("prefer")))
        resp = json_response(201 if created else 200, {
            "@odata.context": f"{req.base}{VERSION_PATH}/$metadata#{ent.set_name}/$entity", **body},
            headers | {"Preference-Applied": "return=representation"})
        resp.created = ref
        return resp
    return Response(204, {"OData-Version": "4.0", **headers}, created=ref)


def create(org: Org, req: Request, ent: Entity) -> Response:
    parse_select(ent, req.query.get("$select"))
    rec = records.create(org, ent, _json_body(req, ent.set_name), req.user, content_ids=req.content_ids)
    return _written(org, req, ent, rec, created=True)


def upsert(org: Org, req: Request, ent: Entity, key: str | dict[str, Any]) -> Response:
    parse_select(ent, req.query.get("$select"))
    body = _json_body(req, ent.set_name)
    rid = records.resolve_key(org, ent, key)
    if_match, if_none = req.headers.get("if-match"), req.headers.get("if-none-match")
    if rid is None:
        if if_match:
            _existing(org, ent, key)  # raises the 404 a conditional update gets
        rec = records.create(org, ent, body, req.user, rid=key if isinstance(key, str) else None,
                             key=key if isinstance(key, dict) else None, content_ids=req.content_ids)
        return _written(org, req, ent, rec, created=True)
    if if_none == "*":
        raise ApiError(412, E.DUPLICATE_RECORD, "A record with matching key values already exists.")
    current = org.store.get(ent.name, rid)
    if if_match and if_match != "*" and if_match.strip('W/"') != str(current.get("versionnumber")):
        raise ApiError(412, E.VERSION_MISMATCH, "The version of the existing record doesn't match the RowVersion "
                                                "property provided.")
    if isinstance(key, dict):
        body = {k: v for k, v in body.items() if not (k in key and v == key[k])}
    rec = records.update(org, ent, rid, body, req.user, content_ids=req.content_ids)
    return _written(org, req, ent, rec, created=False)


def query(org: Org, req: Request, ent: Entity) -> Response:
    q = req.query
    select = parse_select(ent, q.get("$select"))
    pred, hint = compile_filter(ent, q.get("$filter"))
    order = parse_orderby(ent, q.get("$orderby")) or parse_orderby(ent, ent.primary_id)
    rows = [r for r in _candidates(org, ent, hint) if pred is None or pred(r)]
    rows = sort_records(rows, order)
    total = len(rows)
    if q.get("$top"):
        try:
            rows = rows[:int(q["$top"])]
        except ValueError:
            raise E.query_error(f"Invalid value for $top: '{q['$top']}'.") from None
    prefer = req.headers.get("prefer") or ""
    m = re.search(r"odata\.maxpagesize\s*=\s*(\d+)", prefer)
    page_size = min(int(m.group(1)), org.config["max_page_size"]) if m else org.config["max_page_size"]
    offset = 0
    if q.get("$skiptoken"):
        try:
            offset = int(json.loads(base64.urlsafe_b64decode(q["$skiptoken"].encode()))["offset"])
        except (ValueError, KeyError, TypeError):
            raise E.query_error("The $skiptoken is not valid.") from None
    page = rows[offset:offset + page_size]
    want = records.annotation_filter(prefer)
    payload: dict[str, Any] = {
        "@odata.context": f"{req.base}{VERSION_PATH}/$metadata#{ent.set_name}({','.join(select or [])})"}
    if q.get("$count") == "true":
        payload["@odata.count"] = min(total, 5000)
    payload["value"] = [records.represent(org, ent, r, select, want) for r in page]
    if offset + page_size < len(rows):
        token = base64.urlsafe_b64encode(json.dumps({"offset": offset + page_size}).encode()).decode()
        params = {k: v for k, v in q.items() if k != "$skiptoken"} | {"$skiptoken": token}
        payload["@odata.nextLink"] = f"{req.base}{VERSION_PATH}/{ent.set_name}?{urlencode(params, quote_via=quote)}"
    applied = [p for p in ("odata.include-annotations" if "include-annotations" in prefer else "",
                           f"odata.maxpagesize={page_size}" if m else "") if p]
    return json_response(200, payload, {"Preference-Applied": ",".join(applied)} if applied else None)


def _candidates(org: Org, ent: Entity, hint: tuple[str, list] | None):
    """The records a filter can match: by the primary key or a one-column alternate key when the
    filter is one In(...) over it (the shape of a read-back), else every record."""
    if hint is not None:
        prop, values = hint
        if prop == ent.primary_id:
            return [r for v in dict.fromkeys(values) if (r := org.store.get(ent.name, str(v))) is not None]
        key = next((k for k in ent.keys.values() if k.attributes == (prop,) and k.status == "Active"), None)
        if key is not None:
            ids = dict.fromkeys(i for v in values if (i := org.store.find_by_key(ent.name, key.name, {prop: v})))
            return [org.store.get(ent.name, i) for i in ids]
    return org.store.all(ent.name)


# --- metadata ----------------------------------------------------------------------------------------


def _entity_by_key(org: Org, args: str) -> Entity:
    key = parse_key(args)
    if isinstance(key, str):
        ent = next((e for e in org.schema.entities.values() if e.metadata_id == key), None)
        name = key
    else:
        name = str(key.get("LogicalName", ""))
        ent = org.schema.entities.get(name)
    if ent is None:
        raise ApiError(404, E.NOT_FOUND, f"Could not find an entity with name {name}")
    return ent


def _expand(text: str | None) -> set[str]:
    return {re.sub(r"\(.*\)$", "", p).strip() for p in re.split(r",(?![^(]*\))", text or "") if p.strip()}


def _select_props(d: dict, text: str | None) -> dict:
    if not text:
        return d
    keep = {p.strip() for p in text.split(",")}
    return {k: v for k, v in d.items() if k in keep or k.startswith("@") or k in ("MetadataId",)}


def entity_definitions(org: Org, req: Request, args: str | None, rest: list[tuple[str, str | None]]) -> Response:
    ctx = f"{req.base}{VERSION_PATH}/$metadata#EntityDefinitions"
    if args is None:
        if req.method != "GET":
            raise ApiError(405, E.INVALID_ARGUMENT, "Creating tables is not supported by this sandbox.")
        value = [_select_props(entity_json(org.schema, e), req.query.get("$select")) for e in org.schema.entities.values()]
        return json_response(200, {"@odata.context": ctx, "value": value})
    ent = _entity_by_key(org, args)
    expand = _expand(req.query.get("$expand"))
    if not rest:
        d = _select_props(entity_json(org.schema, ent), req.query.get("$select"))
        if "Attributes" in expand:
            d["Attributes"] = [attribute_json(ent, a) for a in ent.attributes.values()]
        if "Keys" in expand:
            d["Keys"] = [key_json(ent, k) for k in ent.keys.values()]
        if "ManyToOneRelationships" in expand:
            d["ManyToOneRelationships"] = relationships_json(org.schema, ent)
        return json_response(200, {"@odata.context": f"{ctx}/$entity", **d})
    name, sub_args = rest[0]
    if name == "Attributes":
        if req.method == "POST" and sub_args is None and len(rest) == 1:
            return create_attribute(org, req, ent)
        cast = rest[1][0] if len(rest) > 1 else None
        attrs = list(ent.attributes.values())
        if sub_args is not None:
            attr_key = parse_key(sub_args)
            wanted = attr_key.get("LogicalName") if isinstance(attr_key, dict) else attr_key
            attrs = [a for a in attrs if a.name == wanted or ent.attribute_id(a.name) == wanted]
            if not attrs:
                raise ApiError(404, E.NOT_FOUND, f"Could not find attribute {wanted} on entity {ent.name}")
        if cast:
            type_name = cast.rsplit(".", 1)[-1]
            attrs = [a for a in attrs if attribute_json(ent, a)["@odata.type"].endswith("." + type_name)]
        if ({"OptionSet", "GlobalOptionSet"} & expand) and not cast:
            raise E.query_error("Could not find a property named 'OptionSet' on type "
                                "'Microsoft.Dynamics.CRM.AttributeMetadata'.")
        value = []
        for a in attrs:
            full = attribute_json(ent, a, expand_options=bool({"OptionSet", "GlobalOptionSet"} & expand))
            d = _select_props(full, req.query.get("$select"))
            value.append(d | {k: full[k] for k in ("OptionSet", "GlobalOptionSet") if k in expand and k in full})
        if sub_args is not None:
            if not value:
                raise E.query_error(f"The attribute is not of type '{cast}'.", 404)
            return json_response(200, {"@odata.context": f"{ctx}/Attributes/$entity", **value[0]})
        return json_response(200, {"@odata.context": f"{ctx}/Attributes", "value": value})
    if name == "Keys":
        if req.method == "POST":
            return create_key(org, req, ent)
        return json_response(200, {"@odata.context": f"{ctx}/Keys", "value": [key_json(ent, k) for k in ent.keys.values()]})
    if name == "ManyToOneRelationships":
        return json_response(200, {"@odata.context": f"{ctx}/ManyToOneRelationships",
                                   "value": relationships_json(org.schema, ent)})
    raise E.query_error(f"Resource not found for the segment '{name}'.", 404)


def _new_schema_name(ent: Entity, schema_name: Any) -> str:
    if not isinstance(schema_name, str) or not re.match(r"^[A-Za-z][A-Za-z0-9]{1,7}_[A-Za-z0-9_]+$", schema_name):
        raise ApiError(400, E.INVALID_ARGUMENT, f"The schema name '{schema_name}' is not valid: it must start with a "
                                                "customization prefix (such as 'crm_') and hold only letters, digits "
                                                "and underscores.")
    if schema_name.lower() in ent.attributes:
        raise ApiError(400, E.METADATA_EXISTS, f"An attribute with the specified name {schema_name} already exists on "
                                               f"entity {ent.name}.")
    return schema_name.lower()


def _number(d: dict, key: str, default: float | None) -> float | None:
    value = d.get(key)
    return default if value is None else value


def _options(d: dict) -> tuple[Option, ...]:
    opts = (d.get("OptionSet") or {}).get("Options") or []
    out, nxt = [], CUSTOM_OPTION_BASE
    for o in opts:
        value = o.get("Value")
        value = nxt if value is None else int(value)
        nxt = max(nxt, value + 1)
        out.append(Option(value, label_text(o.get("Label")) or str(value)))
    if len({o.value for o in out}) != len(out) or len({o.label for o in out}) != len(out):
        raise ApiError(400, E.INVALID_ARGUMENT, "Option values and labels must be unique within an option set.")
    return tuple(out)


def create_attribute(org: Org, req: Request, ent: Entity) -> Response:
    d = _json_body(req)
    odata_type = str(d.get("@odata.type", "")).lstrip("#").rsplit(".", 1)[-1]
    if odata_type == "LookupAttributeMetadata":
        raise ApiError(400, E.INVALID_ARGUMENT, "Lookup attributes are created with their relationship: POST "
                                                "RelationshipDefinitions with a OneToManyRelationshipMetadata.")
    kind = ATTRIBUTE_TYPES.get(odata_type)
    if kind is None:
        raise ApiError(400, E.INVALID_ARGUMENT, f"Attribute type '{odata_type}' is not supported by this sandbox.")
    name = _new_schema_name(ent, d.get("SchemaName"))
    attr = Attribute(name, kind, label_text(d.get("DisplayName")) or d["SchemaName"],
                     required=((d.get("RequiredLevel") or {}).get("Value") or "None"), custom=True,
                     schema_name=d["SchemaName"])
    if kind in ("String", "Memo"):
        limit = 4000 if kind == "String" else 1_048_576
        attr.max_length = int(d.get("MaxLength") or (100 if kind == "String" else 2000))
        if not 1 <= attr.max_length <= limit:
            raise ApiError(400, E.INVALID_ARGUMENT, f"MaxLength must be between 1 and {limit}.")
        fmt = (d.get("FormatName") or {}).get("Value") or d.get("Format") or ("Text" if kind == "String" else "TextArea")
        if fmt not in STRING_FORMATS:
            raise ApiError(400, E.INVALID_ARGUMENT, f"'{fmt}' is not a valid string format.")
        attr.format = fmt
    elif kind == "Integer":
        attr.min_value, attr.max_value = _number(d, "MinValue", -2_147_483_648), _number(d, "MaxValue", 2_147_483_647)
    elif kind in ("Decimal", "Double", "Money"):
        attr.precision = int(_number(d, "Precision", 2))
        limit = 100_000_000_000 if kind != "Money" else 922_337_203_685_477
        attr.min_value, attr.max_value = _number(d, "MinValue", -limit), _number(d, "MaxValue", limit)
    elif kind == "Boolean":
        opts = d.get("OptionSet") or {}
        attr.options = (Option(1, label_text((opts.get("TrueOption") or {}).get("Label")) or "Yes"),
                        Option(0, label_text((opts.get("FalseOption") or {}).get("Label")) or "No"))
    elif kind == "DateTime":
        attr.format = d.get("Format") or "DateOnly"
        if attr.format not in ("DateOnly", "DateAndTime"):
            raise ApiError(400, E.INVALID_ARGUMENT, f"'{attr.format}' is not a valid date-time format.")
    elif kind in OPTIONS:
        if d.get("GlobalOptionSet@odata.bind"):
            raise ApiError(400, E.INVALID_ARGUMENT, "Global option sets are not supported by this sandbox.")
        attr.options = _options(d)
    org.schema.apply(attribute_op(ent.name, attr))
    org.save_meta()
    return Response(204, {"OData-Version": "4.0", "OData-EntityId":
                          f"{req.base}{VERSION_PATH}/EntityDefinitions({ent.metadata_id})/Attributes({ent.attribute_id(name)})"})


def create_relationship(org: Org, req: Request) -> Response:
    d = _json_body(req)
    if str(d.get("@odata.type", "")).lstrip("#").rsplit(".", 1)[-1] != "OneToManyRelationshipMetadata":
        raise ApiError(400, E.INVALID_ARGUMENT, "Only one-to-many relationships are supported by this sandbox.")
    referenced, referencing = org.schema.entities.get(d.get("ReferencedEntity")), org.schema.entities.get(d.get("ReferencingEntity"))
    if referenced is None or referencing is None:
        raise ApiError(404, E.NOT_FOUND, f"Could not find an entity with name "
                                         f"{d.get('ReferencedEntity') if referenced is None else d.get('ReferencingEntity')}")
    lookup = d.get("Lookup") or {}
    name = _new_schema_name(referencing, lookup.get("SchemaName"))
    attr = Attribute(name, "Lookup", label_text(lookup.get("DisplayName")) or lookup["SchemaName"],
                     required=((lookup.get("RequiredLevel") or {}).get("Value") or "None"), targets=(referenced.name,),
                     custom=True, schema_name=lookup["SchemaName"], nav=lookup["SchemaName"])
    org.schema.apply(attribute_op(referencing.name, attr))
    org.save_meta()
    rel_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{referencing.name}.{name}.{referenced.name}")
    return Response(204, {"OData-Version": "4.0", "OData-EntityId": f"{req.base}{VERSION_PATH}/RelationshipDefinitions({rel_id})"})


def create_key(org: Org, req: Request, ent: Entity) -> Response:
    d = _json_body(req)
    name = str(d.get("SchemaName") or "").lower()
    attrs = tuple(str(a).lower() for a in d.get("KeyAttributes") or [])
    if not name or not attrs:
        raise ApiError(400, E.INVALID_ARGUMENT, "An entity key needs a SchemaName and KeyAttributes.")
    if name in ent.keys:
        raise ApiError(400, E.METADATA_EXISTS, f"An entity key with the name {name} already exists on {ent.name}.")
    if len(ent.keys) >= 10:
        raise ApiError(400, E.INVALID_ARGUMENT, f"The entity {ent.name} already has the maximum of 10 keys.")
    for a in attrs:
        attr = ent.attributes.get(a)
        if attr is None or attr.type not in KEY_TYPES:
            raise ApiError(400, E.INVALID_ARGUMENT, f"The attribute '{a}' cannot be part of an entity key.")
    status = "Failed" if org.store.define_key(ent.name, name, attrs) else "Active"
    org.schema.apply({"op": "key", "entity": ent.name, "name": name, "attributes": list(attrs),
                      "label": label_text(d.get("DisplayName")) or name, "status": status})
    org.save_meta()
    return Response(204, {"OData-Version": "4.0", "OData-EntityId":
                          f"{req.base}{VERSION_PATH}/EntityDefinitions({ent.metadata_id})/Keys({uuid.uuid5(uuid.NAMESPACE_URL, ent.name + name)})"})


def insert_option_value(org: Org, req: Request) -> Response:
    d = _json_body(req)
    ent = org.schema.entities.get(d.get("EntityLogicalName"))
    attr = ent.attributes.get(d.get("AttributeLogicalName")) if ent else None
    if attr is None or attr.type not in ("Picklist", "MultiSelectPicklist"):
        raise ApiError(400, E.INVALID_ARGUMENT, "InsertOptionValue needs the EntityLogicalName and AttributeLogicalName "
                                                "of a choice column.")
    text = label_text(d.get("Label"))
    if not text:
        raise ApiError(400, E.INVALID_ARGUMENT, "InsertOptionValue needs a Label.")
    if any(o.label.casefold() == text.casefold() for o in attr.options):
        raise ApiError(400, E.METADATA_EXISTS, f"An option with the label '{text}' already exists in {ent.name}.{attr.name}.")
    value = d.get("Value")
    if value is None:
        value = max([o.value for o in attr.options if o.value >= CUSTOM_OPTION_BASE], default=CUSTOM_OPTION_BASE - 1) + 1
    if attr.option(int(value)) is not None:
        raise ApiError(400, E.METADATA_EXISTS, f"The option value {value} already exists in {ent.name}.{attr.name}.")
    org.schema.apply({"op": "option", "entity": ent.name, "attribute": attr.name, "value": int(value), "label": text})
    org.save_meta()
    return json_response(200, {"@odata.context": f"{req.base}{VERSION_PATH}/$metadata#Microsoft.Dynamics.CRM.InsertOptionValueResponse",
                               "NewOptionValue": int(value)})


# --- $batch ---------------------------------------------------------------------------------------------


def _boundary(content_type: str) -> str:
    m = re.search(r'boundary=("?)([^";]+)\1', content_type or "")
    if not m:
        raise ApiError(400, E.INVALID_ARGUMENT, "A $batch request must be multipart/mixed with a boundary.")
    return m.group(2)


def _split_headers(raw: bytes) -> tuple[dict[str, str], bytes, list[str]]:
    """Headers (and a first line, for an HTTP message) from a MIME part or an embedded HTTP message."""
    m = re.search(rb"\r?\n\r?\n", raw)
    head, body = (raw[:m.start()], raw[m.end():]) if m else (raw, b"")
    lines = head.decode("utf-8", errors="replace").splitlines()
    headers = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if sep and " " not in name.strip():
            headers[name.strip().lower()] = value.strip()
    return headers, body, lines


def _parts(body: bytes, boundary: str) -> list[tuple[dict[str, str], bytes]]:
    delimiter = b"--" + boundary.encode()
    chunks = body.split(delimiter)
    parts = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = re.sub(rb"^\r?\n", b"", chunk)
        chunk = re.sub(rb"\r?\n$", b"", chunk)
        headers, part_body, _ = _split_headers(chunk)
        parts.append((headers, part_body))
    return parts


def _inner_request(org: Org, outer: Request, raw: bytes, content_ids: dict[str, tuple[str, str]]) -> Request:
    headers, body, lines = _split_headers(raw)
    request_line = next((ln for ln in lines if ln.strip()), "")
    bits = request_line.split()
    if len(bits) < 2:
        raise ApiError(400, E.INVALID_ARGUMENT, f"Malformed request line in $batch: '{request_line}'.")
    method, url = bits[0].upper(), bits[1]
    parsed = urlparse(url)
    path = parsed.path
    m = re.match(r"^/?api/data/v9\.\d/?", path)
    if m:
        path = path[m.end():]
    path = path.lstrip("/")
    if path.startswith("$") and path[1:].split("/")[0] in content_ids:
        cid, _, rest = path[1:].partition("/")
        entity, rid = content_ids[cid]
        path = f"{org.schema.entities[entity].set_name}({rid})" + (f"/{rest}" if rest else "")
    return Request(method, path, dict(parse_qsl(parsed.query, keep_blank_values=True)),
                   {k: v for k, v in headers.items()} | {"x-batch": "1"}, body.rstrip(b"\r\n"),
                   outer.base, outer.user, content_ids)


def _http_part(resp: Response, content_id: str | None) -> bytes:
    head = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id:
        head.append(f"Content-ID: {content_id}")
    lines = [f"HTTP/1.1 {resp.status} {REASONS.get(resp.status, '')}"]
    lines += [f"{k}: {v}" for k, v in resp.headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n" + "\r\n".join(lines) + "\r\n\r\n").encode() + resp.body + b"\r\n"


def batch(org: Org, req: Request) -> Response:
    if req.method != "POST":
        raise ApiError(405, E.INVALID_ARGUMENT, "$batch accepts POST only.")
    parts = _parts(req.body, _boundary(req.headers.get("content-type", "")))
    changesets = {i: _parts(body, _boundary(h.get("content-type", ""))) for i, (h, body) in enumerate(parts)
                  if h.get("content-type", "").startswith("multipart/mixed")}
    total = sum(len(changesets.get(i, [None])) for i in range(len(parts)))
    if total > org.config["max_batch_requests"]:
        raise ApiError(400, E.BATCH_TOO_LARGE, f"The number of requests in a batch exceeded the limit of "
                                               f"{org.config['max_batch_requests']}.")
    org.stats.batches += 1
    keep_going = "odata.continue-on-error" in (req.headers.get("prefer") or "")
    boundary = f"batchresponse_{uuid.uuid4()}"
    out: list[bytes] = []
    for i, (headers, body) in enumerate(parts):
        if i in changesets:
            chunk, failed = _changeset(org, req, changesets[i])
        else:
            try:
                inner = _inner_request(org, req, body, {})
                resp = handle(org, inner)
            except ApiError as e:
                resp = error_response(e)
            chunk, failed = _http_part(resp, headers.get("content-id")), resp.status >= 400
        out.append(f"--{boundary}\r\n".encode() + chunk)
        if failed and not keep_going:
            break
    body = b"".join(out) + f"--{boundary}--\r\n".encode()
    return Response(200, {"Content-Type": f"multipart/mixed; boundary={boundary}", "OData-Version": "4.0"}, body)


def _changeset(org: Org, outer: Request, parts: list[tuple[dict[str, str], bytes]]) -> tuple[bytes, bool]:
    """One atomic change set: every request commits, or none does and the failure is the whole answer."""
    content_ids: dict[str, tuple[str, str]] = {}
    answers: list[tuple[Response, str | None]] = []
    org.store.begin()
    for headers, body in parts:
        cid = headers.get("content-id")
        try:
            inner = _inner_request(org, outer, body, content_ids)
            if inner.method == "GET":
                raise ApiError(400, E.INVALID_ARGUMENT, "A change set cannot contain GET requests.")
            resp = dispatch(org, inner)
        except ApiError as e:
            org.store.rollback()
            return _http_part(error_response(e), cid), True
        except Exception as e:  # noqa: BLE001
            org.store.rollback()
            return _http_part(error_response(ApiError(500, E.UNEXPECTED, f"An unexpected error occurred: {e}")), cid), True
        if cid and resp.created:
            content_ids[cid] = resp.created
        answers.append((resp, cid))
    org.store.commit()
    boundary = f"changesetresponse_{uuid.uuid4()}"
    body = b"".join(f"--{boundary}\r\n".encode() + _http_part(r, cid) for r, cid in answers)
    return (f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n".encode() + body
            + f"--{boundary}--\r\n".encode()), False
