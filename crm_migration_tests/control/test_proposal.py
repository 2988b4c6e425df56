"""The mapping proposal: profiling, field proposals, picklist values, the YAML it writes. Pure and fast."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from crm_migration.control.proposal import (
    ObjectProposal,
    profile_columns,
    proposal_markdown,
    proposal_yaml,
    propose_object,
)
from crm_migration.destinations.base import FieldSchema, ObjectSchema
from crm_migration.mapping.model import ObjectMapping
from crm_migration.sources import get_source
from crm_migration.sources.base import ExportAliases
from crm_migration.sources.perfect_portal.generator import generate_export
from crm_migration.sources.perfect_portal.layout import DATE_FORMATS

EXT = "Source_System_ID__c"


# --- hand-built destination schemas (a realistic Salesforce subset) ------------------------------


def _f(name, kind, label="", **kw) -> FieldSchema:
    return FieldSchema(name=name, kind=kind, label=label or name, **kw)


def _ro(name, kind, label="", **kw) -> FieldSchema:
    return _f(name, kind, label, createable=False, updateable=False, **kw)


def _system(obj_label: str) -> list[FieldSchema]:
    return [
        _ro("Id", "id", f"{obj_label} ID", length=18),
        _f("OwnerId", "reference", "Owner ID", reference_to=("User",)),
        _ro("IsDeleted", "boolean", "Deleted"),
        _ro("CreatedDate", "datetime", "Created Date"),
        _ro("CreatedById", "reference", "Created By ID", reference_to=("User",)),
        _ro("LastModifiedDate", "datetime", "Last Modified Date"),
        _f(EXT, "text", "Source System ID", length=64, external_id=True, unique=True),
    ]


def _address(prefix: str) -> list[FieldSchema]:
    return [_f(prefix + "Street", "textarea", f"{prefix} Street", length=255),
            _f(prefix + "City", "text", f"{prefix} City", length=40),
            _f(prefix + "State", "text", f"{prefix} State/Province", length=80),
            _f(prefix + "PostalCode", "text", f"{prefix} Zip/Postal Code", length=20),
            _f(prefix + "Country", "text", f"{prefix} Country", length=80)]


def _schema(name: str, fields: list[FieldSchema]) -> ObjectSchema:
    return ObjectSchema(name, {f.name: f for f in fields})


def account_schema() -> ObjectSchema:
    return _schema("Account", [
        *_system("Account"),
        _f("Name", "text", "Account Name", length=255, required=True),
        _f("ParentId", "reference", "Parent Account ID", reference_to=("Account",)),
        _f("AccountNumber", "text", "Account Number", length=40),
        _f("Site", "text", "Account Site", length=80),
        _f("Type", "picklist", "Account Type", picklist_values=("Prospect", "Customer - Direct", "Customer - Channel", "Other")),
        _f("Industry", "picklist", "Industry", picklist_values=("Banking", "Consulting", "Engineering", "Legal", "Other")),
        _f("Rating", "picklist", "Account Rating", picklist_values=("Hot", "Warm", "Cold")),
        _f("AnnualRevenue", "decimal", "Annual Revenue"),
        _f("NumberOfEmployees", "integer", "Employees"),
        _f("Phone", "phone", "Account Phone", length=40),
        _f("Fax", "phone", "Account Fax", length=40),
        _f("Website", "url", "Website", length=255),
        _f("Description", "textarea", "Account Description", length=32000),
        *_address("Billing"), *_address("Shipping"),
    ])


def contact_schema() -> ObjectSchema:
    return _schema("Contact", [
        *_system("Contact"),
        _f("AccountId", "reference", "Account ID", reference_to=("Account",)),
        _f("Salutation", "picklist", "Salutation", picklist_values=("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.")),
        _f("FirstName", "text", "First Name", length=40),
        _f("LastName", "text", "Last Name", length=80, required=True),
        _ro("Name", "text", "Full Name", length=121),
        _f("Email", "email", "Email", length=80),
        _f("Phone", "phone", "Business Phone", length=40),
        _f("MobilePhone", "phone", "Mobile Phone", length=40),
        _f("HomePhone", "phone", "Home Phone", length=40),
        _f("Title", "text", "Title", length=128),
        _f("Department", "text", "Department", length=80),
        _f("Birthdate", "date", "Birthdate"),
        _f("HasOptedOutOfEmail", "boolean", "Email Opt Out"),
        _f("DoNotCall", "boolean", "Do Not Call"),
        _f("Description", "textarea", "Contact Description", length=32000),
        *_address("Mailing"),
    ])


def case_schema() -> ObjectSchema:
    return _schema("Case", [
        *_system("Case"),
        _ro("CaseNumber", "text", "Case Number", length=30),
        _f("ContactId", "reference", "Contact ID", reference_to=("Contact",)),
        _f("AccountId", "reference", "Account ID", reference_to=("Account",)),
        _f("SuppliedName", "text", "Name", length=80),
        _f("Status", "picklist", "Status", picklist_values=("New", "Working", "Escalated", "Closed"), restricted=True),
        _f("Origin", "picklist", "Case Origin", picklist_values=("Phone", "Email", "Web"), restricted=True),
        _f("Priority", "picklist", "Priority", picklist_values=("High", "Medium", "Low")),
        _f("Subject", "text", "Subject", length=255),
        _f("Description", "textarea", "Description", length=32000),
        _ro("IsClosed", "boolean", "Closed"),
        _f("IsEscalated", "boolean", "Escalated"),
    ])


def task_schema() -> ObjectSchema:
    return _schema("Task", [
        *_system("Task"),
        _f("WhoId", "reference", "Name ID", reference_to=("Contact", "Lead")),
        _f("WhatId", "reference", "Related To ID", reference_to=("Account", "Opportunity", "Case")),
        _f("Subject", "picklist", "Subject", length=255, picklist_values=("Call", "Send Letter", "Send Quote", "Other")),
        _f("ActivityDate", "date", "Due Date Only"),
        _f("Status", "picklist", "Status", restricted=True,
           picklist_values=("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")),
        _f("Priority", "picklist", "Priority", picklist_values=("High", "Normal", "Low")),
        _f("Type", "picklist", "Type", picklist_values=("Call", "Email", "Meeting", "Other"), restricted=True),
        _f("Description", "textarea", "Comments", length=32000),
        _ro("IsClosed", "boolean", "Closed"),
    ])


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    return generate_export(tmp_path_factory.mktemp("pp"), seed=7, scale=0.3, with_files=False)


def _read(export, obj: str) -> pd.DataFrame:
    return get_source("perfect_portal").read(export, obj, ExportAliases()).table.to_pandas()


def _validates(p: ObjectProposal) -> ObjectMapping:
    text = proposal_yaml(p)
    return ObjectMapping.model_validate(yaml.safe_load(text))


def _by_field(p: ObjectProposal) -> dict:
    return {f.field: f for f in p.fields}


def _by_column(p: ObjectProposal) -> dict:
    return {f.column: f for f in p.fields}


def _unmatched(p: ObjectProposal) -> dict:
    return {u.column: u for u in p.unmatched}


# --- profiling ---------------------------------------------------------------------------------


def _messy(n: int = 60) -> pd.DataFrame:
    emails = [f"person{i}@example.com" for i in range(n)]
    emails[3], emails[17], emails[40] = "not an email", "bob@", "  "
    date_formats = ["2024-03-05", "03/06/2024", "07 Mar 2024", "2024/03/08"]
    dates = [date_formats[i % 4] for i in range(n)]
    dates[5] = "2024-03-05 14:30:00"
    dates[9] = "sometime"
    amounts = [f"${1000 + 37 * i:,}.{i % 100:02d}" if i % 3 else f"{1000 + 37 * i}.50" for i in range(n)]
    yes_no = [["Yes", "No", "yes", "NO", "1", "0", None][i % 7] for i in range(n)]
    bodies = [f"<p>Hello {i},</p><p>see&nbsp;attached<br>Regards</p>" for i in range(n)]
    bodies[2] = "plain text note"
    status = [["Open", "Closed", "Pending"][i % 3] for i in range(n)]
    notes = [f"free text number {i} about something" for i in range(n)]
    stamps = [f"2023-0{1 + i % 9}-1{i % 10} 0{i % 10}:{10 + i % 50}:00" if i % 2 else f"0{1 + i % 9}/1{i % 10}/2023 1{i % 10}:05"
              for i in range(n)]
    return pd.DataFrame({
        "email": emails, "signed_on": dates, "amount": amounts, "active": yes_no, "body": bodies,
        "status": status, "notes": notes, "updated": stamps, "_source_row": range(n),
        "qty": [str(i * 3) for i in range(n)], "zip": [f"0{2100 + i}" for i in range(n)],
        "empty": [None] * n,
    }).astype("string")


def test_profile_infers_types_of_messy_columns():
    prof = profile_columns(_messy()).set_index("column")
    assert "_source_row" not in prof.index
    t = prof["inferred_type"]
    assert t["email"] == "email"  # three bad values out of sixty do not change the type
    assert t["signed_on"] == "date"  # four formats, one stray time, one unparseable value
    assert t["amount"] == "decimal" and "currency" in prof.loc["amount", "notes"]
    assert t["active"] == "boolean"
    assert t["body"] == "html"
    assert t["status"] == "text" and bool(prof.loc["status", "picklist_like"])
    assert t["notes"] == "text" and not prof.loc["notes", "picklist_like"]
    assert t["updated"] == "datetime"
    assert t["qty"] == "integer"
    assert t["zip"] == "text" and "leading zeros" in prof.loc["zip", "notes"]
    assert t["empty"] == "text" and prof.loc["empty", "fill_rate"] == 0


def test_profile_statistics():
    prof = profile_columns(_messy()).set_index("column")
    assert prof.loc["email", "fill_rate"] == pytest.approx(59 / 60, abs=1e-3)  # the blank one
    assert 0.9 <= prof.loc["email", "patterns"]["email"] < 1
    assert prof.loc["active", "fill_rate"] == pytest.approx(52 / 60, abs=1e-3)
    assert prof.loc["status", "distinct"] == 3
    assert prof.loc["status", "top_values"] == "Closed (20); Open (20); Pending (20)"
    assert prof.loc["amount", "patterns"]["currency"] > 0.5
    assert prof.loc["body", "patterns"]["html"] > 0.9
    assert prof.loc["qty", "max_length"] == 3
    assert list(prof.columns) == ["inferred_type", "fill_rate", "distinct", "top_values", "patterns", "max_length",
                                  "picklist_like", "notes"]


def test_profile_recognises_urls_phones_and_lists():
    df = pd.DataFrame({
        "site": ["https://a.example.com", "www.b.io", "c.co.uk", "d.com/path"] * 10,
        "tel": ["+1 512 555 0160", "(615) 555-0109", "206.555.0134", "415-555-0115 x12"] * 10,
        "tags": ["Gold;Silver", "Bronze", "Gold; Bronze", "Silver;Gold;Bronze"] * 10,
        "file": ["a.pdf", "b.docx", "c.txt", "d.xlsx"] * 10,
    })
    t = profile_columns(df).set_index("column")["inferred_type"]
    assert t.to_dict() == {"site": "url", "tel": "phone", "tags": "multiselect", "file": "text"}


def test_profile_uses_the_pairs_date_formats():
    df = pd.DataFrame({"d": ["05.03.2024", "06.03.2024", "07.03.2024", "08.03.2024", "09.03.2024"]})
    assert profile_columns(df, ["%Y-%m-%d"]).loc[0, "inferred_type"] == "text"
    assert profile_columns(df, ["%d.%m.%Y"]).loc[0, "inferred_type"] == "date"


# --- proposals on the generated Perfect Portal export ---------------------------------------------


def test_clients_to_account(export):
    clients = _read(export, "clients")
    p = propose_object("clients", clients, account_schema(), object_name="account", id_column="client_id",
                       external_id_field=EXT, source_types_formats=list(DATE_FORMATS),
                       lookups={"parent_client_id": "account"})
    by = _by_field(p)
    assert by["Name"].column == "name" and by["Name"].confidence >= 0.9
    assert by["Website"].column == "website"
    assert by["Phone"].column == "phone"
    for part in ("Street", "City", "State", "PostalCode", "Country"):
        assert by["Billing" + part].rule == "from"
    assert by["BillingPostalCode"].column == "postal_code"
    assert (by["ParentId"].rule, by["ParentId"].lookup, by["ParentId"].column) == ("lookup", "account", "parent_client_id")
    assert "hierarchy" in by["ParentId"].reason
    assert (by["OwnerId"].rule, by["OwnerId"].column) == ("owner", "owner_email")
    assert "Shipping" not in " ".join(by)  # one column, one field
    assert p.required == ["client_id", "name"]
    assert p.types["owner_email"] == "email" and p.types["website"] == "url"
    un = _unmatched(p)
    assert set(un) == {"created_at", "modified_at"}
    assert un["created_at"].inferred_type == "datetime"
    assert un["created_at"].suggestion == "Created_At__c" and un["created_at"].suggested_field.type == "DateTime"
    m = _validates(p)
    assert m.self_lookup == "ParentId" and m.owner_field == "OwnerId"
    assert "Created_At__c" not in m.fields and "Created_At__c" not in m.custom_fields  # a suggestion only
    assert m.custom_fields[EXT].external_id


def test_contacts_to_contact(export):
    contacts = _read(export, "contacts")
    p = propose_object("contacts", contacts, contact_schema(), object_name="contact", id_column="contact_id",
                       external_id_field=EXT, source_types_formats=list(DATE_FORMATS), lookups={"client_id": "account"})
    by = _by_field(p)
    assert {f: by[f].column for f in ("FirstName", "LastName", "Email", "Phone", "Title")} == {
        "FirstName": "first_name", "LastName": "last_name", "Email": "email", "Phone": "phone", "Title": "title"}
    assert "e-mails" in by["Email"].reason and "Email is an email field" in by["Email"].reason
    assert (by["AccountId"].rule, by["AccountId"].lookup, by["AccountId"].column) == ("lookup", "account", "client_id")
    assert (by["OwnerId"].rule, by["OwnerId"].column) == ("owner", "owner_email")
    assert "Name" not in by  # the full name is not createable
    assert p.required == ["contact_id", "last_name"]
    assert p.types["email"] == "email"
    assert not p.missing_required
    m = _validates(p)
    assert m.parents == {"account"}


def test_without_lookups_an_id_column_is_not_guessed_into_a_reference(export):
    contacts = _read(export, "contacts")
    p = propose_object("contacts", contacts, contact_schema(), object_name="contact", id_column="contact_id",
                       external_id_field=EXT)
    assert "AccountId" not in _by_field(p)
    un = _unmatched(p)["client_id"]
    assert "lookups" in un.reason and un.suggestion is None


def test_tasks_picklists_and_activity_links(export):
    tasks = _read(export, "tasks")
    p = propose_object("tasks", tasks, task_schema(), object_name="task", id_column="task_id", external_id_field=EXT,
                       source_types_formats=list(DATE_FORMATS), lookups={"matter_id": "case", "contact_id": "contact"})
    by = _by_field(p)
    assert (by["WhatId"].column, by["WhatId"].lookup) == ("matter_id", "case")
    assert (by["WhoId"].column, by["WhoId"].lookup) == ("contact_id", "contact")
    assert by["ActivityDate"].column == "due_date" and p.types["due_date"] == "date"
    assert (by["OwnerId"].rule, by["OwnerId"].column) == ("owner", "assigned_to_email")
    status = by["Status"].rule_dict()
    assert status["values"] == {"Completed": "Completed", "Open": "Not Started"} and status["unmapped"] == "reject"
    assert by["Priority"].rule_dict()["values"] == {"High": "High", "Low": "Low", "Normal": "Normal"}
    # Task.Subject is an open picklist (a combobox): free text is kept, not value-mapped.
    assert by["Subject"].rule_dict() == {"from": "subject"}
    assert by["Description"].column == "description"
    _validates(p)


def test_interaction_html_body_and_channel(export):
    rows = _read(export, "interactions")
    p = propose_object("interactions", rows, task_schema(), object_name="interaction", id_column="interaction_id",
                       external_id_field=EXT, source_types_formats=list(DATE_FORMATS),
                       lookups={"matter_id": "case", "contact_id": "contact"})
    by = _by_field(p)
    assert by["Description"].column == "body_html" and p.types["body_html"] == "html"
    assert (by["OwnerId"].rule, by["OwnerId"].column) == ("owner", "logged_by_email")
    channel = by["Type"]
    assert channel.column == "channel"
    assert channel.rule_dict()["values"] == {"call": "Call", "email": "Email", "meeting": "Meeting"}
    assert [v.source for v in channel.unmatched_values] == ["sms"]
    _validates(p)


# --- picklists, conflicts, types, createability ---------------------------------------------------


def _stage_rows() -> pd.DataFrame:
    stages = ["New"] * 10 + ["working"] * 8 + ["Closed"] * 6 + ["Escalatd"] * 3 + ["Parked"] * 2 + ["Intake"] * 4
    n = len(stages)
    return pd.DataFrame({"case_id": [f"C{i}" for i in range(n)], "status": stages,
                         "subject": [f"Problem {i}" for i in range(n)],
                         "description": [f"Long story {i}" for i in range(n)]}).astype("string")


def test_picklist_values_matched_one_by_one_and_unknown_listed():
    p = propose_object("cases", _stage_rows(), case_schema(), object_name="case", id_column="case_id", external_id_field=EXT)
    status = _by_field(p)["Status"]
    how = {v.source: (v.target, v.how) for v in status.value_matches}
    assert how["New"] == ("New", "exact")
    assert how["working"] == ("Working", "same but for case or spacing")
    assert how["Intake"] == ("New", "known equivalent")
    assert how["Escalatd"][0] == "Escalated" and how["Escalatd"][1].startswith("similar")
    assert how["Parked"] == (None, "no match")
    assert [v.source for v in status.unmatched_values] == ["Parked"]
    rule = status.rule_dict()
    assert rule["unmapped"] == "reject" and "Parked" not in rule["values"]
    assert p.unmatched_values[0][0:2] == ("Status", "status")
    text = proposal_yaml(p)
    assert "'Parked' (2 rows)" in text
    _validates(p)
    assert "| Status | Parked | 2 | — | no match |" in proposal_markdown(p)


def test_two_columns_compete_for_one_field():
    df = pd.DataFrame({"id": ["1", "2", "3", "4", "5", "6"],
                       "name": ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark"],
                       "company_name": ["Acme Inc", "Globex Corp", "Initech LLC", "Umbrella plc", "Hooli", "Stark Ind"]})
    p = propose_object("companies", df, account_schema(), object_name="account", id_column="id", external_id_field=EXT)
    assert _by_field(p)["Name"].column == "name"
    loser = _unmatched(p)["company_name"]
    assert "went to 'name'" in loser.reason and loser.best_field == "Name"
    assert loser.suggestion is None  # a duplicate of a mapped column, not a custom field
    assert "company_name" in proposal_yaml(p)


def test_non_createable_fields_are_never_proposed():
    df = pd.DataFrame({"contact_id": ["1", "2", "3"], "name": ["Ann Lee", "Bo Chan", "Cy Ruiz"],
                       "created_date": ["2024-01-01 10:00:00", "2024-01-02 11:00:00", "2024-01-03 12:00:00"],
                       "is_deleted": ["no", "no", "yes"], "last_name": ["Lee", "Chan", "Ruiz"]})
    schema = contact_schema()
    p = propose_object("contacts", df, schema, object_name="contact", id_column="contact_id", external_id_field=EXT)
    proposed = {f.field for f in p.fields}
    assert all(schema.fields[f].createable for f in proposed if f in schema.fields)
    assert {"Name", "CreatedDate", "IsDeleted", "Id"}.isdisjoint(proposed)
    assert "read-only" in _unmatched(p)["name"].reason
    assert _by_field(p)["LastName"].column == "last_name"


def test_type_compatibility():
    n = 20
    df = pd.DataFrame({
        "id": [str(i) for i in range(n)],
        "do_not_call": [f"2024-01-{1 + i:02d}" for i in range(n)],  # a date column named like a boolean field
        "birthdate": [f"1980-02-{1 + i:02d} 08:30:00" for i in range(n)],  # datetimes into a date field
        "department": [f"user{i}@example.com" for i in range(n)],  # e-mails into a text field: allowed, lower
        "email_opt_out": ["yes", "no"] * (n // 2),
    })
    p = propose_object("contacts", df, contact_schema(), object_name="contact", id_column="id", external_id_field=EXT)
    by = _by_field(p)
    assert "DoNotCall" not in by
    assert "cannot fill DoNotCall" in _unmatched(p)["do_not_call"].reason
    assert by["Birthdate"].type == "date" and p.types["birthdate"] == "datetime"
    assert by["HasOptedOutOfEmail"].column == "email_opt_out" and p.types["email_opt_out"] == "boolean"
    assert by["Department"].confidence < 1
    _validates(p)


def test_an_email_column_prefers_the_email_field():
    df = pd.DataFrame({"id": ["1", "2", "3", "4"],
                       "e_mail": ["a@x.com", "b@x.com", "c@x.com", "d@x.com"],
                       "last_name": ["A", "B", "C", "D"]})
    p = propose_object("people", df, contact_schema(), object_name="contact", id_column="id", external_id_field=EXT)
    assert _by_field(p)["Email"].column == "e_mail"


def test_only_one_owner_column():
    df = pd.DataFrame({"id": ["1", "2", "3"], "name": ["A", "B", "C"],
                       "owner_email": ["a@x.com", "b@x.com", "c@x.com"],
                       "created_by_email": ["c@x.com", "b@x.com", "a@x.com"]})
    p = propose_object("companies", df, account_schema(), object_name="account", id_column="id", external_id_field=EXT)
    assert _by_field(p)["OwnerId"].column == "owner_email"
    assert "only one owner" in _unmatched(p)["created_by_email"].reason or "went to" in _unmatched(p)["created_by_email"].reason
    _validates(p)


def test_custom_field_suggestions():
    n = 30
    df = pd.DataFrame({
        "id": [str(i) for i in range(n)],
        "name": [f"Firm {i}" for i in range(n)],
        "client_tier": [["Gold", "Silver", "Bronze"][i % 3] for i in range(n)],
        "annual_retainer": [f"${1000 * i:,}.00" for i in range(n)],
        "portal_enabled": ["Yes", "No", "true"] * 10,
        "internal_note": ["x" * (50 + i) for i in range(n)],
    })
    kw = dict(object_name="account", id_column="id", external_id_field=EXT)
    p = propose_object("clients", df, account_schema(), **kw)
    sugg = p.suggested_custom_fields
    assert sugg["Client_Tier__c"].type == "Picklist" and set(sugg["Client_Tier__c"].values) == {"Gold", "Silver", "Bronze"}
    assert sugg["Annual_Retainer__c"].type == "Currency"
    assert sugg["Portal_Enabled__c"].type == "Checkbox"
    assert sugg["Internal_Note__c"].type == "Text" and sugg["Internal_Note__c"].length == 80
    assert set(_by_field(p)) == {"Name"}
    text = proposal_yaml(p)
    assert "# " in text and "suggested custom field: Client_Tier__c" in text
    assert "Client_Tier__c" not in _validates(p).fields

    p2 = propose_object("clients", df, account_schema(), suggest_custom_fields=True, **kw)
    m = _validates(p2)
    assert {"Client_Tier__c", "Annual_Retainer__c", "Portal_Enabled__c", "Internal_Note__c"} <= set(m.fields)
    assert m.custom_fields["Client_Tier__c"].type == "Picklist"
    assert m.source.types["portal_enabled"] == "boolean" and m.source.types["annual_retainer"] == "decimal"
    assert "# suggested custom field Client_Tier__c (Picklist)" in proposal_yaml(p2)


def test_threshold_leaves_weak_matches_unmatched():
    df = pd.DataFrame({"id": ["1", "2"], "webste": ["a.com", "b.com"], "name": ["A", "B"]})
    low = propose_object("x", df, account_schema(), object_name="account", id_column="id", external_id_field=EXT)
    assert _by_field(low)["Website"].column == "webste" and _by_field(low)["Website"].confidence < 0.9
    high = propose_object("x", df, account_schema(), object_name="account", id_column="id", external_id_field=EXT,
                          threshold=0.95)
    assert "Website" not in _by_field(high)
    assert "below the 0.95 threshold" in _unmatched(high)["webste"].reason


def test_missing_required_destination_fields_are_listed():
    df = pd.DataFrame({"id": ["1", "2"], "first_name": ["A", "B"]})
    p = propose_object("people", df, contact_schema(), object_name="contact", id_column="id", external_id_field=EXT)
    assert p.missing_required == ("LastName",)
    assert "Required destination fields with no source column: LastName" in proposal_yaml(p)


# --- output ------------------------------------------------------------------------------------


def _account_proposal(export) -> ObjectProposal:
    return propose_object("clients", _read(export, "clients"), account_schema(), object_name="account",
                          id_column="client_id", external_id_field=EXT, lookups={"parent_client_id": "account"})


def test_yaml_has_a_confidence_comment_above_every_field(export):
    p = _account_proposal(export)
    lines = proposal_yaml(p).splitlines()
    start = lines.index("fields:")
    end = lines.index("custom_fields:")
    field_lines = [i for i in range(start + 1, end) if lines[i].startswith("  ") and not lines[i].startswith("  #")
                   and not lines[i].startswith("    ")]
    assert len(field_lines) == len(p.fields)
    for i in field_lines:
        assert lines[i - 1].startswith("  # confidence ") or lines[i - 1].startswith("    #")
    assert lines[-1].startswith("#")
    assert any("created_at" in line for line in lines[end:])


def test_yaml_quotes_values_yaml_would_misread():
    df = pd.DataFrame({"id": [str(i) for i in range(40)], "name": [f"N{i}" for i in range(40)],
                       "rating": ["Yes", "No", "Hot", "null"] * 10})
    p = propose_object("x", df, account_schema(), object_name="account", id_column="id", external_id_field=EXT)
    m = _validates(p)
    assert m.fields["Rating"].values == {"Hot": "Hot"}
    assert {v.source for v in _by_field(p)["Rating"].unmatched_values} == {"Yes", "No", "null"}


def test_markdown_lists_fields_and_unmatched(export):
    p = _account_proposal(export)
    md = proposal_markdown(p)
    assert "| source column | destination field | rule | confidence | reason |" in md
    assert "| name | Name | from |" in md
    assert "| parent_client_id | ParentId | lookup account |" in md
    assert "### Unmatched columns" in md and "| created_at | datetime |" in md


def test_deterministic(export):
    a, b = _account_proposal(export), _account_proposal(export)
    assert proposal_yaml(a) == proposal_yaml(b)
    assert proposal_markdown(a) == proposal_markdown(b)
    shuffled = _read(export, "clients").sample(frac=1.0, random_state=3)
    c = propose_object("clients", shuffled, account_schema(), object_name="account", id_column="client_id",
                       external_id_field=EXT, lookups={"parent_client_id": "account"})
    assert proposal_yaml(c) == proposal_yaml(a)  # row order does not matter either


def test_the_id_column_is_guessed_when_not_given():
    df = pd.DataFrame({"name": ["A", "A", "B"], "account_ref": ["x1", "x2", "x3"], "code": ["1", "2", "3"]})
    p = propose_object("x", df, account_schema(), object_name="account", id_column=None, external_id_field=EXT)
    assert p.id_column == "account_ref"
    _validates(p)


def test_zoho_and_dataverse_field_names(export):
    contacts = _read(export, "contacts")
    zoho = _schema("Contacts", [
        _ro("id", "id"), _f("Owner", "reference", "Contact Owner", reference_to=("users",)),
        _f("First_Name", "text", "First Name", length=40), _f("Last_Name", "text", "Last Name", length=80, required=True),
        _f("Email", "email", "Email"), _f("Phone", "phone", "Phone"), _f("Mobile", "phone", "Mobile"),
        _f("Account_Name", "reference", "Account Name", reference_to=("Accounts",)),
        _f("Source_System_ID", "text", "Source System ID", length=64, external_id=True)])
    dataverse = _schema("contact", [
        _ro("contactid", "id"), _f("ownerid", "reference", "Owner", reference_to=("systemuser", "team")),
        _f("firstname", "text", "First Name", length=50), _f("lastname", "text", "Last Name", length=50, required=True),
        _f("emailaddress1", "email", "Email"), _f("telephone1", "phone", "Business Phone"),
        _f("jobtitle", "text", "Job Title", length=100),
        _f("parentcustomerid", "reference", "Company Name", reference_to=("account", "contact")),
        _f("crm_sourcesystemid", "text", "Source System ID", length=64, external_id=True)])
    expected = {
        "Source_System_ID": {"First_Name": "first_name", "Last_Name": "last_name", "Email": "email", "Phone": "phone",
                             "Account_Name": "client_id", "Owner": "owner_email"},
        "crm_sourcesystemid": {"firstname": "first_name", "lastname": "last_name", "emailaddress1": "email",
                               "telephone1": "phone", "jobtitle": "title", "parentcustomerid": "client_id",
                               "ownerid": "owner_email"},
    }
    for schema, ext in ((zoho, "Source_System_ID"), (dataverse, "crm_sourcesystemid")):
        p = propose_object("contacts", contacts, schema, object_name="contact", id_column="contact_id",
                           external_id_field=ext, lookups={"client_id": "account"})
        got = {f.field: f.column for f in p.fields}
        assert {k: got.get(k) for k in expected[ext]} == expected[ext]
        m = _validates(p)
        assert m.owner_field in ("Owner", "ownerid") and m.parents == {"account"}


def test_an_empty_export_proposes_nothing_but_still_validates():
    df = pd.DataFrame({"id": pd.Series([], dtype="string"), "name": pd.Series([], dtype="string")})
    p = propose_object("x", df, account_schema(), object_name="account", id_column="id", external_id_field=EXT)
    assert not p.fields and _unmatched(p)["name"].reason == "the column is empty in this export"
    assert p.missing_required == ("Name",)
    _validates(p)
    assert "No field is proposed." in proposal_markdown(p)


# --- words, computed fields, known value domains ----------------------------------------------------


def content_version_schema() -> ObjectSchema:
    return _schema("ContentVersion", [
        *_system("Content Version"),
        _f("Title", "text", "Title", length=255, required=True),
        _f("PathOnClient", "text", "Path On Client", length=500, required=True),
        _f("FirstPublishLocationId", "reference", "First Publish Location ID", reference_to=("Case",)),
        _ro("FileType", "text", "File Type", length=20),
        _ro("FileExtension", "text", "File Extension", length=40),
        _ro("ContentSize", "integer", "Size"),
        _ro("Checksum", "text", "Checksum", length=50),
        _ro("VersionNumber", "text", "Version Number", length=20),
        _ro("ContentModifiedDate", "datetime", "Content Modified Date"),
        _f("Source_Uploaded_Date__c", "datetime", "Source Uploaded Date"),
        _f("Content_Hash__c", "text", "Content SHA-256", length=64),
    ])


def _documents(n: int = 20) -> pd.DataFrame:
    types = ["pdf", "docx", "doc", "txt", "odt"]
    return pd.DataFrame({
        "document_id": [f"D{i}" for i in range(n)],
        "title": [f"Doc {i}" for i in range(n)],
        "file_name": [f"doc{i}.{types[i % 5]}" for i in range(n)],
        "file_type": [types[i % 5] for i in range(n)],
        "size_bytes": [str(1000 + 37 * i) for i in range(n)],
        "file_sha256": [f"{i:064x}" for i in range(n)],
        "uploaded_at": [f"2024-03-{1 + i:02d} 10:{i:02d}:00" for i in range(n)],
        "version_number": ["3"] * n,
        "created_at": [f"2024-02-{1 + i:02d} 09:00:00" for i in range(n)],
    }).astype("string")


def test_words_shared_with_a_field_name_are_the_last_resort():
    from crm_migration.control.proposal import _name_evidence

    matter = _f("Matter_Opened_Date__c", "date", "Matter Opened Date")
    score, why = _name_evidence("opened_on", matter, "Case", "matters")  # 'matter' is the record itself, 'on' and 'date' say nothing
    assert score == pytest.approx(0.8) and "opened" in why
    hashed = _f("Content_Hash__c", "text", "Content SHA-256")
    score, why = _name_evidence("file_md5", hashed, "ContentVersion", "documents")  # an MD5 is a hash; 'file' is extra
    assert 0.55 < score < 0.8 and "hash" in why
    assert _name_evidence("uploaded_at", _f("Source_Uploaded_Date__c", "datetime"), "X", "documents")[0] == pytest.approx(0.8)
    # Exact names and synonyms stay clearly ahead.
    assert _name_evidence("content_hash", hashed, "ContentVersion", "documents")[0] >= 0.9
    # A field with a word the column lacks is a kind the column does not claim to be; ids only meet ids.
    assert _name_evidence("name", _f("FirstName", "text", "First Name"), "Contact", "contacts")[0] == 0
    assert _name_evidence("annual_retainer", _f("AnnualRevenue", "decimal", "Annual Revenue"), "Account", "clients")[0] == 0
    assert _name_evidence("hash_id", hashed, "ContentVersion", "documents")[0] == 0

    p = propose_object("documents", _documents(), content_version_schema(), object_name="document",
                       id_column="document_id", external_id_field=EXT)
    by = _by_field(p)
    assert by["Content_Hash__c"].column == "file_sha256" and not by["Content_Hash__c"].verify_only
    assert by["Source_Uploaded_Date__c"].column == "uploaded_at" and "uploaded" in by["Source_Uploaded_Date__c"].reason
    assert "Checksum" not in by  # a hash column, but the writable hash field wins it


def test_a_field_named_after_the_object_and_the_column_wins_over_a_picklist_synonym():
    n = 20
    rows = pd.DataFrame({"interaction_id": [str(i) for i in range(n)],
                         "channel": [["call", "email", "sms", "meeting"][i % 4] for i in range(n)]})
    schema = _schema("Task", [*task_schema().fields.values(),
                              _f("Interaction_Channel__c", "text", "Interaction Channel", length=40)])
    p = propose_object("interactions", rows, schema, object_name="interaction", id_column="interaction_id",
                       external_id_field=EXT)
    by = _by_field(p)
    assert by["Interaction_Channel__c"].rule_dict() == {"from": "channel"}  # every value kept, none rejected
    assert "Type" not in by
    # Without that field the channel still goes to the Type picklist, value by value.
    p2 = propose_object("interactions", rows, task_schema(), object_name="interaction", id_column="interaction_id",
                        external_id_field=EXT)
    assert _by_field(p2)["Type"].column == "channel"


def test_fields_the_destination_computes_are_proposed_to_verify_only():
    p = propose_object("documents", _documents(), content_version_schema(), object_name="document",
                       id_column="document_id", external_id_field=EXT)
    by = _by_field(p)
    size = by["ContentSize"]
    assert size.column == "size_bytes" and size.verify_only
    assert size.rule_dict() == {"from": "size_bytes", "write": False}
    assert "write: false" in size.reason and p.types["size_bytes"] == "integer"
    # Scaled a little below the same evidence on a writable field.
    writable = _schema("X", [_f("ContentSize", "integer", "Size")])
    plain = propose_object("documents", _documents()[["document_id", "size_bytes"]], writable, object_name="document",
                           id_column="document_id", external_id_field=EXT)
    assert 0.8 * _by_field(plain)["ContentSize"].confidence < size.confidence < _by_field(plain)["ContentSize"].confidence
    # System fields, numbers the destination assigns and destination time stamps are never proposed, not even to verify.
    assert {"CreatedDate", "VersionNumber", "ContentModifiedDate", "Id"}.isdisjoint(by)
    assert "read-only" in _unmatched(p)["version_number"].reason
    m = _validates(p)
    assert m.fields["ContentSize"].write is False and m.fields["Title"].write is True
    assert "size_bytes" not in m.source.required
    assert "(verify only: write false)" in proposal_markdown(p)


def test_a_computed_field_with_a_known_value_domain_is_matched_value_by_value():
    p = propose_object("documents", _documents(), content_version_schema(), object_name="document",
                       id_column="document_id", external_id_field=EXT)
    ft = _by_field(p)["FileType"]
    assert ft.column == "file_type" and ft.verify_only and ft.value_map
    how = {v.source: (v.target, v.how) for v in ft.value_matches if v.count}
    assert how["pdf"] == ("PDF", "same but for case or spacing")
    assert how["docx"] == ("WORD_X", "known equivalent") and how["doc"][0] == "WORD" and how["txt"][0] == "TEXT"
    assert how["odt"] == (None, "no match")  # listed, never guessed
    rule = ft.rule_dict()
    assert rule["unmapped"] == "default" and rule["default"] == "UNKNOWN" and rule["write"] is False
    assert "odt" not in rule["values"]
    # The rest of the known vocabulary is listed for later exports (count 0), so their files verify too.
    later = {v.source: v.target for v in ft.value_matches if v.count == 0}
    assert later["xlsx"] == "EXCEL_X" and later["jpeg"] == "JPG" and later["png"] == "PNG" and "unknown" not in later
    text = proposal_yaml(p)
    assert "'odt' (4 rows): becomes UNKNOWN until mapped" in text and "not in this export" in text
    m = _validates(p)
    assert m.fields["FileType"].values["docx"] == "WORD_X" and m.fields["FileType"].default == "UNKNOWN"


def test_a_value_domain_without_a_catch_all_rejects_unknown_values(monkeypatch):
    import dataclasses

    from crm_migration.control import proposal

    syn = proposal._synonyms()
    narrowed = dataclasses.replace(syn, value_domains={("contentversion", "filetype"): ("PDF", "WORD", "WORD_X", "TEXT")})
    monkeypatch.setattr(proposal, "_synonyms", lambda: narrowed)
    p = propose_object("documents", _documents(), content_version_schema(), object_name="document",
                       id_column="document_id", external_id_field=EXT)
    ft = _by_field(p)["FileType"]
    assert ft.rule_dict()["unmapped"] == "reject" and "default" not in ft.rule_dict()
    assert [v.source for v in ft.unmatched_values] == ["odt"]
    _validates(p)


def test_a_timestamp_fills_a_date_field_and_a_date_time_field():
    n = 12
    rows = pd.DataFrame({"interaction_id": [str(i) for i in range(n)],
                         "occurred_at": [f"2024-05-{1 + i:02d} 14:{i:02d}:00" for i in range(n)],
                         "phone": [f"+1 512 555 01{i:02d}" for i in range(n)]}).astype("string")
    schema = _schema("Task", [*task_schema().fields.values(),
                              _f("Interaction_Timestamp__c", "datetime", "Original Interaction Timestamp")])
    p = propose_object("interactions", rows, schema, object_name="interaction", id_column="interaction_id",
                       external_id_field=EXT)
    by = _by_field(p)
    assert by["Interaction_Timestamp__c"].rule_dict() == {"from": "occurred_at"}
    assert by["ActivityDate"].rule_dict() == {"from": "occurred_at", "type": "date"}
    assert p.types["occurred_at"] == "datetime"
    _validates(p)
    # Only a point in time is used twice: a column that fills one field does not take a second one.
    contacts = pd.DataFrame({"id": ["1", "2", "3"], "phone": ["+1 512 555 0160", "+1 615 555 0109", "+1 206 555 0134"],
                             "last_name": ["A", "B", "C"]})
    q = propose_object("contacts", contacts, contact_schema(), object_name="contact", id_column="id", external_id_field=EXT)
    assert [f.field for f in q.fields if f.column == "phone"] == ["Phone"]
