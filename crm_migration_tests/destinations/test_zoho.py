"""The Zoho destination through Zoho's own SDK (zohocrmsdk8_0) against the Zoho sandbox over verified TLS."""

from __future__ import annotations

import hashlib
import secrets
import time

import pandas as pd
import pytest

from crm_migration.destinations.base import (
    AuthenticationError,
    PlannedField,
    PlannedValues,
    RetryPolicy,
    SchemaPlan,
    ThrottledError,
)
from crm_migration.destinations.zoho import ZohoDestination
from crm_migration.sandbox import SandboxHandle, start_sandbox

pytestmark = pytest.mark.integration

EXT = "Source_System_ID"
PLAN = SchemaPlan(
    fields=tuple(PlannedField(m, EXT, "Text", "Source System ID", length=64, external_id=True, unique=True)
                 for m in ("Accounts", "Contacts", "Leads", "Deals", "Tasks"))
    + (PlannedField("Contacts", "Hobbies", "MultiselectPicklist", "Hobbies", values=("Chess", "Golf", "Sailing")),
       PlannedField("Contacts", "Last_Contacted", "DateTime", "Last Contacted"),
       PlannedField("Contacts", "Legacy_Email", "Email", "Legacy Email", unique=True),
       PlannedField("Contacts", "VIP", "Checkbox", "VIP"),
       PlannedField("Contacts", "Score", "Number", "Score", precision=10, scale=2)),
)


def _dest(sandbox: SandboxHandle, **kw) -> ZohoDestination:
    creds = sandbox.credentials
    settings = {"refresh_token": creds["refresh_token"], **kw}
    return ZohoDestination(api_domain=sandbox.url, accounts_url=sandbox.url, client_id=creds["client_id"],
                           client_secret=creds["client_secret"], ca_file=str(sandbox.ca_file), **settings)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    handle = start_sandbox("zoho", tmp_path_factory.mktemp("zoho-sandbox"))
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def org(sandbox):
    """The sandbox with the plan's fields, two active users and an inactive one; returns their ids."""
    applied = _dest(sandbox).apply_schema_plan(PLAN)
    assert len(applied) == len(PLAN.fields)
    ids = sandbox.add_users([{"email": "ana@example.com", "first_name": "Ana", "last_name": "Lima"},
                             {"email": "gone@example.com", "last_name": "Gone", "status": "disabled"}])
    return {"active": f"Users/{ids[0]}", "inactive": f"Users/{ids[1]}"}


@pytest.fixture()
def dest(sandbox, org):
    sandbox.clear_faults()
    d = _dest(sandbox)
    d._retry = RetryPolicy(attempts=10, sleep=lambda s: None)
    return d


def _accounts(dest, prefix: str, n: int = 2) -> list[str]:
    out = dest.upsert("Accounts", EXT, pd.DataFrame({EXT: [f"{prefix}{i}" for i in range(n)],
                                                      "Account_Name": [f"{prefix} account {i}" for i in range(n)]}))
    assert set(out["action"]) == {"created"}, out
    return out["destination_id"].tolist()


def test_describe_and_users(dest, org):
    schemas = dest.describe(["Contacts", "Deals", "Tasks", "Notes", "Attachments", "No_Such_Module"])
    assert "No_Such_Module" not in schemas
    contacts = schemas["Contacts"].fields
    assert contacts["id"].kind == "id" and not contacts["id"].createable
    assert contacts["Last_Name"].required and contacts["Last_Name"].length == 80
    assert contacts["Account_Name"].kind == "reference" and contacts["Account_Name"].reference_to == ("Accounts",)
    assert contacts["Owner"].reference_to == ("Users",)
    assert contacts[EXT].external_id and contacts[EXT].unique
    assert contacts["Hobbies"].kind == "multipicklist" and contacts["Hobbies"].picklist_values == ("Chess", "Golf", "Sailing")
    assert contacts["Score"].kind == "decimal" and contacts["VIP"].kind == "boolean"
    deals = schemas["Deals"].fields
    assert deals["Stage"].kind == "picklist" and deals["Stage"].restricted and "Closed Won" in deals["Stage"].picklist_values
    assert deals["Closing_Date"].kind == "date" and deals["Closing_Date"].required
    assert "Accounts" in schemas["Tasks"].fields["What_Id"].reference_to and len(schemas["Tasks"].fields["What_Id"].reference_to) > 1
    assert schemas["Notes"].fields["Parent_Id"].required
    assert schemas["Attachments"].fields["Parent_Id"].kind == "reference"

    users = dest.users().set_index("email")
    assert users.loc["ana@example.com", "id"] == org["active"] and bool(users.loc["ana@example.com", "active"])
    assert not bool(users.loc["gone@example.com", "active"])


def test_upsert_create_reupsert_and_per_record_reason_codes(dest, org):
    (account,) = _accounts(dest, "UP-ACC-", 1)
    rows = pd.DataFrame({
        EXT: ["UP-1", "UP-2", "UP-3", "UP-4", "UP-5", "UP-6", "UP-7", "UP-8"],
        "Last_Name": ["Ångström", None, "Bad pick", "Long", "Orphan", "Inactive owner", "Dup email", "Fine"],
        "Email": ["ana@zoe.example", None, None, None, None, None, None, "not-an-email"],
        "Lead_Source": ["Cold Call", None, "Carrier pigeon", None, None, None, None, None],
        "Title": [None, None, None, "x" * 101, None, None, None, None],
        "Account_Name": [account, None, None, None, "Accounts/1234567000000999999", None, None, None],
        "Owner": [org["active"], None, None, None, None, org["inactive"], None, None],
        "Legacy_Email": ["dup@example.com", None, None, None, None, None, "dup@example.com", None],
    })
    out = dest.upsert("Contacts", EXT, rows).set_index("external_id")
    assert out.loc["UP-1", "action"] == "created" and out.loc["UP-1", "destination_id"].startswith("Contacts/")
    expected = {"UP-2": ("DEST_REQUIRED_FIELD", "MANDATORY_NOT_FOUND"), "UP-3": ("DEST_INVALID_VALUE", "INVALID_DATA"),
                "UP-4": ("DEST_VALUE_TOO_LONG", "INVALID_DATA"), "UP-5": ("DEST_INVALID_REFERENCE", "INVALID_DATA"),
                "UP-6": ("DEST_INACTIVE_OWNER", "INVALID_DATA"), "UP-7": ("DEST_DUPLICATE", "DUPLICATE_DATA"),
                "UP-8": ("DEST_INVALID_VALUE", "INVALID_DATA")}
    for key, (reason, code) in expected.items():
        assert (out.loc[key, "action"], out.loc[key, "reason_code"], out.loc[key, "dest_code"]) == ("failed", reason, code), key
    assert "Last_Name" in out.loc["UP-2", "dest_message"]

    again = dest.upsert("Contacts", EXT, rows.iloc[[0]]).set_index("external_id")
    assert again.loc["UP-1", "action"] == "updated"
    assert again.loc["UP-1", "destination_id"] == out.loc["UP-1", "destination_id"]
    back = dest.read_back("Contacts", EXT, ["UP-1", "UP-2"], ["Last_Name", "Account_Name", "Owner", "Lead_Source"])
    assert len(back) == 1, "a re-upsert must not duplicate and failed rows must not exist"
    row = back.iloc[0]
    assert (row["Last_Name"], row["Account_Name"], row["Owner"], row["Lead_Source"]) == ("Ångström", account, org["active"], "Cold Call")


def _contact_rows(prefix: str, accounts: list[str], owner: str, n: int = 12) -> pd.DataFrame:
    return pd.DataFrame({
        EXT: [f"{prefix}{i}" for i in range(n)],
        "Last_Name": [f"Person {i}" if i != 3 else None for i in range(n)],
        "First_Name": [None if i % 4 == 0 else f"Zoë {i}" for i in range(n)],
        "Account_Name": [accounts[i % 2] if i % 3 else None for i in range(n)],
        "Owner": [owner if i % 2 else None for i in range(n)],
        "Hobbies": [None if i % 5 == 0 else ";".join(sorted({"Golf", "Chess", "Sailing"} - {["Golf", "Chess", "Sailing"][i % 3]}))
                    for i in range(n)],
        "Last_Contacted": [None if i % 4 == 1 else f"2024-03-0{1 + i % 9}T10:22:00Z" for i in range(n)],
        "Date_of_Birth": [None if i % 3 == 2 else f"1980-01-{10 + i:02d}" for i in range(n)],
        "VIP": pd.array([bool(i % 2) if i % 5 else None for i in range(n)], dtype="boolean"),
        "Score": pd.array([i * 1.5 if i % 4 else None for i in range(n)], dtype="Float64"),
        "Lead_Source": ["Trade Show" if i != 7 else "Carrier pigeon" for i in range(n)],
    })


def test_records_api_and_bulk_write_give_the_same_state(dest, org, sandbox):
    accounts = _accounts(dest, "SAME-ACC-")
    fields = ["Last_Name", "First_Name", "Account_Name", "Owner", "Hobbies", "Last_Contacted", "Date_of_Birth", "VIP",
              "Score", "Lead_Source"]
    results, backs = {}, {}
    for path, threshold in (("records", 100_000), ("bulk", 1)):
        d = _dest(sandbox, bulk_threshold=threshold, bulk_poll_seconds=0.05)
        rows = _contact_rows(f"SAME-{path}-", accounts, org["active"])
        sandbox.reset_stats()
        first = d.upsert("Contacts", EXT, rows)
        routes = sandbox.stats()["by_route"]
        assert (routes.get("POST bulk.create_job", 0) > 0) == (path == "bulk"), routes
        second = d.upsert("Contacts", EXT, rows)
        results[path] = (first, second)
        back = d.read_back("Contacts", EXT, rows[EXT].tolist(), fields)
        back["key"] = back["external_id"].str.replace(f"SAME-{path}-", "", regex=False)
        backs[path] = back.drop(columns=["external_id", "destination_id"]).sort_values("key").reset_index(drop=True)
        assert back["destination_id"].is_unique
    for path in ("records", "bulk"):
        first, second = results[path]
        assert first["action"].value_counts().to_dict() == {"created": 10, "failed": 2}, (path, first)
        failed = first[first["action"] == "failed"].set_index("external_id")
        assert failed.loc[f"SAME-{path}-3", "reason_code"] == "DEST_REQUIRED_FIELD"
        assert failed.loc[f"SAME-{path}-7", "reason_code"] == "DEST_INVALID_VALUE"
        assert second["action"].value_counts().to_dict() == {"updated": 10, "failed": 2}
    pd.testing.assert_frame_equal(backs["records"], backs["bulk"])
    sample = backs["bulk"].set_index("key")
    assert sample.loc["1", "Owner"] == org["active"] and sample.loc["1", "Account_Name"] == accounts[1]
    assert sample.loc["2", "Hobbies"] == "Chess;Golf" and sample.loc["0", "Last_Contacted"] == "2024-03-01T10:22:00Z"
    assert sample.loc["2", "Score"] == 3.0 and bool(sample.loc["1", "VIP"]) and pd.isna(sample.loc["0", "First_Name"])


def test_faults_do_not_change_the_result(dest, sandbox):
    rows = pd.DataFrame({EXT: [f"FAULT-{i}" for i in range(150)], "Last_Name": [f"Faulty {i}" for i in range(150)]})
    sandbox.set_faults(throttle_rate=0.1, error_5xx_rate=0.1, drop_rate=0.05, expire_session_rate=0.15,
                       error_after_commit_rate=0.4, retry_after=0, seed=2)
    try:
        out = dest.upsert("Leads", EXT, rows.assign(Company="Faults Inc"))
        back = dest.read_back("Leads", EXT, rows[EXT].tolist(), ["Last_Name"])
    finally:
        faults = sandbox.stats()["faults_injected"]
        sandbox.clear_faults()
    assert set(out["action"]) <= {"created", "updated"} and len(out) == 150
    assert dest.retries > 0 and faults.get("expire_session") and faults.get("error_after_commit"), faults
    assert len(back) == 150 and back["destination_id"].is_unique
    assert (back.set_index("external_id").loc[rows[EXT], "Last_Name"].tolist() == rows["Last_Name"].tolist())


def test_throttling_honours_retry_after(sandbox, org):
    waits: list[float] = []
    d = _dest(sandbox)
    d._retry = RetryPolicy(attempts=3, sleep=waits.append)
    sandbox.set_faults(throttle_rate=1.0, retry_after=4, seed=1)
    try:
        with pytest.raises(ThrottledError):
            d.describe(["Leads"])
    finally:
        sandbox.clear_faults()
    assert waits and min(waits) >= 4, waits


def test_client_credentials_and_expired_tokens(sandbox, org):
    creds, refused_secret = sandbox.credentials, secrets.token_hex(21)  # drawn, never written down
    bad = ZohoDestination(api_domain=sandbox.url, accounts_url=sandbox.url, client_id=creds["client_id"],
                          client_secret=refused_secret, ca_file=str(sandbox.ca_file))
    with pytest.raises(AuthenticationError) as err:
        bad.users()
    assert refused_secret not in str(err.value)
    sandbox.configure(access_token_ttl_seconds=1)
    try:
        client = _dest(sandbox, refresh_token=None)  # client credentials: re-authenticates when refused
        client._retry = RetryPolicy(attempts=4, sleep=lambda s: None)
        refresh = _dest(sandbox)  # refresh token: the SDK refreshes the short-lived token itself
        assert len(refresh.users()) >= 3 and len(client.users()) >= 3
        time.sleep(1.1)  # both access tokens have expired
        assert len(client.users()) >= 3 and client.retries == 1  # refused once (INVALID_TOKEN), then a new token
        assert len(refresh.users()) >= 3
    finally:
        sandbox.configure(access_token_ttl_seconds=3600)


def test_notes_keyed_by_id_and_read_back_by_parent(dest, sandbox):
    accounts = _accounts(dest, "NOTE-ACC-")
    contact = dest.upsert("Contacts", EXT, pd.DataFrame({EXT: ["NOTE-C"], "Last_Name": ["Noted"]}))["destination_id"].iloc[0]
    notes = pd.DataFrame({"id": [None, None, None, None], "Note_Title": ["First", "Second", "On contact", "Orphan"],
                          "Note_Content": ["a", "b", "c", "d"],
                          "Parent_Id": [accounts[0], accounts[0], contact, "Accounts/1234567000000999999"]})
    out = dest.upsert("Notes", "id", notes)
    assert out["external_id"].tolist() == ["0", "1", "2", "3"]
    assert out["action"].tolist() == ["created", "created", "created", "failed"]
    assert out["reason_code"].iloc[3] == "DEST_INVALID_REFERENCE"
    back = dest.read_back("Notes", "Parent_Id", [accounts[0], contact, accounts[1]], ["Note_Title", "Parent_Id"])
    assert sorted(back["Note_Title"]) == ["First", "On contact", "Second"]
    assert set(back.loc[back["Note_Title"] == "On contact", "external_id"]) == {contact}
    assert set(back.loc[back["Note_Title"] == "First", "Parent_Id"]) == {accounts[0]}

    update = pd.DataFrame({"id": [out["destination_id"].iloc[1]], "Note_Title": ["Second, edited"], "Note_Content": ["b2"]})
    assert dest.upsert("Notes", "id", update)["action"].tolist() == ["updated"]
    by_id = dest.read_back("Notes", "id", [out["destination_id"].iloc[1]], ["Note_Title", "Note_Content"])
    assert by_id[["external_id", "Note_Title", "Note_Content"]].values.tolist() == [[out["destination_id"].iloc[1], "Second, edited", "b2"]]

    # every note write commits and then answers 500: the retry must find the notes, not create them again
    sandbox.set_faults(error_after_commit_rate=1.0, path_prefix="/crm/v8/Notes")
    try:
        retried = dest.upsert("Notes", "id", notes.iloc[:2].assign(Parent_Id=accounts[1], Note_Content=["x", "y"]))
    finally:
        sandbox.clear_faults()
    assert retried["action"].tolist() == ["created", "created"] and dest.retries >= 1
    landed = dest.read_back("Notes", "Parent_Id", [accounts[1]], ["Note_Content"])
    assert sorted(landed["Note_Content"]) == ["x", "y"]
    assert sorted(landed["destination_id"]) == sorted(retried["destination_id"])

    gone = dest.delete("Notes", out["destination_id"].iloc[:2].tolist() + ["Notes/1234567000000999999"])
    assert gone["action"].tolist() == ["deleted", "deleted", "failed"] and gone["reason_code"].iloc[2] == "DEST_NOT_FOUND"
    assert dest.read_back("Notes", "Parent_Id", [accounts[0]], ["Note_Title"]).empty


def test_attachments_upload_read_back_and_size_limit(dest, sandbox, tmp_path):
    (parent,) = _accounts(dest, "FILE-ACC-", 1)
    small = tmp_path / "contract.pdf"
    small.write_bytes(b"%PDF-1.4 small contract")
    big = tmp_path / "recording.wav"
    big.write_bytes(b"\0" * 5000)
    files = pd.DataFrame({"id": [None, None], "Parent_Id": [parent, parent], "File_Name": ["contract.pdf", "recording.wav"],
                          "path": [str(small), str(big)]})
    sandbox.configure(max_attachment_bytes=4000)
    try:
        first = dest.upload_files("Attachments", "id", files, "path")
        limited = _dest(sandbox, max_file_bytes=4000).upload_files("Attachments", "id", files.iloc[[1]], "path")
    finally:
        sandbox.configure(max_attachment_bytes=20 * 1024 * 1024)
    assert first["action"].tolist() == ["created", "failed"]
    assert first["reason_code"].iloc[1] == "DEST_FILE_TOO_LARGE" and first["dest_code"].iloc[1] == "FILE_SIZE_MORE_THAN_ALLOWED_SIZE"
    assert limited["reason_code"].tolist() == ["DEST_FILE_TOO_LARGE"]
    assert first["content_hash"].iloc[0] == hashlib.md5(small.read_bytes()).hexdigest()
    dest_id = first["destination_id"].iloc[0]
    assert dest_id.startswith("Attachments/Accounts/")

    again = dest.upload_files("Attachments", "id", files.iloc[[0]], "path")
    assert again["action"].tolist() == ["unchanged"] and again["destination_id"].iloc[0] == dest_id
    back = dest.read_back("Attachments", "Parent_Id", [parent], ["File_Name", "Size", "Parent_Id"])
    assert back[["external_id", "destination_id", "File_Name", "Size", "Parent_Id"]].values.tolist() == \
        [[parent, dest_id, "contract.pdf", small.stat().st_size, parent]]
    assert dest.read_back("Attachments", "id", [dest_id], ["File_Name"])["File_Name"].tolist() == ["contract.pdf"]
    assert dest.delete("Attachments", [dest_id])["action"].tolist() == ["deleted"]
    assert dest.read_back("Attachments", "Parent_Id", [parent], ["File_Name"]).empty


def test_schema_plan_fields_and_values(dest):
    plan = SchemaPlan(
        fields=(PlannedField("Leads", "LeadTrac_Status_Date", "Date", "LeadTrac Status Date"),
                PlannedField("Leads", "Referrer", "Lookup", "Referrer", reference_to="Contacts"),
                PlannedField("Leads", "Case_Notes", "LongTextArea", "Case Notes")),
        values=(PlannedValues("Leads", "Lead_Status", ("Converted", "Dead")),),
    )
    applied = dest.apply_schema_plan(plan)
    assert applied == ["created field Leads.LeadTrac_Status_Date (Date)", "created field Leads.Referrer (Lookup)",
                       "created field Leads.Case_Notes (LongTextArea)", "added Converted, Dead to Leads.Lead_Status"]
    assert dest.apply_schema_plan(plan) == [], "applying a plan twice changes nothing"
    leads = dest.describe(["Leads"])["Leads"].fields
    assert leads["Referrer"].kind == "reference" and leads["Referrer"].reference_to == ("Contacts",)
    assert leads["LeadTrac_Status_Date"].kind == "date" and leads["Case_Notes"].kind == "textarea"
    assert {"Converted", "Dead"} <= set(leads["Lead_Status"].picklist_values)
    out = dest.upsert("Leads", EXT, pd.DataFrame({EXT: ["PLAN-1"], "Last_Name": ["Planned"], "Company": ["Plan Co"],
                                                  "Lead_Status": ["Converted"], "LeadTrac_Status_Date": ["2024-02-29"]}))
    assert out["action"].tolist() == ["created"], out
    back = dest.read_back("Leads", EXT, ["PLAN-1"], ["Lead_Status", "LeadTrac_Status_Date"])
    assert back[["Lead_Status", "LeadTrac_Status_Date"]].values.tolist() == [["Converted", "2024-02-29"]]


def test_activities_polymorphic_lookups_and_participants(dest, sandbox, org):
    (account,) = _accounts(dest, "ACT-ACC-", 1)
    people = dest.upsert("Contacts", EXT, pd.DataFrame({EXT: ["ACT-C"], "Last_Name": ["Attendee"]}))
    contact = people["destination_id"].iloc[0]
    lead = dest.upsert("Leads", EXT, pd.DataFrame({EXT: ["ACT-L"], "Last_Name": ["Prospect"], "Company": ["P"]}))["destination_id"].iloc[0]
    tasks = pd.DataFrame({EXT: ["T-1", "T-2", "T-3"], "Subject": ["Call about renewal", "Email sent", "Lost parent"],
                          "What_Id": [account, lead, "Deals/1234567000000999999"], "Who_Id": [contact, None, None],
                          "Status": ["Completed", "Not Started", "Completed"], "Due_Date": ["2024-05-01", None, None]})
    fields = ["Subject", "What_Id", "Who_Id", "Status", "Due_Date"]
    backs = []
    for threshold in (100_000, 1):
        d = _dest(sandbox, bulk_threshold=threshold, bulk_poll_seconds=0.05)
        out = d.upsert("Tasks", EXT, tasks).set_index("external_id")
        assert out["action"].tolist()[:2] in (["created", "created"], ["updated", "updated"])
        assert out.loc["T-3", "reason_code"] == "DEST_INVALID_REFERENCE"
        backs.append(d.read_back("Tasks", EXT, ["T-1", "T-2"], fields).sort_values("external_id").reset_index(drop=True))
    pd.testing.assert_frame_equal(backs[0], backs[1])
    assert backs[1]["What_Id"].tolist() == [account, lead] and backs[1]["Who_Id"].tolist()[0] == contact

    events = pd.DataFrame({"id": [None], "Event_Title": ["Kick-off"], "Start_DateTime": ["2024-05-02T09:00:00Z"],
                           "End_DateTime": ["2024-05-02T10:00:00Z"], "What_Id": [account],
                           "Participants": [f"{contact};{lead};guest@example.com"]})
    out = dest.upsert("Events", "id", events)
    assert out["action"].tolist() == ["created"], out
    back = dest.read_back("Events", "What_Id", [account], ["Event_Title", "Start_DateTime", "Participants"])
    assert back[["Event_Title", "Start_DateTime"]].values.tolist() == [["Kick-off", "2024-05-02T09:00:00Z"]]
    assert back["Participants"].iloc[0] == ";".join(sorted([contact, lead, "guest@example.com"]))
