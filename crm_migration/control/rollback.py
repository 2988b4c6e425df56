"""Rollback of a run from its audit log: delete what it created, restore what it updated, then prove it.

The ledger's first intent for a record in a run says whether the record existed before that run and
holds its before-image. So: records that did not exist are deleted (children before parents, files
with their documents); records that existed and were updated get their before-image back (parents
first). A read-back then checks that the created records are gone and the restored ones equal
their before-images. Later runs that wrote records may depend on this one: rolling back under them
is refused unless they are rolled back too (newest first).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd

from crm_migration.control.runs import GateRefused
from crm_migration.destinations.base import Destination
from crm_migration.mapping.loader import Pair
from crm_migration.pipeline.compare import field_equal
from crm_migration.pipeline.ledger import Ledger, RunManifest
from crm_migration.pipeline.load import write_fields

WROTE = ("created", "updated")


@dataclass
class RollbackReport:
    run_id: str
    deleted: dict[str, int] = field(default_factory=dict)
    restored: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    verified: bool = False

    def summary(self) -> dict:
        return {"deleted": self.deleted, "restored": self.restored, "failed": self.failed, "verified": self.verified}


def _wrote_records(ledger: Ledger, run_id: str) -> bool:
    results = ledger.results(run_id=run_id)
    return bool(len(results)) and results["action"].isin(WROTE).any()


def runs_depending_on(ledger: Ledger, run: RunManifest) -> list[RunManifest]:
    """Later runs, not rolled back, that wrote records (their records may point at this run's)."""
    return [r for r in ledger.runs() if r.created_at > run.created_at and not ledger.rolled_back(r.run_id)
            and _wrote_records(ledger, r.run_id)]


def rollback(pair: Pair, ledger: Ledger, dest: Destination, run_id: str, with_later: bool = False) -> list[RollbackReport]:
    target = ledger.run(run_id)
    if ledger.rolled_back(run_id):
        raise GateRefused(f"run {run_id} of {pair.name} was already rolled back")
    later = runs_depending_on(ledger, target)
    if later and not with_later:
        raise GateRefused(f"later runs wrote records that may depend on run {run_id}: "
                          f"{', '.join(r.run_id for r in later)}; roll them back first, or ask for them too (--with-later)")
    return [_rollback_one(pair, ledger, dest, r.run_id) for r in [*reversed(later), target]]


def _first_intents(ledger: Ledger, run_id: str) -> pd.DataFrame:
    intents = ledger.intents(run_id=run_id)
    if intents.empty:
        return intents
    return intents.sort_values("batch").drop_duplicates(["object", "external_id"], keep="first")


def _rollback_one(pair: Pair, ledger: Ledger, dest: Destination, run_id: str) -> RollbackReport:
    report = RollbackReport(run_id)
    first = _first_intents(ledger, run_id)
    results = ledger.results(run_id=run_id)
    if first.empty or results.empty:
        report.verified = True
        ledger.mark_rolled_back(run_id, report.summary())
        return report
    results = results.sort_values(["written_at", "batch"])
    wrote = results[results["action"].isin(WROTE)].drop_duplicates(["object", "external_id"], keep="last")
    touched = first.merge(wrote[["object", "external_id", "destination_id"]], on=["object", "external_id"],
                          how="inner", suffixes=("_before", ""))
    order = list(pair.objects)

    for obj in reversed(order):  # children first
        m = pair.objects[obj]
        created = touched[(touched["object"] == obj) & ~touched["existed"].astype(bool)]
        if created.empty:
            continue
        out = dest.delete(m.destination.object, created["destination_id"].tolist())
        out = out.merge(created[["destination_id", "external_id"]], on="destination_id", how="left", suffixes=("_x", ""))
        out = out.drop(columns=[c for c in out.columns if c.endswith("_x")])
        ledger.write_result(run_id, obj, ledger.new_batch(run_id, obj, "rollback-delete"), out)
        report.deleted[obj] = int((out["action"] == "deleted").sum())
        report.failed += [f"{obj} {r.external_id}: {r.dest_message}" for r in out[out["action"] == "failed"].itertuples()]

    for obj in order:  # parents first
        m = pair.objects[obj]
        updated = touched[(touched["object"] == obj) & touched["existed"].astype(bool)]
        if updated.empty or m.source.file is not None:
            continue  # a file's earlier version stays on its document in the destination
        fields = write_fields(m)
        before = pd.DataFrame([json.loads(b) for b in updated["before"]], columns=fields)
        key_field, keys = _key(m, dest, updated)
        before.insert(0, key_field, keys)
        out = dest.upsert(m.destination.object, key_field, before)
        if m.keyed:  # outcomes name rows by position when keyed by destination id
            out["external_id"] = updated["external_id"].to_numpy()[out["external_id"].astype(int).to_numpy()]
        out["action"] = out["action"].where(out["action"] == "failed", "restored")
        ledger.write_result(run_id, obj, ledger.new_batch(run_id, obj, "rollback-restore"), out)
        report.restored[obj] = int((out["action"] == "restored").sum())
        report.failed += [f"{obj} {r.external_id}: {r.dest_message}" for r in out[out["action"] == "failed"].itertuples()]

    report.verified = not report.failed and _verify(pair, dest, touched)
    ledger.mark_rolled_back(run_id, report.summary())
    return report


def _key(m, dest: Destination, rows: pd.DataFrame) -> tuple[str, list]:
    """The field and values that find these records: the external id, or for key-matched objects the destination id."""
    if not m.keyed:
        return m.destination.external_id, rows["external_id"].tolist()
    return dest.describe([m.destination.object])[m.destination.object].id_field, rows["destination_id"].tolist()


def _verify(pair: Pair, dest: Destination, touched: pd.DataFrame) -> bool:
    """Read back: created records are gone, restored ones equal their before-images."""
    for obj, rows in touched.groupby("object"):
        m = pair.objects[obj]
        fields = write_fields(m)
        key_field, keys = _key(m, dest, rows)
        back = dest.read_back(m.destination.object, key_field, [k for k in keys if isinstance(k, str)], fields)
        if m.keyed:
            back["external_id"] = back["destination_id"].map(dict(zip(keys, rows["external_id"])))
        back = back.set_index("external_id")
        created = rows[~rows["existed"].astype(bool)]
        if created["external_id"].isin(back.index).any():
            return False
        restored = rows[rows["existed"].astype(bool)]
        if m.source.file is not None or restored.empty:
            continue
        before = pd.DataFrame([json.loads(b) for b in restored["before"]], columns=fields, index=restored["external_id"])
        actual = back.reindex(before.index)
        schema = dest.describe([m.destination.object])[m.destination.object]
        for f in fields:
            if not field_equal(before[f], actual[f], schema.fields.get(f)).all():
                return False
    return True
