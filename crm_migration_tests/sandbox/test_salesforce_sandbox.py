"""The Salesforce sandbox driven by the real simple-salesforce over verified HTTPS (no mocks)."""

from __future__ import annotations

import base64
import csv
import hashlib
import io

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (SalesforceExpiredSession, SalesforceMalformedRequest,
                                          SalesforceOperationError)

from crm_migration.sandbox import SandboxHandle, start_sandbox
from crm_migration_tests.sandbox.conftest import client_session, connect, get_token

pytestmark = pytest.mark.integration


def _codes(exc: Exception) -> list[str]:
    return [e["errorCode"] for e in exc.content]  # type: ignore[attr-defined]


def _ensure_field(sf: Salesforce, full_name: str, metadata: dict) -> None:
    obj, _, name = full_name.partition(".")
    if any(f["name"] == name for f in getattr(sf, obj).describe()["fields"]):
        return
    sf.toolingexecute("sobjects/CustomField/", method="POST", data={"FullName": full_name, "Metadata": metadata})


EXT = {"label": "Source System ID", "type": "Text", "length": 80, "externalId": True, "unique": True}


@pytest.fixture()
def ext_fields(sf: Salesforce) -> None:
    for obj in ("Account", "Contact", "Case"):
        _ensure_field(sf, f"{obj}.Source_System_ID__c", EXT)


# --- auth ---------------------------------------------------------------------------------------------

def test_token_grants_and_bad_secret(sandbox: SandboxHandle) -> None:
    creds = sandbox.credentials
    s = client_session(sandbox)
    ok = s.post(sandbox.token_url, data={"grant_type": "client_credentials", "client_id": creds["client_id"],
                                         "client_secret": creds["client_secret"]})
    assert ok.status_code == 200
    body = ok.json()
    assert body["token_type"] == "Bearer" and body["instance_url"] == sandbox.url
    assert {"access_token", "id", "issued_at", "signature"} <= body.keys()

    pw = s.post(sandbox.token_url, data={"grant_type": "password", "client_id": creds["client_id"],
                                         "client_secret": creds["client_secret"], "username": creds["username"],
                                         "password": creds["password"] + creds["security_token"]})
    assert pw.status_code == 200
    bad_pw = s.post(sandbox.token_url, data={"grant_type": "password", "client_id": creds["client_id"],
                                             "client_secret": creds["client_secret"], "username": creds["username"],
                                             "password": creds["password"]})
    assert bad_pw.status_code == 400 and bad_pw.json()["error"] == "invalid_grant"
    bad = s.post(sandbox.token_url, data={"grant_type": "client_credentials", "client_id": creds["client_id"],
                                          "client_secret": "nope"})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_client"

    no_auth = s.get(f"{sandbox.url}/services/data/v59.0/sobjects/")
    assert no_auth.status_code == 401 and no_auth.json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_expired_session(sandbox: SandboxHandle, sf: Salesforce) -> None:
    sandbox.configure(session_ttl_seconds=0)
    try:
        import time
        time.sleep(1.1)
        with pytest.raises(SalesforceExpiredSession):
            sf.query("SELECT Id FROM Account LIMIT 1")
    finally:
        sandbox.configure(session_ttl_seconds=7200)
    fresh = connect(sandbox)
    assert fresh.query("SELECT COUNT() FROM Account")["done"] is True
    assert "api-usage=" in client_session(sandbox).get(
        f"{sandbox.url}/services/data/v59.0/limits/",
        headers={"Authorization": f"Bearer {get_token(sandbox)}"}).headers["Sforce-Limit-Info"]


# --- schema ---------------------------------------------------------------------------------------------

def test_tooling_custom_field_and_standard_value_set(sf: Salesforce) -> None:
    res = sf.toolingexecute("sobjects/CustomField/", method="POST", data={
        "FullName": "Account.Client_Tier__c",
        "Metadata": {"label": "Client Tier", "type": "Picklist", "valueSet": {"restricted": True, "valueSetDefinition": {
            "value": [{"fullName": "Gold", "label": "Gold", "default": False},
                      {"fullName": "Silver", "label": "Silver", "default": False}]}}}})
    assert res["success"] is True
    tier = next(f for f in sf.Account.describe()["fields"] if f["name"] == "Client_Tier__c")
    assert tier["type"] == "picklist" and tier["restrictedPicklist"] is True and tier["custom"] is True
    assert [p["value"] for p in tier["picklistValues"]] == ["Gold", "Silver"]
    with pytest.raises(SalesforceMalformedRequest) as dup:
        sf.toolingexecute("sobjects/CustomField/", method="POST", data={
            "FullName": "Account.Client_Tier__c", "Metadata": {"label": "x", "type": "Text", "length": 10}})
    assert _codes(dup.value) == ["DUPLICATE_DEVELOPER_NAME"]

    # Task.Type is restricted: 'Interaction' fails until added to the TaskType value set
    with pytest.raises(SalesforceMalformedRequest) as bad:
        sf.Task.create({"Subject": "Call", "Type": "Interaction"})
    assert _codes(bad.value) == ["INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"]
    found = sf.toolingexecute("query/?q=SELECT+Id,MasterLabel+FROM+StandardValueSet+WHERE+MasterLabel='TaskType'")
    svs_id = found["records"][0]["Id"]
    current = sf.toolingexecute(f"sobjects/StandardValueSet/{svs_id}")["Metadata"]["standardValue"]
    values = [{"fullName": v["fullName"], "label": v["label"], "default": v["default"]} for v in current]
    values.append({"fullName": "Interaction", "label": "Interaction", "default": False})
    sf.toolingexecute(f"sobjects/StandardValueSet/{svs_id}", method="PATCH",
                      data={"Metadata": {"standardValue": values}})
    assert sf.Task.create({"Subject": "Call", "Type": "Interaction"})["success"] is True


# --- enforcement ---------------------------------------------------------------------------------------

def test_enforcement_codes(sandbox: SandboxHandle, sf: Salesforce) -> None:
    cases = [
        (sf.Account, {"Website": "https://x.test"}, "REQUIRED_FIELD_MISSING"),
        (sf.Case, {"Subject": "s", "Status": "Pending"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        (sf.Contact, {"LastName": "L", "Email": "not-an-email"}, "INVALID_EMAIL_ADDRESS"),
        (sf.Contact, {"LastName": "L", "Title": "x" * 129}, "STRING_TOO_LONG"),
        (sf.Contact, {"LastName": "L", "AccountId": "001000000000000AAA"}, "INVALID_CROSS_REFERENCE_KEY"),
        (sf.Case, {"Subject": "s", "AccountId": sf.Contact.create({"LastName": "C"})["id"]},
         "FIELD_INTEGRITY_EXCEPTION"),
        (sf.Account, {"Name": "A", "IsDeleted": True}, "INVALID_FIELD_FOR_INSERT_UPDATE"),
    ]
    for api, body, code in cases:
        with pytest.raises(SalesforceMalformedRequest) as exc:
            api.create(body)
        assert _codes(exc.value) == [code], (body, exc.value.content)
    with pytest.raises(SalesforceMalformedRequest) as unknown:
        sf.Account.create({"Name": "A", "Nope__c": 1})
    assert _codes(unknown.value) == ["INVALID_FIELD"]

    inactive = sandbox.add_users([{"Email": "gone@example.com", "FirstName": "G", "LastName": "One",
                                   "IsActive": False}])[0]
    active = sandbox.add_users([{"Email": "here@example.com", "FirstName": "H", "LastName": "Ere"}])[0]
    with pytest.raises(SalesforceMalformedRequest) as own:
        sf.Account.create({"Name": "Owned", "OwnerId": inactive})
    assert _codes(own.value) == ["INACTIVE_OWNER_OR_USER"]
    acc = sf.Account.create({"Name": "Owned", "OwnerId": active})["id"]
    assert sf.Account.get(acc)["OwnerId"] == active
    default_owner = sf.Account.get(sf.Account.create({"Name": "Mine"})["id"])["OwnerId"]
    assert default_owner == sf.query("SELECT Id FROM User WHERE Username = 'integration@sandbox.local'")["records"][0]["Id"]

    case = sf.Case.get(sf.Case.create({"Subject": "c", "Status": "Closed", "Origin": "Web"})["id"])
    assert case["IsClosed"] is True and case["CaseNumber"]


# --- upsert / collections --------------------------------------------------------------------------

def test_upsert_by_external_id(ext_fields, sf: Salesforce) -> None:
    first = sf.Account.upsert("Source_System_ID__c/UP-1", {"Name": "First"}, raw_response=True)
    assert first.status_code == 201 and first.json()["created"] is True
    second = sf.Account.upsert("Source_System_ID__c/UP-1", {"Name": "Second"}, raw_response=True)
    assert second.status_code == 200 and second.json()["created"] is False
    assert second.json()["id"] == first.json()["id"]
    rows = sf.query("SELECT Id, Name FROM Account WHERE Source_System_ID__c = 'up-1'")["records"]
    assert [r["Name"] for r in rows] == ["Second"]
    assert sf.Account.get_by_custom_id("Source_System_ID__c", "UP-1")["Name"] == "Second"
    with pytest.raises(SalesforceMalformedRequest) as dup:
        sf.Account.create({"Name": "Dup", "Source_System_ID__c": "UP-1"})
    assert _codes(dup.value) == ["DUPLICATE_VALUE"]


def test_collections_all_or_none(ext_fields, sf: Salesforce) -> None:
    recs = [{"attributes": {"type": "Account"}, "Name": "C-ok", "Source_System_ID__c": "COL-1"},
            {"attributes": {"type": "Account"}, "Source_System_ID__c": "COL-2"}]
    res = sf.restful("composite/sobjects/Account/Source_System_ID__c", method="PATCH",
                     json={"allOrNone": True, "records": recs})
    assert [r["success"] for r in res] == [False, False]
    assert res[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert res[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert sf.query("SELECT COUNT() FROM Account WHERE Source_System_ID__c = 'COL-1'")["totalSize"] == 0

    res = sf.restful("composite/sobjects/Account/Source_System_ID__c", method="PATCH",
                     json={"allOrNone": False, "records": recs})
    assert [r["success"] for r in res] == [True, False] and res[0]["created"] is True
    again = sf.restful("composite/sobjects/Account/Source_System_ID__c", method="PATCH",
                       json={"allOrNone": False, "records": recs[:1]})
    assert again[0]["created"] is False and again[0]["id"] == res[0]["id"]

    contacts = sf.restful("composite/sobjects", method="POST", json={"allOrNone": False, "records": [
        {"attributes": {"type": "Contact"}, "LastName": "Rel", "Account": {"Source_System_ID__c": "COL-1"}},
        {"attributes": {"type": "Contact"}, "LastName": "Rel", "Account": {"Source_System_ID__c": "missing"}}]})
    assert contacts[0]["success"] is True
    assert contacts[1]["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert sf.Contact.get(contacts[0]["id"])["AccountId"] == res[0]["id"]

    with pytest.raises(SalesforceMalformedRequest) as too_many:
        sf.restful("composite/sobjects", method="POST", json={"records": [
            {"attributes": {"type": "Account"}, "Name": f"n{i}"} for i in range(201)]})
    assert _codes(too_many.value) == ["EXCEEDED_ID_LIMIT"]

    deleted = sf.restful(f"composite/sobjects?ids={contacts[0]['id']}&allOrNone=false", method="DELETE")
    assert deleted[0]["success"] is True
    assert sf.query(f"SELECT COUNT() FROM Contact WHERE Id = '{contacts[0]['id']}'")["totalSize"] == 0
    assert sf.query_all(f"SELECT Id FROM Contact WHERE Id = '{contacts[0]['id']}'", include_deleted=True)["totalSize"] == 1


# --- SOQL ----------------------------------------------------------------------------------------------

def test_soql_filters_and_paging(sf: Salesforce) -> None:
    for start in range(0, 2300, 200):
        sf.restful("composite/sobjects", method="POST", json={"records": [
            {"attributes": {"type": "Lead"}, "LastName": f"Lead {i:04d}", "Company": "Big" if i % 2 else "Small",
             "NumberOfEmployees": i} for i in range(start, min(start + 200, 2300))]})
    first = sf.query("SELECT Id, LastName FROM Lead")
    assert first["totalSize"] == 2300 and first["done"] is False and len(first["records"]) == 2000
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/")
    assert len(sf.query_all("SELECT Id FROM Lead")["records"]) == 2300

    rows = sf.query("SELECT LastName, NumberOfEmployees FROM Lead WHERE Company IN ('big') AND "
                    "(NumberOfEmployees < 10 OR NumberOfEmployees >= 2297) ORDER BY NumberOfEmployees DESC LIMIT 3")
    assert [r["NumberOfEmployees"] for r in rows["records"]] == [2299, 2297, 9]
    assert sf.query("SELECT COUNT() FROM Lead WHERE LastName LIKE 'Lead 00%' AND Company != 'Small'")["totalSize"] == 50
    assert sf.query("SELECT COUNT() FROM Lead WHERE Email = null AND CreatedDate = TODAY")["totalSize"] == 2300
    assert sf.query("SELECT COUNT() FROM Lead WHERE Company NOT IN ('Big','Small')")["totalSize"] == 0
    with pytest.raises(SalesforceMalformedRequest) as bad_field:
        sf.query("SELECT Nope FROM Lead")
    assert _codes(bad_field.value) == ["INVALID_FIELD"] and "No such column" in bad_field.value.content[0]["message"]
    with pytest.raises(SalesforceMalformedRequest) as malformed:
        sf.query("SELECT Id FROM Lead WHERE")
    assert _codes(malformed.value) == ["MALFORMED_QUERY"]


# --- Bulk API 2.0 ----------------------------------------------------------------------------------------

def test_bulk2_upsert_results_and_relationship(ext_fields, sf: Salesforce) -> None:
    accounts = [{"Source_System_ID__c": f"BK-{i}", "Name": f"Bulk {i}", "NumberOfEmployees": str(i)} for i in range(300)]
    accounts.append({"Source_System_ID__c": "BK-bad", "Name": "", "NumberOfEmployees": "1"})
    accounts.append({"Source_System_ID__c": "BK-num", "Name": "N", "NumberOfEmployees": "many"})
    res = sf.bulk2.Account.upsert(records=accounts, external_id_field="Source_System_ID__c", wait=0.2)
    assert res[0]["numberRecordsProcessed"] == 302 and res[0]["numberRecordsFailed"] == 2
    ok = list(csv.DictReader(io.StringIO(sf.bulk2.Account.get_successful_records(res[0]["job_id"]))))
    assert len(ok) == 300 and ok[0]["sf__Created"] == "true" and ok[0]["Source_System_ID__c"] == "BK-0"
    failed = list(csv.DictReader(io.StringIO(sf.bulk2.Account.get_failed_records(res[0]["job_id"]))))
    errors = {r["Source_System_ID__c"]: r["sf__Error"] for r in failed}
    assert errors["BK-bad"].startswith("REQUIRED_FIELD_MISSING:Required fields are missing: [Name]")
    assert errors["BK-num"].startswith("INVALID_TYPE_ON_FIELD_IN_RECORD")

    again = sf.bulk2.Account.upsert(records=accounts[:10], external_id_field="Source_System_ID__c", wait=0.2)
    ok2 = list(csv.DictReader(io.StringIO(sf.bulk2.Account.get_successful_records(again[0]["job_id"]))))
    assert {r["sf__Created"] for r in ok2} == {"false"}
    assert sf.query("SELECT COUNT() FROM Account WHERE Source_System_ID__c LIKE 'BK-%'")["totalSize"] == 300

    contacts = [{"Source_System_ID__c": "BC-1", "LastName": "One", "Account.Source_System_ID__c": "BK-1"},
                {"Source_System_ID__c": "BC-2", "LastName": "Two", "Account.Source_System_ID__c": "BK-missing"}]
    cres = sf.bulk2.Contact.upsert(records=contacts, external_id_field="Source_System_ID__c", wait=0.2)
    assert cres[0]["numberRecordsFailed"] == 1
    row = sf.query("SELECT Account.Source_System_ID__c FROM Contact WHERE Source_System_ID__c = 'BC-1'")["records"][0]
    assert row["Account"]["Source_System_ID__c"] == "BK-1"

    tasks = [{"Subject": "Follow up", "Case:What.Source_System_ID__c": "", "Contact:Who.Source_System_ID__c": "BC-1"}]
    tres = sf.bulk2.Task.insert(records=tasks, wait=0.2)
    assert tres[0]["numberRecordsFailed"] == 0

    with pytest.raises(SalesforceOperationError):
        sf.bulk2.Account.insert(records=[{"Name": "x", "Bogus__c": "y"}], wait=0.2)


def test_bulk2_query(ext_fields, sf: Salesforce, tmp_path) -> None:
    sf.bulk2.Account.upsert(records=[{"Source_System_ID__c": f"Q-{i}", "Name": f"Query {i}"} for i in range(25)],
                            external_id_field="Source_System_ID__c", wait=0.2)
    pages = list(sf.bulk2.Account.query("SELECT Id, Name FROM Account WHERE Source_System_ID__c LIKE 'Q-%'",
                                        max_records=10, wait=0.2))
    rows = [r for page in pages for r in csv.DictReader(io.StringIO(page))]
    assert len(pages) == 3 and len(rows) == 25
    files = sf.bulk2.Account.download("SELECT Id FROM Account WHERE Source_System_ID__c LIKE 'Q-%'",
                                      path=str(tmp_path), wait=0.2)
    assert sum(f["number_of_records"] for f in files) == 25


# --- files ------------------------------------------------------------------------------------------------

def test_content_version_and_size_limit(sandbox: SandboxHandle, sf: Salesforce) -> None:
    acc = sf.Account.create({"Name": "Files"})["id"]
    data = b"%PDF-1.4 sandbox file"
    cv = sf.ContentVersion.create({"Title": "Spec", "PathOnClient": "spec.pdf",
                                   "VersionData": base64.b64encode(data).decode(), "FirstPublishLocationId": acc})
    rec = sf.ContentVersion.get(cv["id"])
    assert rec["FileType"] == "PDF" and rec["ContentSize"] == len(data)
    assert rec["Checksum"] == hashlib.md5(data).hexdigest() and rec["IsLatest"] is True
    raw = client_session(sandbox).get(f"{sandbox.url}{rec['VersionData']}",
                                      headers={"Authorization": f"Bearer {sf.session_id}"})
    assert raw.content == data
    links = sf.query(f"SELECT ContentDocumentId, LinkedEntityId FROM ContentDocumentLink WHERE LinkedEntityId = '{acc}'")
    assert links["records"][0]["ContentDocumentId"] == rec["ContentDocumentId"]

    sandbox.configure(content_max_json_bytes=1024)
    try:
        with pytest.raises(SalesforceMalformedRequest) as big:
            sf.ContentVersion.create({"PathOnClient": "big.bin", "VersionData": base64.b64encode(b"x" * 2048).decode()})
        assert _codes(big.value) == ["MAXIMUM_SIZE_OF_DOCUMENT"]
    finally:
        sandbox.configure(content_max_json_bytes=25 * 1024 * 1024)

    sf.ContentDocument.delete(rec["ContentDocumentId"])
    assert sf.query(f"SELECT COUNT() FROM ContentVersion WHERE Id = '{cv['id']}'")["totalSize"] == 0
    assert sf.query(f"SELECT COUNT() FROM ContentDocumentLink WHERE LinkedEntityId = '{acc}'")["totalSize"] == 0


# --- faults, stats, limits --------------------------------------------------------------------------

def test_fault_injection_raw(sandbox: SandboxHandle) -> None:
    s = client_session(sandbox)
    url = f"{sandbox.url}/services/data/v59.0/limits/"
    headers = {"Authorization": f"Bearer {get_token(sandbox)}"}

    sandbox.set_faults(throttle_rate=1.0, seed=1)
    r = s.get(url, headers=headers)
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert r.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"

    sandbox.set_faults(error_5xx_rate=1.0, seed=2)
    statuses = {s.get(url, headers=headers).status_code for _ in range(8)}
    assert statuses <= {500, 503} and 503 in statuses

    sandbox.set_faults(drop_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        s.get(url, headers=headers)

    sandbox.set_faults(expire_session_rate=1.0)
    r = s.get(url, headers=headers)
    assert r.status_code == 401 and r.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    sandbox.clear_faults()
    assert s.get(url, headers=headers).status_code == 401  # the token was invalidated
    assert s.post(sandbox.token_url, data={"grant_type": "client_credentials",
                                           "client_id": sandbox.credentials["client_id"],
                                           "client_secret": sandbox.credentials["client_secret"]}).status_code == 200
    faults = sandbox.stats()["faults_injected"]
    assert faults["throttle"] >= 1 and faults["drop"] >= 1 and faults["expire_session"] >= 1


def test_error_after_commit_and_stats(sandbox: SandboxHandle, sf: Salesforce) -> None:
    sandbox.reset_stats()
    sandbox.set_faults(error_after_commit_rate=1.0)
    s = client_session(sandbox)
    r = s.post(f"{sandbox.url}/services/data/v59.0/sobjects/Account/", json={"Name": "Committed anyway"},
               headers={"Authorization": f"Bearer {sf.session_id}"})
    assert r.status_code == 500
    sandbox.clear_faults()
    assert sf.query("SELECT COUNT() FROM Account WHERE Name = 'Committed anyway'")["totalSize"] == 1
    acc = sf.Account.create({"Name": "Counted"})["id"]
    sf.Account.update(acc, {"Name": "Counted 2"})
    sf.Account.delete(acc)
    stats = sandbox.stats()
    assert stats["writes"] == {"created": 2, "updated": 1, "deleted": 1}
    assert stats["requests"] >= 5 and stats["api_usage_today"] > 0


def test_daily_limit(sandbox: SandboxHandle, sf: Salesforce) -> None:
    used = sandbox.stats()["api_usage_today"]
    sandbox.configure(daily_api_limit=used + 1)
    try:
        sf.query("SELECT COUNT() FROM Account")
        r = client_session(sandbox).get(f"{sandbox.url}/services/data/v59.0/limits/",
                                        headers={"Authorization": f"Bearer {sf.session_id}"})
        assert r.status_code == 403 and r.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    finally:
        sandbox.configure(daily_api_limit=100_000)


# --- persistence ----------------------------------------------------------------------------------------

def test_data_survives_restart(tmp_path) -> None:
    with start_sandbox("salesforce", tmp_path / "sb") as first:
        sf = connect(first)
        _ensure_field(sf, "Account.Source_System_ID__c", EXT)
        acc = sf.Account.create({"Name": "Persistent", "Source_System_ID__c": "P-1"})["id"]
        creds = dict(first.credentials)
        assert SandboxHandle.attach(tmp_path / "sb").url == first.url
    assert SandboxHandle.attach(tmp_path / "sb") is None
    with start_sandbox("salesforce", tmp_path / "sb") as second:
        assert second.credentials == creds
        sf = connect(second)
        assert sf.Account.get_by_custom_id("Source_System_ID__c", "P-1")["Id"] == acc
        assert sf.Account.create({"Name": "After restart"})["id"] != acc
