"""What every pair's end-to-end test checks, against the generator's truth file and the sandbox.

Each pair's test module runs one migration (sample, approval, full run) into its own sandbox and
calls these: the accounting identity and zero mismatches per object, every planted defect reported
with its reason code (a rejected one not loaded), nothing reported that was not planted or does not
follow from what was, and a re-run that writes nothing.
"""

from __future__ import annotations

import re

import pandas as pd

from crm_migration.control.jobs import approve_sample, confirm_mapping
from crm_migration.pipeline.load import LOADED
from crm_migration.pipeline.report import account
from crm_migration.reasons import severity

# Codes that follow from another record's fate (a parent rejected, missing or unowned), not from the record itself.
FOLLOW_ON = {"PARENT_REJECTED", "LOOKUP_UNRESOLVED", "OWNER_FALLBACK", "ORPHAN_REFERENCE"}


def migrate(m, run_id: str = "full-1"):
    """Confirm, run and approve a sample, then the full run; returns the full run's store."""
    confirm_mapping(m.pair, "tests")
    assert m.run("sample-1", kind="sample"), "the sample run failed (see the Dagster log above)"
    approve_sample(m.pair, "sample-1", "tests")
    assert m.run(run_id), "the full run failed (see the Dagster log above)"
    return m.store(run_id)


def all_issues(m, store) -> pd.DataFrame:
    return pd.concat([store.read_issues(o) for o in m.pair.objects], ignore_index=True)


def assert_reconciles(m, store) -> None:
    for obj in m.pair.objects:
        acc = account(store, obj)
        assert acc.balanced, f"{obj}: extracted {acc.extracted} != loaded {acc.loaded} + rejected {acc.rejected} + skipped {acc.skipped}"
        assert acc.mismatches == 0 and acc.missing == 0, f"{obj}: {acc.mismatches} mismatches, {acc.missing} missing"
        assert acc.loaded > 0, f"{obj}: nothing loaded"


def assert_defects_reported(m, store) -> None:
    """Each planted defect, one by one, carries its code on a mapping of its source object."""
    issues = all_issues(m, store)
    readers = {}
    for mapping in m.pair.objects.values():
        readers.setdefault(mapping.source.object, []).append(mapping.object)
    missed = []
    for d in m.truth["defects"]:
        objects = readers.get(d["object"], [])
        if d["reason_code"] == "UNPARSEABLE_ROW":
            hit = issues[(issues["reason_code"] == "UNPARSEABLE_ROW") & (issues["source_row"] == d["source_row"])]
        else:
            hit = issues[issues["object"].isin(objects) & (issues["source_id"] == d["source_id"])
                         & (issues["reason_code"] == d["reason_code"])]
        if hit.empty:
            missed.append(d)
            continue
        if severity(d["reason_code"]).value != "flag":
            for obj in set(hit["object"]):
                loaded = store.read(obj, "loaded")
                row = loaded["_source_row"] == d["source_row"] if d.get("source_row") else True
                landed = (loaded["_source_id"] == d["source_id"]) & row & loaded["action"].isin(LOADED)
                assert not landed.any(), f"{obj}: a {d['reason_code']} defect was loaded anyway: {d}"
    assert not missed, f"{len(missed)} planted defects not reported with their code: {missed[:5]}"


def assert_nothing_unplanted(m, store, people: set[str] = frozenset()) -> None:
    """Every reject and flag is planted, or follows from something planted (or from `people`: e-mails of
    owners, attendees and coaches the destination deliberately lacks)."""
    issues = all_issues(m, store)
    truth = m.truth
    planted = {(d["source_id"], d["reason_code"]) for d in truth["defects"]}
    planted_rows = {d["source_row"] for d in truth["defects"] if d["reason_code"] == "UNPARSEABLE_ROW"}
    planted_duplicates = {d["source_id"] for d in truth["defects"] if d["reason_code"] == "DUPLICATE_SUSPECTED"}
    known = {e.lower() for e in [*truth.get("unmatched_owner_emails", []), *truth.get("inactive_owner_emails", []),
                                 *truth.get("partner_owner_emails", [])]} | {e.lower() for e in people}
    # Source ids of records that are themselves rejected, skipped or planted: their children follow.
    fallen = set(issues.loc[issues["severity"].isin(["reject", "skip"]), "source_id"].dropna()) | {d["source_id"] for d in truth["defects"]}
    prefixes = {mapping.source.external_id_prefix for mapping in m.pair.objects.values()} - {""}
    surprises = []
    for i in issues.itertuples():
        if i.reason_code in ("OTHER_MAPPING", "NOTHING_TO_MIGRATE"):
            continue  # by design of the mapping, not a defect
        if i.reason_code == "NO_MATCH_IN_DESTINATION" and str(i.value).lower() in known:
            continue  # a user the destination deliberately lacks
        if i.reason_code == "UNPARSEABLE_ROW" and i.source_row in planted_rows:
            continue
        if (i.source_id, i.reason_code) in planted:
            continue
        if i.reason_code == "DUPLICATE_SUSPECTED" and set(re.findall(r"[\w-]+", str(i.message).split("suspected duplicates")[-1])) & planted_duplicates:
            continue  # the other member of a planted duplicate group
        if i.reason_code in FOLLOW_ON:
            value = "" if pd.isna(i.value) else str(i.value)
            emails = {e.lower() for e in re.findall(r"[^\s;,]+@[^\s;,]+", value)}
            if i.reason_code == "OWNER_FALLBACK" and (not value or emails <= known):
                continue
            if emails and emails <= known | _attendees(truth):
                continue
            if value and any(_source_ids(v, prefixes) & fallen for v in re.split(r"\s*;\s*", value)):
                continue
        surprises.append(f"{i.reason_code}: {i.message}")
    assert not surprises, f"{len(surprises)} unplanned issues: {surprises[:10]}"


def _source_ids(value: str, prefixes: set[str]) -> set[str]:
    """What a lookup's value may be: a source id, an external id (a prefix before it), a destination id (Module/id)."""
    return {value, value.split("/")[-1]} | {value[len(p):] for p in prefixes if value.startswith(p)}


def _attendees(truth: dict) -> set[str]:
    return {e.lower() for e in (truth.get("meeting_attendees") or {}).get("unmatched_emails", [])}


def assert_rerun_writes_nothing(m, store, run_id: str = "full-1") -> None:
    before = m.sandbox.stats()["writes"]
    assert m.run(run_id), "the re-run failed"
    assert m.sandbox.stats()["writes"] == before, "re-materializing the same partition wrote to the destination"
    for obj in m.pair.objects:
        acc = account(store, obj)
        assert acc.reconciled and acc.created == 0 and acc.updated == 0 and acc.unchanged == acc.loaded, obj


def assert_faults_do_not_change_the_result(m, store, **faults) -> None:
    """A fresh destination and a run under injected faults end exactly where the clean run did."""
    expected = {o: account(store, o) for o in m.pair.objects}
    m.sandbox.reset()
    m.sandbox.set_faults(**faults)
    try:
        assert m.run("full-faults"), "the run under faults failed"
    finally:
        injected = m.sandbox.stats().get("faults_injected", {})
        m.sandbox.clear_faults()
    assert sum(injected.values()) > 5, f"too few faults were injected to prove anything: {injected}"
    again = m.store("full-faults")
    for obj in m.pair.objects:
        acc = account(again, obj)
        assert acc.reconciled, obj
        assert (acc.loaded, acc.rejected, acc.skipped) == (expected[obj].loaded, expected[obj].rejected, expected[obj].skipped), obj
