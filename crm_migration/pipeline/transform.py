"""The mapped stage: normalized rows -> destination-shaped records, by the object's mapping.

Lookups stay as the parent's external id here (the loader turns them into destination ids once the
parent is loaded); owners are resolved to destination user ids; a hierarchy gets its load waves.
Values are written in one canonical form per destination type (see `to_canonical`), which the
destinations accept and return on read-back, so that comparison never depends on the CRM.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crm_migration.destinations.base import FieldSchema, ObjectSchema
from crm_migration.mapping.loader import Pair
from crm_migration.mapping.model import FieldRule, ObjectMapping
from crm_migration.pipeline.issues import EXTERNAL_ID, drop_rejected, issues_for
from crm_migration.pipeline.normalize import FILE_LINK, FILE_PATH, FILE_SIZE
from crm_migration.pipeline.storage import issues_frame
from crm_migration.sources.base import SOURCE_FILE, SOURCE_ID, SOURCE_ROW

STAGE = "mapped"
WAVE = "_wave"
META_COLUMNS = [EXTERNAL_ID, SOURCE_FILE, SOURCE_ROW, SOURCE_ID, WAVE]


@dataclass(frozen=True)
class ParentKeys:
    """What the records of a parent object became, by external id."""

    alive: set[str] = field(default_factory=set)  # mapped in this run, or loaded by an earlier one
    rejected: set[str] = field(default_factory=set)  # in the export, but rejected
    frame: pd.DataFrame | None = None  # this run's normalized rows, for lookups that match a column or a range


def to_canonical(s: pd.Series, dest: FieldSchema | None, zone: str) -> pd.Series:
    """One form per destination type: datetimes ISO 8601 UTC with Z, dates YYYY-MM-DD, numbers, booleans, text."""
    kind = dest.kind if dest else "text"
    is_datetime = isinstance(s.dtype, pd.DatetimeTZDtype)
    if kind == "datetime":
        if not is_datetime:
            s = pd.to_datetime(s, utc=True, errors="coerce")
        return s.dt.strftime("%Y-%m-%dT%H:%M:%SZ").astype("string")
    if kind == "date":
        if is_datetime:
            return s.dt.tz_convert(zone).dt.strftime("%Y-%m-%d").astype("string")
        return s.map(lambda d: d.isoformat() if hasattr(d, "isoformat") else d).astype("string")
    if kind == "integer":
        return pd.to_numeric(s, errors="coerce").round().astype("Int64")
    if kind == "decimal":
        return pd.to_numeric(s, errors="coerce").astype("Float64")
    if kind == "boolean":
        return s.astype("boolean")
    if is_datetime:
        return s.dt.strftime("%Y-%m-%dT%H:%M:%SZ").astype("string")
    return s.astype("string")


def build_mapped(
    norm: pd.DataFrame,
    pair: Pair,
    mapping: ObjectMapping,
    schema: ObjectSchema,
    users: pd.DataFrame,
    parents: dict[str, ParentKeys],
    max_file_bytes: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    obj, zone = mapping.object, pair.settings.timezone
    out = pd.DataFrame(index=norm.index)
    issues: list[pd.DataFrame] = []
    lookup_flagged = pd.Series(False, index=norm.index)
    unmatched: dict[str, pd.Series] = {}

    for name, rule in mapping.fields.items():
        dest = schema.fields.get(name)
        if rule.kind == "constant":
            out[name] = to_canonical(pd.Series(rule.constant, index=norm.index), dest, zone)
        elif rule.kind == "template":
            out[name] = _template(norm, rule.template)
        elif rule.kind == "owner":
            out[name], owner_issues = _owners(norm, rule, users, pair, obj, name)
            issues.append(owner_issues)
            continue
        elif rule.kind == "lookup":
            out[name], lk_issues, flagged, unmatched[name] = _lookup(norm, rule, pair, parents, obj, name)
            issues.append(lk_issues)
            lookup_flagged |= flagged
            continue
        elif rule.kind == "unmatched":
            continue  # filled below, once its lookup is resolved
        else:
            columns = rule.from_ if isinstance(rule.from_, list) else [rule.from_]
            s = norm[columns[0]] if columns[0] in norm else pd.Series(pd.NA, index=norm.index, dtype="string")
            for more in columns[1:]:  # the first non-blank of several columns
                if more in norm:
                    s = s.where(s.notna(), norm[more])
            if rule.values is not None:
                s, value_issues = _value_map(norm, s, rule, obj, name)
                issues.append(value_issues)
            if rule.default is not None:
                s = s.astype(object).where(s.notna(), rule.default)
            out[name] = to_canonical(s, FieldSchema(name=name, kind=rule.type) if rule.type else dest, zone)
        if rule.truncate and dest is not None and dest.length:
            out[name], trunc = _truncate(norm, out[name], dest.length, obj, name)
            issues.append(trunc)

    for name, rule in mapping.fields.items():
        if rule.kind == "unmatched":
            out[name] = unmatched[rule.unmatched]

    if mapping.require_link is not None:
        none_linked = out[mapping.require_link.fields].isna().all(axis=1) & ~lookup_flagged
        code = "LOOKUP_UNRESOLVED" if mapping.require_link.on_missing == "flag" else "ORPHAN_REFERENCE"
        issues.append(issues_for(norm[none_linked], stage=STAGE, obj=obj, code=code, field="+".join(mapping.require_link.fields),
                                 detail="none of the links resolves: loaded without a parent, flagged for manual assignment"
                                 if code == "LOOKUP_UNRESOLVED" else "none of the links resolves"))

    if mapping.source.file is not None:
        spec = mapping.source.file
        out[FILE_PATH] = norm[FILE_PATH]
        out[FILE_LINK] = norm[FILE_LINK] if FILE_LINK in norm else pd.Series(pd.NA, index=norm.index, dtype="string")
        if max_file_bytes is not None:
            big = norm[FILE_SIZE].fillna(0) > max_file_bytes
            link = big & norm[spec.link_column].notna() if spec.link_column else big & False
            if link.any():
                out.loc[link, FILE_LINK] = norm.loc[link, spec.link_column]
                out.loc[link, FILE_PATH] = pd.NA
            issues.append(issues_for(norm[link], stage=STAGE, obj=obj, code="FILE_LINKED", field=spec.column,
                                     value=norm.loc[link, FILE_SIZE].astype("string"),
                                     detail=f"larger than the destination's {max_file_bytes:,} bytes; loaded as a link to where it is kept"))
            issues.append(issues_for(norm[big & ~link], stage=STAGE, obj=obj, code="FILE_TOO_LARGE", field=spec.column,
                                     value=norm.loc[big & ~link, FILE_SIZE].astype("string"),
                                     detail=f"the file is larger than the destination's {max_file_bytes:,} bytes in this flow"))

    for col in (EXTERNAL_ID, SOURCE_FILE, SOURCE_ROW, SOURCE_ID):
        out[col] = norm[col]
    all_issues = issues_frame(issues)
    out = drop_rejected(out, all_issues)
    out[WAVE] = 0
    if mapping.self_lookup:
        loaded_before = parents.get(obj, ParentKeys()).alive - set(norm[EXTERNAL_ID])
        out, wave_issues = _waves(out, mapping.self_lookup, obj, loaded_before)
        all_issues = issues_frame([all_issues, wave_issues])
    return out.reset_index(drop=True), all_issues


def _template(norm: pd.DataFrame, template: str) -> pd.Series:
    parts = re.split(r"({[A-Za-z_][A-Za-z0-9_]*})", template)
    result = pd.Series("", index=norm.index, dtype="string")
    any_value = pd.Series(False, index=norm.index)
    for part in parts:
        if part.startswith("{") and part.endswith("}"):
            col = norm[part[1:-1]].astype("string")
            any_value |= col.notna()
            result = result + col.fillna("")
        else:
            result = result + part
    # A blank part leaves its separator behind ("call: " for a call without a subject).
    return result.str.strip().str.strip(":").str.strip().where(any_value)


def _value_map(norm: pd.DataFrame, s: pd.Series, rule: FieldRule, obj: str, name: str) -> tuple[pd.Series, pd.DataFrame]:
    keys = s.astype("string")
    mapped = keys.map(rule.values)
    if "*" in rule.values:  # every other value, on purpose: nothing to report
        mapped = mapped.where(mapped.notna() | keys.isna(), rule.values["*"])
    unmapped = keys.notna() & mapped.isna()
    if rule.unmapped == "keep":
        return mapped.where(~unmapped, keys), issues_frame([])
    if rule.unmapped == "default":
        flags = issues_for(norm[unmapped], stage=STAGE, obj=obj, code="UNMAPPED_VALUE_DEFAULTED", field=name, value=keys[unmapped],
                           detail="value has no entry in the value map; default " + repr(rule.default) + " used")
        return mapped.where(~unmapped, rule.default), flags
    rejects = issues_for(norm[unmapped], stage=STAGE, obj=obj, code="UNMAPPED_VALUE", field=name, value=keys[unmapped],
                         detail="value " + keys[unmapped].fillna("") + " has no entry in the value map (" + str(rule.from_) + ")")
    return mapped, rejects


def _truncate(norm: pd.DataFrame, s: pd.Series, length: int, obj: str, name: str) -> tuple[pd.Series, pd.DataFrame]:
    long = s.str.len().fillna(0) > length
    flags = issues_for(norm[long], stage=STAGE, obj=obj, code="VALUE_TRUNCATED", field=name, value=s[long],
                       detail=f"longer than the destination's {length} characters; truncated")
    return s.where(~long, s.str.slice(0, length)), flags


def _owners(norm: pd.DataFrame, rule: FieldRule, users: pd.DataFrame, pair: Pair, obj: str, name: str) -> tuple[pd.Series, pd.DataFrame]:
    active = users[users["active"].astype(bool)]
    by_email = dict(zip(active["email"].str.lower(), active["id"]))
    emails = norm[rule.owner].astype("string").str.lower() if rule.owner in norm else pd.Series(pd.NA, index=norm.index, dtype="string")
    owner = emails.map(by_email).astype("string")
    unresolved = owner.isna()
    settings = pair.settings.owners
    fallback = by_email.get((settings.fallback_email or "").lower())
    if settings.on_unresolved == "fallback" and fallback:
        inactive = set(users.loc[~users["active"].astype(bool), "email"].str.lower())
        why = emails[unresolved].map(lambda e: "blank owner" if pd.isna(e) else ("inactive user " + e if e in inactive else "no user " + e))
        flags = issues_for(norm[unresolved], stage=STAGE, obj=obj, code="OWNER_FALLBACK", field=name, value=emails[unresolved],
                           detail=why.astype("string") + "; owned by the fallback " + settings.fallback_email)
        return owner.fillna(fallback), flags
    detail = "no active destination user with this e-mail" + (
        "" if fallback or settings.on_unresolved == "reject" else f" and the fallback owner {settings.fallback_email} is not an active user")
    return owner, issues_for(norm[unresolved], stage=STAGE, obj=obj, code="OWNER_UNRESOLVED", field=name, value=emails[unresolved], detail=detail)


def _column(norm: pd.DataFrame, col: str | None) -> pd.Series:
    return norm[col].astype("string") if col in norm else pd.Series(pd.NA, index=norm.index, dtype="string")


def _candidates(raw: pd.Series, rule: FieldRule, pair: Pair, target: str, keys: ParentKeys) -> pd.Series:
    """The external id each raw value points at in `target` (NA where it matches nothing)."""
    if rule.match is None and rule.range is None:
        return (pair.objects[target].source.external_id_prefix + raw).astype("string")
    frame = keys.frame if keys.frame is not None else pd.DataFrame(columns=[EXTERNAL_ID])
    if rule.match is not None:
        values = frame[rule.match].astype("string").str.strip().str.lower() if rule.match in frame else pd.Series(dtype="string")
        by_value = dict(zip(values[values.notna()], frame.loc[values.notna(), EXTERNAL_ID]))
        return raw.str.strip().str.lower().map(by_value).astype("string")
    low_col, high_col = rule.range
    bounds = frame.dropna(subset=[low_col, high_col]).sort_values(low_col) if len(frame) else frame
    if bounds.empty:
        return pd.Series(pd.NA, index=raw.index, dtype="string")
    lows = bounds[low_col].astype(str).to_numpy()
    highs = bounds[high_col].astype(str).to_numpy()
    values = raw.fillna("").astype(str).to_numpy()
    # The range whose low bound is the last one at or below the value (text compare: equal-width codes such as zips).
    at = np.searchsorted(lows, values, side="right") - 1
    inside = (at >= 0) & (values != "")
    inside[inside] &= values[inside] <= highs[at[inside]]
    found = np.where(inside, bounds[EXTERNAL_ID].to_numpy()[np.clip(at, 0, None)], None)
    return pd.Series(found, index=raw.index, dtype="string")


def _lookup(norm, rule: FieldRule, pair: Pair, parents: dict[str, ParentKeys], obj: str, name: str):
    """Parent external ids for one lookup field, and the issues of those that do not resolve.

    Returns (values, issues, flagged rows, unmatched values): for a `many` lookup the values are the
    sorted `;`-joined external ids and `unmatched` the `;`-joined raw values that matched no parent.
    """
    idx = norm.index
    targets = rule.targets
    if isinstance(rule.from_, list):  # the first non-blank column: its object, or (unpaired) found in any
        raw = pd.Series(pd.NA, index=idx, dtype="string")
        target = pd.Series(pd.NA, index=idx, dtype="string")
        paired = len(rule.from_) == len(targets)
        for i, c in enumerate(rule.from_):
            v = _column(norm, c)
            take = raw.isna() & v.notna()
            raw[take] = v[take]
            if paired:
                target[take] = targets[i]
    else:
        raw = pd.Series(str(rule.constant), index=idx, dtype="string") if rule.constant is not None else _column(norm, rule.from_)
        if rule.type_column is not None:
            typ = _column(norm, rule.type_column)
            target = (typ.map(rule.types) if rule.types else typ).astype("string")
            # A type no mapped object stands for resolves nowhere; a blank type is looked up in every object.
            target = target.where(target.isin(targets) | typ.isna(), "").where(typ.notna())
        else:
            target = pd.Series(targets[0] if len(targets) == 1 else pd.NA, index=idx, dtype="string")
    if rule.default is not None:
        blank = raw.isna()
        raw, target = raw.mask(blank, str(rule.default)), target.mask(blank & target.isna(), targets[0])

    if rule.many:
        exploded = raw.str.split(r"\s*;\s*", regex=True).explode()
        exploded = exploded[exploded.notna() & (exploded != "")].astype("string")
        item_target = target.reindex(exploded.index)
    else:
        exploded, item_target = raw[raw.notna()], target[raw.notna()]

    key_of = {t: parents.get(t, ParentKeys()) for t in targets}
    if obj in key_of:  # a hierarchy: a parent in this run's rows (the waves check it further), or one loaded before
        key_of[obj] = ParentKeys(alive=set(norm[EXTERNAL_ID]) | key_of[obj].alive, rejected=key_of[obj].rejected,
                                 frame=key_of[obj].frame)
    ext = pd.Series(pd.NA, index=exploded.index, dtype="string")
    gone_rejected = pd.Series(False, index=exploded.index)
    for t in targets:
        keys = key_of[t]
        cand = _candidates(exploded, rule, pair, t, keys)
        open_ = ext.isna() & (item_target.isna() | (item_target == t))
        alive = open_ & cand.isin(keys.alive)
        ext[alive] = cand[alive]
        gone_rejected |= open_ & cand.isin(keys.rejected) & ~cand.isin(keys.alive)
    missing_items = ext.isna() & ~gone_rejected
    rejected_items = ext.isna() & gone_rejected

    def per_row(mask: pd.Series) -> pd.Series:
        return mask.groupby(level=0).any().reindex(idx, fill_value=False)

    unmatched = pd.Series(pd.NA, index=idx, dtype="string")
    if rule.many:
        joined = ext.dropna().groupby(level=0).agg(lambda v: ";".join(sorted(set(v))))
        values = joined.reindex(idx).astype("string")
        lost = exploded[ext.isna()]
        unmatched = lost.groupby(level=0).agg("; ".join).reindex(idx).astype("string")
        gone = unmatched.notna()
        issues = issues_for(norm[gone], stage=STAGE, obj=obj, code="LOOKUP_UNRESOLVED", field=name, value=unmatched[gone],
                            detail="no " + "/".join(targets) + " for " + unmatched[gone] + "; the rest are linked, these are kept for review")
        return values, issues, gone, unmatched

    values = ext.reindex(idx).astype("string")
    missing, rejected = per_row(missing_items), per_row(rejected_items)
    what = "/".join(targets)
    issues = []
    flagged = pd.Series(False, index=idx)
    if rule.on_missing == "flag":
        gone = rejected | missing
        issues.append(issues_for(norm[gone], stage=STAGE, obj=obj, code="LOOKUP_UNRESOLVED", field=name, value=raw[gone],
                                 detail="no " + what + " " + raw[gone].fillna("") + " to link to; loaded without it, flagged for manual assignment"))
        flagged = gone
    else:
        issues.append(issues_for(norm[missing], stage=STAGE, obj=obj, code="ORPHAN_REFERENCE", field=name, value=raw[missing],
                                 detail=what + " " + raw[missing].fillna("") + " is not in the export"))
        issues.append(issues_for(norm[rejected], stage=STAGE, obj=obj, code="PARENT_REJECTED", field=name, value=raw[rejected],
                                 detail=what + " " + raw[rejected].fillna("") + " was rejected"))
    return values, issues_frame(issues), flagged, unmatched


def _waves(out: pd.DataFrame, parent_field: str, obj: str, loaded_before: set[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Number a hierarchy's load waves (roots 0, their children 1, ...); reject cycles and what hangs below them.

    Roots have no parent, or a parent an earlier run loaded that is not in this run's rows.
    """
    ids, parent = out[EXTERNAL_ID], out[parent_field]
    wave = pd.Series(np.nan, index=out.index)
    wave[parent.isna() | parent.isin(loaded_before)] = 0
    level = 0
    while True:
        nxt = wave.isna() & parent.isin(set(ids[wave == level]))
        if not nxt.any():
            break
        level += 1
        wave[nxt] = level
    stuck = out[wave.isna()]
    if stuck.empty:
        return out.assign(**{WAVE: wave.astype(int)}), issues_frame([])
    # Only the few stuck records are walked one by one.
    up = dict(zip(stuck[EXTERNAL_ID], stuck[parent_field]))
    on_cycle = set()
    for start in up:
        seen, node = [], start
        while node in up and node not in seen:
            seen.append(node)
            node = up[node]
        if node in seen:
            on_cycle.update(seen[seen.index(node):])
    cyc = stuck[stuck[EXTERNAL_ID].isin(on_cycle)]
    below = stuck[~stuck[EXTERNAL_ID].isin(on_cycle)]
    issues = issues_frame([
        issues_for(cyc, stage=STAGE, obj=obj, code="HIERARCHY_CYCLE", field=parent_field, value=cyc[parent_field],
                   detail="part of a parent cycle: " + " -> ".join(sorted(on_cycle & set(cyc[EXTERNAL_ID])))),
        issues_for(below, stage=STAGE, obj=obj, code="PARENT_REJECTED", field=parent_field, value=below[parent_field],
                   detail="an ancestor in the hierarchy was rejected"),
    ])
    kept = out[wave.notna()].copy()
    kept[WAVE] = wave[wave.notna()].astype(int)
    return kept, issues
