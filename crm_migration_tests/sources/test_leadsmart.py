"""The LeadSmart source: a Salesforce sandbox seeded as a LeadSmart org, read back through the real
simple-salesforce over verified HTTPS (REST and Bulk API 2.0), its truth file, aliases and delta reads."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from crm_migration.reasons import REASONS
from crm_migration.sandbox import start_sandbox
from crm_migration.sources import get_source
from crm_migration.sources.base import SOURCE_FILE, SOURCE_ID, SOURCE_ROW, ExportAliases, files_root
from crm_migration.sources.leadsmart import SOURCE, LeadSmartSource
from crm_migration.sources.leadsmart.generator import destination_users, load_truth, seed_org, touch_records
from crm_migration.sources.leadsmart.layout import FILES_DIR, NOT_MIGRATED
from crm_migration.sources.leadsmart.reader import LeadSmartConfigError
from crm_migration_tests.sandbox.conftest import connect

pytestmark = pytest.mark.integration
SCALE = 0.2
STAMPS = ["CreatedDate", "LastModifiedDate", "SystemModstamp", "CompletedDateTime", "FirstRespondedDate"]


def _env(monkeypatch: pytest.MonkeyPatch, org, files: Path) -> None:
    monkeypatch.setenv("LEADSMART_CLIENT_ID", org.credentials["client_id"])
    monkeypatch.setenv("LEADSMART_CLIENT_SECRET", org.credentials["client_secret"])
    monkeypatch.setenv("LEADSMART_CA_FILE", str(org.ca_file))
    monkeypatch.setenv("LEADSMART_FILES_DIR", str(files))


def _seed(org, out: Path, seed: int = 7, scale: float = SCALE) -> dict:
    creds = org.credentials
    seed_org(org.url, creds["client_id"], creds["client_secret"], str(org.ca_file), seed=seed, scale=scale, out_dir=out)
    return load_truth(out)


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    home = tmp_path_factory.mktemp("leadsmart")
    with start_sandbox("salesforce", home / "org") as handle, pytest.MonkeyPatch.context() as mp:
        _seed(handle, home)
        _env(mp, handle, home / "cache")
        handle.home = home
        yield handle


@pytest.fixture(scope="module")
def truth(org) -> dict:
    return load_truth(org.home)


@pytest.fixture(scope="module")
def reads(org) -> dict:
    return {name: SOURCE.read(org.url, name) for name in SOURCE.layouts}


@pytest.fixture(scope="module")
def data(reads) -> dict[str, pd.DataFrame]:
    return {name: read.table.to_pandas() for name, read in reads.items()}


def test_registered_and_reads_every_object(org, truth, reads, data) -> None:
    assert get_source("leadsmart") is SOURCE
    assert SOURCE.read(Path(org.url), "campaigns").table.equals(reads["campaigns"].table)  # a URL that became a Path
    assert set(NOT_MIGRATED) == {"Genius_Feed__c", "Genius_GPT_Insight__c"} and truth["excluded_counts"]["Genius_Feed__c"] > 0
    for name, layout in SOURCE.layouts.items():
        df = data[name]
        assert len(df) == truth["counts"][name] > 0, name
        assert list(df.columns[:len(layout.columns)]) == list(layout.columns)
        assert df[SOURCE_ID].tolist() == df["Id"].tolist() == sorted(df["Id"])
        assert df[SOURCE_ROW].tolist() == list(range(1, len(df) + 1))
        assert set(df[SOURCE_FILE]) == {layout.file}
        schema = reads[name].table.schema
        assert all(schema.field(c).type == pa.string() for c in layout.columns), name  # text only
        assert not (df[list(layout.columns)] == "").any().any()  # blanks are null
        assert reads[name].rejects.num_rows == 0

    users, partners = data["users"], data["partner_users"]
    assert set(users["UserType"]) == {"Standard"} and set(partners["UserType"]) == {"PowerPartner"}
    assert not set(users["Email"]) & set(partners["Email"])
    assert partners["ContactId"].isin(data["contacts"]["Id"]).all() and (partners["IsPortalEnabled"] == "true").all()
    accounts = data["accounts"]
    assert (accounts.loc[accounts["Id"].isin(partners["AccountId"]), "IsPartner"] == "true").all()
    # the channel hierarchy: manufacturer -> distributor -> dealer
    role = accounts.set_index("Id")["Channel_Role__c"]
    dealers = accounts[accounts["Channel_Role__c"] == "Dealer"]
    assert set(role[dealers["ParentId"]]) == {"Distributor"}
    assert set(role[accounts.loc[accounts["Channel_Role__c"] == "Distributor", "ParentId"]]) == {"Manufacturer"}

    opps = data["opportunities"]
    assert set(opps["Pipeline__c"]) == {"Direct", "Channel"}
    assert set(opps.loc[opps["Pipeline__c"] == "Channel", "StageName"]) & {"Deal Registration", "Partner Qualified"}
    closed = opps[opps["IsClosed"] == "true"]
    assert len(closed) and closed["Close_Reason__c"].notna().all()
    assert closed.loc[closed["IsWon"] == "true", "Close_Reason__c"].str.startswith("Won").all()
    calls = data["tasks"][data["tasks"]["TaskSubtype"] == "Call"]
    assert calls["CallType"].notna().all() and pd.to_numeric(calls["CallDurationInSeconds"]).max() > 0
    events = data["events"]
    timed = events[events["IsAllDayEvent"] == "false"]
    assert (pd.to_datetime(timed["EndDateTime"]) > pd.to_datetime(timed["StartDateTime"])).all()
    assert timed["StartDateTime"].str.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$").all()
    assert events.loc[events["IsAllDayEvent"] == "true", "ActivityDate"].notna().all()
    members = data["campaign_members"]
    assert members["CampaignId"].isin(data["campaigns"]["Id"]).all()
    statuses = data["campaign_member_statuses"]
    assert {"Sent", "Responded", "Attended"} <= set(statuses["Label"])
    assert (members["LeadId"].notna() ^ members["ContactId"].notna()).all()


def test_bodies_are_downloaded(org, truth, data) -> None:
    root = files_root(SOURCE, org.url) / FILES_DIR
    assert root.is_relative_to(org.home / "cache")
    files = data["files"]
    bodies = files[files["local_file"].notna()]
    assert len(bodies) == len(files) - 1  # the web link has no body
    for _, row in bodies.iterrows():
        path = root / row["local_file"]
        assert hashlib.md5(path.read_bytes()).hexdigest() == row["Checksum"]
        assert path.stat().st_size == int(row["ContentSize"])
    shared = files[files.duplicated("ContentDocumentId", keep=False)]
    assert len(shared) >= 2 and shared.groupby("ContentDocumentId")["local_file"].nunique().eq(1).all()
    att = data["attachments"]
    assert all((root / p).stat().st_size == int(n) for p, n in zip(att["local_file"], att["BodyLength"]))
    notes = data["notes"]
    assert notes["Content"].str.startswith("<p>").all() and notes["LinkedEntity.Type"].ne("User").all()


def test_truth_agrees_with_the_org(org, truth, data) -> None:
    codes = {d["reason_code"] for d in truth["defects"]}
    assert codes <= set(REASONS)
    assert {"DUPLICATE_SUSPECTED", "INVALID_EMAIL", "UNMAPPED_VALUE", "ORPHAN_REFERENCE", "REQUIRED_MISSING",
            "FILE_TOO_LARGE", "FILE_LINKED"} <= codes
    for d in truth["defects"]:
        df = data[d["object"]].set_index("Id")
        row = df.loc[d["source_id"]]
        assert row[SOURCE_ROW] == d["source_row"], d
        if d["reason_code"] == "DUPLICATE_SUSPECTED" and d["object"] == "accounts":
            twins = df[(df["Name"] == row["Name"]) & (df["WebsiteDomain"] == row["WebsiteDomain"])]
            assert len(twins) == 2 and twins["Website"].nunique() == 2, d
        elif d["reason_code"] == "DUPLICATE_SUSPECTED":
            assert (df[d["field"]].str.lower() == row[d["field"]].lower()).sum() == 2, d
        elif d["reason_code"] == "FILE_TOO_LARGE":
            assert int(row["ContentSize"]) > truth["file_limit_bytes"] and row["PathOnClient"] == d["value"]
        elif d["reason_code"] == "FILE_LINKED":
            assert pd.isna(row["local_file"]) and row["ContentUrl"] == d["value"]
        elif d["reason_code"] == "ORPHAN_REFERENCE":
            assert row["WhatId"] == d["value"] and row["What.Type"] == "Genius_GPT_Insight__c"
        elif d["reason_code"] == "REQUIRED_MISSING":
            assert pd.isna(row[d["field"]])
        else:
            assert row[d["field"]] == d["value"], d

    users = data["users"].set_index("Email")
    assert set(truth["unmatched_owner_emails"]) | set(truth["inactive_owner_emails"]) <= set(users.index)
    assert users.loc[truth["source_inactive_user_emails"][0], "IsActive"] == "false"
    owners = {name: set(data[name]["Owner.Email"]) for name in ("accounts", "leads", "opportunities", "tasks")}
    assert set(truth["unmatched_owner_emails"]) & owners["leads"] and set(truth["inactive_owner_emails"]) & owners["tasks"]
    partner_owned = data["leads"][data["leads"]["Owner.UserType"] == "PowerPartner"]
    assert len(partner_owned) and set(partner_owned["Owner.Email"]) <= set(truth["partner_owner_emails"])
    for sample in truth["html_samples"]:
        assert data[sample["object"]].set_index("Id").loc[sample["source_id"], sample["field"]] == sample["html"]
        assert "<" not in sample["expected_text"]
    for sample in truth["non_ascii_samples"]:
        assert data[sample["object"]].set_index("Id").loc[sample["source_id"], sample["field"]] == sample["value"]

    wanted = destination_users(org.home)
    emails = {u["Email"] for u in wanted}
    assert not emails & set(truth["unmatched_owner_emails"]) and not emails & set(truth["partner_owner_emails"])
    assert [u["IsActive"] for u in wanted if u["Email"] in truth["inactive_owner_emails"]] == [False]


def test_bulk_path_gives_the_same_table(org, data) -> None:
    bulk = LeadSmartSource(bulk_threshold=1, bulk_poll_seconds=0.05)
    for name in ("leads", "tasks", "opportunities", "files", "campaign_members"):
        read = bulk.read(org.url, name)
        assert json.loads(read.table.schema.metadata[b"crm_migration.export_read"])["api"] == ["bulk2"]
        pd.testing.assert_frame_equal(read.table.to_pandas(), data[name], obj=name)


def test_watermark_moves_and_since_reads_only_touched_records(org) -> None:
    before = SOURCE.watermark(org.url)
    assert before.endswith("Z") and pd.Timestamp(before) < pd.Timestamp.now(tz="UTC")
    creds = org.credentials
    touched = touch_records(org.url, creds["client_id"], creds["client_secret"], str(org.ca_file))
    after = SOURCE.watermark(org.url)
    assert after > before
    for name in ("leads", "accounts", "opportunities"):
        delta = SOURCE.read(org.url, name, since=before).table.to_pandas()
        assert sorted(delta["Id"]) == sorted(touched[name]) and len(touched[name]) == 2
    assert SOURCE.read(org.url, "campaigns", since=before).table.num_rows == 0
    assert SOURCE.read(org.url, "leads", since=after).table.num_rows == 0


def test_aliases_rename_objects_and_fields(org) -> None:
    sf = connect(org)
    sf.toolingexecute("sobjects/CustomField/", method="POST", data={
        "FullName": "Lead.LS_Score__c", "Metadata": {"label": "LS Score", "type": "Number", "precision": 3, "scale": 0}})
    lead = sf.query("SELECT Id FROM Lead ORDER BY Id LIMIT 1")["records"][0]["Id"]
    sf.Lead.update(lead, {"LS_Score__c": 77})
    aliased = SOURCE.read(org.url, "leads", ExportAliases(columns={"leads": {"Qualification_Score__c": "LS_Score__c"}}))
    scores = aliased.table.to_pandas().set_index("Id")["Qualification_Score__c"]
    assert scores[lead] == "77" and scores.drop(lead).isna().all()

    sf.toolingexecute("sobjects/CustomObject/", method="POST", data={
        "FullName": "LS_Partner_Access__c", "Metadata": {"label": "LS Partner Access", "pluralLabel": "LS Partner Access",
                                                         "nameField": {"type": "Text", "label": "Name"}}})
    sf.toolingexecute("sobjects/CustomField/", method="POST", data={
        "FullName": "LS_Partner_Access__c.Partner_Role__c", "Metadata": {"label": "Partner Role", "type": "Text", "length": 40}})
    sf.LS_Partner_Access__c.create({"Name": "PA-X", "Partner_Role__c": "Dealer Principal"})
    read = SOURCE.read(org.url, "partner_access", ExportAliases(files={"partner_access": "LS_Partner_Access__c"},
                                                                columns={"partner_access": {"Role__c": "Partner_Role__c"}}))
    rows = read.table.to_pylist()
    assert [(r["Name"], r["Role__c"], r[SOURCE_FILE]) for r in rows] == [("PA-X", "Dealer Principal", "LS_Partner_Access__c")]
    missing = json.loads(read.table.schema.metadata[b"crm_migration.export_read"])["missing_columns"]
    assert "Account__c" in missing and "Role__c" not in missing and rows[0]["Account__c"] is None


def test_same_seed_same_data_and_scale_changes_volume(org, data, tmp_path, monkeypatch) -> None:
    with start_sandbox("salesforce", tmp_path / "org") as twin:
        truth = _seed(twin, tmp_path)
        _env(monkeypatch, twin, tmp_path / "cache")
        for name in ("accounts", "contacts", "leads", "opportunities", "tasks", "partner_access", "notes", "files"):
            mine = data[name].drop(columns=[c for c in STAMPS if c in data[name]])
            theirs = SOURCE.read(twin.url, name).table.to_pandas().drop(columns=[c for c in STAMPS if c in data[name]])
            pd.testing.assert_frame_equal(theirs, mine, obj=name)
        assert truth["defects"] == load_truth(org.home)["defects"]
    small = LeadSmartSource().generate(tmp_path / "small", seed=8, scale=0.05)
    counts = load_truth(small)["counts"]
    assert (small / "org" / "salesforce.db").exists()
    assert counts["leads"] < len(data["leads"]) and counts["tasks"] < len(data["tasks"])
    assert load_truth(small)["defects"] != truth["defects"]


def test_missing_credentials_are_named_not_shown(org, monkeypatch) -> None:
    monkeypatch.delenv("LEADSMART_CLIENT_SECRET")
    with pytest.raises(LeadSmartConfigError) as exc:
        SOURCE.read(org.url, "campaigns")
    assert "LEADSMART_CLIENT_SECRET" in str(exc.value) and org.credentials["client_id"] not in str(exc.value)


def test_demo_input_seeds_once_and_keeps_its_url(tmp_path, monkeypatch) -> None:
    from contextlib import ExitStack

    for var in ("LEADSMART_CLIENT_ID", "LEADSMART_CLIENT_SECRET", "LEADSMART_CA_FILE"):
        monkeypatch.setenv(var, "")  # recorded, so the values demo_input sets are undone after the test
        monkeypatch.delenv(var)
    with ExitStack() as stack:
        url, users = SOURCE.demo_input(tmp_path, seed=3, scale=0.05, stack=stack)
        leads = SOURCE.read(url, "leads").table.num_rows
        assert users == destination_users(tmp_path) and leads == load_truth(tmp_path)["counts"]["leads"]
    with ExitStack() as stack:  # the demo again: the same org at the same URL, not seeded twice
        again, _ = SOURCE.demo_input(tmp_path, seed=3, scale=0.05, stack=stack)
        assert again == url and SOURCE.read(again, "leads").table.num_rows == leads
