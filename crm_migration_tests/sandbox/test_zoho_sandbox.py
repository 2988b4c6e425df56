"""The Zoho sandbox over raw HTTPS with a verified session: OAuth, enforcement and Zoho's error shapes,
limits and throttling, Bulk Write end to end, attachments, persistence across a restart."""

from __future__ import annotations

import csv
import io
import secrets
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from crm_migration.sandbox import SandboxHandle, start_sandbox

pytestmark = pytest.mark.integration

V8 = "/crm/v8"


def _token(sandbox: SandboxHandle, **form) -> dict:
    creds = sandbox.credentials
    body = {"grant_type": "refresh_token", "client_id": creds["client_id"], "client_secret": creds["client_secret"],
            "refresh_token": creds["refresh_token"], **form}
    resp = sandbox.client_session().post(f"{sandbox.url}/oauth/v2/token", data={k: v for k, v in body.items() if v is not None})
    assert resp.status_code == 200
    return resp.json()


class Api:
    """A verified session with a fresh access token; ``call`` returns (status, JSON or None)."""

    def __init__(self, sandbox: SandboxHandle):
        self.sandbox = sandbox
        self.session = sandbox.client_session()
        self.session.headers["Authorization"] = "Zoho-oauthtoken " + _token(sandbox)["access_token"]

    def call(self, method: str, path: str, **kw):
        resp = self.session.request(method, self.sandbox.url + path, timeout=30, **kw)
        return resp.status_code, (resp.json() if resp.content and "json" in resp.headers.get("content-type", "") else None)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    handle = start_sandbox("zoho", tmp_path_factory.mktemp("zoho"))
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def api(sandbox) -> Api:
    api = Api(sandbox)
    status, body = api.call("POST", f"{V8}/settings/fields", params={"module": "Contacts"}, json={"fields": [
        {"field_label": "Source System ID", "api_name": "Source_System_ID", "data_type": "text", "length": 64,
         "unique": {"casesensitive": "false"}},
        {"field_label": "Hobbies", "data_type": "multiselectpicklist",
         "pick_list_values": [{"display_value": "Chess"}, {"display_value": "Golf"}]}]})
    assert status == 201 and [f["code"] for f in body["fields"]] == ["SUCCESS", "SUCCESS"], body
    return api


@pytest.fixture(autouse=True)
def _clean_faults(sandbox):
    sandbox.clear_faults()
    yield
    sandbox.clear_faults()


def test_oauth_grants_and_refusals(sandbox):
    token = _token(sandbox)
    assert token["token_type"] == "Bearer" and token["api_domain"] == sandbox.url and token["expires_in"] == 3600
    assert token["access_token"].startswith("1000.")
    assert "access_token" in _token(sandbox, grant_type="client_credentials", refresh_token=None, scope="ZohoCRM.modules.ALL")
    # Refused credentials are drawn at random, never written down.
    assert _token(sandbox, client_secret=secrets.token_hex(21)) == {"error": "invalid_client_secret"}
    assert _token(sandbox, refresh_token=f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}") == {"error": "invalid_code"}
    assert _token(sandbox, client_id="1000.OTHER") == {"error": "invalid_client"}
    assert _token(sandbox, grant_type="password") == {"error": "unsupported_grant_type"}

    session = sandbox.client_session()
    anonymous = session.get(f"{sandbox.url}{V8}/Leads", params={"fields": "Last_Name"})
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "AUTHENTICATION_FAILURE"
    forged = session.get(f"{sandbox.url}{V8}/Leads", params={"fields": "Last_Name"},
                         headers={"Authorization": "Zoho-oauthtoken 1000.forged.token"})
    assert forged.status_code == 401 and forged.json() == {"code": "INVALID_TOKEN", "details": {},
                                                           "message": "invalid oauth token", "status": "error"}


def test_access_tokens_expire(sandbox):
    sandbox.configure(access_token_ttl_seconds=1)
    try:
        short = Api(sandbox)
        assert short.call("GET", f"{V8}/users", params={"type": "CurrentUser"})[0] == 200
        time.sleep(1.1)
        status, body = short.call("GET", f"{V8}/users", params={"type": "CurrentUser"})
        assert (status, body["code"]) == (401, "INVALID_TOKEN")
    finally:
        sandbox.configure(access_token_ttl_seconds=3600)
    assert Api(sandbox).call("GET", f"{V8}/users", params={"type": "CurrentUser"})[0] == 200


def test_writes_are_enforced_with_zohos_error_shapes(api, sandbox):
    status, body = api.call("POST", f"{V8}/Accounts", json={"data": [{"Account_Name": "Enforced Ltd"}]})
    assert status == 201
    account = body["data"][0]["details"]["id"]
    inactive = sandbox.add_users([{"email": "left@example.com", "last_name": "Left", "status": "disabled"}])[0]
    records = [
        {"Last_Name": "Valid", "Account_Name": {"id": account}, "Email": "v@example.com", "Hobbies": ["Chess"]},
        {"First_Name": "No last name"},
        {"Last_Name": "Bad email", "Email": "not-an-email"},
        {"Last_Name": "x" * 81},
        {"Last_Name": "Bad pick", "Lead_Source": "Carrier pigeon"},
        {"Last_Name": "Bad multi", "Hobbies": ["Chess", "Knitting"]},
        {"Last_Name": "Orphan", "Account_Name": {"id": "1234567000000999999"}},
        {"Last_Name": "Inactive owner", "Owner": {"id": inactive}},
        {"Last_Name": "Bad date", "Date_of_Birth": "03/05/1980"},
        {"Last_Name": "Multi as text", "Hobbies": "Chess"},
    ]
    status, body = api.call("POST", f"{V8}/Contacts", json={"data": records})
    assert status == 207
    answers = body["data"]
    assert answers[0]["code"] == "SUCCESS" and answers[0]["status"] == "success" and answers[0]["message"] == "record added"
    assert answers[1] == {"code": "MANDATORY_NOT_FOUND", "details": {"api_name": "Last_Name", "json_path": "$.data[1].Last_Name"},
                          "message": "required field not found", "status": "error"}
    by_index = {i: (a["code"], a["details"].get("api_name")) for i, a in enumerate(answers)}
    assert by_index[2] == ("INVALID_DATA", "Email") and answers[2]["details"]["expected_data_type"] == "email"
    assert by_index[3] == ("INVALID_DATA", "Last_Name") and answers[3]["details"]["maximum_length"] == 80
    assert by_index[4] == ("INVALID_DATA", "Lead_Source") and by_index[5] == ("INVALID_DATA", "Hobbies")
    assert by_index[6] == ("INVALID_DATA", "Account_Name") and by_index[7] == ("INVALID_DATA", "Owner")
    assert by_index[8] == ("INVALID_DATA", "Date_of_Birth") and by_index[9] == ("INVALID_DATA", "Hobbies")

    status, body = api.call("POST", f"{V8}/Contacts", json={"data": [{"First_Name": "x"}]})
    assert status == 400 and body["data"][0]["code"] == "MANDATORY_NOT_FOUND"
    status, body = api.call("POST", f"{V8}/Contacts", json={"data": [{"Last_Name": str(i)} for i in range(101)]})
    assert status == 400 and body["code"] == "LIMIT_EXCEEDED"
    status, body = api.call("POST", f"{V8}/No_Such_Module", json={"data": [{"Name": "x"}]})
    assert status == 400 and body["code"] == "INVALID_MODULE"
    status, body = api.call("GET", f"{V8}/Contacts")
    assert status == 400 and body == {"code": "REQUIRED_PARAM_MISSING", "details": {"param": "fields"},
                                      "message": "One of the expected parameter is missing", "status": "error"}


def test_upsert_by_duplicate_check_field_and_unique_fields(api):
    row = {"Source_System_ID": "LT-1", "Last_Name": "Upserted"}
    status, body = api.call("POST", f"{V8}/Contacts/upsert", json={"data": [row], "duplicate_check_fields": ["Source_System_ID"]})
    first = body["data"][0]
    assert status == 201 and (first["action"], first["duplicate_field"]) == ("insert", None)
    status, body = api.call("POST", f"{V8}/Contacts/upsert", json={"data": [{**row, "Last_Name": "Again"}],
                                                                   "duplicate_check_fields": ["Source_System_ID"]})
    second = body["data"][0]
    assert (second["action"], second["duplicate_field"], second["message"]) == ("update", "Source_System_ID", "record updated")
    assert second["details"]["id"] == first["details"]["id"]
    status, body = api.call("POST", f"{V8}/Contacts", json={"data": [{"Source_System_ID": "lt-1", "Last_Name": "Dup"}]})
    dup = body["data"][0]
    assert status == 400 and dup["code"] == "DUPLICATE_DATA" and dup["details"]["api_name"] == "Source_System_ID"
    assert dup["details"]["duplicate_record"]["id"] == first["details"]["id"]
    status, body = api.call("PUT", f"{V8}/Contacts", json={"data": [{"id": "1234567000000999999", "Last_Name": "Ghost"}]})
    assert status == 400 and body["data"][0]["code"] == "INVALID_DATA" and body["data"][0]["details"]["api_name"] == "id"
    status, body = api.call("PUT", f"{V8}/Contacts", json={"data": [{"id": first["details"]["id"], "Last_Name": None}]})
    assert body["data"][0]["code"] == "MANDATORY_NOT_FOUND"


def test_reads_pages_search_and_coql(api):
    rows = [{"Source_System_ID": f"READ-{i}", "Last_Name": f"O'Reader, {i}", "Lead_Source": "Cold Call" if i % 2 else "Trade Show"}
            for i in range(7)]
    status, body = api.call("POST", f"{V8}/Contacts", json={"data": rows})
    assert status == 201
    ids = [a["details"]["id"] for a in body["data"]]
    status, one = api.call("GET", f"{V8}/Contacts/{ids[0]}")
    assert status == 200 and one["data"][0]["Last_Name"] == "O'Reader, 0" and one["data"][0]["Owner"]["email"]
    status, page = api.call("GET", f"{V8}/Contacts", params={"fields": "Last_Name", "ids": ",".join(ids[:3])})
    assert [r["id"] for r in page["data"]] == ids[:3] and set(page["data"][0]) == {"Last_Name", "id"}

    seen, params = [], {"fields": "Source_System_ID", "per_page": 3}
    while True:
        status, page = api.call("GET", f"{V8}/Contacts", params=params)
        seen += [r["Source_System_ID"] for r in page["data"]]
        if not page["info"]["more_records"]:
            break
        params = {"fields": "Source_System_ID", "per_page": 3, "page_token": page["info"]["next_page_token"]}
    assert [s for s in seen if s and s.startswith("READ-")] == [f"READ-{i}" for i in range(7)]

    status, found = api.call("GET", f"{V8}/Contacts/search",
                             params={"criteria": r"((Last_Name:equals:O'Reader\, 3)or(Source_System_ID:in:READ-5,READ-6))"})
    assert status == 200 and sorted(r["Source_System_ID"] for r in found["data"]) == ["READ-3", "READ-5", "READ-6"]
    assert api.call("GET", f"{V8}/Contacts/search", params={"criteria": "(Last_Name:equals:Nobody)"}) == (204, None)

    query = "select Last_Name, Lead_Source, Owner from Contacts where (Source_System_ID in ('READ-1', 'READ-2', 'READ-3') " \
            "and Lead_Source = 'cold call') order by Last_Name desc limit 10"
    status, result = api.call("POST", f"{V8}/coql", json={"select_query": query})
    assert status == 200 and [r["Last_Name"] for r in result["data"]] == ["O'Reader, 3", "O'Reader, 1"]
    assert set(result["data"][0]["Owner"]) == {"id"} and result["info"] == {"count": 2, "more_records": False}
    status, result = api.call("POST", f"{V8}/coql", json={"select_query": "select Last_Name from Contacts where Last_Name = 'O''Reader, 4'"})
    assert [r["Last_Name"] for r in result["data"]] == ["O'Reader, 4"]
    status, result = api.call("POST", f"{V8}/coql", json={"select_query": "select Nope from Contacts where id is not null"})
    assert (status, result["code"]) == (400, "INVALID_QUERY")
    status, result = api.call("POST", f"{V8}/coql", json={"select_query": "select Last_Name from Contacts where Last_Name =="})
    assert (status, result["code"]) == (400, "SYNTAX_ERROR")
    many = ", ".join(f"'{i}'" for i in range(101))
    status, result = api.call("POST", f"{V8}/coql", json={"select_query": f"select id from Contacts where id in ({many})"})
    assert (status, result["code"]) == (400, "LIMIT_EXCEEDED")

    status, deleted = api.call("DELETE", f"{V8}/Contacts", params={"ids": f"{ids[6]},1234567000000999999"})
    assert status == 207 and [d["status"] for d in deleted["data"]] == ["success", "error"]
    assert api.call("GET", f"{V8}/Contacts/{ids[6]}") == (204, None)


def test_metadata_users_and_org(api, sandbox):
    status, modules = api.call("GET", f"{V8}/settings/modules")
    assert {"Leads", "Contacts", "Accounts", "Deals", "Tasks", "Events", "Calls", "Notes"} <= {m["api_name"] for m in modules["modules"]}
    status, fields = api.call("GET", f"{V8}/settings/fields", params={"module": "Deals"})
    by_name = {f["api_name"]: f for f in fields["fields"]}
    assert by_name["Stage"]["system_mandatory"] and "Closed Won" in [v["actual_value"] for v in by_name["Stage"]["pick_list_values"]]
    assert by_name["Account_Name"]["lookup"]["module"]["api_name"] == "Accounts"
    status, fields = api.call("GET", f"{V8}/settings/fields", params={"module": "Tasks"})
    assert {f["api_name"]: f for f in fields["fields"]}["What_Id"]["lookup"]["module"]["api_name"] == "se_module"

    sandbox.add_users([{"email": f"user{i}@example.com", "last_name": f"User {i}", "status": "active" if i % 3 else "disabled"}
                       for i in range(5)])
    status, active = api.call("GET", f"{V8}/users", params={"type": "ActiveUsers", "per_page": 2})
    assert active["info"]["more_records"] and len(active["users"]) == 2
    status, everyone = api.call("GET", f"{V8}/users", params={"type": "AllUsers"})
    statuses = {u["email"]: u["status"] for u in everyone["users"]}
    assert statuses["user0@example.com"] == "disabled" and statuses["user1@example.com"] == "active"
    status, org = api.call("GET", f"{V8}/org")
    assert status == 200 and org["org"][0]["zgid"]


def test_faults_throttling_credits_and_concurrency(api, sandbox):
    sandbox.set_faults(throttle_rate=1.0, retry_after=7)
    status, body = api.call("GET", f"{V8}/users")
    resp = api.session.get(f"{sandbox.url}{V8}/users")
    assert (status, body["code"], resp.headers["Retry-After"]) == (429, "TOO_MANY_REQUESTS", "7")
    sandbox.set_faults(error_5xx_rate=1.0, seed=3)
    assert api.call("GET", f"{V8}/users")[0] in (500, 503)
    sandbox.set_faults(drop_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        api.call("GET", f"{V8}/users")
    victim = Api(sandbox)
    sandbox.set_faults(expire_session_rate=1.0)
    assert victim.call("GET", f"{V8}/users")[1]["code"] == "INVALID_TOKEN"
    sandbox.clear_faults()
    assert victim.call("GET", f"{V8}/users")[1]["code"] == "INVALID_TOKEN", "an expired token stays expired"
    assert sandbox.stats()["faults_injected"]["throttle"] >= 2

    sandbox.set_faults(slow_ms=400)
    sandbox.configure(concurrency_limit=2)
    try:
        with ThreadPoolExecutor(5) as pool:
            answers = list(pool.map(lambda _: Api(sandbox).call("GET", f"{V8}/users"), range(5)))
    finally:
        sandbox.configure(concurrency_limit=20)
        sandbox.clear_faults()
    codes = [body.get("code") if status == 429 else status for status, body in answers]
    assert codes.count(200) >= 1 and "TOO_MANY_REQUESTS" in codes, codes

    used = sandbox.stats()["api_credits_used_today"]
    sandbox.configure(daily_api_credits=used + 2)
    try:
        assert api.call("GET", f"{V8}/users")[0] == 200
        status, body = api.call("POST", f"{V8}/Contacts", json={"data": [{"Last_Name": f"Credit {i}"} for i in range(30)]})
        assert (status, body["code"]) == (429, "LIMIT_EXCEEDED")
    finally:
        sandbox.configure(daily_api_credits=100_000)


def _zip_csv(rows: list[list[str]]) -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("contacts.csv", text.getvalue())
    return buffer.getvalue()


def test_bulk_write_job_end_to_end(api, sandbox):
    status, org = api.call("GET", f"{V8}/org")
    zgid = org["org"][0]["zgid"]
    status, account = api.call("POST", f"{V8}/Accounts", json={"data": [{"Account_Name": "Bulk Parent"}]})
    account_id = account["data"][0]["details"]["id"]
    api.call("POST", f"{V8}/Contacts", json={"data": [{"Source_System_ID": "BW-0", "Last_Name": "Before"}]})
    rows = [["Source_System_ID", "Last_Name", "Account_Name", "Hobbies", "Date_of_Birth"],
            ["BW-0", "Updated", account_id, "Chess;Golf", "1980-02-29"],
            ["BW-1", "Added", "", "", ""],
            ["BW-2", "", "", "", ""],
            ["BW-3", "Bad lookup", "1234567000000999999", "", "1980-13-01"]]

    def upload(data: bytes, **headers):
        hdrs = {"feature": "bulk-write", "X-CRM-ORG": zgid, **headers}
        return api.call("POST", f"{V8}/upload", headers=hdrs, files={"file": ("contacts.zip", data, "application/zip")})

    assert upload(_zip_csv(rows), **{"X-CRM-ORG": "1"})[1]["code"] == "INVALID_ORG"
    assert upload(b"not a zip")[1]["code"] == "INVALID_FILE_FORMAT"
    status, uploaded = upload(_zip_csv(rows))
    assert (status, uploaded["code"]) == (200, "FILE_UPLOAD_SUCCESS")
    job_body = {"operation": "upsert", "ignore_empty": True, "resource": [{
        "type": "data", "module": {"api_name": "Contacts"}, "file_id": uploaded["details"]["file_id"],
        "find_by": "Source_System_ID", "field_mappings": [
            {"api_name": "Source_System_ID", "index": 0}, {"api_name": "Last_Name", "index": 1},
            {"api_name": "Account_Name", "index": 2, "find_by": "id"}, {"api_name": "Hobbies", "index": 3},
            {"api_name": "Date_of_Birth", "index": 4}]}]}
    status, created = api.call("POST", "/crm/bulk/v8/write", json=job_body)
    assert status == 201 and created["code"] == "SUCCESS"
    job_id = created["details"]["id"]
    deadline = time.monotonic() + 20
    while (job := api.call("GET", f"/crm/bulk/v8/write/{job_id}")[1])["status"] != "COMPLETED":
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
    assert job["resource"][0]["file"] | {"name": None} == {"status": "COMPLETED", "name": None, "added_count": 1,
                                                          "skipped_count": 2, "updated_count": 1, "total_count": 4}
    result = api.session.get(job["result"]["download_url"])
    assert result.status_code == 200 and result.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(result.content)) as zf:
        (name,) = zf.namelist()
        lines = list(csv.reader(io.StringIO(zf.read(name).decode())))
    assert lines[0] == ["Source_System_ID", "Last_Name", "Account_Name", "STATUS", "RECORD_ID", "ERRORS"]
    assert [line[3] for line in lines[1:]] == ["UPDATED", "ADDED", "SKIPPED", "SKIPPED"]
    assert lines[3][5] == "MANDATORY_NOT_FOUND-Last_Name" and lines[4][5] == "INVALID_DATA-Account_Name"
    status, back = api.call("POST", f"{V8}/coql", json={"select_query": "select Last_Name, Account_Name, Hobbies from Contacts "
                                                                       "where Source_System_ID in ('BW-0', 'BW-1') order by Last_Name"})
    assert [(r["Last_Name"], (r["Account_Name"] or {}).get("id"), r["Hobbies"]) for r in back["data"]] == \
        [("Added", None, None), ("Updated", account_id, ["Chess", "Golf"])]

    sandbox.configure(bulk_write_max_records=3)
    try:
        assert upload(_zip_csv(rows))[1]["code"] == "LIMIT_EXCEEDED"
    finally:
        sandbox.configure(bulk_write_max_records=25_000)
    status, body = api.call("POST", "/crm/bulk/v8/write", json={**job_body, "resource": [{**job_body["resource"][0], "find_by": "Last_Name"}]})
    assert (status, body["code"], body["details"]["api_name"]) == (400, "INVALID_DATA", "find_by")


def test_attachments_and_the_size_limit(api, sandbox):
    status, body = api.call("POST", f"{V8}/Contacts", json={"data": [{"Last_Name": "Has files"}]})
    contact = body["data"][0]["details"]["id"]
    sandbox.configure(max_attachment_bytes=1000)
    try:
        status, body = api.call("POST", f"{V8}/Contacts/{contact}/Attachments", files={"file": ("ok.txt", b"x" * 1000)})
        assert status == 200 and body["data"][0]["code"] == "SUCCESS"
        att = body["data"][0]["details"]["id"]
        status, body = api.call("POST", f"{V8}/Contacts/{contact}/Attachments", files={"file": ("big.bin", b"x" * 1001)})
        assert (status, body["code"]) == (400, "FILE_SIZE_MORE_THAN_ALLOWED_SIZE")
    finally:
        sandbox.configure(max_attachment_bytes=20 * 1024 * 1024)
    status, listed = api.call("GET", f"{V8}/Contacts/{contact}/Attachments", params={"fields": "File_Name,Size,Parent_Id"})
    assert [(a["File_Name"], a["Size"], a["Parent_Id"]["id"]) for a in listed["data"]] == [("ok.txt", "1000", contact)]
    download = api.session.get(f"{sandbox.url}{V8}/Contacts/{contact}/Attachments/{att}")
    assert download.content == b"x" * 1000 and 'filename="ok.txt"' in download.headers["content-disposition"]
    assert api.call("GET", f"{V8}/Contacts/{contact}/Attachments")[1]["code"] == "REQUIRED_PARAM_MISSING"
    status, gone = api.call("DELETE", f"{V8}/Contacts/{contact}/Attachments/{att}")
    assert gone["data"][0]["status"] == "success"
    assert api.call("GET", f"{V8}/Contacts/{contact}/Attachments", params={"fields": "File_Name"}) == (204, None)


def test_notes_with_a_polymorphic_parent(api):
    status, body = api.call("POST", f"{V8}/Leads", json={"data": [{"Last_Name": "Noted", "Company": "N Co"}]})
    lead = body["data"][0]["details"]["id"]
    status, body = api.call("POST", f"{V8}/Notes", json={"data": [
        {"Note_Content": "v8 parent", "Parent_Id": {"module": {"api_name": "Leads"}, "id": lead}},
        {"Note_Content": "se_module parent", "Parent_Id": lead, "$se_module": "Leads"},
        {"Note_Content": "no module", "Parent_Id": lead},
        {"Note_Content": "wrong module", "Parent_Id": {"module": {"api_name": "Contacts"}, "id": lead}}]})
    assert [a["code"] for a in body["data"]] == ["SUCCESS", "SUCCESS", "MANDATORY_NOT_FOUND", "INVALID_DATA"]
    status, notes = api.call("POST", f"{V8}/coql", json={"select_query": f"select Note_Content, Parent_Id from Notes where Parent_Id = '{lead}'"})
    assert sorted(n["Note_Content"] for n in notes["data"]) == ["se_module parent", "v8 parent"]
    assert notes["data"][0]["Parent_Id"] == {"id": lead, "module": {"api_name": "Leads"}}


def test_state_survives_a_restart(tmp_path):
    with start_sandbox("zoho", tmp_path) as first:
        api = Api(first)
        api.call("POST", f"{V8}/settings/fields", params={"module": "Leads"},
                 json={"fields": [{"field_label": "Legacy Id", "data_type": "text", "unique": {"casesensitive": "false"}}]})
        status, body = api.call("POST", f"{V8}/Leads", json={"data": [{"Last_Name": "Durable", "Company": "D", "Legacy_Id": "L1"}]})
        lead = body["data"][0]["details"]["id"]
        user = first.add_users([{"email": "kept@example.com", "last_name": "Kept"}])[0]
        first.configure(max_attachment_bytes=1234)
        credentials, ca = first.credentials, first.ca_file.read_bytes()
    with start_sandbox("zoho", tmp_path) as second:
        assert second.credentials == credentials and second.ca_file.read_bytes() == ca
        again = Api(second)
        status, body = again.call("GET", f"{V8}/Leads/{lead}")
        assert body["data"][0]["Legacy_Id"] == "L1"
        status, body = again.call("POST", f"{V8}/Leads", json={"data": [{"Last_Name": "Clash", "Company": "D", "Legacy_Id": "l1"}]})
        assert body["data"][0]["code"] == "DUPLICATE_DATA", "the unique field and its index survive"
        assert any(u["id"] == user for u in second.admin("GET", "users"))
        assert second.admin("GET", "config")["max_attachment_bytes"] == 1234
        status, body = again.call("POST", f"{V8}/Leads", json={"data": [{"Last_Name": "New", "Company": "D"}]})
        assert int(body["data"][0]["details"]["id"]) > int(lead), "ids keep counting"
