"""The Salesforce destination through simple-salesforce against the sandbox: both write paths, read-back, delete."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_migration.destinations.base import RetryPolicy, ThrottledError
from crm_migration.destinations.salesforce import SalesforceDestination

pytestmark = pytest.mark.integration


def _dest(sandbox, **kw) -> SalesforceDestination:
    return SalesforceDestination(instance_url=sandbox.url, client_id=sandbox.credentials["client_id"],
                                 client_secret=sandbox.credentials["client_secret"], ca_file=str(sandbox.ca_file), **kw)


@pytest.mark.parametrize("bulk_threshold", [1, 10_000], ids=["bulk-api-2", "collections"])
def test_upsert_outcomes_read_back_and_delete(migration, bulk_threshold, monkeypatch):
    import crm_migration.destinations.salesforce as salesforce

    monkeypatch.setattr(salesforce, "BULK_IN_CHUNK", 2)  # several query jobs for one read-back
    dest = _dest(migration.sandbox, bulk_threshold=bulk_threshold)
    prefix = f"T{bulk_threshold}-"
    nothing = dest.read_back("Account", "Source_System_ID__c", [prefix + "a", prefix + "b"], ["Name"])
    assert nothing.empty and list(nothing.columns) == ["external_id", "destination_id", "Name"]
    records = pd.DataFrame({"Source_System_ID__c": [prefix + "1", prefix + "2", prefix + "3"],
                            "Name": ["Zoë Ångström GmbH", None, "Plain"],
                            "Annual_Retainer__c": pd.array([1200.5, None, None], dtype="Float64"),
                            "Portal_Enabled__c": pd.array([True, None, False], dtype="boolean")})
    first = dest.upsert("Account", "Source_System_ID__c", records).set_index("external_id")
    assert first.loc[prefix + "1", "action"] == "created" and first.loc[prefix + "3", "action"] == "created"
    assert first.loc[prefix + "2", "action"] == "failed"
    assert first.loc[prefix + "2", "reason_code"] == "DEST_REQUIRED_FIELD"
    assert first.loc[prefix + "2", "dest_code"] == "REQUIRED_FIELD_MISSING"

    records.loc[2, "Name"] = "Plain renamed"
    second = dest.upsert("Account", "Source_System_ID__c", records.iloc[[0, 2]]).set_index("external_id")
    assert list(second["action"]) == ["updated", "updated"]
    assert second.loc[prefix + "1", "destination_id"] == first.loc[prefix + "1", "destination_id"]

    back = dest.read_back("Account", "Source_System_ID__c", [prefix + "1", prefix + "3", prefix + "404", "O'Brien \\ Co"],
                          ["Name", "Annual_Retainer__c", "Portal_Enabled__c"]).set_index("external_id")
    assert sorted(back.index) == [prefix + "1", prefix + "3"]
    assert back.loc[prefix + "1", "Name"] == "Zoë Ångström GmbH" and back.loc[prefix + "1", "Annual_Retainer__c"] == 1200.5
    assert back.loc[prefix + "3", "Name"] == "Plain renamed" and not back.loc[prefix + "3", "Portal_Enabled__c"]

    gone = dest.delete("Account", list(back["destination_id"]))
    assert list(gone["action"]) == ["deleted", "deleted"]
    assert dest.read_back("Account", "Source_System_ID__c", [prefix + "1"], ["Name"]).empty


def test_throttling_honours_retry_after(migration):
    waits: list[float] = []
    dest = _dest(migration.sandbox)
    dest._retry = RetryPolicy(attempts=4, sleep=waits.append)
    migration.sandbox.set_faults(throttle_rate=1.0, retry_after=3, seed=1)
    try:
        with pytest.raises(ThrottledError):
            dest.describe(["Lead"])
    finally:
        migration.sandbox.clear_faults()
    assert waits and min(waits) >= 3, waits
    assert dest.describe(["Lead"])["Lead"].fields["LastName"].required


def test_schema_plan_creates_a_custom_object_with_a_lookup(migration):
    from crm_migration.destinations.base import PlannedField, PlannedObject, SchemaPlan

    dest = _dest(migration.sandbox)
    assert "Course__c" not in dest.describe(["Course__c", "Contact"])
    plan = SchemaPlan(
        objects=(PlannedObject("Course__c", "Course", "Courses"),),
        fields=(PlannedField("Course__c", "Source_System_ID__c", "Text", "Source System ID", length=64, external_id=True, unique=True),
                PlannedField("Course__c", "Coach__c", "Lookup", "Coach", reference_to="Contact")),
    )
    applied = dest.apply_schema_plan(plan)
    assert applied[0] == "created object Course__c (Course)" and len(applied) == 3
    course = dest.describe(["Course__c"])["Course__c"]
    assert course.fields["Coach__c"].kind == "reference" and course.fields["Coach__c"].reference_to == ("Contact",)
    contact = dest.upsert("Contact", "Source_System_ID__c", pd.DataFrame({"Source_System_ID__c": ["COURSE-COACH"], "LastName": ["Coach"]}))
    coach_id = contact["destination_id"].iloc[0]
    out = dest.upsert("Course__c", "Source_System_ID__c", pd.DataFrame(
        {"Source_System_ID__c": ["C-1", "C-2"], "Name": ["Mindful leadership", "Bad coach"], "Coach__c": [coach_id, "003000000000000AAA"]}))
    assert list(out["action"]) == ["created", "failed"] and out["reason_code"].iloc[1] == "DEST_INVALID_REFERENCE"
    back = dest.read_back("Course__c", "Source_System_ID__c", ["C-1"], ["Name", "Coach__c"])
    assert back["Coach__c"].iloc[0] == coach_id
