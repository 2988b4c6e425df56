"""The Dataverse sandbox driven by the real msal and plain requests over verified HTTPS (no mocks)."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import uuid

import msal
import pytest
import requests

from crm_migration.sandbox import SandboxHandle, start_sandbox

pytestmark = pytest.mark.integration

API = "/api/data/v9.2"


def _app(sandbox: SandboxHandle, secret: str | None = None, **kw) -> msal.ConfidentialClientApplication:
    c = sandbox.credentials
    kw.setdefault("instance_discovery", False)
    return msal.ConfidentialClientApplication(c["client_id"], client_credential=secret or c["client_secret"],
                                              authority=f"{sandbox.url}/{c['tenant_id']}",
                                              http_client=sandbox.client_session(), **kw)


def _token(sandbox: SandboxHandle) -> str:
    result = _app(sandbox).acquire_token_for_client([f"{sandbox.url}/.default"])
    return result["access_token"]


def _claims(token: str) -> dict:
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


class Api:
    """A bearer-token session against the Web API."""

    def __init__(self, sandbox: SandboxHandle) -> None:
        self.sandbox = sandbox
        self.session = sandbox.client_session()
        self.session.headers.update({"Authorization": f"Bearer {_token(sandbox)}", "Accept": "application/json",
                                     "OData-Version": "4.0", "OData-MaxVersion": "4.0"})

    def __call__(self, method: str, path: str, **kw) -> requests.Response:
        return self.session.request(method, f"{self.sandbox.url}{API}/{path}", timeout=30, **kw)

    def create(self, entity_set: str, body: dict) -> str:
        resp = self("POST", entity_set, json=body)
        assert resp.status_code == 204, resp.text
        return resp.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")


def _error(resp: requests.Response) -> tuple[int, str]:
    return resp.status_code, resp.json()["error"]["code"]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    handle = start_sandbox("dataverse", tmp_path_factory.mktemp("dataverse-sandbox"))
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture()
def api(sandbox: SandboxHandle) -> Api:
    sandbox.clear_faults()
    return Api(sandbox)


@pytest.fixture(scope="module")
def keyed(sandbox: SandboxHandle) -> None:
    """account.crm_sourcesystemid with an alternate key, as an admin would add it."""
    api = Api(sandbox)
    label = {"LocalizedLabels": [{"Label": "Source System ID", "LanguageCode": 1033}]}
    resp = api("POST", "EntityDefinitions(LogicalName='account')/Attributes", json={
        "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", "SchemaName": "crm_SourceSystemId",
        "DisplayName": label, "MaxLength": 64, "FormatName": {"Value": "Text"}, "RequiredLevel": {"Value": "None"}})
    assert resp.status_code == 204, resp.text
    resp = api("POST", "EntityDefinitions(LogicalName='account')/Keys", json={
        "SchemaName": "crm_sourcesystemid_key", "DisplayName": label, "KeyAttributes": ["crm_sourcesystemid"]})
    assert resp.status_code == 204, resp.text


# --- identity ----------------------------------------------------------------------------------------


def test_msal_acquires_tokens_through_discovery(sandbox: SandboxHandle) -> None:
    c = sandbox.credentials
    result = _app(sandbox).acquire_token_for_client([f"{sandbox.url}/.default"])
    claims = _claims(result["access_token"])
    assert result["token_type"] == "Bearer" and result["expires_in"] == 3600
    assert claims["aud"] == sandbox.url and claims["appid"] == c["client_id"] and claims["tid"] == c["tenant_id"]
    assert claims["exp"] - claims["iat"] == 3600

    # The instance discovery msal performs by default, pointed at the sandbox's own endpoint.
    via_discovery = _app(sandbox, instance_discovery=f"{sandbox.url}/common/discovery/instance")
    assert "access_token" in via_discovery.acquire_token_for_client([f"{sandbox.url}/.default"])
    doc = sandbox.client_session().get(f"{sandbox.url}/{c['tenant_id']}/v2.0/.well-known/openid-configuration").json()
    assert doc["token_endpoint"] == f"{sandbox.url}/{c['tenant_id']}/oauth2/v2.0/token"

    refused_secret = secrets.token_urlsafe(30)  # drawn, never written down
    bad = _app(sandbox, secret=refused_secret).acquire_token_for_client([f"{sandbox.url}/.default"])
    assert bad["error"] == "invalid_client" and "AADSTS7000215" in bad["error_description"]
    assert refused_secret not in json.dumps(bad) and c["client_secret"] not in json.dumps(bad)
    wrong_resource = _app(sandbox).acquire_token_for_client(["https://elsewhere.crm.dynamics.com/.default"])
    assert wrong_resource["error"] == "invalid_resource"
    with pytest.raises(ValueError, match="Unable to get authority configuration"):
        msal.ConfidentialClientApplication(c["client_id"], client_credential=c["client_secret"],
                                           authority=f"{sandbox.url}/{uuid.uuid4()}",
                                           http_client=sandbox.client_session(), instance_discovery=False)


def test_expired_and_missing_tokens_get_401_with_a_challenge(sandbox: SandboxHandle) -> None:
    session = sandbox.client_session()
    missing = session.get(f"{sandbox.url}{API}/WhoAmI")
    assert missing.status_code == 401 and "invalid_token" in missing.headers["WWW-Authenticate"]
    sandbox.configure(token_ttl_seconds=1)
    try:
        token = _token(sandbox)
        headers = {"Authorization": f"Bearer {token}"}
        assert session.get(f"{sandbox.url}{API}/WhoAmI", headers=headers).status_code == 200
        time.sleep(1.2)
        expired = session.get(f"{sandbox.url}{API}/WhoAmI", headers=headers)
        assert expired.status_code == 401 and "expired" in expired.headers["WWW-Authenticate"]
    finally:
        sandbox.configure(token_ttl_seconds=3600)
    fresh = session.get(f"{sandbox.url}{API}/WhoAmI", headers={"Authorization": f"Bearer {_token(sandbox)}"})
    assert fresh.status_code == 200 and fresh.json()["UserId"]


# --- records ---------------------------------------------------------------------------------------------


def test_create_upsert_retrieve_delete(api: Api, keyed) -> None:
    created = api("POST", "accounts?$select=name,accountid", json={"name": "Fabrikam"},
                  headers={"Prefer": "return=representation"})
    assert created.status_code == 201 and created.json()["name"] == "Fabrikam"

    key = "accounts(crm_sourcesystemid='K-1')"
    first = api("PATCH", key + "?$select=accountid", json={"name": "Keyed"}, headers={"Prefer": "return=representation"})
    again = api("PATCH", key + "?$select=accountid", json={"name": "Keyed 2"}, headers={"Prefer": "return=representation"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["accountid"] == again.json()["accountid"]
    assert _error(api("PATCH", key, json={"name": "x"}, headers={"If-None-Match": "*"})) == (412, "0x80040237")
    assert _error(api("PATCH", "accounts(crm_sourcesystemid='K-404')", json={"name": "x"},
                      headers={"If-Match": "*"})) == (404, "0x80060891")
    assert api("GET", "accounts?$filter=crm_sourcesystemid eq 'K-404'").json()["value"] == []
    got = api("GET", key + "?$select=name,crm_sourcesystemid").json()
    assert got["name"] == "Keyed 2" and got["crm_sourcesystemid"] == "K-1"
    # Alternate keys compare like Dataverse's collation: case-insensitively.
    assert api("GET", "accounts(crm_sourcesystemid='k-1')?$select=name").json()["name"] == "Keyed 2"
    assert _error(api("GET", "accounts(crm_sourcesystemid='A/1')")) == (400, "0x80040203")

    rid = got["accountid"]
    stale = api("PATCH", f"accounts({rid})", json={"name": "x"}, headers={"If-Match": 'W/"1"'})
    assert _error(stale) == (412, "0x80060882")
    assert api("DELETE", f"accounts({rid})").status_code == 204
    assert _error(api("GET", f"accounts({rid})")) == (404, "0x80040217")
    assert _error(api("DELETE", f"accounts({rid})")) == (404, "0x80040217")


@pytest.mark.parametrize("entity_set,body,expected", [
    ("accounts", {"name": "x", "nosuchcolumn": 1}, (400, "0x80048d19")),
    ("accounts", {"name": "x", "numberofemployees": "many"}, (400, "0x80048d19")),
    ("accounts", {"name": "x" * 161}, (400, "0x80044331")),
    ("accounts", {"name": "x", "industrycode": 999}, (400, "0x80044331")),
    ("accounts", {"name": "x", "parentaccountid": "00000000-0000-0000-0000-000000000001"}, (400, "0x80048d19")),
    ("accounts", {"description": "no name"}, (400, "0x80040200")),
    ("accounts", {"name": "x", "parentaccountid@odata.bind": "/accounts(00000000-0000-0000-0000-000000000001)"},
     (404, "0x80040217")),
    ("accounts", {"name": "x", "statecode": 0, "statuscode": 2}, (400, "0x80044331")),
    ("contacts", {"lastname": "x", "fullname": "computed"}, (400, "0x80040203")),
    ("contacts", {"lastname": "x", "birthdate": "2024-02-30T10:00:00"}, (400, "0x80048d19")),
    ("lists", {"listname": "No type"}, (400, "0x80040200")),
    ("systemusers", {"lastname": "x", "domainname": "x@y"}, (403, "0x80040220")),
])
def test_writes_are_validated_with_dataverse_errors(api: Api, entity_set, body, expected) -> None:
    before = api("GET", f"{entity_set}?$count=true&$top=0").json()["@odata.count"]
    resp = api("POST", entity_set, json=body)
    assert _error(resp) == expected, resp.text
    assert set(resp.json()["error"]) == {"code", "message"} and resp.json()["error"]["message"]
    assert api("GET", f"{entity_set}?$count=true&$top=0").json()["@odata.count"] == before


def test_owner_must_be_enabled_and_keys_unique(api: Api, sandbox: SandboxHandle, keyed) -> None:
    enabled, disabled = sandbox.add_users([{"internalemailaddress": "on@example.com", "lastname": "On"},
                                           {"internalemailaddress": "off@example.com", "lastname": "Off", "isdisabled": True}])
    ok = api("POST", "accounts", json={"name": "Owned", "ownerid@odata.bind": f"/systemusers({enabled})"})
    assert ok.status_code == 204
    assert _error(api("POST", "accounts", json={"name": "Owned", "ownerid@odata.bind": f"/systemusers({disabled})"})) \
        == (400, "0x80040225")
    api.create("accounts", {"name": "Unique", "crm_sourcesystemid": "U-1"})
    assert _error(api("POST", "accounts", json={"name": "Dup", "crm_sourcesystemid": "u-1"})) == (412, "0x80060892")


def test_lookups_polymorphic_binds_and_annotations(api: Api, sandbox: SandboxHandle) -> None:
    account = api.create("accounts", {"name": "Parent"})
    contact = api.create("contacts", {"lastname": "Child", "parentcustomerid_account@odata.bind": f"/accounts({account})"})
    task = api.create("tasks", {"subject": "Call back", "regardingobjectid_contact_task@odata.bind": f"/contacts({contact})"})
    call = api.create("phonecalls", {"subject": "Intro", "phonenumber": "+44 20 7946 0000", "directioncode": True,
                                     "actualdurationminutes": 12, "regardingobjectid_account_phonecall@odata.bind":
                                     f"{sandbox.url}{API}/accounts({account})"})
    wrong = api("POST", "tasks", json={"subject": "x", "regardingobjectid_contact_task@odata.bind": f"/accounts({account})"})
    assert _error(wrong) == (400, "0x80048d19")

    prefer = {"Prefer": 'odata.include-annotations="*"'}
    got = api("GET", f"tasks({task})?$select=subject,_regardingobjectid_value,statecode", headers=prefer).json()
    assert got["_regardingobjectid_value"] == contact
    assert got["_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "contact"
    assert got["_regardingobjectid_value@OData.Community.Display.V1.FormattedValue"] == "Child"
    assert got["statecode@OData.Community.Display.V1.FormattedValue"] == "Open"
    plain = api("GET", f"phonecalls({call})?$select=_regardingobjectid_value,directioncode").json()
    assert plain["_regardingobjectid_value"] == account and plain["directioncode"] is True
    assert not any("@" in k and not k.startswith("@odata.") for k in plain)

    rels = api("GET", "EntityDefinitions(LogicalName='task')/ManyToOneRelationships").json()["value"]
    navs = {(r["ReferencingAttribute"], r["ReferencedEntity"]): r["ReferencingEntityNavigationPropertyName"] for r in rels}
    assert navs[("regardingobjectid", "contact")] == "regardingobjectid_contact_task"
    assert navs[("ownerid", "systemuser")] == "ownerid"

    content = b"%PDF-1.4 not really a pdf"
    note = api.create("annotations", {"subject": "Contract", "filename": "c.pdf", "mimetype": "application/pdf",
                                      "documentbody": base64.b64encode(content).decode(),
                                      "objectid_account@odata.bind": f"/accounts({account})"})
    got = api("GET", f"annotations({note})?$select=filesize,isdocument,objecttypecode,_objectid_value").json()
    assert (got["filesize"], got["isdocument"], got["objecttypecode"], got["_objectid_value"]) == (len(content), True,
                                                                                                    "account", account)
    sandbox.configure(max_upload_file_size=10)
    try:
        too_big = api("POST", "annotations", json={"documentbody": base64.b64encode(content).decode(), "filename": "x",
                                                   "objectid_account@odata.bind": f"/accounts({account})"})
        assert _error(too_big) == (400, "0x80043e09")
    finally:
        sandbox.configure(max_upload_file_size=5 * 1024 * 1024)

    # Deleting the account deletes its parental children and unlinks the rest.
    assert api("DELETE", f"accounts({account})").status_code == 204
    for path in (f"contacts({contact})", f"annotations({note})", f"phonecalls({call})"):
        assert api("GET", path).status_code == 404
    assert api("GET", f"tasks({task})").status_code == 404  # its regarding contact went with the account


def test_filter_select_and_paging(api: Api) -> None:
    tag = uuid.uuid4().hex[:8]
    for i in range(25):
        body = {"lastname": f"{tag}-{i:02d}", "firstname": "Ann" if i % 2 else None, "jobtitle": "CTO" if i < 5 else None}
        api.create("contacts", {k: v for k, v in body.items() if v is not None})
    base = f"startswith(lastname,'{tag}')"
    names = lambda resp: sorted(r["lastname"] for r in resp.json()["value"])  # noqa: E731
    inlist = api("GET", "contacts", params={"$select": "lastname", "$filter": f"Microsoft.Dynamics.CRM.In(PropertyName='lastname',"
                                            f"PropertyValues=['{tag}-01','{tag.upper()}-02','nobody'])"})
    assert names(inlist) == [f"{tag}-01", f"{tag}-02"]
    assert set(inlist.json()["value"][0]) == {"@odata.etag", "lastname", "contactid"}
    combo = api("GET", "contacts", params={"$select": "lastname", "$filter": f"{base} and (jobtitle eq 'CTO' or "
                                           f"lastname eq '{tag}-24') and firstname ne null"})
    assert names(combo) == [f"{tag}-01", f"{tag}-03"]
    nulls = api("GET", "contacts", params={"$filter": f"{base} and firstname eq null and not (jobtitle eq 'CTO')"})
    assert len(nulls.json()["value"]) == 10

    seen, url, pages = [], f"{api.sandbox.url}{API}/contacts", 0
    params = {"$select": "lastname", "$filter": base}
    while url:
        page = api.session.get(url, params=params, headers={"Prefer": "odata.maxpagesize=10"}).json()
        seen += [r["lastname"] for r in page["value"]]
        url, params, pages = page.get("@odata.nextLink"), None, pages + 1
    assert pages == 3 and sorted(seen) == sorted(f"{tag}-{i:02d}" for i in range(25))

    assert _error(api("GET", "contacts", params={"$filter": "nosuch eq 1"})) == (400, "0x80060888")
    assert _error(api("GET", "contacts", params={"$select": "parentcustomerid"})) == (400, "0x80060888")


# --- $batch ---------------------------------------------------------------------------------------------


def _batch_body(parts: list) -> tuple[str, bytes]:
    """parts: ("changeset", [(cid, method, path, body)]) or (method, path, body)."""
    boundary = f"batch_{uuid.uuid4().hex}"
    out = []

    def request(method: str, path: str, body: dict | None, cid: str | None = None) -> str:
        head = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
        if cid:
            head += f"Content-ID: {cid}\r\n"
        line = f"{method} {API}/{path} HTTP/1.1\r\nContent-Type: application/json\r\n\r\n"
        return head + "\r\n" + line + (json.dumps(body) if body is not None else "") + "\r\n"

    for part in parts:
        if part[0] == "changeset":
            cs = f"changeset_{uuid.uuid4().hex}"
            inner = "".join(f"--{cs}\r\n" + request(m, p, b, cid) for cid, m, p, b in part[1])
            out.append(f"--{boundary}\r\nContent-Type: multipart/mixed; boundary={cs}\r\n\r\n{inner}--{cs}--\r\n")
        else:
            out.append(f"--{boundary}\r\n" + request(*part))
    return boundary, ("".join(out) + f"--{boundary}--\r\n").encode()


def _statuses(resp: requests.Response) -> list[int]:
    import re

    return [int(s) for s in re.findall(rb"HTTP/1\.1 (\d{3})", resp.content)]


def test_batch_change_sets_are_atomic(api: Api, sandbox: SandboxHandle) -> None:
    tag = uuid.uuid4().hex[:8]
    parts = [
        ("changeset", [("1", "POST", "accounts", {"name": f"{tag} parent"}),
                       ("2", "POST", "contacts", {"lastname": f"{tag} child", "parentcustomerid_account@odata.bind": "$1"})]),
        ("changeset", [("1", "POST", "accounts", {"name": f"{tag} rolled back"}),
                       ("2", "POST", "accounts", {"description": "no name"})]),
        ("GET", f"accounts?$select=name&$filter=startswith(name,'{tag}')", None),
    ]
    boundary, body = _batch_body(parts)
    headers = {"Content-Type": f"multipart/mixed; boundary={boundary}"}
    stopped = api("POST", "$batch", data=body, headers=headers)
    assert stopped.status_code == 200 and _statuses(stopped) == [204, 204, 400]  # no continue-on-error: the GET never ran
    names = [a["name"] for a in api("GET", "accounts", params={"$filter": f"startswith(name,'{tag}')"}).json()["value"]]
    assert names == [f"{tag} parent"]
    child = api("GET", "contacts", params={"$filter": f"lastname eq '{tag} child'",
                                           "$select": "_parentcustomerid_value"}).json()["value"]
    assert len(child) == 1 and child[0]["_parentcustomerid_value"]

    boundary, body = _batch_body(parts[1:])
    went_on = api("POST", "$batch", data=body, headers={"Content-Type": f"multipart/mixed; boundary={boundary}",
                                                        "Prefer": "odata.continue-on-error"})
    assert _statuses(went_on) == [400, 200] and b"0x80040200" in went_on.content
    assert b"rolled back" not in went_on.content

    sandbox.configure(max_batch_requests=2)
    try:
        boundary, body = _batch_body([("GET", "WhoAmI", None)] * 3)
        assert _error(api("POST", "$batch", data=body, headers={"Content-Type": f"multipart/mixed; boundary={boundary}"})) \
            == (400, "0x8006088a")
    finally:
        sandbox.configure(max_batch_requests=1000)


# --- metadata -------------------------------------------------------------------------------------------


def test_metadata_describes_types_options_and_targets(api: Api, keyed) -> None:
    meta = api("GET", "EntityDefinitions(LogicalName='opportunity')?$select=EntitySetName,PrimaryIdAttribute"
                      "&$expand=Attributes").json()
    assert meta["EntitySetName"] == "opportunities" and meta["PrimaryIdAttribute"] == "opportunityid"
    attrs = {a["LogicalName"]: a for a in meta["Attributes"]}
    assert attrs["customerid"]["AttributeType"] == "Customer" and attrs["customerid"]["Targets"] == ["account", "contact"]
    assert attrs["name"]["RequiredLevel"]["Value"] == "ApplicationRequired" and attrs["name"]["MaxLength"] == 300
    assert attrs["estimatedclosedate"]["Format"] == "DateOnly" and not attrs["createdon"]["IsValidForCreate"]
    picklists = api("GET", "EntityDefinitions(LogicalName='opportunity')/Attributes/Microsoft.Dynamics.CRM."
                           "StatusAttributeMetadata?$select=LogicalName&$expand=OptionSet").json()["value"]
    options = {o["Value"]: (o["Label"]["UserLocalizedLabel"]["Label"], o["State"]) for o in picklists[0]["OptionSet"]["Options"]}
    assert options[3] == ("Won", 1) and options[2] == ("On Hold", 0)
    assert _error(api("GET", "EntityDefinitions(LogicalName='opportunity')/Attributes?$expand=OptionSet")) == (400, "0x80060888")
    assert _error(api("GET", "EntityDefinitions(LogicalName='nosuch')")) == (404, "0x80040217")

    no_prefix = api("POST", "EntityDefinitions(LogicalName='contact')/Attributes", json={
        "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", "SchemaName": "Tier", "MaxLength": 10})
    assert _error(no_prefix) == (400, "0x80040203")
    added = api("POST", "InsertOptionValue", json={"EntityLogicalName": "account", "AttributeLogicalName": "industrycode",
                                                   "Label": {"LocalizedLabels": [{"Label": "Space", "LanguageCode": 1033}]}})
    assert added.json()["NewOptionValue"] == 100_000_000
    assert api("POST", "accounts", json={"name": "Orbital", "industrycode": 100_000_000}).status_code == 204

    # A key over values the data already repeats fails, as Dataverse's index job does.
    for _ in range(2):
        api.create("accounts", {"name": "Twin", "accountnumber": "SAME"})
    resp = api("POST", "EntityDefinitions(LogicalName='account')/Keys", json={
        "SchemaName": "crm_accountnumber_key", "KeyAttributes": ["accountnumber"]})
    assert resp.status_code == 204
    keys = {k["SchemaName"]: k["EntityKeyIndexStatus"] for k in
            api("GET", "EntityDefinitions(LogicalName='account')/Keys").json()["value"]}
    assert keys == {"crm_sourcesystemid_key": "Active", "crm_accountnumber_key": "Failed"}


# --- limits and faults -------------------------------------------------------------------------------------


def test_service_protection_limits_answer_429(api: Api, sandbox: SandboxHandle) -> None:
    sandbox.configure(requests_per_window=3, window_seconds=60)
    try:
        answers = [api("GET", "WhoAmI") for _ in range(5)]
        assert [a.status_code for a in answers][-2:] == [429, 429]
        assert _error(answers[-1]) == (429, "0x80072322") and int(answers[-1].headers["Retry-After"]) > 0
    finally:
        sandbox.configure(requests_per_window=6000, window_seconds=300)
    sandbox.configure(max_concurrent_requests=1)
    sandbox.set_faults(slow_ms=400)
    try:
        results: list[requests.Response] = []
        threads = [threading.Thread(target=lambda: results.append(Api(sandbox)("GET", "WhoAmI"))) for _ in range(3)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        codes = sorted(r.status_code for r in results)
        assert codes[0] == 200 and 429 in codes
        assert any(r.status_code == 429 and _error(r)[1] == "0x80072326" for r in results)
    finally:
        sandbox.clear_faults()
        sandbox.configure(max_concurrent_requests=52)


def test_injected_faults(api: Api, sandbox: SandboxHandle) -> None:
    sandbox.set_faults(throttle_rate=1.0, retry_after=7)
    throttled = api("GET", "WhoAmI")
    assert _error(throttled) == (429, "0x80072322") and throttled.headers["Retry-After"] == "7"
    sandbox.set_faults(error_5xx_rate=1.0)
    assert api("GET", "WhoAmI").status_code in (500, 503)
    sandbox.set_faults(drop_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        api("GET", "WhoAmI")
    sandbox.set_faults(expire_session_rate=1.0)
    expired = api("GET", "WhoAmI")
    assert expired.status_code == 401 and "expired" in expired.headers["WWW-Authenticate"]
    sandbox.clear_faults()
    assert api("GET", "WhoAmI").status_code == 401  # that token stays revoked
    assert Api(sandbox)("GET", "WhoAmI").status_code == 200
    faults = sandbox.stats()["faults_injected"]
    assert {"throttle", "error_5xx", "drop", "expire_session"} <= set(faults)


def test_state_survives_a_restart(tmp_path) -> None:
    with start_sandbox("dataverse", tmp_path) as first:
        api = Api(first)
        rid = api.create("leads", {"lastname": "Persisted", "leadsourcecode": 8})
        attr = api("POST", "EntityDefinitions(LogicalName='lead')/Attributes", json={
            "@odata.type": "Microsoft.Dynamics.CRM.PicklistAttributeMetadata", "SchemaName": "crm_Tier",
            "OptionSet": {"Options": [{"Value": None, "Label": {"LocalizedLabels": [{"Label": "Gold", "LanguageCode": 1033}]}}]}})
        assert attr.status_code == 204
        api.session.close()  # an idle keep-alive connection would hold up the graceful shutdown
    with start_sandbox("dataverse", tmp_path) as second:
        again = Api(second)
        got = again("GET", f"leads({rid})?$select=lastname,leadsourcecode").json()
        assert (got["lastname"], got["leadsourcecode"]) == ("Persisted", 8)
        assert again("POST", "leads", json={"lastname": "Tiered", "crm_tier": 100_000_000}).status_code == 204
