"""The mapping proposal: profile a source object's columns and propose a mapping file to confirm.

Nothing here loads data or talks to a destination: it reads the raw rows of one source object and
the destination object's schema (`ObjectSchema`), and proposes a mapping in the project's YAML
format (`crm_migration.mapping.model.ObjectMapping`) that a person then edits and confirms.

- :func:`profile_columns` describes every source column: inferred type (by the share of non-blank
  values that look like e-mails, dates, numbers, ...), fill rate, distinct values, top values,
  pattern shares, maximum length, whether it looks like a picklist.
- :func:`propose_object` scores every (column, destination field) pair from the names (exact,
  normalised, labels, the synonyms in ``synonyms.yaml``, a field named after the record's own
  object, near spellings and, last, the meaningful words they share) and the type fit, then
  assigns each field at most one column, best first (a date-time column may also fill a date
  field). Columns given in ``lookups`` become lookup rules on reference fields, owner-like e-mail
  columns the owner rule. Fields the destination computes (not createable, not system fields) are
  proposed to verify only (``write: false``). Picklist values, and the values of computed fields
  with a known domain, are matched one by one; what does not match is listed, never guessed.
  Columns with no field good enough are listed with their profile and, where they could be one, a
  suggested custom field.
- :func:`proposal_yaml` writes the mapping file, every field line under a ``# confidence`` comment
  and the unmatched columns and values in a comment block at the end;
  :func:`proposal_markdown` writes the same for a report.

Profiling works on distinct values (each pattern is tested once per distinct value, weighted by its
count), with vectorised ``Series.str`` operations; Python loops run over columns, fields and
distinct picklist values only.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml

from crm_migration.destinations.base import FieldSchema, ObjectSchema
from crm_migration.mapping.model import CustomField, ObjectMapping
from crm_migration.pipeline.normalize import parse_datetimes

SYNONYMS_FILE = Path(__file__).with_name("synonyms.yaml")

DEFAULT_THRESHOLD = 0.5  # below this confidence no field is proposed for a column
TYPE_SHARE = 0.9  # a column is of a type when this share of its non-blank values look like it
HTML_SHARE = 0.5  # HTML is stripped when at least half the values carry markup (harmless on plain text)
VALUE_FUZZY = 0.85  # a picklist value matches a near-identical spelling at this difflib ratio or above
NAME_FUZZY = 0.8  # a column name is close to a field name (or a synonym) at this ratio or above
VERIFY_ONLY = 0.9  # a field the destination computes (write: false) scores this share of a writable one
MAX_PICKLIST_VALUES = 200  # distinct values matched one by one; a column with more is not a picklist

# Date/time formats tried when the pair's own are not given (most specific first; US before EU).
DEFAULT_DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M",
    "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%m/%d/%Y", "%d/%m/%Y %H:%M",
    "%d/%m/%Y", "%Y-%m-%d", "%Y/%m/%d", "%d.%m.%Y %H:%M", "%d.%m.%Y", "%d %b %Y", "%d %B %Y",
    "%b %d, %Y", "%B %d, %Y", "%d-%b-%Y",
)

PATTERNS = ("email", "phone", "date", "datetime", "url", "currency", "integer", "decimal", "boolean", "html", "multiselect")
PROFILE_COLUMNS = ["column", "inferred_type", "fill_rate", "distinct", "top_values", "patterns", "max_length",
                   "picklist_like", "notes"]

# --- value patterns (tested on distinct values) --------------------------------------------------

# Written for pyarrow's regex engine (RE2), so that pandas runs them without a per-value Python
# fallback: explicit character classes instead of \s, \S, \d and \b, no lookarounds, no inline flags
# (case-insensitive tests run on the lower-cased values).
_WS = r"[ \t\r\n\f\v]"
_NWS = r"[^ \t\r\n\f\v]"
_D = "[0-9]"
_EMAIL = r"^[^@ \t\r\n\f\v]+@[^@ \t\r\n\f\v]+\.[^@ \t\r\n\f\v.]+$"  # the normalized stage's test
_URL_SCHEME = rf"^(?:https?://|www\.){_NWS}+$"  # lower case
_URL_DOMAIN = rf"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.[a-z]{{2,24}}(?::{_D}+)?(?:/{_NWS}*)?$"
_FILE_EXT = r"\.(?:pdf|docx?|xlsx?|pptx?|txt|csv|png|jpe?g|gif|zip|msg|eml|rtf|json|xml|html?)$"  # lower case
_PHONE = rf"^\+?[0-9 \t().\-/]+(?:{_WS}*(?:x|ext\.?|#){_WS}*{_D}{{1,6}})?$"  # lower case
_DATE_SHAPE = rf"^{_D}{{4}}-{_D}{{2}}-{_D}{{2}}|^{_D}{{1,2}}[/.]{_D}{{1,2}}[/.]{_D}{{2,4}}$"
_YEAR = rf"(?:^|[^0-9]){_D}{{4}}(?:[^0-9]|$)"
_TIME = rf"{_D}{{1,2}}:{_D}{{2}}"
_MIDNIGHT = rf"(?:^|{_WS}|T)00:00(?::00)?(?:\.0+)?(?:Z|[+-]{_D}{{2}}:?{_D}{{2}})?$"
_NUM = rf"(?:{_D}+|{_D}{{1,3}}(?:,{_D}{{3}})+)"
_INTEGER = rf"^[+-]?{_NUM}$"
_ZERO_PADDED = rf"^0{_D}"
_DECIMAL = rf"^[+-]?{_NUM}?\.{_D}+$"
_CURRENCY_LEAD = rf"^[+-]?{_WS}*[$€£¥]{_WS}*[+-]?{_NUM}(?:\.{_D}+)?$"
_CURRENCY_TRAIL = rf"^[+-]?{_NUM}(?:\.{_D}+)?{_WS}*(?:[$€£¥]|usd|eur|gbp|cad|aud|chf|jpy)$"  # lower case
_HTML = (r"<[ \t\r\n]*/?[ \t\r\n]*(?:p|br|div|span|b|i|u|a|ul|ol|li|table|tr|td|th|h[1-6]|blockquote|strong|em|"
         r"html|body|font|img|hr|pre|code)(?:[ \t\r\n/][^>]*)?>|&(?:#[0-9]+|#x[0-9a-f]+|[a-z]{2,8});")  # lower case
_MULTI = rf"^[^;]{{1,40}}(?:;{_WS}*[^;]{{1,40}})+$"
_MULTI_ALL = rf"^[^;]{{1,40}}(?:;{_WS}*[^;]{{1,40}})*$"
_TRUE_FALSE = {"true", "false", "yes", "no", "y", "n", "t", "f", "1", "0", "on", "off"}


# --- profiling ---------------------------------------------------------------------------------


def _mask(values: pd.Series, pattern: str) -> pd.Series:
    return values.str.contains(pattern, regex=True).fillna(False).astype(bool)


def _profile_series(s: pd.Series, formats: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """The profile of one column, plus its value counts (``_counts``) for later use."""
    s = s.astype("string").str.strip().replace("", pd.NA)
    rows = len(s)
    counts = s.value_counts(dropna=True)
    counts = (counts.rename_axis("value").reset_index(name="count")
              .sort_values(["count", "value"], ascending=[False, True], kind="mergesort").reset_index(drop=True))
    u = counts["value"].astype("string")
    w = counts["count"].to_numpy()
    filled = int(w.sum())

    def share(mask: pd.Series) -> float:
        return float(w[mask.to_numpy()].sum()) / filled if filled else 0.0

    low = u.str.lower()
    email = _mask(u, _EMAIL)
    digits = u.str.count(_D).fillna(0)
    date_shape = _mask(u, _DATE_SHAPE)
    integer = _mask(u, _INTEGER)
    decimal = _mask(u, _DECIMAL)
    phone = _mask(low, _PHONE) & (digits >= 7) & (digits <= 15) & ~date_shape & ~integer & ~decimal
    url = ((_mask(low, _URL_SCHEME) | _mask(low, _URL_DOMAIN)) & ~u.str.contains("@", regex=False).fillna(False)
           & ~_mask(low, _FILE_EXT))
    currency_lead, currency_trail = _mask(u, _CURRENCY_LEAD), _mask(low, _CURRENCY_TRAIL)
    currency = currency_lead | currency_trail
    boolean = low.isin(_TRUE_FALSE).fillna(False).astype(bool)
    html = _mask(low, _HTML)
    multi = _mask(u, _MULTI)

    # Dates: only values with a digit, short enough to be one, are handed to the parser.
    candidate = (digits > 0) & (u.str.len() <= 40) & ~integer & ~decimal
    if all("%Y" in f for f in formats):  # every format has a four-digit year: so must a date
        candidate &= _mask(u, _YEAR)
    parsed = pd.Series(False, index=u.index)
    if candidate.any():
        parsed_values = parse_datetimes(u[candidate], list(formats), "UTC", keep_ambiguous=True)  # a date either way
        parsed[candidate] = parsed_values.notna().to_numpy()
    has_time = _mask(u, _TIME) & ~_mask(u, _MIDNIGHT)
    is_date, is_datetime = parsed & ~has_time, parsed & has_time

    pattern_masks = {"email": email, "phone": phone, "date": is_date, "datetime": is_datetime, "url": url,
                     "currency": currency, "integer": integer, "decimal": decimal, "boolean": boolean,
                     "html": html, "multiselect": multi}
    patterns = {k: round(share(m), 3) for k, m in pattern_masks.items()}
    notes: list[str] = []
    tokens: list[str] = []

    distinct = len(u)
    max_length = int(u.str.len().max()) if distinct else 0
    inferred: str = "text"
    if filled:
        numeric = share(integer | decimal | currency)
        zero_padded = share(integer & _mask(u, _ZERO_PADDED))
        if patterns["html"] >= HTML_SHARE:
            inferred = "html"
        elif patterns["email"] >= TYPE_SHARE:
            inferred = "email"
        elif patterns["boolean"] >= TYPE_SHARE and low.nunique() <= 6:
            inferred = "boolean"
        elif share(parsed) >= TYPE_SHARE:
            inferred = "datetime" if share(is_datetime) >= 0.2 * share(parsed) else "date"
            if share(parsed) < 1:
                notes.append(f"{_pct(1 - share(parsed))} of values are not dates in the accepted formats (rejected if typed)")
        elif numeric >= TYPE_SHARE:
            if zero_padded > 0:
                notes.append("numbers with leading zeros (codes): kept as text")
            elif patterns["currency"] > 0:
                inferred = "decimal"
                symbols = sorted(set("".join(u[currency_lead].str.replace("[^$€£¥]", "", regex=True).unique())))
                notes.append(f"currency amounts ({' '.join(symbols)})" if symbols else "currency amounts")
                if currency_trail.any():
                    notes.append("trailing currency codes: the normalized stage strips only a leading $, € or £")
            elif share(integer) >= TYPE_SHARE:
                inferred = "integer"
            else:
                inferred = "decimal"
        elif patterns["url"] >= TYPE_SHARE:
            inferred = "url"
        elif patterns["phone"] >= TYPE_SHARE:
            inferred = "phone"
        elif patterns["multiselect"] >= 0.3 and share(_mask(u, _MULTI_ALL)) >= TYPE_SHARE:
            tokens_s = u.str.split(";").explode().astype("string").str.strip().replace("", pd.NA).dropna()
            if tokens_s.nunique() <= 50:
                inferred = "multiselect"
                tokens = sorted(tokens_s.unique().tolist())
    if inferred == "email" and patterns["email"] < 1:
        notes.append(f"{_pct(1 - patterns['email'])} of values are not valid e-mails (blanked and flagged)")

    picklist_like = bool(
        filled >= 5 and 1 <= distinct <= min(50, max(3, int(0.2 * filled))) and max_length <= 50
        and inferred not in ("date", "datetime", "html", "email", "url", "phone", "decimal")
    )
    top = counts.head(5)
    top_values = "; ".join(f"{_clip(v, 40)} ({c})" for v, c in zip(top["value"], top["count"]))
    return {
        "inferred_type": inferred,
        "fill_rate": round(filled / rows, 4) if rows else 0.0,
        "distinct": distinct,
        "top_values": top_values,
        "patterns": patterns,
        "max_length": max_length,
        "picklist_like": picklist_like,
        "notes": "; ".join(notes),
        "_counts": counts,
        "_tokens": tokens,
        "_filled": filled,
        "_rows": rows,
    }


def _profiles(df: pd.DataFrame, formats: list[str] | tuple[str, ...] | None) -> dict[str, dict[str, Any]]:
    formats = tuple(formats) if formats else DEFAULT_DATE_FORMATS
    return {str(c): _profile_series(df[c], formats) for c in df.columns if not str(c).startswith("_")}


def profile_columns(df: pd.DataFrame, date_formats: list[str] | None = None) -> pd.DataFrame:
    """One row per source column (columns starting with ``_`` are ignored): inferred type, fill rate,
    distinct count, top values, pattern shares, maximum length, picklist-likeness and notes.

    ``inferred_type`` is one of the mapping model's source types; a type wins when at least 90% of
    the non-blank values look like it (HTML: half), so a few bad e-mails or odd dates do not
    change it. ``date_formats`` are the pair's strptime formats (a broad default list otherwise).
    """
    return _profile_frame(_profiles(df, date_formats))


def _profile_frame(profs: dict[str, dict[str, Any]]) -> pd.DataFrame:
    rows = [{"column": c, **{k: v for k, v in p.items() if not k.startswith("_")}} for c, p in profs.items()]
    return pd.DataFrame(rows, columns=PROFILE_COLUMNS)


# --- synonyms ----------------------------------------------------------------------------------


def _norm(name: str) -> str:
    """Lower case, ``__c`` dropped, only letters and digits: ``Billing_Postal_Code__c`` -> ``billingpostalcode``."""
    n = str(name).strip()
    n = re.sub(r"__c$", "", n, flags=re.IGNORECASE)
    return re.sub(r"[^a-z0-9]", "", n.lower())


def _tokens(name: str) -> list[str]:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", re.sub(r"__c$", "", str(name), flags=re.IGNORECASE))
    return [t for t in re.split(r"[^a-z0-9]+", spaced.lower()) if t]


@dataclass(frozen=True)
class _Synonyms:
    fields: dict[str, tuple[str, ...]]
    objects: dict[str, dict[str, tuple[str, ...]]]
    object_aliases: dict[str, frozenset[str]]
    picklist_values: dict[str, tuple[str, ...]]
    value_domains: dict[tuple[str, str], tuple[str, ...]]  # (object, field), normalised -> computed values
    system_fields: frozenset[str]  # normalised
    ignored_tokens: frozenset[str]
    same_tokens: dict[str, str]  # a word -> the word it means


@functools.cache
def _synonyms() -> _Synonyms:
    data = yaml.safe_load(SYNONYMS_FILE.read_text(encoding="utf-8")) or {}

    def names(values) -> tuple[str, ...]:
        return tuple(dict.fromkeys(_norm(v) for v in values or []))

    fields: dict[str, tuple[str, ...]] = {}
    for f, values in (data.get("fields") or {}).items():
        fields[_norm(f)] = tuple(dict.fromkeys(fields.get(_norm(f), ()) + names(values)))
    objects = {_norm(o): {_norm(f): names(v) for f, v in (fs or {}).items()} for o, fs in (data.get("objects") or {}).items()}
    aliases: dict[str, set[str]] = {}
    for o, values in (data.get("object_aliases") or {}).items():
        group = {_norm(o), *names(values)}
        for member in group:
            aliases.setdefault(member, set()).update(group)
    values = {str(k).strip().lower(): tuple(str(t) for t in v or []) for k, v in (data.get("picklist_values") or {}).items()}
    domains: dict[tuple[str, str], tuple[str, ...]] = {}
    for key, allowed in (data.get("value_domains") or {}).items():
        obj, _, fname = str(key).partition(".")
        domains[(_norm(obj), _norm(fname))] = tuple(str(v) for v in allowed or [])
    system = frozenset(_norm(f) for f in data.get("system_fields") or [])
    name_tokens = data.get("name_tokens") or {}
    ignored = frozenset(str(t).lower() for t in name_tokens.get("ignore") or [])
    same = {str(w).lower(): str(canonical).lower() for canonical, words in (name_tokens.get("same") or {}).items()
            for w in [canonical, *(words or [])]}
    return _Synonyms(fields, objects, {k: frozenset(v) for k, v in aliases.items()}, values, domains, system, ignored, same)


# Prefixes a source column may carry in front of a field's name (``client_website``), and qualifiers
# a destination may put in front of a generic name (``BillingCity``, ``address1_city``).
_SOURCE_PREFIXES = {"client", "company", "account", "contact", "customer", "matter", "case", "deal", "lead",
                    "primary", "main", "work", "business", "person", "org", "organisation", "organization"}
_FIELD_QUALIFIERS = ("billing", "shipping", "mailing", "other", "address1", "address2", "address", "primary",
                     "business", "main", "work", "account", "contact")
_OWNER_STRONG = {"owner", "owners", "assigned", "assignee"}
_OWNER_WEAK = {"logged", "uploaded", "author", "rep", "salesperson", "agent", "handler", "responsible", "user",
               "coach", "consultant", "advisor", "adviser"}
_ID_TOKENS = {"id", "ids", "key", "ref", "uuid", "guid", "fk"}
_USER_OBJECTS = {"user", "users", "systemuser"}


# --- the proposal ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValueMatch:
    """One distinct source value of a picklist column and the destination value it matches (or not)."""

    source: str
    count: int
    target: str | None
    confidence: float
    how: str  # exact / case / known equivalent / similar / no match


@dataclass(frozen=True)
class FieldProposal:
    """One destination field and the rule proposed to fill it."""

    field: str
    column: str
    rule: Literal["from", "lookup", "owner"]
    confidence: float
    reason: str
    lookup: str | None = None
    type: str | None = None  # a ValueType coercion (a datetime column into a date field)
    truncate: bool = False
    value_map: bool = False  # `values` + `unmapped` (+ `default`) are written
    value_matches: tuple[ValueMatch, ...] = ()
    suggested: bool = False  # a suggested custom field (propose_object(..., suggest_custom_fields=True))
    verify_only: bool = False  # the destination computes the field: not written (write: false), checked on read-back
    unmapped: Literal["reject", "default"] = "reject"  # what an unmatched value becomes
    default: str | None = None  # with unmapped: default (a computed field's catch-all value)

    @property
    def unmatched_values(self) -> tuple[ValueMatch, ...]:
        return tuple(v for v in self.value_matches if v.target is None)

    def rule_dict(self) -> dict[str, Any]:
        if self.rule == "owner":
            return {"owner": self.column}
        out: dict[str, Any] = {"lookup": self.lookup} if self.rule == "lookup" else {}
        out["from"] = self.column
        if self.type:
            out["type"] = self.type
        if self.value_map:
            out["values"] = {v.source: v.target for v in self.value_matches if v.target is not None}
            out["unmapped"] = self.unmapped
            if self.unmapped == "default":
                out["default"] = self.default
        if self.truncate:
            out["truncate"] = True
        if self.verify_only:
            out["write"] = False
        return out


@dataclass(frozen=True)
class UnmatchedColumn:
    """A source column no field is proposed for, with why and its profile."""

    column: str
    reason: str
    inferred_type: str
    fill_rate: float
    distinct: int
    top_values: str
    best_field: str | None = None
    best_confidence: float = 0.0
    suggestion: str | None = None  # the suggested custom field's API name
    suggested_field: CustomField | None = None


@dataclass(eq=False)
class ObjectProposal:
    """A proposed mapping of one source object to one destination object, with its evidence."""

    object_name: str
    source_object: str
    destination_object: str
    description: str
    id_column: str
    external_id_field: str
    fields: tuple[FieldProposal, ...]
    unmatched: tuple[UnmatchedColumn, ...]
    profile: pd.DataFrame
    types: dict[str, str]
    required: list[str]
    custom_fields: dict[str, CustomField]
    suggested_custom_fields: dict[str, CustomField]
    missing_required: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    threshold: float = DEFAULT_THRESHOLD

    @property
    def unmatched_values(self) -> list[tuple[str, str, ValueMatch]]:
        """(field, column, value) for every source value that matches no destination picklist value."""
        return [(f.field, f.column, v) for f in self.fields for v in f.unmatched_values]

    def mapping_dict(self) -> dict[str, Any]:
        return {
            "object": self.object_name,
            "description": self.description,
            "source": {"object": self.source_object, "id": self.id_column, "required": list(self.required),
                       "types": dict(self.types)},
            "destination": {"object": self.destination_object, "external_id": self.external_id_field},
            "fields": {f.field: f.rule_dict() for f in self.fields},
            "custom_fields": {n: _custom_dict(cf) for n, cf in self.custom_fields.items()},
        }

    def to_mapping(self) -> ObjectMapping:
        return ObjectMapping.model_validate(self.mapping_dict())


@dataclass
class _Candidate:
    column: str
    field: str
    rule: Literal["from", "lookup", "owner"]
    confidence: float
    reason: str
    order: tuple[int, int]
    lookup: str | None = None
    type: str | None = None
    truncate: bool = False
    value_map: bool = False
    value_matches: tuple[ValueMatch, ...] = ()
    verify_only: bool = False
    unmapped: Literal["reject", "default"] = "reject"
    default: str | None = None
    name_score: float = 0.0  # the name evidence alone
    kind: str | None = None  # the destination field's kind


@dataclass
class _ColumnNotes:
    best_rejected: tuple[float, str, str | None] | None = None  # (score, why, field) of the best field it did not get
    lost: bool = False  # its best field went to another column
    notes: list[str] = field(default_factory=list)

    def reject(self, score: float, why: str, field_name: str | None = None, *, lost: bool = False) -> None:
        if self.best_rejected is None or score > self.best_rejected[0]:
            self.best_rejected = (score, why, field_name)
            self.lost = lost


def propose_object(
    source_object: str,
    df: pd.DataFrame,
    dest: ObjectSchema,
    *,
    object_name: str,
    id_column: str | None,
    external_id_field: str,
    source_types_formats: list[str] | None = None,
    lookups: dict[str, str] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    suggest_custom_fields: bool = False,
    description: str | None = None,
) -> ObjectProposal:
    """Propose how ``dest``'s fields are filled from ``df`` (one source object's raw rows).

    ``source_types_formats``: the pair's date formats (strptime), used to recognise date columns.
    ``lookups``: id-like columns -> the mapped object they point at (``{"client_id": "account"}``);
    each becomes a ``lookup`` rule on the best reference field. ``threshold``: the confidence a
    column needs to be proposed. ``suggest_custom_fields``: put the suggested custom fields of
    unmatched columns into ``fields``/``custom_fields`` instead of the closing comments.
    """
    lookups = dict(lookups or {})
    profs = _profiles(df, source_types_formats)
    profile = _profile_frame(profs)
    columns = list(profs)
    notes: list[str] = []
    if id_column is None:
        id_column = _guess_id(profs)
        if id_column is None:
            raise ValueError(f"{source_object}: no column is filled and unique on every row; pass id_column")
        notes.append(f"the id column {id_column!r} was guessed (filled and unique on every row): check it")
    if id_column not in profs:
        notes.append(f"the id column {id_column!r} is not in the source rows")
    for col in sorted(set(lookups) - set(profs)):
        notes.append(f"lookup column {col!r} is not in the source rows: ignored")

    targets = {n: f for n, f in dest.fields.items()
               if f.createable and f.kind not in ("id", "base64") and n != external_id_field}
    verify = _verify_only_fields(dest, targets, external_id_field)
    field_order = {n: i for i, n in enumerate(dest.fields)}
    owner_fields = [n for n, f in targets.items() if _is_owner_field(f)]

    candidates: list[_Candidate] = []
    col_notes: dict[str, _ColumnNotes] = {c: _ColumnNotes() for c in columns}
    for ci, col in enumerate(columns):
        if col == id_column:
            continue
        p = profs[col]
        cn = col_notes[col]
        if p["_filled"] == 0:
            cn.notes.append("the column is empty in this export")
            continue
        if col in lookups:
            candidates += _lookup_candidates(col, ci, lookups[col], object_name, targets, owner_fields, field_order, dest.name, source_object, cn)
            continue
        owner_strength = _owner_strength(col)
        email_fit = 1.0 if p["inferred_type"] == "email" else 0.85 if p["patterns"]["email"] >= 0.5 else 0.0
        if owner_strength and email_fit:
            if not owner_fields:
                cn.notes.append(f"an owner column, but {dest.name} has no owner field")
            for fname in owner_fields:
                f = targets[fname]
                syn = _norm(col) in _synonyms().fields.get(_norm(fname), ())
                conf = max(owner_strength, 0.95 if syn else 0.0) * email_fit
                reason = (f"'{col}' names an owner{' (a synonym of ' + fname + ')' if syn else ''}; "
                          f"{_pct(p['patterns']['email'])} of values are e-mails: resolved to a destination user by e-mail")
                candidates.append(_Candidate(col, fname, "owner", round(conf, 2), reason, (ci, field_order[fname])))
            continue
        for fname, f in dest.fields.items():
            if fname in targets or fname in verify:
                continue
            score, why = _name_evidence(col, f, dest.name, source_object)
            if score > 0:
                what = "the external id (filled from the source id)" if fname == external_id_field else "read-only (not createable)"
                cn.reject(score, f"{why}, but {fname} is {what}", fname)
        for fname, f in dest.fields.items():
            if fname not in targets and fname not in verify:
                continue
            score, why = _name_evidence(col, f, dest.name, source_object)
            if score <= 0:
                continue
            if f.kind == "reference":
                if fname in owner_fields:
                    cn.reject(score, f"{why}, but {fname} is filled by owner e-mails and the values are not e-mails", fname)
                else:
                    cn.reject(score, f"{why}, but {fname} is a reference to {'/'.join(f.reference_to) or 'another object'}: "
                                     f"name the mapped object in lookups ({{'{col}': ...}}) to fill it", fname)
                continue
            cand = _field_candidate(col, ci, p, f, score, why, field_order[fname], cn, verify_only=fname in verify,
                                    domain=_synonyms().value_domains.get((_norm(dest.name), _norm(fname)), ()))
            if cand is not None:
                candidates.append(cand)

    # Best first; ties go to the earlier column, then the earlier destination field.
    candidates.sort(key=lambda c: (-c.confidence, c.order))
    taken_fields: dict[str, _Candidate] = {}
    chosen: dict[str, _Candidate] = {}
    owner_taken: _Candidate | None = None
    for c in candidates:
        if c.confidence < threshold or c.column in chosen:
            continue
        if c.field in taken_fields:
            w = taken_fields[c.field]
            col_notes[c.column].reject(c.confidence, f"its best match {c.field} ({c.confidence:.2f}) went to "
                                                     f"'{w.column}' ({w.confidence:.2f})", c.field, lost=True)
            continue
        if c.rule == "owner" and owner_taken is not None:
            col_notes[c.column].reject(c.confidence, f"the owner rule ({owner_taken.field}) went to "
                                                     f"'{owner_taken.column}' ({owner_taken.confidence:.2f}); only one owner field is allowed",
                                       c.field, lost=True)
            continue
        taken_fields[c.field] = c
        chosen[c.column] = c
        if c.rule == "owner":
            owner_taken = c
    # A point in time may fill a date field and a date-time field both (a Task's ActivityDate and the original
    # timestamp): a chosen date-time column also takes the best field of the other kind that no column took,
    # when the name clearly says so.
    second: dict[str, _Candidate] = {}
    for c in candidates:
        first = chosen.get(c.column)
        if (first is None or c is first or c.column in second or c.field in taken_fields or c.confidence < threshold
                or c.rule != "from" or first.rule != "from" or c.verify_only or c.name_score < 0.8
                or profs[c.column]["inferred_type"] != "datetime" or {first.kind, c.kind} != {"date", "datetime"}):
            continue
        c.reason += f"; '{c.column}' fills {first.field} too"
        second[c.column] = c
        taken_fields[c.field] = c
    for c in candidates:  # the best candidate below the threshold explains an unmatched column
        if c.column not in chosen and c.confidence < threshold:
            col_notes[c.column].reject(c.confidence, f"its best candidate {c.field} scored {c.confidence:.2f}, below the "
                                                     f"{threshold:.2f} threshold ({c.reason})", c.field)

    proposals = [_as_proposal(x[c]) for c in columns for x in (chosen, second) if c in x]
    unmatched: list[UnmatchedColumn] = []
    suggested: dict[str, CustomField] = {}
    suggested_fields: list[FieldProposal] = []
    for ci, col in enumerate(columns):
        if col == id_column or col in chosen:
            continue
        p, cn = profs[col], col_notes[col]
        lost = cn.lost
        reason = _unmatched_reason(cn)
        name = cf = None
        if not lost and col not in lookups and p["_filled"] and not _id_like(col) and not _owner_strength(col):
            name = _custom_field_name(col)
            if name in dest.fields:
                reason += f"; a field {name} exists but does not fit"
                name = None
            elif name in suggested or name == external_id_field:
                name = None
            else:
                cf = _custom_field_for(col, p)
                suggested[name] = cf
        best_score, _, best_field = cn.best_rejected or (0.0, "", None)
        unmatched.append(UnmatchedColumn(col, reason, p["inferred_type"], p["fill_rate"], p["distinct"], p["top_values"],
                                         best_field, round(best_score, 2), name, cf))
        if suggest_custom_fields and name is not None:
            suggested_fields.append(FieldProposal(
                name, col, "from", 0.0,
                f"suggested custom field {name} ({cf.type}) for '{col}': {_data_evidence(p)}; review before confirming",
                suggested=True))

    all_fields = proposals + suggested_fields
    types = _types(all_fields, profs, {**targets, **verify})
    required = [id_column] + [f.column for f in proposals
                              if f.rule != "owner" and targets.get(f.field) is not None and targets[f.field].required]
    required = list(dict.fromkeys(required))
    filled_fields = {f.field for f in all_fields}
    missing = tuple(n for n, f in targets.items()
                    if f.required and n not in filled_fields and n not in owner_fields)
    custom: dict[str, CustomField] = {}
    # Listed even when the destination has it: the schema plan creates only what is missing.
    ext = dest.fields.get(external_id_field)
    custom[external_id_field] = CustomField(type="Text", length=(ext.length if ext and ext.length else 64), external_id=True,
                                            unique=True, label=(ext.label if ext and ext.label else _label(external_id_field)))
    if suggest_custom_fields:
        custom.update(suggested)
    return ObjectProposal(
        object_name=object_name,
        source_object=source_object,
        destination_object=dest.name,
        description=description or f"{source_object} as {dest.name} records; proposed automatically, to be reviewed and confirmed.",
        id_column=id_column,
        external_id_field=external_id_field,
        fields=tuple(all_fields),
        unmatched=tuple(unmatched),
        profile=profile,
        types=types,
        required=required,
        custom_fields=custom,
        suggested_custom_fields=suggested,
        missing_required=missing,
        notes=tuple(notes),
        threshold=threshold,
    )


# --- scoring -----------------------------------------------------------------------------------


def _name_evidence(col: str, f: FieldSchema, dest_object: str, source_object: str) -> tuple[float, str]:
    """How strongly the column's name says it is this field: (score 0..1, why)."""
    syn = _synonyms()
    c, n, label = _norm(col), _norm(f.name), _norm(f.label)
    if not c:
        return 0.0, ""
    if c == n:
        return 1.0, f"name '{col}' matches {f.name}"
    object_syns = syn.objects.get(_norm(dest_object), {}).get(n, ())
    if c in object_syns:
        return 0.95, f"name '{col}' means {f.name} on {dest_object}"
    field_syns = syn.fields.get(n, ())
    if c in field_syns:
        return 0.9, f"name '{col}' is a synonym of {f.name}"
    if label and c == label:
        return 0.88, f"name '{col}' matches the label '{f.label}'"
    tokens = _tokens(col)
    prefixes = _SOURCE_PREFIXES | {_norm(source_object).removesuffix("s")}
    while len(tokens) > 1 and tokens[0] in prefixes:
        tokens = tokens[1:]
    stripped = "".join(tokens)
    if stripped != c and len(stripped) >= 3:
        if stripped == n or stripped == label:
            return 0.8, f"name '{col}' without its prefix matches {f.name}"
        if stripped in field_syns or stripped in object_syns:
            return 0.8, f"name '{col}' without its prefix is a synonym of {f.name}"
    # A destination field named after the record's own object and the column (Interaction_Channel__c for an
    # interaction's channel, ContentSize for a file's size) was made for that column: nearly an exact match.
    owners = _object_qualifiers(dest_object, source_object)
    ftokens = _tokens(f.name)
    if len(ftokens) > 1 and ftokens[0] in owners:
        rest = "".join(ftokens[1:])
        if len(rest) >= 3 and rest in (c, stripped):
            return 0.85, f"name '{col}' matches {f.name} but for its '{ftokens[0]}' qualifier (the object)"
        if len(rest) >= 3 and (c in syn.fields.get(rest, ()) or stripped in syn.fields.get(rest, ())):
            return 0.8, f"name '{col}' is a synonym of {f.name} without its '{ftokens[0]}' qualifier (the object)"
    if len(c) >= 3:
        for q in _FIELD_QUALIFIERS:
            if n == q + c or (label and label == q + c):
                return 0.75, f"name '{col}' matches {f.name} but for its '{q}' qualifier"
    best, against = 0.0, ""
    for other in (n, label, *object_syns, *field_syns) if len(c) >= 5 else ():
        if len(other) < 5:  # short names are too easily close to each other (name/fname)
            continue
        sm = difflib.SequenceMatcher(None, c, other)
        if sm.real_quick_ratio() < NAME_FUZZY or sm.quick_ratio() < NAME_FUZZY:
            continue
        r = sm.ratio()
        if r > best:
            best, against = r, other
    fuzzy: tuple[float, str] = (0.0, "")
    if best >= NAME_FUZZY:
        what = f.name if against in (n, label) else f"'{against}', a synonym of {f.name}"
        fuzzy = (round(0.8 * best, 3), f"name '{col}' is close to {what} ({best:.2f})")
    words = _token_evidence(col, tokens, f, owners)
    return words if words[0] > fuzzy[0] else fuzzy


def _object_qualifiers(dest_object: str, source_object: str) -> frozenset[str]:
    """Words that name the record itself, so say nothing in a field's name: the source object (``matters``:
    ``matter``), the destination object and its words (``ContentVersion``: ``content``, ``version``)."""
    out: set[str] = set()
    for name in (source_object, dest_object):
        x = _norm(name)
        out |= {x, x + "s", x.removesuffix("s")}
    parts = _tokens(dest_object)
    if len(parts) > 1:
        out.update(parts)
    return frozenset(out)


def _meaning(tokens: list[str], drop: frozenset[str] = frozenset()) -> frozenset[str]:
    """The words of a name that carry meaning: equivalents made one (``sha256`` -> ``hash``), words that say
    nothing alone (``at``, ``date``, ``id``, units) and numbers dropped, then the words in ``drop`` (unless
    nothing else is left)."""
    syn = _synonyms()
    words = {syn.same_tokens.get(t, t) for t in tokens}
    words = {w for w in words if w not in syn.ignored_tokens and not w.isdigit()}
    return frozenset(words - drop or words)


def _token_evidence(col: str, col_tokens: list[str], f: FieldSchema, owners: frozenset[str]) -> tuple[float, str]:
    """The last resort: the column's and the field's (or its label's) meaningful words, when the column has
    every word of the field (``opened_on`` and ``Matter_Opened_Date__c`` on matters, ``file_sha256`` and
    ``Content_Hash__c``: a file's SHA-256 is a hash). Not the other way: a field with a word the column lacks
    is a kind the column does not claim to be (``name`` is not a ``FirstName``). Words only the column has make
    it weaker; an id column and a field that is not one never match this way."""
    ftokens = _tokens(f.name)
    field_is_id = f.kind in ("id", "reference") or bool(ftokens and ftokens[-1] in _ID_TOKENS)
    if _id_like(col) != field_is_id:
        return 0.0, ""
    mine = _meaning(col_tokens)
    if not mine:
        return 0.0, ""
    best, why = 0.0, ""
    for name in dict.fromkeys((f.name, f.label)):
        theirs = _meaning(_tokens(name), owners)
        if not theirs or not theirs <= mine:
            continue
        shared = mine & theirs
        score = round(0.55 + 0.25 * len(shared) / max(len(mine), len(theirs)), 3)
        if score > best:
            what = f.name if name == f.name else f"{f.name} (label '{f.label}')"
            best, why = score, f"name '{col}' shares the words {', '.join(sorted(shared))} with {what}"
    return best, why


# How well a source type fills a destination field kind (1 = natural, 0 = never).
_FIT: dict[str, dict[str, float]] = {
    "text": {"text": 1.0, "textarea": 1.0, "picklist": 0.9, "multipicklist": 0.6, "phone": 0.8, "url": 0.7},
    "email": {"email": 1.0, "text": 0.8, "textarea": 0.7},
    "url": {"url": 1.0, "text": 0.85, "textarea": 0.7},
    "phone": {"phone": 1.0, "text": 0.85, "textarea": 0.7},
    "html": {"textarea": 1.0, "text": 0.7},
    "multiselect": {"multipicklist": 1.0, "text": 0.7, "textarea": 0.7, "picklist": 0.5},
    "integer": {"integer": 1.0, "decimal": 0.95, "text": 0.8, "textarea": 0.7, "picklist": 0.7, "phone": 0.6},
    "decimal": {"decimal": 1.0, "integer": 0.5, "text": 0.7, "textarea": 0.6},
    "boolean": {"boolean": 1.0, "picklist": 0.7, "text": 0.6},
    "date": {"date": 1.0, "datetime": 0.85, "text": 0.6},
    "datetime": {"datetime": 1.0, "date": 0.85, "text": 0.6},
}


def _fit(p: dict[str, Any], f: FieldSchema) -> float:
    src, kind = p["inferred_type"], f.kind
    if src == "text" and kind == "email":
        share = p["patterns"]["email"]
        return round(0.4 + 0.6 * share, 3) if share >= 0.5 else 0.0
    if src == "text" and kind == "picklist" and not p["picklist_like"]:
        return 0.9 if not f.restricted else 0.6
    return _FIT.get(src, {}).get(kind, 0.0)


def _field_candidate(col: str, ci: int, p: dict[str, Any], f: FieldSchema, score: float, why: str, fi: int,
                     cn: _ColumnNotes, *, verify_only: bool = False, domain: tuple[str, ...] = ()) -> _Candidate | None:
    """``verify_only``: the destination computes the field (not createable): the rule is ``write: false``.
    ``domain``: the values the destination computes into the field (``value_domains``)."""
    fit = _fit(p, f)
    if fit <= 0:
        cn.reject(score, f"{why}, but {_kind_phrase(p['inferred_type'])} cannot fill {f.name}, {_field_phrase(f)}", f.name)
        return None
    conf = score * fit
    parts = [why, _data_evidence(p), f"{f.name} is {_field_phrase(f)}"]
    if verify_only:
        conf *= VERIFY_ONLY
        parts.append(f"{f.name} is computed by the destination: not written (write: false), the value read back is checked")
    coerce = None
    src = p["inferred_type"]
    if src == "datetime" and f.kind == "date":
        coerce = "date"
        parts.append("the time of day is dropped (type: date)")
    elif src == "date" and f.kind == "datetime":
        coerce = "datetime"
        parts.append("dates become midnight local time (type: datetime)")
    elif src == "decimal" and f.kind == "integer":
        coerce = "integer"
        parts.append("decimals are coerced to integers (type: integer)")
    value_map, matches = False, ()
    unmapped: Literal["reject", "default"] = "reject"
    default = None
    domain = domain if f.kind != "picklist" and src not in ("multiselect", "html") else ()
    allowed = f.picklist_values if f.kind == "picklist" else domain
    matches = _match_values(p["_counts"], allowed) if allowed and src != "multiselect" else ()
    n_ok = sum(1 for m in matches if m.target is not None)
    if matches and (f.restricted or domain or (p["picklist_like"] and n_ok)):
        # Values are mapped one by one; what matches nothing is listed and rejected, never guessed.
        value_map = True
        coverage = sum(m.count for m in matches if m.target is not None) / p["_filled"]
        conf *= 0.5 + 0.5 * coverage
        what = "its known values" if domain else "its picklist"
        parts.append(f"{n_ok} of {len(matches)} values match {what} ({_pct(coverage)} of rows)")
        if domain:
            default = next((v for v in domain if _squash(v) == "unknown"), None)
            if default is not None:
                unmapped = "default"
                parts.append(f"a value it does not know becomes {default}")
            extra = _known_values(domain, {_squash(m.source) for m in matches}, default)
            if extra:
                parts.append(f"{len(extra)} more known values listed for later exports")
            matches = matches + extra
    elif f.kind == "picklist":
        # An open (unrestricted) picklist and values none of which are its values: kept as they are
        # (the destination accepts them), but a picklist-like column that matches nothing is doubtful.
        if p["picklist_like"]:
            conf *= 0.6
            parts.append(f"none of its {len(matches)} values are in the open picklist {f.name}: kept as they are")
        else:
            parts.append(f"{f.name} is an open picklist and the values are free text: kept as they are")
        matches = ()
    elif f.kind == "multipicklist":
        allowed = {v.lower() for v in f.picklist_values}
        unknown = [t for t in p["_tokens"] if t.lower() not in allowed]
        if unknown:
            parts.append(f"values not in the picklist: {', '.join(unknown[:8])}")
    truncate = False
    if (not verify_only and not value_map and f.kind in ("text", "textarea", "email", "phone", "url") and f.length
            and p["max_length"] > f.length):
        truncate = True
        parts.append(f"values up to {p['max_length']} chars exceed {f.name}'s {f.length}: truncate")
    return _Candidate(col, f.name, "from", round(conf, 2), "; ".join(parts), (ci, fi), type=coerce,
                      truncate=truncate, value_map=value_map, value_matches=matches, verify_only=verify_only,
                      unmapped=unmapped, default=default, name_score=score, kind=f.kind)


def _known_values(domain: tuple[str, ...], present: set[str], default: str | None) -> tuple[ValueMatch, ...]:
    """The rest of a computed field's known vocabulary (a value with its own name, each known equivalent),
    for the values this export does not have but a later one may: the value read back is checked against them."""
    by_lower = {_squash(v): v for v in domain}
    seen = set(present)
    out = []
    for v in domain:
        low = _squash(v)
        if v == default or not low.isalnum() or low in seen:
            continue
        seen.add(low)
        out.append(ValueMatch(low, 0, v, 0.95, "same but for case (not in this export)"))
    for key, targets in _synonyms().picklist_values.items():
        target = next((by_lower[_squash(x)] for x in targets if _squash(x) in by_lower), None)
        if target is None or key in seen:
            continue
        seen.add(key)
        out.append(ValueMatch(key, 0, target, 0.8, "known equivalent (not in this export)"))
    return tuple(out)


def _lookup_candidates(col: str, ci: int, target: str, object_name: str, targets: dict[str, FieldSchema],
                       owner_fields: list[str], field_order: dict[str, int], dest_object: str, source_object: str,
                       cn: _ColumnNotes) -> list[_Candidate]:
    refs = {n: f for n, f in targets.items() if f.kind == "reference" and n not in owner_fields}
    pointing = [n for n, f in refs.items() if _points_at(target, f.reference_to)]
    hierarchy = " (a hierarchy: loaded in waves, parents first)" if target == object_name else ""
    out = []
    for n, f in refs.items():
        score, why = _name_evidence(col, f, dest_object, source_object)
        aims = n in pointing
        if aims:
            conf = max(score, 0.7 if len(pointing) == 1 else 0.55)
            why = why or f"{n} is the {'only ' if len(pointing) == 1 else ''}reference to {target}"
        else:
            conf = score * 0.8
        if conf <= 0:
            continue
        reason = (f"'{col}' is a lookup to {target}{hierarchy}; {why}; {n} references "
                  f"{'/'.join(f.reference_to) or 'another object'}")
        if not aims:
            reason += f" (not recognisably {target}: check)"
        out.append(_Candidate(col, n, "lookup", round(min(conf, 1.0), 2), reason, (ci, field_order[n]), lookup=target))
    if not out:
        cn.notes.append(f"a lookup to {target}, but no reference field of {dest_object} points at it or matches its name")
    return out


def _points_at(target: str, reference_to: tuple[str, ...]) -> bool:
    def forms(x: str) -> set[str]:
        x = _norm(x)
        return {x, x + "s", x.removesuffix("s")}

    names = forms(target)
    for alias in _synonyms().object_aliases.get(_norm(target), ()):
        names |= forms(alias)
    return any(forms(r) & names for r in reference_to)


def _verify_only_fields(dest: ObjectSchema, targets: dict[str, FieldSchema], external_id_field: str) -> dict[str, FieldSchema]:
    """Fields the destination computes (a file's type and size, a formula) that a column can be checked against:
    not createable, not a system field (ids, audit stamps, record numbers), not a date or time (a computed one
    stamps an event in the destination, never a source value), not a reference."""
    system = _synonyms().system_fields
    return {n: f for n, f in dest.fields.items()
            if n not in targets and n != external_id_field and not f.createable and _norm(n) not in system
            and f.kind not in ("id", "base64", "reference", "date", "datetime")}


def _is_owner_field(f: FieldSchema) -> bool:
    if f.kind != "reference":
        return False
    n = _norm(f.name)
    if n in ("ownerid", "owner"):
        return True
    to_users = any(_norm(r) in _USER_OBJECTS for r in f.reference_to)
    return to_users and "owner" in n + _norm(f.label)


def _owner_strength(col: str) -> float:
    tokens = set(_tokens(col))
    if tokens & _OWNER_STRONG:
        return 0.95
    if tokens & _OWNER_WEAK:
        return 0.85
    if "created" in tokens and "by" in tokens:
        return 0.7
    return 0.0


def _id_like(col: str) -> bool:
    tokens = _tokens(col)
    return bool(tokens) and tokens[-1] in _ID_TOKENS


def _guess_id(profs: dict[str, dict[str, Any]]) -> str | None:
    unique = [c for c, p in profs.items() if p["_rows"] and p["_filled"] == p["_rows"] and p["distinct"] == p["_rows"]]
    return next((c for c in unique if _id_like(c)), unique[0] if unique else None)


# --- picklist values ---------------------------------------------------------------------------


def _match_values(counts: pd.DataFrame, allowed: tuple[str, ...]) -> tuple[ValueMatch, ...]:
    """Match every distinct source value to a destination picklist value, or list it as unmatched."""
    by_lower: dict[str, str] = {}
    for v in allowed:
        by_lower.setdefault(_squash(v), v)
    known = _synonyms().picklist_values
    out = []
    for i, (value, count) in enumerate(zip(counts["value"], counts["count"])):
        value, count = str(value), int(count)
        if i >= MAX_PICKLIST_VALUES:
            out.append(ValueMatch(value, count, None, 0.0, "not matched (too many distinct values)"))
            continue
        if value in allowed:
            out.append(ValueMatch(value, count, value, 1.0, "exact"))
            continue
        key = _squash(value)
        if key in by_lower:
            out.append(ValueMatch(value, count, by_lower[key], 0.95, "same but for case or spacing"))
            continue
        equivalent = next((by_lower[_squash(t)] for t in known.get(key, ()) if _squash(t) in by_lower), None)
        if equivalent is not None:
            out.append(ValueMatch(value, count, equivalent, 0.8, "known equivalent"))
            continue
        best, ratio = None, 0.0
        for low, original in by_lower.items():
            r = difflib.SequenceMatcher(None, key, low).ratio()
            if r > ratio:
                best, ratio = original, r
        if best is not None and ratio >= VALUE_FUZZY:
            out.append(ValueMatch(value, count, best, round(ratio, 2), f"similar spelling ({ratio:.2f})"))
        else:
            out.append(ValueMatch(value, count, None, 0.0, "no match"))
    return tuple(out)


def _squash(v: str) -> str:
    return re.sub(r"\s+", " ", str(v).strip().lower())


# --- custom fields, types, text ------------------------------------------------------------------

_TEXT_LENGTHS = (10, 20, 40, 80, 100, 255)
_LONG_LENGTHS = (32768, 131072)


def _custom_field_name(col: str) -> str:
    parts = [t.capitalize() for t in _tokens(col)] or ["Field"]
    name = "_".join(parts)
    if not name[0].isalpha():
        name = "X_" + name
    return name[:40].rstrip("_") + "__c"


def _round_up(n: int, steps: tuple[int, ...]) -> int:
    return next((s for s in steps if s >= n), steps[-1])


def _custom_field_for(col: str, p: dict[str, Any]) -> CustomField:
    label = " ".join(t.capitalize() for t in _tokens(col)) or col
    typ = p["inferred_type"]
    n = max(int(p["max_length"]), 1)
    if typ == "text":
        if p["picklist_like"]:
            return CustomField(type="Picklist", label=label, values=[str(v) for v in p["_counts"]["value"]])
        if n <= 255:
            return CustomField(type="Text", label=label, length=_round_up(n, _TEXT_LENGTHS))
        return CustomField(type="LongTextArea", label=label, length=_round_up(n, _LONG_LENGTHS))
    if typ == "html":
        return CustomField(type="LongTextArea", label=label, length=_round_up(n, _LONG_LENGTHS))
    if typ == "multiselect":
        return CustomField(type="MultiselectPicklist", label=label, values=list(p["_tokens"]))
    if typ == "integer":
        return CustomField(type="Number", label=label, precision=18, scale=0)
    if typ == "decimal":
        if p["patterns"]["currency"] > 0:
            return CustomField(type="Currency", label=label, precision=16, scale=2)
        return CustomField(type="Number", label=label, precision=18, scale=2)
    simple = {"email": "Email", "url": "Url", "phone": "Phone", "boolean": "Checkbox", "date": "Date", "datetime": "DateTime"}
    return CustomField(type=simple[typ], label=label)


def _types(fields: list[FieldProposal], profs: dict[str, dict[str, Any]], targets: dict[str, FieldSchema]) -> dict[str, str]:
    """Source types for the columns the rules read, where typing helps the destination field.

    Only read columns are typed: a type check rejects rows (bad dates, numbers), which an unread
    column must not cause. Value-mapped columns stay text, so that the map sees the raw values.
    """
    out: dict[str, str] = {}
    for fp in fields:
        col = fp.column
        typ = profs[col]["inferred_type"]
        if fp.rule == "owner":
            out[col] = "email"
            continue
        if fp.rule == "lookup" or fp.value_map:
            continue
        kind = targets[fp.field].kind if fp.field in targets else None
        if fp.suggested:
            if typ != "text":
                out[col] = typ
            continue
        if typ in ("email", "url", "phone", "html"):
            out[col] = typ
        elif typ == "text" and kind == "email":
            out[col] = "email"
        elif typ == "multiselect" and kind == "multipicklist":
            out[col] = typ
        elif typ in ("integer", "decimal") and kind in ("integer", "decimal"):
            out[col] = typ
        elif typ == "boolean" and kind == "boolean":
            out[col] = typ
        elif typ in ("date", "datetime") and kind in ("date", "datetime"):
            out[col] = typ
    return dict(sorted(out.items(), key=lambda kv: list(profs).index(kv[0])))


def _as_proposal(c: _Candidate) -> FieldProposal:
    return FieldProposal(c.field, c.column, c.rule, c.confidence, c.reason, lookup=c.lookup, type=c.type,
                         truncate=c.truncate, value_map=c.value_map, value_matches=c.value_matches,
                         verify_only=c.verify_only, unmapped=c.unmapped, default=c.default)


def _unmatched_reason(cn: _ColumnNotes) -> str:
    parts = list(cn.notes)
    if cn.best_rejected is not None:
        parts.append(cn.best_rejected[1])
    if not parts:
        parts.append("no destination field matches its name")
    return "; ".join(parts)


def _pct(x: float) -> str:
    return f"{round(100 * x)}%"


def _clip(v: Any, n: int) -> str:
    s = re.sub(r"\s+", " ", str(v))
    return s if len(s) <= n else s[: n - 1] + "…"


def _kind_phrase(typ: str) -> str:
    return {"email": "an e-mail column", "url": "a URL column", "phone": "a phone column", "html": "an HTML column",
            "multiselect": "a multi-select column", "integer": "an integer column", "decimal": "a number column",
            "boolean": "a yes/no column", "date": "a date column", "datetime": "a date-time column"}.get(typ, "a text column")


def _field_phrase(f: FieldSchema) -> str:
    if f.kind in ("picklist", "multipicklist"):
        what = "a multi-select picklist" if f.kind == "multipicklist" else "a picklist"
        return f"{what} ({len(f.picklist_values)} values{', restricted' if f.restricted else ''})"
    article = "an" if f.kind in ("email", "integer", "id") else "a"
    return f"{article} {f.kind} field" + (f" ({f.length})" if f.length and f.kind in ("text", "textarea", "email", "phone", "url") else "")


def _data_evidence(p: dict[str, Any]) -> str:
    pat, typ = p["patterns"], p["inferred_type"]
    if typ == "email":
        return f"{_pct(pat['email'])} of values are e-mails"
    if typ == "url":
        return f"{_pct(pat['url'])} of values are URLs"
    if typ == "phone":
        return f"{_pct(pat['phone'])} of values look like phone numbers"
    if typ in ("date", "datetime"):
        return f"{_pct(pat['date'] + pat['datetime'])} of values are {'dates' if typ == 'date' else 'dates/times'}"
    if typ == "integer":
        return f"{_pct(pat['integer'])} of values are integers"
    if typ == "decimal":
        share = min(1.0, max(pat["integer"] + pat["decimal"], pat["currency"]))
        return f"{_pct(share)} of values are numbers" + (" (currency)" if pat["currency"] > 0 else "")
    if typ == "boolean":
        return f"{_pct(pat['boolean'])} of values are yes/no values"
    if typ == "html":
        return f"{_pct(pat['html'])} of values contain HTML"
    if typ == "multiselect":
        return f"{_pct(pat['multiselect'])} of values are ;-separated lists"
    extra = f", {p['distinct']} distinct values" if p["picklist_like"] else ""
    return f"text up to {p['max_length']} chars{extra}"


def _label(api_name: str) -> str:
    return re.sub(r"__c$", "", api_name).replace("_", " ").strip()


def _custom_dict(cf: CustomField) -> dict[str, Any]:
    d = cf.model_dump(exclude_defaults=True)
    order = ["type", "length", "precision", "scale", "external_id", "unique", "label", "values"]
    return {k: d[k] for k in order if k in d}


# --- rendering ---------------------------------------------------------------------------------


def _flow(x: Any) -> str:
    text = yaml.safe_dump(x, default_flow_style=True, sort_keys=False, allow_unicode=True, width=1 << 20)
    if text.endswith("\n...\n"):
        text = text[:-5]
    return text.strip()


def _comment(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def proposal_yaml(p: ObjectProposal) -> str:
    """The proposal as a mapping file: the project's keys, a ``# confidence`` comment above every
    field, and the unmatched columns and picklist values in a comment block at the end."""
    d = p.mapping_dict()
    lines = [
        f"# Proposed mapping: source object '{p.source_object}' -> {p.destination_object} "
        "(crm_migration.control.proposal).",
        "# Review every field, fix what is wrong, then confirm; nothing below a confidence of "
        f"{p.threshold:.2f} is proposed.",
        f"# '{p.id_column}' is the source id: written to {p.external_id_field}, the upsert key.",
    ]
    lines += [f"# note: {_comment(n)}" for n in p.notes]
    lines.append(yaml.safe_dump({"object": d["object"], "description": d["description"]}, sort_keys=False,
                                allow_unicode=True, width=1 << 20).rstrip())
    lines.append("source:")
    lines.append(f"  object: {_flow(p.source_object)}")
    lines.append(f"  id: {_flow(p.id_column)}")
    lines.append(f"  required: {_flow(list(p.required))}")
    if p.types:
        lines.append("  types:")
        lines += [f"    {_flow(c)}: {_flow(t)}" for c, t in p.types.items()]
    else:
        lines.append("  types: {}")
    lines.append("destination:")
    lines.append(f"  object: {_flow(p.destination_object)}")
    lines.append(f"  external_id: {_flow(p.external_id_field)}")
    if p.fields:
        lines.append("fields:")
        for f in p.fields:
            if f.suggested:
                lines.append(f"  # {_comment(f.reason)}")
            else:
                lines.append(f"  # confidence {f.confidence:.2f}: {_comment(f.reason)}")
            rule = f.rule_dict()
            if f.value_map:
                lines.append(f"  {_flow(f.field)}:")
                lines += [f"    {_flow(k)}: {_flow(v)}" for k, v in rule.items()]
                for v in f.value_matches:
                    if v.target is not None and v.how != "exact":
                        lines.append(f"    # {_comment(v.source)} -> {_comment(v.target)}: {v.how} ({v.confidence:.2f})")
                fate = f"becomes {f.default}" if f.unmapped == "default" else "rejected"
                for v in f.unmatched_values:
                    lines.append(f"    # unmatched value {_comment(v.source)!r} ({v.count} rows): {fate} until mapped")
            else:
                lines.append(f"  {_flow(f.field)}: {_flow(rule)}")
    else:
        lines.append("fields: {}")
    lines.append("custom_fields:")
    for name, cf in p.custom_fields.items():
        lines.append(f"  {_flow(name)}: {_flow(_custom_dict(cf))}")
    lines.append("#")
    if p.unmatched:
        lines.append("# Unmatched columns (not mapped: map them by hand, or use the suggested custom field):")
        for u in p.unmatched:
            lines.append(f"#   {u.column} ({u.inferred_type}, {_pct(u.fill_rate)} filled, {u.distinct} distinct; "
                         f"top: {_comment(u.top_values) or '-'}): {_comment(u.reason)}")
            if u.suggestion and u.suggested_field is not None and u.suggestion not in p.custom_fields:
                lines.append(f"#     suggested custom field: {u.suggestion}: {_flow(_custom_dict(u.suggested_field))}"
                             f"  (fields: {u.suggestion}: {{from: {u.column}}})")
    else:
        lines.append("# Unmatched columns: none.")
    unmatched_values = p.unmatched_values
    if unmatched_values:
        lines.append("# Unmatched picklist values (unmapped: reject; map each one, or add it to the picklist):")
        defaults = {f.field: f.default for f in p.fields if f.unmapped == "default"}
        for fname, col, v in unmatched_values:
            fate = f": becomes {defaults[fname]} (unmapped: default)" if fname in defaults else ""
            lines.append(f"#   {fname} <- {col}: {_comment(v.source)!r} ({v.count} rows){fate}")
    else:
        lines.append("# Unmatched picklist values: none.")
    if p.missing_required:
        lines.append(f"# Required destination fields with no source column: {', '.join(p.missing_required)}")
    return "\n".join(lines) + "\n"


def _md(text: Any) -> str:
    return _comment(str(text)).replace("|", "\\|")


def proposal_markdown(p: ObjectProposal) -> str:
    """The proposal as a report: one table row per field, then unmatched columns and picklist values."""
    out = [f"## Proposed mapping: {p.source_object} -> {p.destination_object} (`{p.object_name}`)", "",
           f"Source id `{p.id_column}` -> `{p.external_id_field}`. Threshold {p.threshold:.2f}.", ""]
    out += [f"- note: {_md(n)}" for n in p.notes]
    if p.fields:
        out += ["| source column | destination field | rule | confidence | reason |", "|---|---|---|---|---|"]
    else:
        out.append("No field is proposed.")
    for f in p.fields:
        rule = f"lookup {f.lookup}" if f.rule == "lookup" else f.rule
        if f.suggested:
            rule += " (suggested custom field)"
        if f.verify_only:
            rule += " (verify only: write false)"
        conf = "suggested" if f.suggested else f"{f.confidence:.2f}"
        out.append(f"| {_md(f.column)} | {_md(f.field)} | {_md(rule)} | {conf} | {_md(f.reason)} |")
    mapped = [f for f in p.fields if f.value_matches]
    if mapped:
        out += ["", "### Picklist values", "", "| field | source value | rows | destination value | match |", "|---|---|---|---|---|"]
        for f in mapped:
            for v in f.value_matches:
                out.append(f"| {_md(f.field)} | {_md(v.source)} | {v.count} | {_md(v.target or '—')} | {_md(v.how)} |")
    out += ["", "### Unmatched columns", ""]
    if p.unmatched:
        out += ["| column | type | filled | distinct | top values | reason | suggested custom field |", "|---|---|---|---|---|---|---|"]
        for u in p.unmatched:
            sugg = f"{u.suggestion} ({u.suggested_field.type})" if u.suggestion and u.suggested_field else ""
            out.append(f"| {_md(u.column)} | {u.inferred_type} | {_pct(u.fill_rate)} | {u.distinct} | {_md(u.top_values)} | "
                       f"{_md(u.reason)} | {_md(sugg)} |")
    else:
        out.append("None.")
    out += ["", "### Unmatched picklist values", ""]
    if p.unmatched_values:
        out += ["| field | column | value | rows |", "|---|---|---|---|"]
        out += [f"| {_md(f)} | {_md(c)} | {_md(v.source)} | {v.count} |" for f, c, v in p.unmatched_values]
    else:
        out.append("None.")
    if p.missing_required:
        out += ["", "### Required destination fields without a source column", "",
                ", ".join(f"`{n}`" for n in p.missing_required)]
    return "\n".join(out) + "\n"
