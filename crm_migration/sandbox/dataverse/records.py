"""Record writes and reads with Dataverse's rules.

A write body is checked column by column the way the platform checks it: unknown properties and
values of the wrong JSON type fail the payload (0x80048d19), lookups are set only through
``<navigation property>@odata.bind`` and must point at an existing record of a target table (an
owner must be an enabled user), text lengths, number ranges and option values are validated
(0x80044331), required columns must be present, status reason must belong to the status, alternate
keys must stay unique (412), a note's file must fit ``max_upload_file_size``. Stored values are the
wire values (option values as integers, lookups as ``[entity, id]``, date-times as UTC ``...Z``).

Deleting a record deletes its parental children (notes, activities regarding it, contacts and
opportunities of an account, list members, connections) and clears other lookups to it.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlparse

from crm_migration.sandbox.dataverse import errors as E
from crm_migration.sandbox.dataverse.errors import ApiError
from crm_migration.sandbox.dataverse.metadata import LOOKUPS, Attribute, Entity, computed, nav_name
from crm_migration.sandbox.dataverse.odata import GUID_RE, normalise_datetime, parse_key
from crm_migration.sandbox.dataverse.org import Org

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")
EDM = {"String": "Edm.String", "Memo": "Edm.String", "Integer": "Edm.Int32", "BigInt": "Edm.Int64",
       "Decimal": "Edm.Decimal", "Double": "Edm.Double", "Money": "Edm.Decimal", "Boolean": "Edm.Boolean",
       "DateTime": "Edm.DateTimeOffset", "Picklist": "Edm.Int32", "State": "Edm.Int32", "Status": "Edm.Int32",
       "MultiSelectPicklist": "Edm.String", "Uniqueidentifier": "Edm.Guid", "EntityName": "Edm.String"}
# (referencing entity, lookup) pairs whose parent's deletion deletes the child
PARENTAL = {("annotation", "objectid"), ("listmember", "listid"), ("listmember", "entityid"),
            ("connection", "record1id"), ("connection", "record2id"), ("contact", "parentcustomerid"),
            ("opportunity", "customerid"), ("task", "regardingobjectid"), ("appointment", "regardingobjectid"),
            ("phonecall", "regardingobjectid")}
LIST_MEMBER_TYPES = {1: "account", 2: "contact", 4: "lead"}
URL_KEY_FORBIDDEN = set("/<>*%&:\\?+")


# --- resolving references ---------------------------------------------------------------------------


def resolve_key(org: Org, ent: Entity, key: str | dict[str, Any]) -> str | None:
    """The id of the record a key segment names (None when there is none)."""
    if isinstance(key, str):
        return key if org.store.get(ent.name, key) is not None else None
    k = find_key(ent, key)
    bad = [v for v in key.values() if isinstance(v, str) and set(v) & URL_KEY_FORBIDDEN]
    if bad:
        raise ApiError(400, E.INVALID_ARGUMENT, f"The key value '{bad[0]}' contains characters that cannot be used in "
                                                "a key in the URL (/ < > * % & : \\ ? +).")
    return org.store.find_by_key(ent.name, k.name, key)


def find_key(ent: Entity, key: dict[str, Any]):
    for k in ent.keys.values():
        if set(k.attributes) == set(key):
            if k.status != "Active":
                raise ApiError(400, E.INVALID_ARGUMENT, f"The entity key '{k.name}' of '{ent.name}' is not active "
                                                        f"(EntityKeyIndexStatus: {k.status}).")
            return k
    raise ApiError(400, E.INVALID_ARGUMENT, f"The key attributes '{','.join(key)}' do not match any entity key "
                                            f"defined for entity '{ent.name}'.")


def resolve_bind(org: Org, value: Any, content_ids: dict[str, tuple[str, str]]) -> tuple[str, str]:
    """``/accounts(<guid>)``, ``accounts(key='v')``, an absolute URL or ``$1`` -> (entity, id)."""
    if not isinstance(value, str):
        raise E.payload_error("", "An @odata.bind value must be a URL string.")
    if value.startswith("$"):
        if value[1:] not in content_ids:
            raise ApiError(400, E.INVALID_ARGUMENT, f"Content-ID reference '{value}' is not defined in this change set.")
        return content_ids[value[1:]]
    path = urlparse(value).path if "://" in value else value
    path = path.rsplit("/", 1)[-1]
    m = re.match(r"^([A-Za-z_]\w*)\((.*)\)$", unquote(path))
    if not m:
        raise ApiError(400, E.INVALID_ARGUMENT, f"The bind value '{value}' is not a record URL.")
    ent = org.schema.by_set(m.group(1))
    if ent is None:
        raise E.query_error(f"Resource not found for the segment '{m.group(1)}'.", 404)
    rid = resolve_key(org, ent, parse_key(m.group(2)))
    if rid is None:
        raise E.not_found(ent.name, m.group(2))
    return ent.name, rid


# --- writes -----------------------------------------------------------------------------------------


def _coerce(ent: Entity, a: Attribute, value: Any) -> Any:
    def wrong() -> ApiError:
        return E.payload_error(ent.set_name, f"Cannot convert the literal '{value}' to the expected type "
                                             f"'{EDM.get(a.type, 'Edm.String')}'.")

    if value is None:
        return None
    if a.type in ("String", "Memo", "MultiSelectPicklist", "EntityName") and not isinstance(value, str):
        raise wrong()
    if a.type in ("String", "Memo"):
        if a.max_length is not None and len(value) > a.max_length:
            raise ApiError(400, E.VALIDATION, f"A validation error occurred. The length of the '{a.name}' attribute of "
                                              f"the '{ent.name}' entity exceeded the maximum allowed length of "
                                              f"'{a.max_length}'.")
        return value
    if a.type in ("Integer", "BigInt", "Picklist", "State", "Status"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            raise wrong()
        value = int(value)
        if a.type in ("Picklist", "State", "Status") and a.option(value) is None:
            raise out_of_range(ent, a, value)
        if a.min_value is not None and not a.min_value <= value <= a.max_value:
            raise ApiError(400, E.VALIDATION, f"A validation error occurred. The value {value} of '{a.name}' on record "
                                              f"of type '{ent.name}' is outside the valid range "
                                              f"({a.min_value:g} to {a.max_value:g}).")
        return value
    if a.type in ("Decimal", "Double", "Money"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise wrong()
        if a.min_value is not None and not a.min_value <= value <= a.max_value:
            raise ApiError(400, E.VALIDATION, f"A validation error occurred. The value {value} of '{a.name}' on record "
                                              f"of type '{ent.name}' is outside the valid range.")
        return float(value)
    if a.type == "Boolean":
        if not isinstance(value, bool):
            raise wrong()
        return value
    if a.type == "DateTime":
        if not isinstance(value, str):
            raise wrong()
        if a.format == "DateOnly":
            if not DATE_RE.match(value):
                raise wrong()
            return value
        if not DATETIME_RE.match(value):
            raise wrong()
        return normalise_datetime(value)
    if a.type == "MultiSelectPicklist":
        items = [v for v in value.split(",") if v.strip()]
        try:
            numbers = sorted({int(v) for v in items})
        except ValueError:
            raise wrong() from None
        for n in numbers:
            if a.option(n) is None:
                raise out_of_range(ent, a, n)
        return ",".join(str(n) for n in numbers) or None
    if a.type == "Uniqueidentifier":
        if not isinstance(value, str) or not GUID_RE.match(value):
            raise wrong()
        return value.lower()
    raise wrong()


def out_of_range(ent: Entity, a: Attribute, value: Any) -> ApiError:
    accepted = ",".join(str(o.value) for o in a.options)
    return ApiError(400, E.VALIDATION, f"A validation error occurred. The value {value} of '{a.name}' on record of type "
                                       f"'{ent.name}' is outside the valid range. Accepted Values: {accepted}")


def apply_body(org: Org, ent: Entity, body: Any, current: dict[str, Any] | None,
               content_ids: dict[str, tuple[str, str]] | None = None) -> dict[str, Any]:
    """The record as it would be after this create (``current`` None) or update."""
    creating = current is None
    if not isinstance(body, dict):
        raise E.payload_error(ent.set_name, "The request body must be a JSON object.")
    rec = dict(current or {})
    changed: set[str] = set()
    navs = ent.navs()
    for key, value in body.items():
        if key.startswith("@"):
            continue
        prop, _, annotation = key.partition("@")
        if annotation:
            if annotation != "odata.bind":
                continue
            if prop not in navs:
                raise E.payload_error(ent.set_name, f"An undeclared property '{prop}' which only has property "
                                                    "annotations in the payload but no property value was found in "
                                                    "the payload.")
            attr_name, target = navs[prop]
            attr = ent.attributes[attr_name]
            _check_writable(ent, attr, creating)
            if value is None:
                rec[attr_name] = None
            else:
                entity, rid = resolve_bind(org, value, content_ids or {})
                if entity not in attr.targets or (attr.type != "Owner" and target != entity):
                    raise E.payload_error(ent.set_name, f"The navigation property '{prop}' expects a '{target}' record, "
                                                        f"not a '{entity}' record.")
                if entity == "systemuser" and attr.type == "Owner" and org.store.get(entity, rid).get("isdisabled"):
                    raise ApiError(400, E.DISABLED_USER, f"The specified user(Id = {rid}, type = 8) is disabled. "
                                                         "Consider enabling this user. Additional Details: the owner "
                                                         "of a record must be an enabled user.")
                rec[attr_name] = [entity, rid]
            changed.add(attr_name)
            continue
        attr = ent.attributes.get(prop)
        if attr is None or attr.type in LOOKUPS:
            raise E.payload_error(ent.set_name, f"The property '{prop}' does not exist on type "
                                                f"'Microsoft.Dynamics.CRM.{ent.name}'. Make sure to only use property "
                                                "names that are defined by the type or mark the type as open type.")
        if prop == ent.primary_id and not creating:
            if value is not None and str(value).lower() != rec[prop]:
                raise ApiError(400, E.INVALID_ARGUMENT, f"The primary key '{prop}' cannot be changed.")
            continue
        _check_writable(ent, attr, creating)
        rec[prop] = _coerce(ent, attr, value)
        changed.add(prop)
    _states(ent, rec, changed)
    _computed(org, ent, rec)
    _required(org, ent, rec, changed, creating)
    return rec


def _check_writable(ent: Entity, attr: Attribute, creating: bool) -> None:
    if (creating and not attr.create) or (not creating and not attr.update):
        raise ApiError(400, E.INVALID_ARGUMENT, f"The attribute '{attr.name}' of '{ent.name}' is read-only: it is not "
                                                f"valid for {'create' if creating else 'update'}.")


def _states(ent: Entity, rec: dict[str, Any], changed: set[str]) -> None:
    state, status = ent.attributes.get("statecode"), ent.attributes.get("statuscode")
    if state is None or status is None:
        return
    if "statuscode" in changed and rec.get("statuscode") is not None and "statecode" not in changed:
        rec["statecode"] = status.option(rec["statuscode"]).state
    if rec.get("statecode") is None:
        rec["statecode"] = state.options[0].value
    if rec.get("statuscode") is None or ("statecode" in changed and "statuscode" not in changed):
        rec["statuscode"] = state.option(rec["statecode"]).default_status
    if status.option(rec["statuscode"]).state != rec["statecode"]:
        raise ApiError(400, E.VALIDATION, f"{rec['statuscode']} is not a valid status code for state code "
                                          f"{ent.label}State.{state.option(rec['statecode']).label} on {ent.name} "
                                          f"with Id {rec.get(ent.primary_id)}.")


def _computed(org: Org, ent: Entity, rec: dict[str, Any]) -> None:
    names = computed(ent)
    if "fullname" in names:
        rec["fullname"] = " ".join(p for p in (rec.get("firstname"), rec.get("lastname")) if p) or None
    if ent.name == "annotation":
        body = rec.get("documentbody")
        size = None
        if body is not None:
            try:
                size = len(base64.b64decode(body, validate=True))
            except (binascii.Error, ValueError):
                raise ApiError(400, E.VALIDATION, "A validation error occurred. The value of 'documentbody' is not a "
                                                  "valid Base64 string.") from None
            if size > org.config["max_upload_file_size"]:
                raise ApiError(400, E.ATTACHMENT_TOO_LARGE, "The attachment is either not a valid type or is too "
                                                            f"large ({size} bytes; the limit is "
                                                            f"{org.config['max_upload_file_size']}). It cannot be "
                                                            "uploaded or downloaded.")
        rec["filesize"] = size
        rec["isdocument"] = body is not None
        rec["objecttypecode"] = (rec.get("objectid") or [None])[0]
    if ent.name == "connection":
        other = rec.get("record2id")
        target = org.store.get(other[0], other[1]) if other else None
        rec["name"] = target.get(org.schema.entities[other[0]].primary_name) if target else None
    if ent.name == "listmember" and rec.get("listid") and rec.get("entityid"):
        lst = org.store.get("list", rec["listid"][1])
        wanted = LIST_MEMBER_TYPES.get(lst.get("createdfromcode"))
        if rec["entityid"][0] != wanted:
            raise ApiError(400, E.INVALID_ARGUMENT, f"The member type '{rec['entityid'][0]}' does not match the "
                                                    f"marketing list's member type '{wanted}'.")


def _required(org: Org, ent: Entity, rec: dict[str, Any], changed: set[str], creating: bool) -> None:
    levels = {"SystemRequired", "ApplicationRequired"} if org.config["enforce_business_required"] else {"SystemRequired"}
    for a in ent.attributes.values():
        if (a.required in levels and a.create and a.type not in ("Owner", "State", "Status")
                and a.name != ent.primary_id and (creating or a.name in changed) and rec.get(a.name) in (None, "")):
            raise ApiError(400, E.REQUIRED, f"A required field is missing: '{a.label}' ({a.name}) on {ent.name} "
                                            f"({a.required}).")


def check_keys(org: Org, ent: Entity, rid: str, rec: dict[str, Any]) -> None:
    clash = org.store.key_clash(ent.name, rec, rid)
    if clash:
        k = ent.keys[clash]
        values = ",".join(str(rec.get(a)) for a in k.attributes)
        raise ApiError(412, E.DUPLICATE_KEY, f"A record that has the attribute values {values} already exists. The "
                                             f"entity key {k.name} requires that this set of attributes contains "
                                             "unique values.")
    if ent.name == "listmember":
        for other in org.store.all("listmember"):
            if other["listmemberid"] != rid and other["listid"] == rec["listid"] and other["entityid"] == rec["entityid"]:
                raise ApiError(412, E.DUPLICATE_RECORD, "Cannot insert duplicate key: the record is already a member "
                                                        "of this marketing list.")


def create(org: Org, ent: Entity, body: Any, user: str, rid: str | None = None, key: dict[str, Any] | None = None,
           content_ids: dict[str, tuple[str, str]] | None = None) -> dict[str, Any]:
    if ent.name == "systemuser":
        raise ApiError(403, E.PRIVILEGE, f"Principal user (Id={user}, type=8) is missing prvCreateUser privilege.")
    body = dict(body) if isinstance(body, dict) else body
    if key and isinstance(body, dict):
        body = {**body, **key}  # Dataverse applies the key's values to the record it creates
    rec = apply_body(org, ent, body, None, content_ids)
    rid = (rid or rec.get(ent.primary_id) or str(uuid.uuid4())).lower()
    if org.store.get(ent.name, rid) is not None:
        raise ApiError(412, E.DUPLICATE_RECORD, "Cannot insert duplicate key.")
    rec[ent.primary_id] = rid
    check_keys(org, ent, rid, rec)
    org.stamp(ent.name, rec, creating=True, user=user)
    org.stats.write("created")
    return rec


def update(org: Org, ent: Entity, rid: str, body: Any, user: str,
           content_ids: dict[str, tuple[str, str]] | None = None) -> dict[str, Any]:
    if ent.name == "systemuser":
        raise ApiError(403, E.PRIVILEGE, f"Principal user (Id={user}, type=8) is missing prvWriteUser privilege.")
    rec = apply_body(org, ent, body, org.store.get(ent.name, rid), content_ids)
    check_keys(org, ent, rid, rec)
    org.stamp(ent.name, rec, creating=False, user=user)
    org.stats.write("updated")
    return rec


def delete(org: Org, ent: Entity, rid: str) -> None:
    if ent.name in ("systemuser", "team"):
        raise ApiError(403, E.PRIVILEGE, f"Records of '{ent.name}' cannot be deleted.")
    org.store.remove(ent.name, rid)
    org.stats.write("deleted")
    for entity, child, lookup in org.store.referrers(rid):
        if (entity, lookup) in PARENTAL:
            if org.store.get(entity, child) is not None:
                delete(org, org.schema.entities[entity], child)
        else:
            rec = dict(org.store.get(entity, child))
            rec[lookup] = None
            org.store.put(entity, child, rec)


# --- reads ------------------------------------------------------------------------------------------


def annotation_filter(prefer: str | None) -> Callable[[str], bool]:
    """Which instance annotations ``Prefer: odata.include-annotations="..."`` asks for."""
    m = re.search(r'odata\.include-annotations\s*=\s*"?([^";]*)"?', prefer or "")
    patterns = [p.strip() for p in m.group(1).split(",") if p.strip()] if m else []
    if not patterns:
        return lambda name: False
    return lambda name: any(fnmatch.fnmatchcase(name, p) for p in patterns)


def represent(org: Org, ent: Entity, rec: dict[str, Any], select: list[str] | None,
              want: Callable[[str], bool]) -> dict[str, Any]:
    out: dict[str, Any] = {"@odata.etag": f'W/"{rec.get("versionnumber")}"'}
    names = select or [f"_{a.name}_value" if a.type in LOOKUPS else a.name for a in ent.attributes.values()]
    for name in dict.fromkeys([*names, ent.primary_id]):
        if name.startswith("_") and name.endswith("_value") and name[1:-6] in ent.attributes:
            attr = ent.attributes[name[1:-6]]
            ref = rec.get(attr.name)
            out[name] = ref[1] if ref else None
            if ref:
                if want("OData.Community.Display.V1.FormattedValue"):
                    target = org.store.get(ref[0], ref[1]) or {}
                    out[f"{name}@OData.Community.Display.V1.FormattedValue"] = target.get(
                        org.schema.entities[ref[0]].primary_name)
                if want("Microsoft.Dynamics.CRM.associatednavigationproperty"):
                    out[f"{name}@Microsoft.Dynamics.CRM.associatednavigationproperty"] = nav_name(ent, attr, ref[0])
                if want("Microsoft.Dynamics.CRM.lookuplogicalname"):
                    out[f"{name}@Microsoft.Dynamics.CRM.lookuplogicalname"] = ref[0]
            continue
        attr = ent.attributes[name]
        value = rec.get(name)
        out[name] = value
        if value is not None and want("OData.Community.Display.V1.FormattedValue"):
            if attr.type in ("Picklist", "State", "Status", "Boolean"):
                option = attr.option(int(value))
                out[f"{name}@OData.Community.Display.V1.FormattedValue"] = option.label if option else None
            elif attr.type == "MultiSelectPicklist":
                out[f"{name}@OData.Community.Display.V1.FormattedValue"] = "; ".join(
                    attr.option(int(v)).label for v in value.split(","))
    return out
