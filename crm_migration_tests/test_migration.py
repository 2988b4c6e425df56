"""End to end: Perfect Portal -> the local Salesforce sandbox, through simple-salesforce over HTTPS.

The run, re-run and fault-injected run share one sandbox; each asserts what a user would check.
"""

from __future__ import annotations

import pandas as pd
import pytest

from crm_migration.pipeline.report import account
from crm_migration.reasons import severity

pytestmark = pytest.mark.integration

FIRST = "full-1"


@pytest.fixture(scope="module")
def first_run(approved):
    assert approved.run(FIRST), "the first full run failed (see the Dagster log above)"
    return approved.store(FIRST)


def test_every_object_reconciles(migration, first_run):
    for obj in migration.pair.objects:
        acc = account(first_run, obj)
        assert acc.balanced, f"{obj}: extracted {acc.extracted} != loaded {acc.loaded} + rejected {acc.rejected} + skipped {acc.skipped}"
        assert acc.mismatches == 0 and acc.missing == 0, f"{obj}: {acc.mismatches} mismatches, {acc.missing} missing"
        assert acc.loaded > 0 and acc.created + acc.unchanged == acc.loaded and acc.updated == 0, obj
        assert acc.created > 0, f"{obj}: the full run creates what the sample did not"


def test_each_deliberate_defect_is_rejected_or_flagged_with_its_code(migration, first_run):
    issues = pd.concat([first_run.read_issues(o) for o in migration.pair.objects], ignore_index=True)
    source_to_object = {m.source.object: m.object for m in migration.pair.objects.values()}
    defects = migration.truth["defects"]
    assert len(defects) >= 15
    missed = []
    for d in defects:
        obj = source_to_object.get(d["object"])
        if d["reason_code"] == "UNPARSEABLE_ROW":
            hit = issues[(issues["reason_code"] == "UNPARSEABLE_ROW") & (issues["source_row"] == d["source_row"])]
        else:
            hit = issues[(issues["object"] == obj) & (issues["source_id"] == d["source_id"]) & (issues["reason_code"] == d["reason_code"])]
        if hit.empty:
            missed.append(d)
        elif severity(d["reason_code"]).value == "reject":
            loaded = first_run.read(obj, "loaded")
            landed = (loaded["_source_row"] == d["source_row"]) & loaded["action"].isin(["created", "updated", "unchanged"])
            assert not landed.any(), f"rejected defect was loaded anyway: {d}"
    assert not missed, f"defects the pipeline did not report with their code: {missed}"


def test_nothing_is_rejected_or_flagged_that_was_not_broken_on_purpose(migration, first_run):
    issues = pd.concat([first_run.read_issues(o) for o in migration.pair.objects], ignore_index=True)
    truth = migration.truth
    planted = {(d["source_id"], d["reason_code"]) for d in truth["defects"]}
    planted_rows = {d["source_row"] for d in truth["defects"] if d["reason_code"] == "UNPARSEABLE_ROW"}
    unmatched_owners = {e.lower() for e in truth["unmatched_owner_emails"] + truth["inactive_owner_emails"]}
    surprises = []
    for i in issues.itertuples():
        if i.reason_code == "UNPARSEABLE_ROW" and i.source_row in planted_rows:
            continue
        if i.reason_code == "OWNER_FALLBACK" and (pd.isna(i.value) or i.value in unmatched_owners):
            continue
        if (i.source_id, i.reason_code) not in planted:
            surprises.append(i.message)
    assert not surprises, surprises[:10]


def test_rejects_name_file_row_and_field(migration, first_run):
    issues = first_run.read_issues("contact")
    bad_email = issues[issues["reason_code"] == "INVALID_EMAIL"].iloc[0]
    assert bad_email["message"].startswith(f"contacts.csv row {bad_email['source_row']}, field email:")


def test_non_ascii_and_html_arrive_intact(migration, first_run):
    from simple_salesforce import Salesforce

    sf = migration.sandbox
    session = sf.client_session()
    token = session.post(f"{sf.url}/services/oauth2/token", data={"grant_type": "client_credentials",
                         "client_id": sf.credentials["client_id"], "client_secret": sf.credentials["client_secret"]}).json()
    client = Salesforce(instance_url=sf.url, session_id=token["access_token"], session=session)
    for sample in migration.truth["non_ascii_samples"][:3]:
        obj = {"clients": "Account", "contacts": "Contact"}.get(sample["object"])
        if obj is None:
            continue
        rec = client.query(f"SELECT Id FROM {obj} WHERE Source_System_ID__c = '{sample['source_id']}'")["records"]
        assert rec, sample
        values = getattr(client, obj).get(rec[0]["Id"])
        assert sample["value"] in " ".join(str(v) for v in values.values()), sample
    html = migration.truth["html_samples"][0]
    rec = client.query(f"SELECT Description FROM Task WHERE Source_System_ID__c = '{html['source_id']}'")["records"]
    assert rec and rec[0]["Description"] == html["expected_text"]


def test_second_materialization_changes_nothing(migration, first_run):
    before = migration.sandbox.stats()["writes"]
    assert migration.run(FIRST)
    after = migration.sandbox.stats()["writes"]
    assert after == before, "re-materializing the same partition wrote to the destination"
    for obj in migration.pair.objects:
        acc = account(first_run, obj)
        assert acc.balanced and acc.mismatches == 0
        assert acc.created == 0 and acc.updated == 0 and acc.unchanged == acc.loaded, obj


def test_faults_do_not_change_the_result(migration, first_run):
    expected = {o: account(first_run, o) for o in migration.pair.objects}
    migration.sandbox.reset()
    migration.sandbox.set_faults(throttle_rate=0.08, error_5xx_rate=0.08, expire_session_rate=0.03, error_after_commit_rate=0.03, seed=5)
    try:
        assert migration.run("full-faults")
    finally:
        faults = migration.sandbox.stats().get("faults_injected", {})
        migration.sandbox.clear_faults()
    assert sum(faults.values()) > 5, f"too few faults were injected to prove anything: {faults}"
    store = migration.store("full-faults")
    for obj in migration.pair.objects:
        acc = account(store, obj)
        assert acc.balanced and acc.mismatches == 0 and acc.missing == 0, obj
        assert (acc.loaded, acc.rejected) == (expected[obj].loaded, expected[obj].rejected), obj


def test_a_run_killed_mid_load_reruns_to_the_same_result(migration, first_run, tmp_path):
    """What a backfill of a failed partition does: re-execute it; nothing is lost or duplicated."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from crm_migration.pipeline.ledger import Ledger

    migration.sandbox.reset()
    env = dict(os.environ, DAGSTER_HOME=str(tmp_path))
    cli = [sys.executable, "-m", "crm_migration.cli"]
    common = ["--pair", migration.pair.name, "--run-id", "full-killed"]
    subprocess.run([*cli, "run", "open", *common, "--kind", "full", "--export", str(migration.export)], env=env, check=True,
                   capture_output=True, timeout=120)
    proc = subprocess.Popen([*cli, "run", "materialize", *common], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    ledger = Ledger(migration.home, migration.pair.name)
    deadline = time.time() + 120
    while time.time() < deadline and not (ledger.root / "audit" / "full-killed" / "contact").exists():
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed mid-load"
    assert not (migration.store("full-killed").reports_dir() / "accounting.json").exists()

    rerun = subprocess.run([*cli, "run", "materialize", *common], env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    store = migration.store("full-killed")
    for obj in migration.pair.objects:
        acc = account(store, obj)
        expected = account(first_run, obj)
        assert acc.reconciled and (acc.loaded, acc.rejected) == (expected.loaded, expected.rejected), obj
    # The sandbox holds each migrated record once, files included (their external id is not unique there).
    counts = migration.sandbox.stats()["records"]
    assert counts.get("contentversion", counts.get("ContentVersion")) == account(store, "document").loaded


def test_the_job_reconciles_under_the_multiprocess_executor(migration, first_run, tmp_path):
    """As `dagster dev` launches it: steps in parallel processes, writing Parquet and the ledger side by side."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, DAGSTER_HOME=str(tmp_path))
    cli = [sys.executable, "-m", "crm_migration.cli"]
    subprocess.run([*cli, "run", "open", "--pair", migration.pair.name, "--run-id", "full-mp", "--kind", "full",
                    "--export", str(migration.export)], env=env, check=True, capture_output=True, timeout=120)
    # Contacts and everything upstream of them (accounts, the pair-level assets, every object's extract
    # and normalize): parallel steps in their own processes, without paying a process for every asset.
    done = subprocess.run([sys.executable, "-m", "dagster", "asset", "materialize", "-m", "crm_migration.definitions",
                           "--select", f"*{migration.pair.name}/contact/reconciled", "--partition", "full-mp"],
                          env=env, capture_output=True, text=True, timeout=540)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "using multiprocess executor" in done.stderr
    store = migration.store("full-mp")
    for obj in ("account", "contact"):
        acc, expected = account(store, obj), account(first_run, obj)
        assert acc.reconciled and (acc.loaded, acc.rejected) == (expected.loaded, expected.rejected), obj
