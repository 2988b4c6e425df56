"""The whole life cycle on the Perfect Portal sample, against its own sandbox, with every gate tried both ways:

propose -> confirm -> schema plan applied -> sample -> diff -> approve -> full -> source changes ->
the sensor opens a delta run -> delta loads them -> rollback of the delta restores the previous
state -> rollback of the full run (and of the sample) leaves no migrated record behind.
"""

from __future__ import annotations

import csv
import os
import shutil
import time
from datetime import datetime, timezone

import pandas as pd
import pytest
from dagster import DagsterRunStatus, build_sensor_context

from crm_migration.control.jobs import approve_sample, confirm_mapping
from crm_migration.control.rollback import rollback
from crm_migration.control.runs import GateRefused
from crm_migration.mapping.loader import load_pair
from crm_migration.pipeline.ledger import Ledger
from crm_migration.pipeline.report import account
from crm_migration_tests.conftest import PAIR_NAME, migration_setup

pytestmark = pytest.mark.integration

OBJECTS = {"Account": "account", "Contact": "contact", "Case": "case", "Task": "task"}


@pytest.fixture(scope="module")
def life(tmp_path_factory, pair):
    root = tmp_path_factory.mktemp("life")
    folder = root / "mappings" / PAIR_NAME
    shutil.copytree(pair.folder, folder)
    with migration_setup(root / "home", folder, seed=23, scale=0.2) as m:
        yield m


def _client(m):
    from simple_salesforce import Salesforce

    session = m.sandbox.client_session()
    token = session.post(m.sandbox.token_url, data={"grant_type": "client_credentials", "client_id": m.sandbox.credentials["client_id"],
                                                     "client_secret": m.sandbox.credentials["client_secret"]}).json()
    return Salesforce(instance_url=m.sandbox.url, session_id=token["access_token"], session=session)


def _snapshot(m) -> dict[str, pd.DataFrame]:
    """Every migrated record the sandbox holds, with the fields the mappings write."""
    sf = _client(m)
    out = {}
    for sobject in ("Account", "Contact", "Case", "Task", "ContentVersion"):
        fields = sorted({f for o in m.pair.objects.values() if o.destination.object == sobject for f, r in o.fields.items() if r.write})
        soql = f"SELECT Id, Source_System_ID__c, {', '.join(fields)} FROM {sobject} WHERE Source_System_ID__c != null"
        rows = [{k: v for k, v in r.items() if k != "attributes"} for r in sf.query_all(soql)["records"]]
        out[sobject] = pd.DataFrame(rows).sort_values("Source_System_ID__c").reset_index(drop=True) if rows else pd.DataFrame()
    return out


def _run_failed_with(m, run_id: str, kind: str, text: str) -> None:
    assert not m.run(run_id, kind)
    events = m.instance.all_logs(m.instance.get_runs(limit=1)[0].run_id)
    failures = [str(e.dagster_event.event_specific_data) for e in events if e.dagster_event and e.dagster_event.is_step_failure]
    assert failures and any(text in f for f in failures), (text, failures[:1])
    wrote = Ledger(m.home, m.pair.name).results(run_id=run_id)
    assert wrote.empty, f"{run_id} wrote to the destination behind a closed gate"


def test_life_cycle(life):
    m = life
    pair, ledger = m.pair, Ledger(m.home, m.pair.name)

    # Propose: a mapping file per object, each a valid mapping, unknown stage values listed.
    from crm_migration.control.propose import propose_pair, write_proposals
    from crm_migration.mapping.model import ObjectMapping

    dest = _dest(m)
    proposals = propose_pair(pair, m.export, dest.describe(sorted({o.destination.object for o in pair.objects.values()})))
    written = write_proposals(proposals, m.home / "proposals")
    assert sorted(p.stem for p in written) == sorted(pair.objects)
    import yaml

    for path in written:
        ObjectMapping.model_validate(yaml.safe_load(path.read_text()))

    # Confirm: nothing loads before it ...
    _run_failed_with(m, "sample-unconfirmed", "sample", "is not confirmed")
    confirm_mapping(pair, "tester")
    # ... nor after the mapping changed; the error names the file.
    task_yaml = pair.folder / "task.yaml"
    original = task_yaml.read_text()
    task_yaml.write_text(original + "\n# an edit after confirmation\n")
    m.pair = load_pair(pair.folder)
    _run_failed_with(m, "sample-edited", "sample", "task.yaml")
    task_yaml.write_text(original)
    m.pair = pair = load_pair(pair.folder)

    # A full run needs an approved sample.
    _run_failed_with(m, "full-too-early", "full", "needs an approved sample run")

    # Sample: a slice with its parents, read back, diffed field by field.
    assert m.run("sample-1", "sample")
    sample = m.store("sample-1")
    for obj in pair.objects:
        acc = account(sample, obj)
        assert acc.reconciled and 0 < acc.extracted < len(m.store("sample-1").read(obj, "raw_extract")) + 10_000
    diff = pd.read_csv(sample.reports_dir() / "sample_diff_contact.csv")
    assert set(diff["field"]) == set(pair.objects["contact"].fields) and diff["equal"].all()
    assert diff[diff["field"] == "LastName"]["source_value"].notna().all()
    with pytest.raises(GateRefused, match="only sample runs"):
        approve_sample(pair, "full-too-early", "tester")
    approve_sample(pair, "sample-1", "tester")

    # Full run.
    assert m.run("full-1", "full")
    for obj in pair.objects:
        assert account(m.store("full-1"), obj).reconciled
    before_delta = _snapshot(m)

    # Source changes: three clients renamed, two new contacts, after the full run's watermark.
    time.sleep(1.1)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    clients = pd.read_csv(m.export / "clients.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    renamed = clients[clients["name"] != ""].head(3).index
    clients.loc[renamed, "name"] = clients.loc[renamed, "name"] + " (renamed)"
    clients.loc[renamed, "modified_at"] = stamp
    clients.to_csv(m.export / "clients.csv", index=False, quoting=csv.QUOTE_MINIMAL)
    contacts = pd.read_csv(m.export / "contacts.csv", dtype=str, keep_default_na=False)
    new = contacts.head(2).copy()
    new["contact_id"] = ["CT-900001", "CT-900002"]
    new["email"] = ["new.one@example.com", "new.two@example.com"]
    new["client_id"] = clients.loc[renamed[:2], "client_id"].to_numpy()
    new["modified_at"] = stamp
    pd.concat([contacts, new]).to_csv(m.export / "contacts.csv", index=False)

    # The sensor opens a delta run for exactly what changed.
    from crm_migration.definitions import build_definitions

    defs = build_definitions()
    sensor = defs.get_sensor_def(f"{PAIR_NAME}__delta_pickup")
    result = sensor(build_sensor_context(instance=m.instance))
    [request] = result.run_requests
    m.instance.add_dynamic_partitions(f"{PAIR_NAME}__runs", [request.partition_key])
    from crm_migration.cli import materialize

    assert materialize(pair, request.partition_key, m.instance)
    delta = m.store(request.partition_key)
    acc = {o: account(delta, o) for o in pair.objects}
    assert (acc["account"].extracted, acc["account"].updated, acc["account"].created) == (3, 3, 0)
    assert (acc["contact"].extracted, acc["contact"].created) == (2, 2)
    assert all(a.reconciled for a in acc.values())
    after_delta = _snapshot(m)
    assert len(after_delta["Account"]) == len(before_delta["Account"])  # updated in place, no duplicates
    assert len(after_delta["Contact"]) == len(before_delta["Contact"]) + 2
    assert after_delta["Contact"]["Source_System_ID__c"].is_unique
    again = sensor(build_sensor_context(instance=m.instance))
    assert not getattr(again, "run_requests", None), "the sensor opened a second delta for the same change"

    # Rollback of the full run is refused while the delta depends on it.
    with pytest.raises(GateRefused, match=request.partition_key):
        rollback(pair, ledger, _dest(m), "full-1")
    # Rollback of the delta restores the exact previous state.
    [report] = rollback(pair, ledger, _dest(m), request.partition_key)
    assert report.verified and report.deleted == {"contact": 2} and report.restored == {"account": 3}
    restored = _snapshot(m)
    for sobject, frame in before_delta.items():
        pd.testing.assert_frame_equal(restored[sobject], frame, check_dtype=False, obj=sobject)

    # Rollback of the full run, then of the sample: no migrated record is left.
    [full_report] = rollback(pair, ledger, _dest(m), "full-1")
    assert full_report.verified and sum(full_report.deleted.values()) > 0
    [sample_report] = rollback(pair, ledger, _dest(m), "sample-1")
    assert sample_report.verified
    assert all(frame.empty for frame in _snapshot(m).values())


def _dest(m):
    from crm_migration.destinations import destination_kind

    return destination_kind("salesforce").from_env()


def test_approval_needs_a_reconciled_sample_or_a_note(tmp_path, pair):
    """The approval gate both ways, without a server: a sample with differences needs an explanation."""
    import json

    from crm_migration.pipeline.ledger import RunManifest
    from crm_migration.pipeline.storage import RunStore

    os.environ["CRM_MIGRATION_HOME"] = str(tmp_path)
    try:
        ledger = Ledger(tmp_path, pair.name)
        ledger.open_run(RunManifest(run_id="s", pair=pair.name, kind="sample", export_dir="x", mapping_version=pair.version))
        with pytest.raises(GateRefused, match="no reconciliation report"):
            approve_sample(pair, "s", "me")
        report = RunStore(tmp_path, pair.name, "s").reports_dir() / "accounting.json"
        report.parent.mkdir(parents=True)
        report.write_text(json.dumps([{"object": "contact", "reconciled": False}]))
        with pytest.raises(GateRefused, match="unexplained field-level differences in contact"):
            approve_sample(pair, "s", "me")
        assert approve_sample(pair, "s", "me", note="Title truncation accepted by the client")["approved_by"] == "me"
    finally:
        del os.environ["CRM_MIGRATION_HOME"]
