"""The sandbox's notes, relations, campaigns, attachments, partner users and custom objects, driven by the
real simple-salesforce over verified HTTPS (no mocks)."""

from __future__ import annotations

import base64
import csv
import io
import time

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from crm_migration.sandbox import SandboxHandle
from crm_migration_tests.sandbox.conftest import client_session

pytestmark = pytest.mark.integration


def _codes(exc: Exception) -> list[str]:
    return [e["errorCode"] for e in exc.content]  # type: ignore[attr-defined]


def _b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def _body(sandbox: SandboxHandle, sf: Salesforce, url: str) -> bytes:
    resp = client_session(sandbox).get(f"{sandbox.url}{url}", headers={"Authorization": f"Bearer {sf.session_id}"})
    resp.raise_for_status()
    return resp.content


def _field(sf: Salesforce, full_name: str, metadata: dict) -> None:
    sf.toolingexecute("sobjects/CustomField/", method="POST", data={"FullName": full_name, "Metadata": metadata})


def _rows(sf: Salesforce, soql: str) -> list[dict]:
    return sf.query_all(soql)["records"]


# --- notes ----------------------------------------------------------------------------------------

def test_note_from_content_version_is_a_content_note(sandbox: SandboxHandle, sf: Salesforce) -> None:
    acc = sf.Account.create({"Name": "Noted"})["id"]
    body = "<p>Call back &amp; send the <b>price list</b></p>\n<p>Caf\u00e9 at 10</p>"
    cv = sf.ContentVersion.create({"Title": "Call notes", "PathOnClient": "Call notes.snote",
                                   "VersionData": _b64(body), "FirstPublishLocationId": acc})
    version = sf.ContentVersion.get(cv["id"])
    assert version["FileType"] == "SNOTE" and version["FileExtension"] == "snote"
    note_id = version["ContentDocumentId"]

    note = _rows(sf, f"SELECT Id, Title, Content, TextPreview, FileType, LatestPublishedVersionId, OwnerId, "
                     f"CreatedDate FROM ContentNote WHERE Id = '{note_id}'")[0]
    assert note["Title"] == "Call notes" and note["FileType"] == "SNOTE"
    assert note["LatestPublishedVersionId"] == cv["id"] and note["OwnerId"] and note["CreatedDate"]
    assert note["TextPreview"] == "Call back & send the price list Caf\u00e9 at 10"
    # Content is a base64 field: REST gives its URL; the bytes are the body without its line break
    assert note["Content"].endswith(f"/sobjects/ContentNote/{note_id}/Content")
    assert _body(sandbox, sf, note["Content"]).decode() == body.replace("\n", "")
    assert sf.ContentNote.get(note_id)["Title"] == "Call notes"
    link = _rows(sf, f"SELECT LinkedEntityId FROM ContentDocumentLink WHERE ContentDocumentId = '{note_id}'")
    assert [r["LinkedEntityId"] for r in link] == [acc]
    # files stay files: an ordinary version is not a note
    pdf = sf.ContentVersion.create({"PathOnClient": "a.pdf", "VersionData": _b64(b"%PDF-1.4")})
    pdf_doc = sf.ContentVersion.get(pdf["id"])["ContentDocumentId"]
    assert _rows(sf, f"SELECT Id FROM ContentNote WHERE Id = '{pdf_doc}'") == []


def test_content_note_direct_create_update_link_delete(sandbox: SandboxHandle, sf: Salesforce) -> None:
    lead = sf.Lead.create({"LastName": "Noteworthy", "Company": "N Co"})["id"]
    created = sf.ContentNote.create({"Title": "Visit", "Content": _b64("Met the owner &amp; the buyer")})
    note_id = created["id"]
    assert note_id.startswith("069")
    sf.ContentDocumentLink.create({"ContentDocumentId": note_id, "LinkedEntityId": lead, "ShareType": "V"})
    rows = _rows(sf, f"SELECT ContentDocumentId, ContentDocument.FileType FROM ContentDocumentLink "
                     f"WHERE LinkedEntityId = '{lead}'")
    assert rows[0]["ContentDocumentId"] == note_id and rows[0]["ContentDocument"]["FileType"] == "SNOTE"

    sf.ContentNote.update(note_id, {"Content": _b64("Second visit"), "Title": "Visits"})
    note = sf.ContentNote.get(note_id)
    assert note["Title"] == "Visits" and note["TextPreview"] == "Second visit"
    versions = _rows(sf, f"SELECT VersionNumber, IsLatest FROM ContentVersion WHERE ContentDocumentId = '{note_id}' "
                         f"ORDER BY VersionNumber")
    assert [(v["VersionNumber"], v["IsLatest"]) for v in versions] == [("1", False), ("2", True)]
    with pytest.raises(SalesforceMalformedRequest) as ro:
        sf.ContentNote.update(note_id, {"FileType": "PDF"})
    assert _codes(ro.value) == ["INVALID_FIELD_FOR_INSERT_UPDATE"]
    with pytest.raises(SalesforceMalformedRequest) as untitled:
        sf.ContentNote.create({"Title": "  ", "Content": _b64("x")})
    assert _codes(untitled.value) == ["REQUIRED_FIELD_MISSING"]

    sf.ContentNote.delete(note_id)
    assert _rows(sf, f"SELECT Id FROM ContentNote WHERE Id = '{note_id}'") == []
    assert _rows(sf, f"SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId = '{lead}'") == []


@pytest.mark.parametrize("body", ["Tom & Jerry", "a < b", "it&apos;s", "bell\x07", b"\xff\xfe"])
def test_note_content_must_be_escaped(sf: Salesforce, body) -> None:
    with pytest.raises(SalesforceMalformedRequest) as bad:
        sf.ContentNote.create({"Title": "Bad", "Content": _b64(body)})
    assert _codes(bad.value) == ["FIELD_INTEGRITY_EXCEPTION"]
    with pytest.raises(SalesforceMalformedRequest) as via_version:
        sf.ContentVersion.create({"PathOnClient": "bad.snote", "VersionData": _b64(body)})
    assert _codes(via_version.value) == ["FIELD_INTEGRITY_EXCEPTION"]


def test_note_size_limit(sandbox: SandboxHandle, sf: Salesforce) -> None:
    sandbox.configure(content_max_json_bytes=1000)
    try:
        with pytest.raises(SalesforceMalformedRequest) as big:
            sf.ContentNote.create({"Title": "Long", "Content": _b64("word " * 300)})
        assert _codes(big.value) == ["MAXIMUM_SIZE_OF_DOCUMENT"]
        assert sf.ContentNote.create({"Title": "Short", "Content": _b64("word " * 100)})["success"] is True
    finally:
        sandbox.configure(content_max_json_bytes=25 * 1024 * 1024)


def test_content_document_link_needs_a_filter_and_links_have_no_body(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as unfiltered:
        sf.query("SELECT Id FROM ContentDocumentLink")
    assert _codes(unfiltered.value) == ["MALFORMED_QUERY"]
    link = sf.ContentVersion.create({"Title": "Brochure", "ContentUrl": "https://files.example.com/brochure"})
    rec = sf.ContentVersion.get(link["id"])
    assert rec["FileType"] == "LINK" and rec["VersionData"] is None and rec["ContentSize"] is None


# --- EventRelation -----------------------------------------------------------------------------------

def test_event_relations(sf: Salesforce) -> None:
    acc = sf.Account.create({"Name": "Venue"})["id"]
    who = sf.Contact.create({"LastName": "Parent", "AccountId": acc})["id"]
    guest = sf.Contact.create({"LastName": "Guest"})["id"]
    lead = sf.Lead.create({"LastName": "Prospect", "Company": "P"})["id"]
    event = sf.Event.create({"Subject": "Demo", "StartDateTime": "2024-05-02T10:00:00Z",
                             "EndDateTime": "2024-05-02T11:30:00Z", "Location": "HQ", "WhoId": who, "WhatId": acc})["id"]
    ev = sf.Event.get(event)
    assert ev["DurationInMinutes"] == 90 and ev["IsAllDayEvent"] is False and ev["Location"] == "HQ"

    def relations() -> dict[str, dict]:
        return {r["RelationId"]: r for r in _rows(
            sf, f"SELECT RelationId, IsInvitee, IsParent, IsWhat, Status, AccountId FROM EventRelation "
                f"WHERE EventId = '{event}'")}

    rel = relations()
    assert (rel[who]["IsParent"], rel[who]["IsInvitee"], rel[who]["AccountId"]) == (True, False, acc)
    assert (rel[acc]["IsWhat"], rel[acc]["IsInvitee"]) == (True, False)

    invite = sf.EventRelation.create({"EventId": event, "RelationId": guest})["id"]
    assert relations()[guest]["IsInvitee"] is True and relations()[guest]["Status"] == "New"
    sf.EventRelation.update(invite, {"Status": "Accepted"})
    assert relations()[guest]["Status"] == "Accepted"
    for dup in ({"EventId": event, "RelationId": guest}, {"EventId": event, "RelationId": who, "IsInvitee": True}):
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.EventRelation.create(dup)
        assert _codes(exc.value) == ["DUPLICATE_VALUE"]
    with pytest.raises(SalesforceMalformedRequest) as what_as_invitee:
        sf.EventRelation.create({"EventId": event, "RelationId": sf.Account.create({"Name": "X"})["id"]})
    assert _codes(what_as_invitee.value) == ["FIELD_INTEGRITY_EXCEPTION"]
    sf.EventRelation.create({"EventId": event, "RelationId": lead, "IsInvitee": True})

    sf.EventRelation.delete(invite)
    assert guest not in relations()
    parent = _rows(sf, f"SELECT Id FROM EventRelation WHERE EventId = '{event}' AND IsParent = true")[0]["Id"]
    sf.EventRelation.delete(parent)
    assert sf.Event.get(event)["WhoId"] is None
    sf.Event.update(event, {"WhoId": guest})
    assert relations()[guest]["IsParent"] is True
    sf.Event.delete(event)
    assert _rows(sf, f"SELECT Id FROM EventRelation WHERE EventId = '{event}'") == []


# --- AccountContactRelation ------------------------------------------------------------------------------

def test_account_contact_relations(sf: Salesforce) -> None:
    _field(sf, "AccountContactRelation.Source_System_ID__c",
           {"label": "Source System ID", "type": "Text", "length": 80, "externalId": True, "unique": True})
    _field(sf, "AccountContactRelation.Partner_Tier__c", {"label": "Partner Tier", "type": "Picklist", "valueSet": {
        "restricted": True, "valueSetDefinition": {"value": [{"fullName": "Gold"}, {"fullName": "Silver"}]}}})
    roles = next(f for f in sf.AccountContactRelation.describe()["fields"] if f["name"] == "Roles")
    assert roles["type"] == "multipicklist" and "Decision Maker" in [v["value"] for v in roles["picklistValues"]]

    maker, dealer, other = (sf.Account.create({"Name": n})["id"] for n in ("Maker", "Dealer", "Other"))
    person = sf.Contact.create({"LastName": "Rep", "AccountId": maker})["id"]

    def rels() -> dict[str, dict]:
        return {r["AccountId"]: r for r in _rows(sf, f"SELECT Id, AccountId, IsDirect, Roles, Partner_Tier__c "
                                                     f"FROM AccountContactRelation WHERE ContactId = '{person}'")}

    assert rels()[maker]["IsDirect"] is True
    res = sf.AccountContactRelation.upsert("Source_System_ID__c/PA-1", {
        "AccountId": dealer, "ContactId": person, "Roles": "Decision Maker;Influencer", "Partner_Tier__c": "Gold"},
        raw_response=True)
    assert res.status_code == 201
    assert rels()[dealer]["IsDirect"] is False and rels()[dealer]["Roles"] == "Decision Maker;Influencer"
    with pytest.raises(SalesforceMalformedRequest) as dup:
        sf.AccountContactRelation.create({"AccountId": dealer, "ContactId": person})
    assert _codes(dup.value) == ["DUPLICATE_VALUE"]
    with pytest.raises(SalesforceMalformedRequest) as tier:
        sf.AccountContactRelation.update(rels()[dealer]["Id"], {"Partner_Tier__c": "Platinum"})
    assert _codes(tier.value) == ["INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"]
    with pytest.raises(SalesforceMalformedRequest) as direct:
        sf.AccountContactRelation.delete(rels()[maker]["Id"])
    assert _codes(direct.value) == ["DELETE_FAILED"]

    sf.Contact.update(person, {"AccountId": other})
    after = rels()
    assert maker not in after and after[other]["IsDirect"] is True and after[dealer]["IsDirect"] is False
    sf.AccountContactRelation.delete(after[dealer]["Id"])
    assert set(rels()) == {other}


# --- users, collections by id --------------------------------------------------------------------------

def test_user_custom_field_and_collections_update_by_id(sandbox: SandboxHandle, sf: Salesforce) -> None:
    _field(sf, "User.Dynamics_User_Email__c", {"label": "Dynamics User Email", "type": "Email"})
    users = sandbox.add_users([{"Email": f"rep{i}@example.com", "FirstName": "Rep", "LastName": f"N{i}"} for i in range(2)])
    res = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": False, "records": [
        {"attributes": {"type": "User"}, "Id": users[0], "Title": "Channel Manager",
         "Dynamics_User_Email__c": "rep0@contoso.example"},
        {"attributes": {"type": "User"}, "Id": users[1], "IsActive": False}]})
    assert [r["success"] for r in res] == [True, True]
    rows = {r["Id"]: r for r in _rows(sf, f"SELECT Id, Title, IsActive, UserType, Dynamics_User_Email__c FROM User "
                                          f"WHERE Id IN ('{users[0]}', '{users[1]}')")}
    assert rows[users[0]]["Title"] == "Channel Manager" and rows[users[0]]["UserType"] == "Standard"
    assert rows[users[0]]["Dynamics_User_Email__c"] == "rep0@contoso.example" and rows[users[1]]["IsActive"] is False

    # create and update by Id through collections work for any object, custom fields included
    made = sf.restful("composite/sobjects", method="POST", json={"records": [
        {"attributes": {"type": "Campaign"}, "Name": "Spring"},
        {"attributes": {"type": "Lead"}, "LastName": "L", "Company": "C"},
        {"attributes": {"type": "ContentNote"}, "Title": "N", "Content": _b64("note")}]})
    assert all(r["success"] for r in made)
    upd = sf.restful("composite/sobjects", method="PATCH", json={"records": [
        {"attributes": {"type": "Campaign"}, "Id": made[0]["id"], "Status": "Planned"},
        {"attributes": {"type": "Lead"}, "Id": made[1]["id"], "Rating": "Hot"},
        {"attributes": {"type": "ContentNote"}, "Id": made[2]["id"], "Title": "Renamed"}]})
    assert all(r["success"] for r in upd)
    assert sf.ContentNote.get(made[2]["id"])["Title"] == "Renamed" and sf.Lead.get(made[1]["id"])["Rating"] == "Hot"


def test_partner_users(sf: Salesforce) -> None:
    profiles = {r["Name"]: r["Id"] for r in _rows(sf, "SELECT Id, Name, UserType FROM Profile")}
    dealer = sf.Account.create({"Name": "Dealer Co"})["id"]
    rep = sf.Contact.create({"LastName": "Dealer Rep", "AccountId": dealer})["id"]
    user = {"Username": "rep@dealer.example", "Email": "rep@dealer.example", "LastName": "Rep", "Alias": "drep",
            "TimeZoneSidKey": "Europe/Berlin", "LocaleSidKey": "de_DE", "EmailEncodingKey": "UTF-8",
            "LanguageLocaleKey": "de", "ProfileId": profiles["Partner Community User"], "ContactId": rep}
    with pytest.raises(SalesforceMalformedRequest) as not_partner:
        sf.User.create(user)
    assert _codes(not_partner.value) == ["FIELD_INTEGRITY_EXCEPTION"]
    sf.Account.update(dealer, {"IsPartner": True})
    uid = sf.User.create(user)["id"]
    row = _rows(sf, f"SELECT UserType, ContactId, AccountId, IsPortalEnabled, Contact.LastName FROM User WHERE Id = '{uid}'")[0]
    assert (row["UserType"], row["ContactId"], row["AccountId"], row["IsPortalEnabled"]) == ("PowerPartner", rep, dealer, True)
    assert row["Contact"]["LastName"] == "Dealer Rep"
    with pytest.raises(SalesforceMalformedRequest) as twice:
        sf.User.create(dict(user, Username="rep2@dealer.example"))
    assert _codes(twice.value) == ["PORTAL_USER_ALREADY_EXISTS_FOR_CONTACT"]
    with pytest.raises(SalesforceMalformedRequest) as missing:
        sf.User.create({k: v for k, v in user.items() if k not in ("LocaleSidKey", "ContactId")}
                       | {"Username": "x@example.com", "ProfileId": profiles["Standard User"]})
    assert _codes(missing.value) == ["REQUIRED_FIELD_MISSING"]
    with pytest.raises(SalesforceMalformedRequest) as license_change:
        sf.User.update(uid, {"ProfileId": profiles["Standard User"]})
    assert _codes(license_change.value) == ["FIELD_INTEGRITY_EXCEPTION"]
    # a partner user may own records
    lead = sf.Lead.create({"LastName": "Channel", "Company": "C", "OwnerId": uid})["id"]
    assert _rows(sf, f"SELECT Owner.Email FROM Lead WHERE Id = '{lead}'")[0]["Owner"]["Email"] == "rep@dealer.example"
    assert sf.query(f"SELECT COUNT() FROM User WHERE UserType = 'PowerPartner' AND Id = '{uid}'")["totalSize"] == 1


# --- custom objects --------------------------------------------------------------------------------------

def test_custom_objects_lookups_master_detail_and_activities(sandbox: SandboxHandle, sf: Salesforce) -> None:
    for name in ("Course__c", "Job__c"):
        sf.toolingexecute("sobjects/CustomObject/", method="POST", data={
            "FullName": name, "Metadata": {"label": name[:-3], "pluralLabel": name[:-3] + "s",
                                           "nameField": {"type": "Text", "label": "Name"}}})
    _field(sf, "Course__c.Account__c", {"label": "Account", "type": "Lookup", "referenceTo": "Account",
                                        "relationshipName": "Courses"})
    _field(sf, "Job__c.Course__c", {"label": "Course", "type": "MasterDetail", "referenceTo": "Course__c",
                                    "relationshipName": "Jobs"})
    acc = sf.Account.create({"Name": "Campus"})["id"]
    course = sf.Course__c.create({"Name": "Welding 101", "Account__c": acc})["id"]
    job = sf.Job__c.create({"Name": "J-1", "Course__c": course})["id"]
    with pytest.raises(SalesforceMalformedRequest) as no_master:
        sf.Job__c.create({"Name": "J-2"})
    assert _codes(no_master.value) == ["REQUIRED_FIELD_MISSING"]
    with pytest.raises(SalesforceMalformedRequest) as wrong_target:
        sf.Job__c.create({"Name": "J-3", "Course__c": acc})
    assert _codes(wrong_target.value) == ["FIELD_INTEGRITY_EXCEPTION"]
    assert _rows(sf, f"SELECT Course__r.Account__r.Name FROM Job__c WHERE Id = '{job}'")[0]["Course__r"]["Account__r"]["Name"] == "Campus"
    rel = next(r for r in sf.Course__c.describe()["childRelationships"] if r["childSObject"] == "Job__c")
    assert rel["cascadeDelete"] is True

    task = sf.Task.create({"Subject": "Prepare", "WhatId": job})["id"]
    event = sf.Event.create({"Subject": "Session", "WhatId": course, "StartDateTime": "2024-06-01T09:00:00Z",
                             "DurationInMinutes": 60})["id"]
    cv = sf.ContentVersion.create({"PathOnClient": "syllabus.txt", "VersionData": _b64("week 1"),
                                   "FirstPublishLocationId": course})["id"]
    att = sf.Attachment.create({"ParentId": job, "Name": "plan.txt", "Body": _b64("plan")})["id"]
    assert _rows(sf, f"SELECT What.Type FROM Task WHERE Id = '{task}'")[0]["What"]["Type"] == "Job__c"
    assert _rows(sf, f"SELECT WhatId FROM Event WHERE Id = '{event}'")[0]["WhatId"] == course
    doc = sf.ContentVersion.get(cv)["ContentDocumentId"]
    assert _rows(sf, f"SELECT LinkedEntityId FROM ContentDocumentLink WHERE ContentDocumentId = '{doc}'")[0]["LinkedEntityId"] == course

    sf.Course__c.delete(course)  # the master takes its details, and their attachments, with it
    assert sf.query(f"SELECT COUNT() FROM Job__c WHERE Id = '{job}'")["totalSize"] == 0
    assert sf.query(f"SELECT COUNT() FROM Attachment WHERE Id = '{att}'")["totalSize"] == 0
    assert sf.query(f"SELECT COUNT() FROM Account WHERE Id = '{acc}'")["totalSize"] == 1


# --- campaigns --------------------------------------------------------------------------------------------

def test_campaigns_members_and_statuses(sf: Salesforce) -> None:
    parent = sf.Campaign.create({"Name": "2024 Channel", "Type": "Partners", "Status": "In Progress"})["id"]
    camp = sf.Campaign.create({"Name": "Dealer Days", "Type": "Trade Show", "Status": "Planned", "ParentId": parent,
                               "BudgetedCost": 12000, "ActualCost": 9800.5, "StartDate": "2024-03-01",
                               "EndDate": "2024-03-03", "IsActive": True})["id"]
    row = _rows(sf, f"SELECT BudgetedCost, ActualCost, Parent.Name, IsActive FROM Campaign WHERE Id = '{camp}'")[0]
    assert (row["BudgetedCost"], row["ActualCost"], row["Parent"]["Name"], row["IsActive"]) == (12000, 9801, "2024 Channel", True)
    statuses = _rows(sf, f"SELECT Label, IsDefault, HasResponded FROM CampaignMemberStatus WHERE CampaignId = '{camp}' "
                         f"ORDER BY SortOrder")
    assert [(s["Label"], s["IsDefault"], s["HasResponded"]) for s in statuses] == [("Sent", True, False), ("Responded", False, True)]
    sf.CampaignMemberStatus.create({"CampaignId": camp, "Label": "Attended", "HasResponded": True, "SortOrder": 3})

    lead = sf.Lead.create({"LastName": "Visitor", "Company": "V"})["id"]
    contact = sf.Contact.create({"LastName": "Buyer"})["id"]
    m1 = sf.CampaignMember.create({"CampaignId": camp, "LeadId": lead})["id"]
    m2 = sf.CampaignMember.create({"CampaignId": camp, "ContactId": contact, "Status": "Attended"})["id"]
    members = {r["Id"]: r for r in _rows(sf, f"SELECT Id, Status, HasResponded, FirstRespondedDate, Type, LeadOrContactId "
                                             f"FROM CampaignMember WHERE CampaignId = '{camp}'")}
    assert (members[m1]["Status"], members[m1]["HasResponded"], members[m1]["Type"]) == ("Sent", False, "Lead")
    assert (members[m2]["HasResponded"], members[m2]["Type"], members[m2]["LeadOrContactId"]) == (True, "Contact", contact)
    assert members[m2]["FirstRespondedDate"] is not None and members[m1]["FirstRespondedDate"] is None
    with pytest.raises(SalesforceMalformedRequest) as dup:
        sf.CampaignMember.create({"CampaignId": camp, "LeadId": lead})
    assert _codes(dup.value) == ["DUPLICATE_VALUE"]
    with pytest.raises(SalesforceMalformedRequest) as bad_status:
        sf.CampaignMember.update(m1, {"Status": "Clicked"})
    assert _codes(bad_status.value) == ["INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"]
    with pytest.raises(SalesforceMalformedRequest) as nobody:
        sf.CampaignMember.create({"CampaignId": camp})
    assert _codes(nobody.value) == ["REQUIRED_FIELD_MISSING"]
    sf.CampaignMember.update(m1, {"Status": "Responded"})
    assert sf.CampaignMember.get(m1)["HasResponded"] is True
    sf.Lead.delete(lead)
    assert sf.query(f"SELECT COUNT() FROM CampaignMember WHERE CampaignId = '{camp}'")["totalSize"] == 1
    sf.Campaign.delete(camp)
    assert sf.query(f"SELECT COUNT() FROM CampaignMemberStatus WHERE CampaignId = '{camp}'")["totalSize"] == 0


# --- attachments -------------------------------------------------------------------------------------------

def test_legacy_attachments(sandbox: SandboxHandle, sf: Salesforce) -> None:
    opp = sf.Opportunity.create({"Name": "Deal", "StageName": "Prospecting", "CloseDate": "2024-09-30"})["id"]
    data = bytes(range(256)) * 4
    att = sf.Attachment.create({"ParentId": opp, "Name": "quote.bin", "Body": _b64(data),
                                "ContentType": "application/octet-stream"})["id"]
    row = _rows(sf, f"SELECT Id, Name, Body, BodyLength, ContentType, Parent.Type FROM Attachment WHERE ParentId = '{opp}'")[0]
    assert row["BodyLength"] == 1024 and row["Parent"]["Type"] == "Opportunity"
    assert _body(sandbox, sf, row["Body"]) == data
    sf.Attachment.update(att, {"Body": _b64(b"new body")})
    assert sf.Attachment.get(att)["BodyLength"] == 8
    assert _body(sandbox, sf, sf.Attachment.get(att)["Body"]) == b"new body"
    with pytest.raises(SalesforceMalformedRequest) as bodyless:
        sf.Attachment.create({"ParentId": opp, "Name": "empty.txt"})
    assert _codes(bodyless.value) == ["REQUIRED_FIELD_MISSING"]
    with pytest.raises(SalesforceMalformedRequest):  # Bulk API 2.0 queries do not return binary fields
        list(sf.bulk2.Attachment.query("SELECT Id, Body FROM Attachment", wait=0.1))

    sandbox.configure(attachment_max_bytes=100)
    try:
        with pytest.raises(SalesforceMalformedRequest) as big:
            sf.Attachment.create({"ParentId": opp, "Name": "big.bin", "Body": _b64(b"x" * 101)})
        assert _codes(big.value) == ["MAXIMUM_SIZE_OF_ATTACHMENT"]
    finally:
        sandbox.configure(attachment_max_bytes=25 * 1024 * 1024)
    sf.Opportunity.delete(opp)
    assert sf.query(f"SELECT COUNT() FROM Attachment WHERE Id = '{att}'")["totalSize"] == 0


# --- opportunity / task / event fields, SystemModstamp ------------------------------------------------------

def test_sales_fields_and_system_modstamp(sf: Salesforce) -> None:
    acc = sf.Account.create({"Name": "Stamp"})["id"]
    opp = sf.Opportunity.create({"Name": "Stamp deal", "AccountId": acc, "StageName": "Closed Won", "Amount": 5000,
                                 "CloseDate": "2024-04-30", "Type": "New Customer", "LeadSource": "Partner Referral"})["id"]
    o = sf.Opportunity.get(opp)
    assert (o["IsWon"], o["IsClosed"], o["Probability"], o["ForecastCategoryName"]) == (True, True, 100, "Closed")
    call = sf.Task.create({"Subject": "Call", "WhatId": opp, "TaskSubtype": "Call", "CallType": "Outbound",
                           "CallDurationInSeconds": 245, "CallDisposition": "Left voicemail", "Status": "Completed"})["id"]
    t = sf.Task.get(call)
    assert (t["TaskSubtype"], t["CallDurationInSeconds"], t["IsClosed"]) == ("Call", 245, True)
    day = sf.Event.create({"Subject": "Fair", "IsAllDayEvent": True, "ActivityDate": "2024-05-10"})["id"]
    assert sf.Event.get(day)["DurationInMinutes"] == 1440

    before = sf.Account.get(acc)["SystemModstamp"]
    time.sleep(0.01)
    sf.Account.update(acc, {"Phone": "555-0100"})
    after = sf.Account.get(acc)["SystemModstamp"]
    assert after > before
    cut = before[:23] + "Z"
    rows = _rows(sf, f"SELECT Id FROM Account WHERE SystemModstamp > {cut} AND Id = '{acc}'")
    assert [r["Id"] for r in rows] == [acc]
    assert _rows(sf, f"SELECT Id FROM Account WHERE SystemModstamp > {after[:23]}Z AND Id = '{acc}'") == []
    assert sf.query(f"SELECT COUNT() FROM Account WHERE SystemModstamp > 2000-01-01T00:00:00Z AND Id = '{acc}'")["totalSize"] == 1
    pages = list(sf.bulk2.Account.query(f"SELECT Id, SystemModstamp FROM Account WHERE SystemModstamp > {cut}", wait=0.1))
    bulk = [r for page in pages for r in csv.DictReader(io.StringIO(page))]
    assert acc in {r["Id"] for r in bulk} and all(r["SystemModstamp"] > cut[:19] for r in bulk)
    # every object carries SystemModstamp, custom ones too
    names = {o["name"] for o in sf.describe()["sobjects"]}
    for name in ("Campaign", "CampaignMember", "Attachment", "ContentNote", "EventRelation", "AccountContactRelation"):
        assert name in names
        assert any(f["name"] == "SystemModstamp" for f in getattr(sf, name).describe()["fields"])
