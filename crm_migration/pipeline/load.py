"""The loaded and reconciled stages: idempotent writes with a write-ahead audit, then read-back.

Loading a batch: translate lookups (parent external id -> destination id, from the ID
cross-reference), read the destination's current values (the before-image), leave identical
records alone, write the intent to the ledger, send the rest as upserts keyed by external id, write
the result. So a second materialization of the same partition sends nothing at all.

An object matched by a natural key instead (see `DestinationSpec`) finds its destination id in the
cross-reference, else among the destination's records under the key's first field, and is written
keyed by its destination id: found means update, not found means create (or, update-only, skip).
"""

from __future__ import annotations

import json

import pandas as pd

from crm_migration.destinations.base import Destination, ObjectSchema
from crm_migration.mapping.loader import Pair
from crm_migration.mapping.model import ObjectMapping
from crm_migration.pipeline.compare import field_equal
from crm_migration.pipeline.issues import EXTERNAL_ID, issues_for
from crm_migration.pipeline.ledger import Ledger
from crm_migration.pipeline.normalize import FILE_LINK, FILE_PATH
from crm_migration.pipeline.storage import issues_frame
from crm_migration.pipeline.transform import META_COLUMNS, WAVE
from crm_migration.sources.base import SOURCE_FILE, SOURCE_ROW

LOADED = ("created", "updated", "unchanged")


def write_fields(mapping: ObjectMapping) -> list[str]:
    return [n for n, r in mapping.fields.items() if r.write]


def translate_lookups(records: pd.DataFrame, mapping: ObjectMapping, xref: dict[str, dict[str, str]],
                      only: list[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parent external ids -> destination ids. A parent that did not load rejects (or, for flag lookups, unlinks) the child."""
    out = records.copy()
    issues = []
    lost_any = pd.Series(False, index=out.index)
    for name, rule in mapping.lookups.items():
        if only is not None and name not in only:
            continue
        ids_of: dict[str, str] = {}
        for target in rule.targets:
            known = xref.get(target, {})
            # A polymorphic parent is found by its external id alone: two objects must not share one.
            clash = set(known) & set(ids_of) & set(out[name].dropna())
            if clash:
                raise ValueError(f"{mapping.file_name}: fields.{name}: external id {sorted(clash)[0]!r} is a record of more than "
                                 f"one of {rule.targets}; give those objects distinct source.external_id_prefix values")
            ids_of.update(known)
        what = "/".join(rule.targets)
        ext = out[name].astype("string")
        if rule.many:
            items = ext.str.split(";").explode()
            items = items[items.notna() & (items != "")]
            ids = items.map(ids_of)
            lost = ext.notna() & items[ids.isna()].groupby(level=0).size().reindex(out.index, fill_value=0).gt(0)
            issues.append(issues_for(out[lost], stage="loaded", obj=mapping.object, code="LOOKUP_UNRESOLVED", field=name,
                                     value=ext[lost], detail="some " + what + " did not load; the others are linked"))
            out[name] = ids.dropna().groupby(level=0).agg(lambda v: ";".join(sorted(v))).reindex(out.index).astype("string")
            continue
        ids = ext.map(ids_of).astype("string")
        lost = ext.notna() & ids.isna()
        if rule.on_missing == "flag":
            issues.append(issues_for(out[lost], stage="loaded", obj=mapping.object, code="LOOKUP_UNRESOLVED", field=name,
                                     value=ext[lost], detail="the " + what + " did not load; loaded without the link"))
        else:
            issues.append(issues_for(out[lost], stage="loaded", obj=mapping.object, code="PARENT_REJECTED", field=name,
                                     value=ext[lost], detail="the " + what + " " + ext[lost].fillna("") + " did not load"))
            lost_any |= lost
        out[name] = ids
    return out[~lost_any], issues_frame(issues)


def load_object(dest: Destination, pair: Pair, mapping: ObjectMapping, mapped: pd.DataFrame, schema: ObjectSchema,
                ledger: Ledger, run_id: str, log=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Returns one outcome per mapped record (with its source file and row) and the load's issues."""
    fields = write_fields(mapping)
    xref = ledger.xref_by_object()
    others = [n for n, r in mapping.lookups.items() if n != mapping.self_lookup]
    records, issues = translate_lookups(mapped, mapping, xref, only=others)
    results = []
    self_field = mapping.self_lookup
    for wave in sorted(records[WAVE].unique()) if len(records) else []:
        batch_all = records[records[WAVE] == wave]
        if self_field:
            xref = ledger.xref_by_object()  # parents of this wave loaded in the previous one
            batch_all, wave_issues = translate_lookups(batch_all, mapping, xref, only=[self_field])
            issues = issues_frame([issues, wave_issues])
        for start in range(0, len(batch_all), pair.settings.load.batch_size):
            batch = batch_all.iloc[start:start + pair.settings.load.batch_size]
            results.append(_load_batch(dest, mapping, batch, fields, schema, ledger, run_id, f"w{wave}", xref))
            if log:
                done = results[-1]["action"].value_counts().to_dict()
                log.info(f"{mapping.object} wave {wave}: batch of {len(batch)} -> {done}")
    outcome = pd.concat(results, ignore_index=True) if results else pd.DataFrame(columns=["external_id", "action"])
    skipped = outcome[outcome["action"] == "skipped"]
    if len(skipped):
        rows = mapped[mapped[EXTERNAL_ID].isin(set(skipped["external_id"]))]
        issues = issues_frame([issues, issues_for(rows, stage="loaded", obj=mapping.object, code="NO_MATCH_IN_DESTINATION",
                                                  field="+".join(mapping.destination.key),
                                                  value=rows[mapping.destination.key[0]].astype("string"),
                                                  detail="no " + mapping.destination.object + " has this key; nothing created (update-only)")])
    failed = outcome[outcome["action"] == "failed"]
    if len(failed):
        rows = failed.merge(mapped[META_COLUMNS], left_on="external_id", right_on=EXTERNAL_ID, how="left")
        issues = issues_frame([issues, issues_for(rows, stage="loaded", obj=mapping.object, code=rows["reason_code"].fillna("DEST_UNKNOWN"),
                                                  detail=rows["dest_message"].fillna(""),
                                                  dest_code=rows["dest_code"], dest_message=rows["dest_message"])])
    table = mapped[META_COLUMNS].merge(outcome, left_on=EXTERNAL_ID, right_on="external_id", how="left")
    table = table.drop(columns="external_id")
    table["action"] = table["action"].fillna("rejected")
    return table, issues


def _keyed_ids(dest: Destination, mapping: ObjectMapping, batch: pd.DataFrame, known: dict[str, str], id_field: str) -> pd.Series:
    """Destination ids of a batch of key-matched records: from the cross-reference (if the record is still
    there: someone may have deleted it), else by their natural key."""
    ids = batch[EXTERNAL_ID].map(known).astype("string")
    if ids.notna().any():
        alive = set(dest.read_back(mapping.destination.object, id_field, ids.dropna().unique().tolist(), [])["destination_id"])
        ids = ids.where(ids.isin(alive))
    todo = batch[ids.isna()]
    key = mapping.destination.key
    if len(todo) == 0:
        return ids
    probe = todo[key[0]].dropna().astype(str).unique().tolist()
    found = dest.read_back(mapping.destination.object, key[0], probe, key) if probe else pd.DataFrame(columns=["destination_id", *key])
    if len(found) == 0:
        return ids

    def norm(df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({k: df[k].astype("string").str.strip().str.lower() for k in key}, index=df.index)

    # A destination record already claimed by another source record (same key twice) is not adopted twice.
    taken = set(known.values())
    found = found[~found["destination_id"].isin(taken)].drop_duplicates(key)
    matched = norm(todo).reset_index().merge(norm(found).assign(destination_id=found["destination_id"].to_numpy()), on=key, how="left")
    matched = matched.drop_duplicates("index").set_index("index")["destination_id"]
    return ids.fillna(matched.reindex(ids.index).astype("string"))


def _load_batch(dest: Destination, mapping: ObjectMapping, batch: pd.DataFrame, fields: list[str],
                schema: ObjectSchema, ledger: Ledger, run_id: str, label: str, xref: dict[str, dict[str, str]]) -> pd.DataFrame:
    obj = mapping.destination.object
    ext_ids = batch[EXTERNAL_ID].astype("string")
    send = batch[fields].copy()
    if mapping.keyed:
        key_field = schema.id_field
        ids = _keyed_ids(dest, mapping, batch, xref.get(mapping.object, {}), key_field)
        have = ids.dropna().unique().tolist()
        before = dest.read_back(obj, key_field, have, fields) if have else pd.DataFrame(columns=["external_id", "destination_id", *fields])
        before = before.drop_duplicates("destination_id").set_index("destination_id", drop=False).reindex(ids)
        send.insert(0, key_field, ids.to_numpy())
    else:
        key_field = mapping.destination.external_id
        send.insert(0, key_field, ext_ids.to_numpy())
        before = dest.read_back(obj, key_field, ext_ids.tolist(), fields)
        before = before.drop_duplicates("external_id").set_index("external_id").reindex(ext_ids)
    existed = before["destination_id"].notna().to_numpy()
    same = pd.Series(existed, index=send.index)
    for f in fields:
        same &= field_equal(send[f].reset_index(drop=True), before[f].reset_index(drop=True), schema.fields.get(f)).to_numpy()
    batch_id = ledger.new_batch(run_id, mapping.object, label)
    skip = pd.Series(~existed & (not mapping.destination.create), index=send.index)
    intent = pd.DataFrame({
        "external_id": ext_ids.to_numpy(),
        "existed": existed,
        "destination_id": before["destination_id"].to_numpy(),
        "before": [json.dumps(r, default=str) if e else None for r, e in zip(_records(before[fields]), existed)],
        "after": [json.dumps(r, default=str) for r in _records(send)],
        "unchanged": same.to_numpy(),
    })
    ledger.write_intent(run_id, mapping.object, batch_id, intent)
    unchanged = pd.DataFrame({"external_id": ext_ids[same].to_numpy(), "destination_id": before["destination_id"].to_numpy()[same.to_numpy()],
                              "action": "unchanged"})
    skipped = pd.DataFrame({"external_id": ext_ids[skip].to_numpy(), "action": "skipped"})
    todo = send[~same & ~skip]
    if mapping.source.file is not None:
        todo = todo.assign(**{FILE_PATH: batch.loc[todo.index, FILE_PATH], FILE_LINK: batch.loc[todo.index, FILE_LINK]})
        sent = dest.upload_files(obj, key_field, todo, FILE_PATH) if len(todo) else None
    else:
        sent = dest.upsert(obj, key_field, todo) if len(todo) else None
    if sent is not None and mapping.keyed:
        # Keyed by destination id, the destination names each outcome by its row's position in `todo`.
        sent = sent.assign(external_id=ext_ids[todo.index].to_numpy()[sent["external_id"].astype(int).to_numpy()])
    result = pd.concat([unchanged, skipped] + ([sent] if sent is not None else []), ignore_index=True)
    ledger.write_result(run_id, mapping.object, batch_id, result)
    return result


def _records(df: pd.DataFrame) -> list[dict]:
    return df.astype(object).where(df.notna(), None).to_dict("records")


def reconcile_object(dest: Destination, pair: Pair, mapping: ObjectMapping, mapped: pd.DataFrame, loaded: pd.DataFrame,
                     schema: ObjectSchema, ledger: Ledger, raw: pd.DataFrame | None = None,
                     every_field: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read back every loaded record and compare every mapped field.

    Returns (diff, issues). The diff has one row per differing field, or with `every_field` one row
    per record and field (a sample run's field-level diff), with the source value beside the
    expected and the actual destination value.
    """
    ok = loaded[loaded["action"].isin(LOADED)]
    expected = mapped[mapped[EXTERNAL_ID].isin(set(ok[EXTERNAL_ID]))]
    expected, _ = translate_lookups(expected, mapping, ledger.xref_by_object())
    fields = list(mapping.fields)
    if mapping.keyed:
        ids = expected[EXTERNAL_ID].map(ledger.xref_by_object().get(mapping.object, {})).astype("string")
        actual = dest.read_back(mapping.destination.object, schema.id_field, ids.dropna().tolist(), fields)
        by_id = dict(zip(ids, expected[EXTERNAL_ID]))
        actual = actual.assign(external_id=actual["destination_id"].map(by_id))
    else:
        actual = dest.read_back(mapping.destination.object, mapping.destination.external_id, expected[EXTERNAL_ID].tolist(), fields)
    actual = actual.drop_duplicates("external_id").set_index("external_id")
    present = expected[EXTERNAL_ID].isin(actual.index)
    issues = [issues_for(expected[~present], stage="reconciled", obj=mapping.object, code="MISSING_IN_DESTINATION",
                         detail="reported loaded, but no record with this external id was read back")]
    exp = expected[present].reset_index(drop=True)
    act = actual.reindex(exp[EXTERNAL_ID]).reset_index(drop=True)
    source = None
    if raw is not None:
        keyed = raw.set_index([SOURCE_FILE, SOURCE_ROW])
        source = keyed.reindex(pd.MultiIndex.from_arrays([exp[SOURCE_FILE], exp[SOURCE_ROW]])).reset_index(drop=True)
    diffs = []
    for f in fields:
        rule = mapping.fields[f]
        equal = field_equal(exp[f], act[f], schema.fields.get(f))
        keep = pd.Series(True, index=exp.index) if every_field else ~equal
        if not keep.any():
            continue
        column = (rule.columns() or [None])[0]
        source_value = (source[column].astype("string")[keep] if source is not None and column in source
                        else pd.Series(pd.NA, index=exp.index[keep], dtype="string"))
        diffs.append(pd.DataFrame({"external_id": exp.loc[keep, EXTERNAL_ID], "field": f, "source_column": column,
                                   "source_value": source_value, "expected": exp.loc[keep, f].astype("string"),
                                   "actual": act.loc[keep, f].astype("string"), "equal": equal[keep],
                                   SOURCE_FILE: exp.loc[keep, SOURCE_FILE], SOURCE_ROW: exp.loc[keep, SOURCE_ROW]}))
        bad = ~equal
        if bad.any():
            issues.append(issues_for(exp[bad], stage="reconciled", obj=mapping.object, code="FIELD_MISMATCH", field=f,
                                     value=act.loc[bad, f].astype("string"),
                                     detail="expected " + exp.loc[bad, f].astype("string").fillna("(blank)") + ", read back "
                                     + act.loc[bad, f].astype("string").fillna("(blank)")))
    columns = ["external_id", "field", "source_column", "source_value", "expected", "actual", "equal", SOURCE_FILE, SOURCE_ROW]
    table = pd.concat(diffs, ignore_index=True) if diffs else pd.DataFrame(columns=columns)
    return table.astype({c: "string" for c in columns[:6]} | {"equal": "boolean"}), issues_frame(issues)
