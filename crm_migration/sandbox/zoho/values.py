"""Field values: input (JSON or a Bulk Write CSV cell) -> stored wire value, and stored value -> JSON.

Stored values: text as str, numbers as int/float, booleans as bool, dates ``YYYY-MM-DD``, datetimes ISO
UTC with ``+00:00``, picklists str, multi-select lists, lookups and owners as bare ids (a polymorphic
lookup keeps its module in ``$se_module``), participants as a list of dicts.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from crm_migration.sandbox.zoho.errors import RecordError, invalid
from crm_migration.sandbox.zoho.schema import NONE_OPTION, SE_MODULE, Field, Module

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
INT_LIMITS = {"integer": 2**31 - 1, "bigint": 2**63 - 1}
PARTICIPANT_TYPES = {"contact": "Contacts", "lead": "Leads", "user": "users", "email": None}


def _id_of(raw: Any) -> str | None:
    if isinstance(raw, dict):
        raw = raw.get("id")
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not isinstance(raw, (str, int)) or not str(raw).isdigit():
        raise ValueError(raw)
    return str(raw)


def parse(crm, module: Module, f: Field, raw: Any, body: dict[str, Any], csv: bool = False) -> Any:
    """The stored value of ``raw`` for field ``f``; raises RecordError. ``body`` is the whole input record
    (a polymorphic lookup reads its module there); ``csv`` relaxes types, as a CSV cell is always text."""
    if raw is None or (csv and raw == ""):
        return None
    t = f.data_type
    name = f.api_name
    if t in ("text", "textarea", "phone", "email", "website", "autonumber"):
        if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
            raise invalid(name, expected_data_type="text")
        value = str(raw)
        if value == "":
            return None
        if f.length and len(value) > f.length:
            raise invalid(name, maximum_length=f.length)
        if t == "email" and not EMAIL_RE.match(value):
            raise invalid(name, expected_data_type="email")
        if t == "website" and re.search(r"\s", value):
            raise invalid(name, expected_data_type="website")
        return value
    if t == "picklist":
        if not isinstance(raw, str):
            raise invalid(name, expected_data_type="picklist")
        if raw in ("", NONE_OPTION):
            return None
        if raw not in f.values:
            raise invalid(name, "invalid data", expected_data_type="picklist")
        return raw
    if t == "multiselectpicklist":
        items = raw.split(";") if csv and isinstance(raw, str) else raw
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            raise invalid(name, expected_data_type="jsonarray")
        bad = [v for v in items if v not in f.values]
        if bad:
            raise invalid(name, "invalid data", expected_data_type="multiselectpicklist")
        return list(dict.fromkeys(items)) or None
    if t in ("integer", "bigint"):
        try:
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError
            value = int(raw) if not isinstance(raw, str) or re.fullmatch(r"-?\d+", raw.strip()) else None
            if value is None:
                raise ValueError
        except (TypeError, ValueError):
            raise invalid(name, expected_data_type="integer") from None
        if abs(value) > INT_LIMITS[t]:
            raise invalid(name, "invalid data", maximum_length=f.length)
        return value
    if t in ("double", "currency", "percent"):
        try:
            if isinstance(raw, bool):
                raise ValueError
            value = float(raw)
        except (TypeError, ValueError):
            raise invalid(name, expected_data_type="double") from None
        if value != value or abs(value) >= 1e16:
            raise invalid(name, "invalid data", maximum_length=f.length)
        return value
    if t == "boolean":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise invalid(name, expected_data_type="boolean")
    if t == "date":
        try:
            if not isinstance(raw, str) or len(raw) != 10:
                raise ValueError
            return dt.date.fromisoformat(raw).isoformat()
        except ValueError:
            raise invalid(name, expected_data_type="date") from None
    if t == "datetime":
        try:
            value = dt.datetime.fromisoformat(raw) if isinstance(raw, str) else None
        except ValueError:
            value = None
        if value is None or value.tzinfo is None:
            raise invalid(name, expected_data_type="datetime")
        return value.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat()
    if t == "ownerlookup":
        try:
            uid = _id_of(raw)
        except ValueError:
            raise invalid(name, expected_data_type="jsonobject") from None
        user = crm.store.get(uid) if uid else None
        if user is None or crm.store.module_of(uid) != "users":
            raise invalid(name, "invalid data")
        if user.get("status") != "active":
            raise invalid(name, "the given user is inactive")
        return uid
    if t == "lookup":
        try:
            rid = _id_of(raw)
        except ValueError:
            raise invalid(name, expected_data_type="jsonobject") from None
        if rid is None:
            return None
        target = f.lookup
        if target == SE_MODULE:
            target = (raw.get("module") or {}).get("api_name") if isinstance(raw, dict) and isinstance(raw.get("module"), dict) \
                else None
            target = target or body.get("$se_module")
            if not target:
                raise RecordError("MANDATORY_NOT_FOUND", "required field not found", "$se_module")
            found = crm.schema.get(target)
            if found is None:
                raise invalid("$se_module", "invalid module")
            target = found.api_name
        if crm.store.module_of(rid) != target:
            raise invalid(name, "the id given seems to be invalid", id=rid)
        return rid
    if t == "participants":
        return parse_participants(crm, name, raw)
    raise invalid(name)


def parse_participants(crm, name: str, raw: Any) -> list[dict[str, Any]] | None:
    if not isinstance(raw, list):
        raise invalid(name, expected_data_type="jsonarray")
    out = []
    for p in raw:
        kind = p.get("type") if isinstance(p, dict) else None
        if kind not in PARTICIPANT_TYPES:
            raise invalid(name, "invalid participant type")
        if kind == "email":
            email = p.get("Email") or p.get("participant")
            if not isinstance(email, str) or not EMAIL_RE.match(email):
                raise invalid(name, "invalid participant email")
            out.append({"type": "email", "participant": email.lower(), "Email": email.lower()})
            continue
        pid = str(p.get("participant") or p.get("id") or "")
        if crm.store.module_of(pid) != PARTICIPANT_TYPES[kind]:
            raise invalid(name, "the id given seems to be invalid", id=pid)
        out.append({"type": kind, "participant": pid, "Email": (crm.store.get(pid) or {}).get("Email")
                    or (crm.store.get(pid) or {}).get("email")})
    return out or None


def render(crm, module: Module, f: Field, value: Any, rec: dict[str, Any]) -> Any:
    """The JSON the records API answers for a stored value."""
    if value is None:
        return [] if f.data_type == "multiselectpicklist" else None
    if f.data_type == "ownerlookup":
        return crm.user_ref(value)
    if f.data_type == "lookup":
        target = crm.store.get(value)
        if target is None:
            return None
        other = crm.schema.get(crm.store.module_of(value))
        ref = {"name": target.get(other.display_field()) if other else None, "id": value}
        if f.lookup == SE_MODULE and other:
            ref["module"] = {"api_name": other.api_name, "id": other.id}
        return ref
    if f.data_type == "participants":
        return [{"name": p.get("Email"), "Email": p.get("Email"), "invited": False, "type": p["type"],
                 "participant": p["participant"], "status": "not_known"} for p in value]
    if f.data_type == "bigint":
        return str(value)
    return value
