"""The Dataverse destination (msal + Web API) against the Dataverse sandbox over verified HTTPS (no mocks)."""

from __future__ import annotations

import hashlib
import secrets
import time

import pandas as pd
import pytest

from crm_migration.destinations.base import (AuthenticationError, PlannedField, PlannedValues, RetryPolicy, SchemaPlan,
                                             ThrottledError)
from crm_migration.destinations.dataverse import REASON_BY_CODE, DataverseDestination, reason_for
from crm_migration.reasons import REASONS
from crm_migration.sandbox import start_sandbox

pytestmark = pytest.mark.integration

EXT = "crm_sourcesystemid"
PLAN = SchemaPlan(
    fields=(
        PlannedField("account", EXT, "Text", "Source System ID", length=64, external_id=True, unique=True),
        PlannedField("contact", EXT, "Text", "Source System ID", length=64, external_id=True, unique=True),
        PlannedField("task", EXT, "Text", "Source System ID", length=64, external_id=True, unique=True),
        PlannedField("account", "crm_tier", "Picklist", "Partner Tier", values=("Gold", "Silver", "Bronze")),
        PlannedField("account", "crm_regions", "MultiselectPicklist", "Regions", values=("EMEA", "APAC", "AMER")),
        PlannedField("account", "crm_retainer", "Currency", "Annual Retainer", scale=2),
        PlannedField("account", "crm_portal", "Checkbox", "Portal Enabled"),
        PlannedField("account", "crm_since", "Date", "Partner Since"),
        PlannedField("account", "crm_notes", "LongTextArea", "Partner Notes"),
        PlannedField("contact", "crm_referrer", "Lookup", "Referred By", reference_to="contact"),
    ),
    values=(PlannedValues("lead", "leadsourcecode", ("Partner Portal",)),),
)


def _dest(sandbox, **kw) -> DataverseDestination:
    c = sandbox.credentials
    return DataverseDestination(environment_url=sandbox.url, authority=f"{sandbox.url}/{c['tenant_id']}",
                                client_id=c["client_id"], client_secret=c["client_secret"], ca_file=str(sandbox.ca_file), **kw)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    handle = start_sandbox("dataverse", tmp_path_factory.mktemp("dataverse-dest"))
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def applied(sandbox) -> list[str]:
    return _dest(sandbox).apply_schema_plan(PLAN)


@pytest.fixture()
def dest(sandbox, applied) -> DataverseDestination:
    sandbox.clear_faults()
    return _dest(sandbox)


def _by_ext(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("external_id")


def test_every_dataverse_code_maps_to_a_catalogued_reason() -> None:
    assert set(REASON_BY_CODE.values()) <= set(REASONS)
    assert reason_for("0x80044331", "... exceeded the maximum allowed length of '160'.") == "DEST_VALUE_TOO_LONG"
    assert reason_for("0x80044331", "... is outside the valid range.") == "DEST_INVALID_VALUE"
    assert reason_for("0x8004ffff", "new to us") == "DEST_UNKNOWN"


def test_describe_canonical_schema_and_users(dest, sandbox) -> None:
    schemas = dest.describe(["account", "contact", "task", "annotation", "crm_nosuch"])
    assert sorted(schemas) == ["account", "annotation", "contact", "task"]
    account, contact, task = schemas["account"].fields, schemas["contact"].fields, schemas["task"].fields
    assert account["accountid"].kind == "id" and account["name"].required and account["name"].length == 160
    assert account["emailaddress1"].kind == "email" and account["websiteurl"].kind == "url"
    assert account["industrycode"].kind == "picklist" and "Consulting" in account["industrycode"].picklist_values
    assert account["revenue"].kind == "decimal" and account["numberofemployees"].kind == "integer"
    assert not account["createdon"].createable and account["createdon"].kind == "datetime"
    assert contact["parentcustomerid"].reference_to == ("account", "contact") and contact["birthdate"].kind == "date"
    assert task["regardingobjectid"].kind == "reference" and "opportunity" in task["regardingobjectid"].reference_to
    assert schemas["annotation"].fields["documentbody"].kind == "base64"
    assert task["statuscode"].picklist_values[:2] == ("Not Started", "In Progress")

    sandbox.add_users([{"internalemailaddress": "Rep@Example.com", "firstname": "Rita", "lastname": "Rep"},
                       {"internalemailaddress": "gone@example.com", "lastname": "Gone", "isdisabled": True}])
    users = dest.users().set_index("email")
    assert users.loc["rep@example.com", "active"] and not users.loc["gone@example.com", "active"]
    assert users.loc["rep@example.com", "id"].startswith("systemuser/") and users.loc["rep@example.com", "name"] == "Rita Rep"


def test_schema_plan_then_describe_shows_the_columns(dest, applied) -> None:
    assert "created alternate key account.crm_sourcesystemid_key (crm_sourcesystemid)" in applied
    assert "added Partner Portal to lead.leadsourcecode" in applied
    account = dest.describe(["account"])["account"].fields
    assert account[EXT].external_id and account[EXT].length == 64
    assert account["crm_tier"].kind == "picklist" and account["crm_tier"].picklist_values == ("Gold", "Silver", "Bronze")
    assert account["crm_regions"].kind == "multipicklist" and account["crm_retainer"].kind == "decimal"
    assert (account["crm_portal"].kind, account["crm_since"].kind, account["crm_notes"].kind) == ("boolean", "date", "textarea")
    assert dest.describe(["contact"])["contact"].fields["crm_referrer"].reference_to == ("contact",)
    assert "Partner Portal" in dest.describe(["lead"])["lead"].fields["leadsourcecode"].picklist_values
    assert dest.apply_schema_plan(PLAN) == []  # everything is there already
    with pytest.raises(Exception, match="publisher prefix"):
        dest.apply_schema_plan(SchemaPlan(fields=(PlannedField("account", "Tier__c", "Text", "Tier"),)))


def test_upsert_creates_then_updates_without_duplicates(dest, sandbox) -> None:
    records = pd.DataFrame({
        EXT: ["ACC-1", "ACC-2", "ACC/3", "ACC-4", "ACC-5", "ACC-6"],
        "name": ["Zoë Ångström GmbH", "O'Brien & Co", "Slash Ltd", None, "x" * 161, "Bad option"],
        "industrycode": ["Consulting", None, "Financial", None, None, "Astrology"],
        "crm_tier": ["Gold", "Silver", None, None, None, None],
        "crm_regions": ["EMEA;APAC", None, "AMER", None, None, None],
        "crm_retainer": pd.array([1200.5, None, 3.0, None, None, None], dtype="Float64"),
        "crm_portal": pd.array([True, False, None, None, None, None], dtype="boolean"),
        "crm_since": ["2019-04-01", None, None, None, None, None],
        "numberofemployees": pd.array([12, None, None, None, None, None], dtype="Int64"),
    })
    first = _by_ext(dest.upsert("account", EXT, records))
    assert list(first.loc[["ACC-1", "ACC-2", "ACC/3"], "action"]) == ["created"] * 3
    assert first.loc["ACC-4", ["reason_code", "dest_code"]].tolist() == ["DEST_REQUIRED_FIELD", "0x80040200"]
    assert first.loc["ACC-5", ["reason_code", "dest_code"]].tolist() == ["DEST_VALUE_TOO_LONG", "0x80044331"]
    assert first.loc["ACC-6", "reason_code"] == "DEST_INVALID_VALUE" and "Astrology" in first.loc["ACC-6", "dest_message"]
    assert first.loc["ACC-1", "destination_id"].startswith("account/")

    accounts_before = sandbox.stats()["records"]["account"]
    records.loc[1, "name"] = "O'Brien & Co (renamed)"
    second = _by_ext(dest.upsert("account", EXT, records.iloc[:3]))
    assert list(second["action"]) == ["updated"] * 3
    assert (second["destination_id"] == first.loc[second.index, "destination_id"]).all()
    assert sandbox.stats()["records"]["account"] == accounts_before

    back = _by_ext(dest.read_back("account", EXT, ["ACC-1", "ACC-2", "ACC/3", "ACC-404"],
                                  ["name", "industrycode", "crm_tier", "crm_regions", "crm_retainer", "crm_portal",
                                   "crm_since", "numberofemployees", "createdon"]))
    assert sorted(back.index) == ["ACC-1", "ACC-2", "ACC/3"]
    one = back.loc["ACC-1"]
    assert (one["name"], one["industrycode"], one["crm_tier"], one["crm_regions"]) == (
        "Zoë Ångström GmbH", "Consulting", "Gold", "APAC;EMEA")
    assert one["crm_retainer"] == 1200.5 and one["crm_portal"] and one["crm_since"] == "2019-04-01"
    assert one["numberofemployees"] == 12 and one["createdon"].endswith("Z")
    assert back.loc["ACC-2", "name"] == "O'Brien & Co (renamed)" and not back.loc["ACC-2", "crm_portal"]
    assert dest.read_back("account", EXT, ["acc-1"], ["name"])["external_id"].tolist() == ["acc-1"]


def test_lookups_polymorphic_and_failures(dest, sandbox) -> None:
    accounts = _by_ext(dest.upsert("account", EXT, pd.DataFrame({EXT: ["LK-A"], "name": ["Lookup Parent"]})))
    account = accounts.loc["LK-A", "destination_id"]
    active, disabled = sandbox.add_users([{"internalemailaddress": "owner@example.com", "lastname": "Owner"},
                                          {"internalemailaddress": "left@example.com", "lastname": "Left", "isdisabled": True}])
    contacts = _by_ext(dest.upsert("contact", EXT, pd.DataFrame({
        EXT: ["LK-C1", "LK-C2", "LK-C3", "LK-C4"],
        "lastname": ["Alpha", "Beta", "Gamma", "Delta"],
        "parentcustomerid": [account, None, "account/00000000-0000-0000-0000-00000000beef", account],
        "ownerid": [f"systemuser/{active}", None, None, f"systemuser/{disabled}"],
    })))
    assert contacts.loc[["LK-C1", "LK-C2"], "action"].tolist() == ["created", "created"]
    assert contacts.loc["LK-C3", ["reason_code", "dest_code"]].tolist() == ["DEST_INVALID_REFERENCE", "0x80040217"]
    assert contacts.loc["LK-C4", ["reason_code", "dest_code"]].tolist() == ["DEST_INACTIVE_OWNER", "0x80040225"]
    alpha = contacts.loc["LK-C1", "destination_id"]
    # a contact's company may itself be a contact (the second target of the polymorphic lookup)
    assert dest.upsert("contact", EXT, pd.DataFrame({EXT: ["LK-C2"], "lastname": ["Beta"], "parentcustomerid": [alpha],
                                                     "crm_referrer": [alpha]}))["action"].tolist() == ["updated"]
    tasks = _by_ext(dest.upsert("task", EXT, pd.DataFrame({
        EXT: ["LK-T1", "LK-T2", "LK-T3"], "subject": ["Call Alpha", "Plan account", "Wrong"],
        "regardingobjectid": [alpha, account, "systemuser/" + active],
        "scheduledend": ["2024-03-05T10:22:00Z", None, None], "statuscode": ["Completed", None, None]})))
    assert tasks.loc[["LK-T1", "LK-T2"], "action"].tolist() == ["created", "created"]
    # a user is not a target of regarding: refused before sending, without a Dataverse code
    assert tasks.loc["LK-T3", "reason_code"] == "DEST_INVALID_REFERENCE" and pd.isna(tasks.loc["LK-T3", "dest_code"])

    back = _by_ext(dest.read_back("contact", EXT, ["LK-C1", "LK-C2"], ["parentcustomerid", "ownerid", "crm_referrer"]))
    assert back.loc["LK-C1", "parentcustomerid"] == account and back.loc["LK-C1", "ownerid"] == f"systemuser/{active}"
    assert back.loc["LK-C2", "parentcustomerid"] == alpha and back.loc["LK-C2", "crm_referrer"] == alpha
    regarding = dest.read_back("task", "regardingobjectid", [alpha, account], ["subject", "statecode", "statuscode",
                                                                               "scheduledend", "regardingobjectid"])
    got = regarding.set_index("subject")
    assert got.loc["Call Alpha", ["external_id", "regardingobjectid"]].tolist() == [alpha, alpha]
    assert got.loc["Call Alpha", ["statecode", "statuscode", "scheduledend"]].tolist() == ["Completed", "Completed",
                                                                                          "2024-03-05T10:22:00Z"]
    assert got.loc["Plan account", "external_id"] == account and got.loc["Plan account", "statecode"] == "Open"


def test_keyless_objects_are_keyed_by_id(dest) -> None:
    people = _by_ext(dest.upsert("contact", EXT, pd.DataFrame({EXT: ["KL-1", "KL-2"], "lastname": ["One", "Two"]})))
    one, two = people.loc["KL-1", "destination_id"], people.loc["KL-2", "destination_id"]
    partner = dest.read_back("connectionrole", "name", ["Partner"], [])["destination_id"].iloc[0]
    missing = "contact/00000000-0000-0000-0000-0000000000aa"
    rows = pd.DataFrame({"connectionid": [None, None], "record1id": [one, one], "record2id": [two, missing],
                         "record1roleid": [partner, partner], "record2roleid": [partner, None],
                         "description": ["referral", "broken"]})
    first = dest.upsert("connection", "connectionid", rows)
    assert first["external_id"].tolist() == ["0", "1"]
    assert first["action"].tolist() == ["created", "failed"] and first["reason_code"].iloc[1] == "DEST_INVALID_REFERENCE"
    made = first["destination_id"].iloc[0]
    again = dest.upsert("connection", "connectionid", pd.DataFrame({"connectionid": [made, "connection/" + "1" * 8 + "-1111-1111-1111-" + "1" * 12],
                                                                     "description": ["referral (checked)", "gone"]}))
    assert again["action"].tolist() == ["updated", "failed"] and again["reason_code"].iloc[1] == "DEST_NOT_FOUND"
    children = dest.read_back("connection", "record1id", [one], ["description", "record2id", "record1roleid"])
    assert children[["destination_id", "description", "record2id", "record1roleid"]].values.tolist() == [
        [made, "referral (checked)", two, partner]]
    by_id = dest.read_back("connection", "connectionid", [made], ["description"])
    assert by_id["external_id"].tolist() == [made]

    company = dest.upsert("account", EXT, pd.DataFrame({EXT: ["KL-A"], "name": ["Member Co"]}))["destination_id"].iloc[0]
    lists = dest.upsert("list", "listid", pd.DataFrame({"listid": [None], "listname": ["Webinar"], "createdfromcode": ["Contact"]}))
    members = dest.upsert("listmember", "listmemberid", pd.DataFrame({
        "listmemberid": [None, None, None], "listid": [lists["destination_id"].iloc[0]] * 3, "entityid": [one, two, company]}))
    assert members["action"].tolist() == ["created", "created", "failed"]
    assert members.loc[2, ["reason_code", "dest_code"]].tolist() == ["DEST_INVALID_VALUE", "0x80040203"]  # not a contact
    assert len(dest.read_back("listmember", "listid", lists["destination_id"].tolist(), ["entityid"])) == 2


def test_refused_credentials_raise_without_the_secret(sandbox) -> None:
    c, refused_secret = sandbox.credentials, secrets.token_urlsafe(30)  # drawn, never written down
    wrong = DataverseDestination(environment_url=sandbox.url, authority=f"{sandbox.url}/{c['tenant_id']}",
                                 client_id=c["client_id"], client_secret=refused_secret, ca_file=str(sandbox.ca_file))
    wrong._retry = RetryPolicy(attempts=2, sleep=lambda s: None)
    with pytest.raises(AuthenticationError, match="invalid_client") as refused:
        wrong.describe(["account"])
    for text in (str(refused.value), repr(wrong), str(wrong)):
        assert refused_secret not in text and c["client_secret"] not in text


def test_an_expired_token_is_reacquired(dest, sandbox) -> None:
    sandbox.configure(token_ttl_seconds=1)
    try:
        dest.describe(["lead"])
        dest._token_expires = float("inf")  # a client clock running behind: it still trusts the token
        time.sleep(1.2)
        users = dest.users()  # 401 "expired" -> a new token from msal -> the same call again
    finally:
        sandbox.configure(token_ttl_seconds=3600)
    assert dest.retries == 1 and len(users) >= 1


def test_throttling_honours_retry_after(dest, sandbox) -> None:
    waits: list[float] = []
    dest._retry = RetryPolicy(attempts=3, sleep=waits.append)
    sandbox.set_faults(throttle_rate=1.0, retry_after=4, seed=1)
    try:
        with pytest.raises(ThrottledError):
            dest.describe(["lead"])
    finally:
        sandbox.clear_faults()
    assert len(waits) == 2 and min(waits) >= 4
    assert dest.describe(["lead"])["lead"].fields["lastname"].required


def test_faults_and_expired_tokens_give_the_same_result(sandbox, applied) -> None:
    records = pd.DataFrame({EXT: [f"FLT-{i}" for i in range(12)], "name": [f"Faulty {i}" for i in range(12)]})
    clean = _dest(sandbox, batch_size=4)
    dest = _dest(sandbox, batch_size=4)
    dest._retry = RetryPolicy(attempts=40, sleep=lambda s: None)
    dest.describe(["account"])  # metadata first, so the faults hit the writes
    sandbox.reset_stats()
    sandbox.set_faults(throttle_rate=0.2, error_5xx_rate=0.2, drop_rate=0.1, expire_session_rate=0.2, seed=7)
    try:
        faulty = dest.upsert("account", EXT, records)
        faulty_again = dest.upsert("account", EXT, records)
    finally:
        sandbox.clear_faults()
    # Then writes that commit but answer 500: the retried creates must not duplicate the notes.
    notes_dest = _dest(sandbox, batch_size=1)
    notes_dest._retry = RetryPolicy(attempts=40, sleep=lambda s: None)
    notes_dest.describe(["annotation"])
    sandbox.set_faults(error_after_commit_rate=0.5, seed=3)
    try:
        notes = notes_dest.upsert("annotation", "annotationid", pd.DataFrame({
            "annotationid": [None] * 6, "subject": [f"note {i}" for i in range(6)],
            "objectid": faulty["destination_id"].iloc[:6].tolist()}))
    finally:
        sandbox.clear_faults()
    injected = sandbox.stats()["faults_injected"]
    assert dest.retries > 0 and notes_dest.retries > 0
    assert {"throttle", "error_5xx", "drop", "expire_session", "error_after_commit"} <= set(injected), injected
    assert (faulty["action"] == "created").all() and (faulty_again["action"] == "updated").all()
    assert (notes["action"] == "created").all()
    back = clean.read_back("account", EXT, records[EXT].tolist(), ["name"])
    assert len(back) == 12 and set(back["destination_id"]) == set(faulty["destination_id"])
    children = clean.read_back("annotation", "objectid", faulty["destination_id"].iloc[:6].tolist(), ["subject"])
    assert sorted(children["subject"]) == [f"note {i}" for i in range(6)]  # one note each: no duplicate from a retry
    assert set(children["destination_id"]) == set(notes["destination_id"])


def test_batches_hold_batch_size_requests(dest, sandbox) -> None:
    small = _dest(sandbox, batch_size=2)
    small.describe(["account"])
    sandbox.reset_stats()
    out = small.upsert("account", EXT, pd.DataFrame({EXT: [f"B-{i}" for i in range(5)], "name": ["b"] * 5}))
    assert (out["action"] == "created").all() and sandbox.stats()["batches"] == 3


def test_annotation_upload_read_back_and_delete(dest, sandbox, tmp_path) -> None:
    parent = _by_ext(dest.upsert("account", EXT, pd.DataFrame({EXT: ["FILE-A"], "name": ["Files Inc"]})))
    account = parent.loc["FILE-A", "destination_id"]
    small, data, big = tmp_path / "note.txt", tmp_path / "scan.bin", tmp_path / "huge.bin"
    small.write_text("Signed contract, renewal in May.\n", encoding="utf-8")
    data.write_bytes(bytes(range(256)) * 40)
    big.write_bytes(b"x" * 3000)
    files = pd.DataFrame({"annotationid": [None, None, None], "objectid": [account] * 3,
                          "subject": ["Contract", "Scan", "Too big"], "path": [str(small), str(data), str(big)]})
    capped = _dest(sandbox, max_file_bytes=2048)
    first = capped.upload_files("annotation", "annotationid", files, "path")
    assert first["action"].tolist() == ["created", "failed", "failed"]
    assert first["content_hash"].iloc[0] == hashlib.sha256(small.read_bytes()).hexdigest()
    assert first["reason_code"].iloc[1:].tolist() == ["DEST_FILE_TOO_LARGE"] * 2

    second = dest.upload_files("annotation", "annotationid", files.iloc[1:2], "path")  # no client-side cap
    assert second["action"].tolist() == ["created"] and second["external_id"].tolist() == ["0"]
    sandbox.configure(max_upload_file_size=1000)
    try:
        refused = dest.upload_files("annotation", "annotationid", files.iloc[2:3], "path")
    finally:
        sandbox.configure(max_upload_file_size=5 * 1024 * 1024)
    assert refused[["reason_code", "dest_code"]].values.tolist() == [["DEST_FILE_TOO_LARGE", "0x80043e09"]]

    notes = dest.read_back("annotation", "objectid", [account], ["subject", "filename", "filesize", "mimetype", "objectid"])
    got = notes.set_index("subject")
    assert sorted(got.index) == ["Contract", "Scan"] and (notes["external_id"] == account).all()
    assert got.loc["Contract", ["filename", "filesize", "mimetype"]].tolist() == ["note.txt", small.stat().st_size, "text/plain"]
    assert got.loc["Scan", "filesize"] == 10240 and got.loc["Scan", "objectid"] == account

    keyed = files.iloc[:2].assign(annotationid=[first["destination_id"].iloc[0], second["destination_id"].iloc[0]])
    unchanged = dest.upload_files("annotation", "annotationid", keyed, "path")
    assert unchanged["action"].tolist() == ["unchanged", "unchanged"]
    small.write_text("Signed contract, renewal in June.\n", encoding="utf-8")
    changed = dest.upload_files("annotation", "annotationid", keyed, "path")
    assert changed["action"].tolist() == ["updated", "unchanged"]
    assert changed["destination_id"].tolist() == keyed["annotationid"].tolist()

    gone = dest.delete("annotation", notes["destination_id"].tolist())
    assert gone["action"].tolist() == ["deleted", "deleted"]
    again = dest.delete("annotation", notes["destination_id"].tolist())
    assert again["reason_code"].tolist() == ["DEST_NOT_FOUND"] * 2
    assert dest.read_back("annotation", "objectid", [account], ["subject"]).empty
