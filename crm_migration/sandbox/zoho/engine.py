"""The write engine shared by the records API and Bulk Write: insert, update, upsert and delete.

Each record is validated completely before it is stored, in the order Zoho reports problems:
mandatory fields, then values (types, lengths, picklists, lookups, the owner), then unique fields
(other records and earlier records of the same call). Unknown field names are ignored, as Zoho does;
read-only fields are ignored. One outcome per record; the store is flushed once per call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm_migration.sandbox.zoho.crm import Crm, now_iso
from crm_migration.sandbox.zoho.errors import RecordError, invalid, mandatory
from crm_migration.sandbox.zoho.schema import SE_MODULE, Module
from crm_migration.sandbox.zoho.values import parse


@dataclass
class Outcome:
    id: str | None = None
    action: str | None = None  # insert | update | delete
    duplicate_field: str | None = None
    error: RecordError | None = None


def _values(crm: Crm, module: Module, body: dict[str, Any], csv: bool) -> dict[str, Any]:
    out = {}
    for name, raw in body.items():
        f = module.fields.get(name)
        if f is None or f.read_only or name == "id":
            continue
        out[name] = parse(crm, module, f, raw, body, csv=csv)
        if f.data_type == "lookup" and f.lookup == SE_MODULE:
            out["$se_module"] = crm.store.module_of(out[name]) if out[name] else None
    return out


def _check_unique(crm: Crm, module: Module, rec: dict[str, Any], rid: str | None) -> None:
    for f in module.unique_fields():
        value = rec.get(f.api_name)
        if value is None:
            continue
        others = [o for o in crm.store.find(module.api_name, f.api_name, value) if o != rid]
        if others:
            raise RecordError("DUPLICATE_DATA", "duplicate data", f.api_name, duplicate_record={
                "module": {"api_name": module.api_name, "id": module.id}, "id": others[0],
                "Owner": crm.user_ref(crm.store.get(others[0]).get("Owner"))})


def _store(crm: Crm, module: Module, rid: str | None, body: dict[str, Any], user_id: str, csv: bool) -> Outcome:
    old = crm.store.get(rid) if rid else None
    if rid is None:
        missing = [f.api_name for f in module.fields.values()
                   if f.mandatory and (body.get(f.api_name) is None or body.get(f.api_name) in ("", [])) ]
        if missing:
            raise mandatory(missing[0])
    else:
        for f in module.fields.values():
            if f.mandatory and f.api_name in body and body[f.api_name] in (None, "", []):
                raise mandatory(f.api_name)
    values = _values(crm, module, body, csv)
    rec = dict(old or {})
    rec.update(values)
    for f in module.fields.values():
        if f.mandatory and rec.get(f.api_name) is None:
            raise mandatory(f.api_name)
    if rec.get("Owner") is None:
        rec["Owner"] = user_id
    _check_unique(crm, module, rec, rid)
    now = now_iso()
    if "Full_Name" in module.fields:
        rec["Full_Name"] = " ".join(p for p in (rec.get("First_Name"), rec.get("Last_Name")) if p)
    if rid is None:
        rid = crm.new_id()
        rec.update({"id": rid, "Created_Time": now, "Created_By": user_id})
    rec.update({"Modified_Time": now, "Modified_By": user_id})
    crm.store.put(module.api_name, rec)
    return Outcome(rid, "update" if old else "insert")


def write(crm: Crm, module: Module, items: list[Any], op: str, user_id: str,
          duplicate_check_fields: list[str] | None = None, csv: bool = False) -> list[Outcome]:
    """``op`` is insert, update or upsert; ``csv`` for Bulk Write rows (all values are text)."""
    outcomes = []
    with crm.store.lock:
        for body in items:
            try:
                if not isinstance(body, dict):
                    raise invalid(None, "invalid data")
                rid = None
                dup_field = None
                if op == "update":
                    rid = str(body.get("id") or "")
                    if not rid:
                        raise mandatory("id")
                    if crm.store.module_of(rid) != module.api_name:
                        raise invalid("id", "the id given seems to be invalid")
                elif op == "upsert":
                    rid, dup_field = _match(crm, module, body, duplicate_check_fields)
                outcome = _store(crm, module, rid, body, user_id, csv)
                outcome.duplicate_field = dup_field
            except RecordError as e:
                outcome = Outcome(error=e)
            outcomes.append(outcome)
        crm.store.flush()
        crm.persist_counter()
    crm.stats.add_writes(created=sum(o.action == "insert" for o in outcomes),
                         updated=sum(o.action == "update" for o in outcomes))
    return outcomes


def _match(crm: Crm, module: Module, body: dict[str, Any], fields: list[str] | None) -> tuple[str | None, str | None]:
    """The record an upsert updates: the first duplicate-check field with a value that matches one."""
    if "id" in body and body["id"]:
        rid = str(body["id"])
        if crm.store.module_of(rid) != module.api_name:
            raise invalid("id", "the id given seems to be invalid")
        return rid, "id"
    allowed = set(module.dedupe) | {f.api_name for f in module.unique_fields()}
    for name in fields if fields is not None else [*module.dedupe, *[f.api_name for f in module.unique_fields()]]:
        if name not in allowed:
            raise invalid(name, "the field is not a duplicate check field")
        value = body.get(name)
        if value in (None, ""):
            continue
        found = crm.store.find(module.api_name, name, value)
        if found:
            return found[0], name
    return None, None


def delete(crm: Crm, module: Module, ids: list[str]) -> list[Outcome]:
    outcomes = []
    with crm.store.lock:
        for rid in ids:
            if crm.store.module_of(rid) != module.api_name:
                outcomes.append(Outcome(rid, error=invalid(None, "the related id given seems to be invalid", id=rid)))
                continue
            crm.store.remove(rid)
            # a record's notes and attachments go with it
            for child_module in ("Notes", "attachments"):
                for child in crm.store.find(child_module, "Parent_Id", rid):
                    crm.store.remove(child)
            outcomes.append(Outcome(rid, "delete"))
        crm.store.flush()
    crm.stats.add_writes(deleted=sum(o.action == "delete" for o in outcomes))
    return outcomes
