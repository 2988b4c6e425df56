"""Objects without an external-id field, loaded against the Salesforce sandbox: invitees keyed by
(event, contact) and users updated by e-mail only. A re-run writes nothing, a lost ledger result does
not duplicate, and an update-only object never creates a record."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from crm_migration.destinations.salesforce import SalesforceDestination
from crm_migration.mapping.loader import Pair
from crm_migration.mapping.model import ObjectMapping, PairSettings
from crm_migration.pipeline.issues import EXTERNAL_ID
from crm_migration.pipeline.ledger import Ledger
from crm_migration.pipeline.load import load_object, reconcile_object
from crm_migration.pipeline.transform import ParentKeys, build_mapped
from crm_migration.sandbox import start_sandbox

pytestmark = pytest.mark.integration

SETTINGS = PairSettings(pair="test__salesforce", source="test", destination="salesforce", description="keyed objects",
                        timezone="UTC", date_formats=["%Y-%m-%d"])


def _mapping(spec: dict) -> ObjectMapping:
    return ObjectMapping.model_validate(spec)


EVENT = _mapping({"object": "event", "description": "e", "source": {"object": "events", "id": "id", "external_id_prefix": "EV-"},
                  "destination": {"object": "Event", "external_id": "Subject"}, "fields": {"Subject": {"from": "id"}}})
CONTACT = _mapping({"object": "contact", "description": "c", "source": {"object": "contacts", "id": "id", "external_id_prefix": "C-"},
                    "destination": {"object": "Contact", "external_id": "LastName"}, "fields": {"LastName": {"from": "id"}}})
INVITEE = _mapping({
    "object": "invitee", "description": "a session's other clients",
    "source": {"object": "participants", "id": "id", "external_id_prefix": "P-"},
    "destination": {"object": "EventRelation", "key": ["EventId", "RelationId"]},
    "fields": {"EventId": {"lookup": "event", "from": "event_id"}, "RelationId": {"lookup": "contact", "from": "contact_id"},
               "IsInvitee": {"constant": True}, "Status": {"from": "status"}},
})
STAFF = _mapping({
    "object": "staff", "description": "coaches, matched to existing users",
    "source": {"object": "staff", "id": "id", "external_id_prefix": "S-"},
    "destination": {"object": "User", "key": ["Email"], "create": False},
    "fields": {"Email": {"from": "email"}, "Department": {"from": "team"}},
})
PAIR = Pair(folder=Path("."), settings=SETTINGS, objects={m.object: m for m in (EVENT, CONTACT, INVITEE, STAFF)})


def _rows(**cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    df = pd.DataFrame({k: pd.Series(v, dtype="string") for k, v in cols.items()})
    df["_source_file"], df["_source_row"] = "rows.csv", pd.Series(range(2, n + 2), dtype="Int64")
    return df


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    handle = start_sandbox("salesforce", tmp_path_factory.mktemp("sf-keyed"))
    try:
        handle.add_users([{"Email": "coach@example.com", "FirstName": "Cora", "LastName": "Coach", "IsActive": True}])
        dest = SalesforceDestination(instance_url=handle.url, client_id=handle.credentials["client_id"],
                                     client_secret=handle.credentials["client_secret"], ca_file=str(handle.ca_file))
        yield handle, dest
    finally:
        handle.stop()


def _relations(dest: SalesforceDestination, event_id: str) -> int:
    return len(dest.read_back("EventRelation", "EventId", [event_id], ["RelationId"]))


def test_invitees_by_natural_key_and_users_update_only(org, tmp_path):
    handle, dest = org
    sf = dest.sf
    account = sf.Account.create({"Name": "Clients"})["id"]
    contacts = [sf.Contact.create({"LastName": n, "AccountId": account})["id"] for n in ("Ana", "Ben")]
    event = sf.Event.create({"Subject": "Group session", "StartDateTime": "2024-05-01T10:00:00Z",
                             "EndDateTime": "2024-05-01T11:00:00Z", "WhoId": contacts[0]})["id"]
    ledger = Ledger(tmp_path, PAIR.name)
    # The parents' loads, as the ledger would have recorded them.
    ledger.write_result("r0", "event", ledger.new_batch("r0", "event", "w0"),
                        pd.DataFrame({"external_id": ["EV-1"], "destination_id": [event], "action": ["created"]}))
    ledger.write_result("r0", "contact", ledger.new_batch("r0", "contact", "w0"),
                        pd.DataFrame({"external_id": ["C-1", "C-2"], "destination_id": contacts, "action": ["created"] * 2}))

    norm = _rows(id=["1", "2"], event_id=["1", "1"], contact_id=["1", "2"], status=["Accepted", "New"])
    norm["_source_id"], norm[EXTERNAL_ID] = norm["id"], "P-" + norm["id"]
    schema = dest.describe(["EventRelation"])["EventRelation"]
    parents = {"event": ParentKeys(alive={"EV-1"}), "contact": ParentKeys(alive={"C-1", "C-2"})}
    mapped, issues = build_mapped(norm, PAIR, INVITEE, schema, pd.DataFrame(columns=["id", "email", "active"]), parents)
    assert issues.empty

    first, _ = load_object(dest, PAIR, INVITEE, mapped, schema, ledger, "r1")
    # The event's WhoId already has its relation (Salesforce makes it): adopted and updated, not duplicated.
    assert dict(zip(first["_source_id"], first["action"])) == {"1": "updated", "2": "created"} and _relations(dest, event) == 2
    again, _ = load_object(dest, PAIR, INVITEE, mapped, schema, ledger, "r1")
    assert list(again["action"]) == ["unchanged", "unchanged"]

    # A crash after the destination answered but before the ledger wrote the result: the key finds them.
    for result in (ledger.root / "audit" / "r1" / "invitee").glob("*.result.parquet"):
        result.unlink()
    assert "invitee" not in ledger.xref_by_object()
    mapped.loc[1, "Status"] = "Accepted"
    recovered, _ = load_object(dest, PAIR, INVITEE, mapped, schema, ledger, "r2")
    assert sorted(recovered["action"]) == ["unchanged", "updated"] and _relations(dest, event) == 2
    diff, rec_issues = reconcile_object(dest, PAIR, INVITEE, mapped, recovered, schema, ledger)
    assert rec_issues.empty and diff.empty

    users_before = len(dest.users())
    staff = _rows(id=["1", "2"], email=["Coach@Example.com", "nobody@example.com"], team=["Coaching", "Admin"])
    staff["_source_id"], staff[EXTERNAL_ID] = staff["id"], "S-" + staff["id"]
    user_schema = dest.describe(["User"])["User"]
    mapped_staff, _ = build_mapped(staff, PAIR, STAFF, user_schema, pd.DataFrame(columns=["id", "email", "active"]), {})
    loaded, load_issues = load_object(dest, PAIR, STAFF, mapped_staff, user_schema, ledger, "r3")
    assert dict(zip(loaded["_source_id"], loaded["action"])) == {"1": "updated", "2": "skipped"}
    assert list(load_issues["reason_code"]) == ["NO_MATCH_IN_DESTINATION"]
    assert len(dest.users()) == users_before
    coach = dest.read_back("User", "Email", ["coach@example.com"], ["Department"])
    assert list(coach["Department"]) == ["Coaching"]
