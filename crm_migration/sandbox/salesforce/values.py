"""Field value coercion, validation and formatting in Salesforce's terms.

``coerce`` turns a JSON value (REST) or a CSV cell (Bulk API 2.0) into the stored form:
text as str, numbers as int/float, booleans as bool, dates as ``YYYY-MM-DD`` and datetimes
normalised to UTC ``YYYY-MM-DDTHH:MM:SS.sss+0000`` (so they sort and compare as strings).
Undecodable values raise :class:`RequestDecodeError`; valid-but-unacceptable values raise
:class:`RecordError` with Salesforce's status code.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from crm_migration.sandbox.salesforce.errors import RecordError, RequestDecodeError
from crm_migration.sandbox.salesforce.schema import NUMBER_TYPES, TEXT_TYPES, Field

EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:Z|[+-]\d{2}:?\d{2})?$")
_DT_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
                    r"(Z|[+-]\d{2}:?\d{2})?$")


def now_dt() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def fmt_datetime(value: dt.datetime) -> str:
    value = value.astimezone(dt.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def now_sf() -> str:
    return fmt_datetime(now_dt())


def parse_date(text: str) -> str | None:
    m = _DATE_RE.match(text)
    if not m:
        m2 = _DT_RE.match(text)
        if not m2:
            return None
        y, mo, d = int(m2.group(1)), int(m2.group(2)), int(m2.group(3))
    else:
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    try:
        return dt.date(y, mo, d).isoformat()
    except ValueError:
        return None


def parse_datetime(text: str) -> str | None:
    m = _DT_RE.match(text)
    if not m:
        d = _DATE_RE.match(text)
        if not d:
            return None
        try:
            return fmt_datetime(dt.datetime(int(d.group(1)), int(d.group(2)), int(d.group(3)),
                                            tzinfo=dt.timezone.utc))
        except ValueError:
            return None
    y, mo, d_, h, mi = (int(m.group(i)) for i in range(1, 6))
    s = int(m.group(6) or 0)
    frac = (m.group(7) or "0")[:6].ljust(6, "0")
    tz = m.group(8)
    if tz in (None, "Z"):
        tzinfo = dt.timezone.utc
    else:
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        tzinfo = dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        return fmt_datetime(dt.datetime(y, mo, d_, h, mi, s, int(frac), tzinfo=tzinfo))
    except ValueError:
        return None


_TYPE_NAMES = {"int": "int", "double": "double", "currency": "double", "percent": "double",
               "boolean": "boolean", "date": "date", "datetime": "datetime"}


def coerce(f: Field, raw: Any, csv: bool = False) -> Any:
    """Decode ``raw`` for field ``f``; ``None`` means null."""
    if raw is None:
        return None
    t = f.type
    if isinstance(raw, (dict, list)):
        raise RequestDecodeError(f.name, f.label, raw, _TYPE_NAMES.get(t, "String"))
    if isinstance(raw, str) and raw == "":
        return None
    if t in TEXT_TYPES or t in ("id", "reference", "base64"):
        if isinstance(raw, bool):
            return "true" if raw else "false"
        if isinstance(raw, float) and raw.is_integer():
            return str(int(raw))
        return str(raw)
    if t == "boolean":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, (int, float)) and raw in (0, 1):
            return bool(raw)
        if isinstance(raw, str) and raw.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
            return raw.strip().lower() in ("true", "1", "yes")
        raise RequestDecodeError(f.name, f.label, raw, "boolean")
    if t in NUMBER_TYPES:
        if isinstance(raw, bool):
            raise RequestDecodeError(f.name, f.label, raw, _TYPE_NAMES[t])
        if isinstance(raw, str):
            try:
                num = float(raw.strip().replace(",", "")) if csv else float(raw.strip())
            except ValueError:
                raise RequestDecodeError(f.name, f.label, raw, _TYPE_NAMES[t]) from None
        else:
            num = float(raw)
        if math.isnan(num) or math.isinf(num):
            raise RequestDecodeError(f.name, f.label, raw, _TYPE_NAMES[t])
        if t == "int":
            if not num.is_integer():
                raise RequestDecodeError(f.name, f.label, raw, "int")
            return int(num)
        return num
    if t == "date":
        if not isinstance(raw, str) or (val := parse_date(raw.strip())) is None:
            raise RequestDecodeError(f.name, f.label, raw, "date")
        return val
    if t == "datetime":
        if not isinstance(raw, str) or (val := parse_datetime(raw.strip())) is None:
            raise RequestDecodeError(f.name, f.label, raw, "datetime")
        return val
    return raw


def validate(f: Field, value: Any) -> Any:
    """Check a decoded, non-null value against the field's constraints; return the stored form."""
    t = f.type
    if t in TEXT_TYPES:
        if t == "multipicklist":
            parts = []
            for p in str(value).split(";"):
                p = p.strip()
                if p and p not in parts:
                    parts.append(p)
            if f.restricted:
                allowed = f.active_values()
                for p in parts:
                    if p not in allowed:
                        raise RecordError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                                          f"{f.label}: bad value for restricted picklist field: {p}",
                                          [f.name])
            value = ";".join(parts)
        if f.length and len(value) > f.length:
            shown = value if len(value) <= 40 else value[:37] + "..."
            raise RecordError("STRING_TOO_LONG",
                              f"{f.label}: data value too large: {shown} (max length={f.length})", [f.name])
        if t == "email" and not EMAIL_RE.match(value):
            raise RecordError("INVALID_EMAIL_ADDRESS", f"{f.label}: invalid email address: {value}", [f.name])
        if t == "picklist" and f.restricted and value not in f.active_values():
            raise RecordError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                              f"{f.label}: bad value for restricted picklist field: {value}", [f.name])
        return value
    if t == "int":
        if f.digits and abs(value) >= 10 ** max(f.digits, 9):
            raise RecordError("NUMBER_OUTSIDE_VALID_RANGE",
                              f"{f.label}: value outside of valid range on numeric field: {value}", [f.name])
        return value
    if t in ("double", "currency", "percent"):
        if f.scale is not None:  # Salesforce rounds half up, not to even
            value = float(Decimal(repr(value)).quantize(Decimal(1).scaleb(-f.scale), rounding=ROUND_HALF_UP))
        limit = 10 ** (f.precision - f.scale) if f.precision else None
        if limit is not None and abs(value) >= limit:
            raise RecordError("NUMBER_OUTSIDE_VALID_RANGE",
                              f"{f.label}: value outside of valid range on numeric field: {value}", [f.name])
        return float(value)
    return value


def to_json(f: Field, value: Any) -> Any:
    if value is None:
        return None
    if f.type in ("double", "currency", "percent"):
        return float(value)
    return value


def to_csv(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)
