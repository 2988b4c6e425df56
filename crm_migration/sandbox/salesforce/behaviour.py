"""Object-specific behaviour Salesforce applies on save (derived read-only fields, side records).

- Contact / Lead / User: ``Name`` = FirstName + LastName.
- Case: ``CaseNumber`` (sequence), ``IsClosed`` from a closed Status (``Closed``, or values added
  to CaseStatus with ``closed: true``), ``ClosedDate``.
- Task: ``IsClosed`` (Completed, or a TaskStatus value with ``closed: true``), ``IsHighPriority``,
  ``TaskSubtype`` defaults to Task, ``CompletedDateTime``.
- Event: ActivityDateTime/StartDateTime/EndDateTime/DurationInMinutes kept consistent; a timed
  event needs a duration or an end (REQUIRED_FIELD_MISSING: [DurationInMinutes]).
- Opportunity: ``IsClosed`` / ``IsWon`` / default ``Probability`` and ``ForecastCategoryName``.
- Contact with an AccountId gets a direct ``AccountContactRelation`` (IsDirect true) kept in step
  with AccountId (changing the account removes the old direct relation, as Salesforce documents);
  a second relation for the same account and contact is DUPLICATE_VALUE; a direct relation cannot
  be deleted on its own (DELETE_FAILED: change the contact's account or delete the contact).
- Deleting an Account or Contact deletes its AccountContactRelations; an Event its EventRelations.
- EventRelation, as with Shared Activities enabled: an Event's WhoId and WhatId are relations of
  their own (IsParent / IsWhat, created and replaced with the event's fields); an inserted relation
  with no flag is an invitee; invitees are Contacts, Leads or Users, parents Contacts or Leads,
  "whats" anything else; one relation per event and record (DUPLICATE_VALUE); deleting the parent or
  what relation clears the event's field.
- User: ``UserType`` comes from the profile (``Profile.UserType``); a partner user (PowerPartner)
  needs a ContactId whose account is a partner account (``Account.IsPartner``), gets that AccountId
  and ``IsPortalEnabled``; one user per contact (PORTAL_USER_ALREADY_EXISTS_FOR_CONTACT); a
  Standard user has no contact; a profile change may not change the user type.
- Campaign: every new campaign gets the member statuses "Sent" (default) and "Responded"
  (HasResponded); a CampaignMember is a Lead or a Contact (never both), once per campaign
  (DUPLICATE_VALUE "Already a campaign member."), with one of its campaign's statuses (default:
  the campaign's default status); HasResponded, FirstRespondedDate, Type and LeadOrContactId follow.
  Deleting a campaign, lead or contact deletes its members.
- Deleting a master record deletes the records of its master-detail children (custom objects).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from crm_migration.sandbox.salesforce.dml import Item, Txn
from crm_migration.sandbox.salesforce.errors import RecordError
from crm_migration.sandbox.salesforce.values import fmt_datetime, now_dt, now_sf

if TYPE_CHECKING:
    from crm_migration.sandbox.salesforce.org import Org

STAGES = {"Prospecting": (10, "Pipeline"), "Qualification": (10, "Pipeline"), "Needs Analysis": (20, "Pipeline"),
          "Value Proposition": (50, "Pipeline"), "Id. Decision Makers": (60, "Pipeline"),
          "Perception Analysis": (70, "Pipeline"), "Proposal/Price Quote": (75, "Pipeline"),
          "Negotiation/Review": (90, "Pipeline"), "Closed Won": (100, "Closed"), "Closed Lost": (0, "Omitted")}


def _closed_values(org: "Org", value_set: str, default: set[str]) -> set[str]:
    custom = org.schema.value_sets.get(value_set)
    if custom is None:
        return default
    return {v["fullName"] for v in custom if v.get("closed")} | (default & {v["fullName"] for v in custom})


def install(org: "Org") -> None:
    dml = org.dml

    def full_name(obj, rec, *rest) -> None:
        rec["Name"] = " ".join(p for p in (rec.get("FirstName"), rec.get("LastName")) if p) or None

    for name in ("Contact", "Lead", "User"):
        dml.hook("before_insert", name, full_name)
        dml.hook("before_update", name, lambda obj, rec, old, item, txn: full_name(obj, rec))

    def case_common(rec: dict[str, Any], old: dict[str, Any] | None) -> None:
        closed = rec.get("Status") in _closed_values(org, "CaseStatus", {"Closed"})
        rec["IsClosed"] = closed
        if closed and not (old and old.get("IsClosed")):
            rec["ClosedDate"] = now_sf()
        elif not closed:
            rec["ClosedDate"] = None

    def case_insert(obj, rec, item, txn) -> None:
        rec["CaseNumber"] = str(org.next_number("Case", 1000)).zfill(8)
        case_common(rec, None)

    dml.hook("before_insert", "Case", case_insert)
    dml.hook("before_update", "Case", lambda obj, rec, old, item, txn: case_common(rec, old))

    def task_common(rec: dict[str, Any], old: dict[str, Any] | None) -> None:
        closed = rec.get("Status") in _closed_values(org, "TaskStatus", {"Completed"})
        rec["IsClosed"] = closed
        rec["IsHighPriority"] = rec.get("Priority") == "High"
        if closed and not (old and old.get("IsClosed")):
            rec["CompletedDateTime"] = now_sf()
        elif not closed:
            rec["CompletedDateTime"] = None

    def task_insert(obj, rec, item, txn) -> None:
        if rec.get("TaskSubtype") is None:
            rec["TaskSubtype"] = "Task"
        task_common(rec, None)

    dml.hook("before_insert", "Task", task_insert)
    dml.hook("before_update", "Task", lambda obj, rec, old, item, txn: task_common(rec, old))

    def event_common(rec: dict[str, Any], item: Item) -> None:
        given = item.values
        if rec.get("IsAllDayEvent"):
            if rec.get("ActivityDate") is None:
                if rec.get("StartDateTime"):
                    rec["ActivityDate"] = rec["StartDateTime"][:10]
                else:
                    raise RecordError("REQUIRED_FIELD_MISSING", "Required fields are missing: [ActivityDate]",
                                      ["ActivityDate"])
            rec["DurationInMinutes"] = rec.get("DurationInMinutes") or 1440
            rec["EndDate"] = rec["ActivityDate"]
            return
        if "StartDateTime" in given and "ActivityDateTime" not in given:
            rec["ActivityDateTime"] = rec["StartDateTime"]
        elif "ActivityDateTime" in given or rec.get("StartDateTime") is None:
            rec["StartDateTime"] = rec.get("ActivityDateTime")
        start = rec.get("StartDateTime")
        if start is None:
            raise RecordError("REQUIRED_FIELD_MISSING", "Required fields are missing: [ActivityDateTime]",
                              ["ActivityDateTime"])
        start_dt = dt.datetime.strptime(start[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.timezone.utc)
        if "EndDateTime" in given and rec.get("EndDateTime"):
            end_dt = dt.datetime.strptime(rec["EndDateTime"][:19], "%Y-%m-%dT%H:%M:%S").replace(
                tzinfo=dt.timezone.utc)
            if end_dt < start_dt:
                raise RecordError("FIELD_INTEGRITY_EXCEPTION", "End Date Time: End Date Time cannot be earlier "
                                                               "than Start Date Time", ["EndDateTime"])
            rec["DurationInMinutes"] = int((end_dt - start_dt).total_seconds() // 60)
        elif rec.get("DurationInMinutes") is not None:
            rec["EndDateTime"] = fmt_datetime(start_dt + dt.timedelta(minutes=rec["DurationInMinutes"]))
        else:
            raise RecordError("REQUIRED_FIELD_MISSING", "Required fields are missing: [DurationInMinutes]",
                              ["DurationInMinutes"])
        rec["ActivityDate"] = start[:10]
        rec["EndDate"] = rec["EndDateTime"][:10]

    dml.hook("before_insert", "Event", lambda obj, rec, item, txn: event_common(rec, item))
    dml.hook("before_update", "Event", lambda obj, rec, old, item, txn: event_common(rec, item))

    def opp_common(rec: dict[str, Any], item: Item | None) -> None:
        stage = rec.get("StageName")
        closed_won = _closed_values(org, "OpportunityStage", {"Closed Won"})
        closed = _closed_values(org, "OpportunityStage", {"Closed Won", "Closed Lost"})
        rec["IsClosed"] = stage in closed
        rec["IsWon"] = stage in closed_won
        prob, forecast = STAGES.get(stage, (None, "Pipeline"))
        if item is None or "Probability" not in item.values or "StageName" in item.values:
            if item is None or "Probability" not in item.values:
                rec["Probability"] = float(prob) if prob is not None else rec.get("Probability")
        if item is None or "ForecastCategoryName" not in item.values:
            rec["ForecastCategoryName"] = forecast

    dml.hook("before_insert", "Opportunity", lambda obj, rec, item, txn: opp_common(rec, item))
    dml.hook("before_update", "Opportunity",
             lambda obj, rec, old, item, txn: opp_common(rec, item) if "StageName" in item.values else None)

    # AccountContactRelation -------------------------------------------------------------------
    def related(sobject: str, field: str, rid: str) -> list[dict[str, Any]]:
        f = org.schema.get(sobject).field(field)
        return [org.store.get(i) for i in org.store.lookup(sobject, f, rid)]

    def acr_for(account_id: str, contact_id: str) -> list[dict[str, Any]]:
        return [r for r in related("AccountContactRelation", "ContactId", contact_id)
                if r.get("AccountId") == account_id]

    def acr_before_insert(obj, rec, item, txn) -> None:
        existing = acr_for(rec["AccountId"], rec["ContactId"])
        if existing:
            raise RecordError("DUPLICATE_VALUE", f"duplicate value found: <unknown> duplicates value on record "
                                                 f"with id: {existing[0]['Id']}", [])
        rec["IsDirect"] = bool(item.extra.get("_direct"))

    dml.hook("before_insert", "AccountContactRelation", acr_before_insert)

    def contact_after_insert(obj, rec, item, txn, user_id) -> None:
        if rec.get("AccountId"):
            acr_obj = org.schema.get("AccountContactRelation")
            dml.insert_one(acr_obj, Item(values={"AccountId": rec["AccountId"], "ContactId": rec["Id"]},
                                         extra={"_direct": True}), user_id, txn)

    def contact_after_update(obj, rec, old, txn: Txn, user_id) -> None:
        if rec.get("AccountId") == old.get("AccountId"):
            return
        direct = [r for r in related("AccountContactRelation", "ContactId", rec["Id"]) if r.get("IsDirect")]
        acr_obj = org.schema.get("AccountContactRelation")
        for r in direct:
            dml.delete_one(r["Id"], True, user_id, txn)
        if rec.get("AccountId"):
            for r in acr_for(rec["AccountId"], rec["Id"]):  # an indirect one becomes the direct one
                dml.delete_one(r["Id"], True, user_id, txn)
            dml.insert_one(acr_obj, Item(values={"AccountId": rec["AccountId"], "ContactId": rec["Id"]},
                                         extra={"_direct": True}), user_id, txn)

    dml.hook("after_insert", "Contact", contact_after_insert)
    dml.hook("after_update", "Contact", contact_after_update)

    def acr_children(field: str):
        return lambda rec, txn: [r["Id"] for r in related("AccountContactRelation", field, rec["Id"])]

    dml.hook("cascade", "Account", acr_children("AccountId"))
    dml.hook("cascade", "Contact", acr_children("ContactId"))
    dml.hook("cascade", "Event",
             lambda rec, txn: [r["Id"] for r in related("EventRelation", "EventId", rec["Id"])])

    def acr_guard(rec: dict[str, Any]) -> None:
        if rec.get("IsDirect"):
            raise RecordError("DELETE_FAILED", "You can't delete the direct relationship between a contact and its "
                                               "primary account: change the contact's account or delete the contact")

    dml.before_delete.setdefault("accountcontactrelation", []).append(acr_guard)

    install_event_relations(org)
    install_users(org)
    install_campaigns(org)

    details: dict[str, Any] = {"key": None, "fields": []}

    def master_detail_children(rec: dict[str, Any], txn: Txn) -> list[str]:
        key = (id(org.schema), len(org.schema.custom_fields))
        if details["key"] != key:  # every delete asks: look the master-detail fields up once per schema change
            details.update(key=key, fields=[(child.name, f) for child in org.schema.objects.values()
                                            for f in child.fields.values() if f.cascade_delete])
        if not details["fields"]:
            return []
        obj = org.schema.get(org.store.sobject_of(rec["Id"]) or "")
        return [i for child, f in details["fields"] if obj is not None and obj.name in f.reference_to
                for i in org.store.lookup(child, f, rec["Id"])]

    dml.hook("cascade", "*", master_detail_children)


def _related(org: "Org", sobject: str, field: str, rid: str) -> list[dict[str, Any]]:
    f = org.schema.get(sobject).field(field)
    return [org.store.get(i) for i in org.store.lookup(sobject, f, rid)]


def _type_of(org: "Org", rid: str | None) -> str | None:
    obj = org.schema.object_for_id(rid) if rid else None
    return obj.name if obj else None


def install_event_relations(org: "Org") -> None:
    dml = org.dml
    people = {"Contact", "Lead", "User"}

    def er_before_insert(obj, rec, item: Item, txn) -> None:
        given = item.values
        if not any(given.get(k) for k in ("IsInvitee", "IsParent", "IsWhat")):
            rec["IsInvitee"] = True
        kind = _type_of(org, rec["RelationId"])
        if rec.get("IsWhat") and (kind in people or rec.get("IsInvitee") or rec.get("IsParent")):
            raise RecordError("FIELD_INTEGRITY_EXCEPTION", "Relation ID: a What relation must be a record such as an "
                                                           "account or opportunity, and neither invitee nor parent",
                              ["RelationId"])
        if not rec.get("IsWhat") and kind not in people:
            raise RecordError("FIELD_INTEGRITY_EXCEPTION", f"Relation ID: id value of incorrect type: "
                                                           f"{rec['RelationId']}", ["RelationId"])
        if rec.get("IsParent") and kind == "User":
            raise RecordError("FIELD_INTEGRITY_EXCEPTION", "Relation ID: a user can be an invitee, not a parent",
                              ["RelationId"])
        for other in _related(org, "EventRelation", "EventId", rec["EventId"]):
            if other["RelationId"] == rec["RelationId"]:
                raise RecordError("DUPLICATE_VALUE", f"duplicate value found: <unknown> duplicates value on record "
                                                     f"with id: {other['Id']}", [])
        if kind == "Contact":
            rec["AccountId"] = org.store.get(rec["RelationId"]).get("AccountId")
        elif kind == "Account":
            rec["AccountId"] = rec["RelationId"]

    dml.hook("before_insert", "EventRelation", er_before_insert)

    def er_before_update(obj, rec, old, item: Item, txn) -> None:
        if rec.get("IsParent") and _type_of(org, rec["RelationId"]) == "User":
            raise RecordError("FIELD_INTEGRITY_EXCEPTION", "Relation ID: a user can be an invitee, not a parent",
                              ["RelationId"])

    dml.hook("before_update", "EventRelation", er_before_update)

    def relate(event: dict[str, Any], old: dict[str, Any] | None, txn: Txn, user_id: str) -> None:
        er_obj = org.schema.get("EventRelation")
        relations = _related(org, "EventRelation", "EventId", event["Id"])
        for field, flag in (("WhoId", "IsParent"), ("WhatId", "IsWhat")):
            if old is not None and old.get(field) == event.get(field):
                continue
            for r in relations:
                if r.get(flag) and r["RelationId"] != event.get(field):
                    if flag == "IsParent" and r.get("IsInvitee"):  # still invited: only no longer the parent
                        txn.undo.append(("EventRelation", r["Id"], org.store.put("EventRelation", dict(r, IsParent=False))))
                    else:
                        dml.delete_one(r["Id"], True, user_id, txn)
            if event.get(field):
                same = [r for r in relations if r["RelationId"] == event[field]]
                if same:
                    txn.undo.append(("EventRelation", same[0]["Id"],
                                     org.store.put("EventRelation", dict(same[0], **{flag: True}))))
                else:
                    dml.insert_one(er_obj, Item(values={"EventId": event["Id"], "RelationId": event[field],
                                                        flag: True}), user_id, txn)

    dml.hook("after_insert", "Event", lambda obj, rec, item, txn, user_id: relate(rec, None, txn, user_id))
    dml.hook("after_update", "Event", lambda obj, rec, old, txn, user_id: relate(rec, old, txn, user_id))

    def er_unlink(rec: dict[str, Any]) -> None:
        """Deleting the relation that stands for the event's WhoId / WhatId clears that field."""
        event = org.store.get(rec["EventId"])
        if event is None:
            return
        cleared = {f: None for f, flag in (("WhoId", "IsParent"), ("WhatId", "IsWhat"))
                   if rec.get(flag) and event.get(f) == rec["RelationId"]}
        if cleared:
            org.store.put("Event", dict(event, **cleared, LastModifiedDate=now_sf(), SystemModstamp=now_sf()))

    dml.before_delete.setdefault("eventrelation", []).append(er_unlink)


def install_users(org: "Org") -> None:
    dml = org.dml

    def user_type(rec: dict[str, Any]) -> str:
        profile = org.store.get(rec.get("ProfileId") or "")
        return (profile or {}).get("UserType") or "Standard"

    def user_before_insert(obj, rec, item, txn) -> None:
        rec["UserType"] = user_type(rec)
        partner = rec["UserType"] == "PowerPartner"
        contact_id = rec.get("ContactId")
        if not partner:
            if contact_id:
                raise RecordError("FIELD_INTEGRITY_EXCEPTION", "Contact ID: only a portal or partner user can be "
                                                               "related to a contact", ["ContactId"])
            rec.update(IsPortalEnabled=False, AccountId=None)
            return
        if not contact_id:
            raise RecordError("FIELD_INTEGRITY_EXCEPTION", "Cannot create a portal user without contact", ["ContactId"])
        if any(u["Id"] != rec["Id"] for u in _related(org, "User", "ContactId", contact_id)):
            raise RecordError("PORTAL_USER_ALREADY_EXISTS_FOR_CONTACT",
                              "portal user already exists for contact", ["ContactId"])
        account = org.store.get(org.store.get(contact_id).get("AccountId") or "")
        if account is None or not account.get("IsPartner"):
            raise RecordError("FIELD_INTEGRITY_EXCEPTION", "The contact's account must be enabled as a partner account "
                                                           "(IsPartner) before it can have partner users",
                              ["ContactId"])
        rec.update(IsPortalEnabled=True, AccountId=account["Id"])

    def user_before_update(obj, rec, old, item, txn) -> None:
        if user_type(rec) != (old.get("UserType") or "Standard"):
            raise RecordError("FIELD_INTEGRITY_EXCEPTION", "Profile ID: a profile of another user license type "
                                                           "cannot be assigned to an existing user", ["ProfileId"])

    dml.hook("before_insert", "User", user_before_insert)
    dml.hook("before_update", "User", user_before_update)


def install_campaigns(org: "Org") -> None:
    dml = org.dml

    def campaign_after_insert(obj, rec, item, txn, user_id) -> None:
        status_obj = org.schema.get("CampaignMemberStatus")
        for n, (label, default, responded) in enumerate((("Sent", True, False), ("Responded", False, True)), 1):
            dml.insert_one(status_obj, Item(values={"CampaignId": rec["Id"], "Label": label, "SortOrder": n,
                                                    "IsDefault": default, "HasResponded": responded}), user_id, txn)

    dml.hook("after_insert", "Campaign", campaign_after_insert)

    def statuses(campaign_id: str) -> list[dict[str, Any]]:
        return _related(org, "CampaignMemberStatus", "CampaignId", campaign_id)

    def status_before_save(obj, rec, *rest) -> None:
        txn = rest[-1]
        others = [s for s in statuses(rec["CampaignId"]) if s["Id"] != rec["Id"]]
        if any(s["Label"].lower() == rec["Label"].lower() for s in others):
            raise RecordError("DUPLICATE_VALUE", f"duplicate value found: Label duplicates value on record with id: "
                                                 f"{next(s['Id'] for s in others if s['Label'].lower() == rec['Label'].lower())}",
                              ["Label"])
        if rec.get("IsDefault"):  # one default per campaign
            for s in others:
                if s.get("IsDefault"):
                    txn.undo.append(("CampaignMemberStatus", s["Id"],
                                     org.store.put("CampaignMemberStatus", dict(s, IsDefault=False))))

    dml.hook("before_insert", "CampaignMemberStatus", status_before_save)
    dml.hook("before_update", "CampaignMemberStatus", status_before_save)

    def member_common(rec: dict[str, Any], old: dict[str, Any] | None) -> None:
        known = statuses(rec["CampaignId"])
        if rec.get("Status") is None:
            rec["Status"] = next((s["Label"] for s in known if s.get("IsDefault")), None)
        match = [s for s in known if s["Label"] == rec["Status"]]
        if not match:
            raise RecordError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                              f"Status: bad value for restricted picklist field: {rec['Status']}", ["Status"])
        rec["HasResponded"] = bool(match[0].get("HasResponded"))
        if rec["HasResponded"] and not (old or {}).get("FirstRespondedDate"):
            rec["FirstRespondedDate"] = now_dt().date().isoformat()

    def member_before_insert(obj, rec, item, txn) -> None:
        lead, contact = rec.get("LeadId"), rec.get("ContactId")
        if bool(lead) == bool(contact):
            raise RecordError("REQUIRED_FIELD_MISSING" if not lead else "FIELD_INTEGRITY_EXCEPTION",
                              "A campaign member is either a lead or a contact: set exactly one of LeadId, ContactId",
                              ["LeadId", "ContactId"])
        field = "LeadId" if lead else "ContactId"
        if any(m["CampaignId"] == rec["CampaignId"] for m in _related(org, "CampaignMember", field, rec[field])):
            raise RecordError("DUPLICATE_VALUE", "Already a campaign member.", [field])
        rec.update(Type="Lead" if lead else "Contact", LeadOrContactId=lead or contact)
        member_common(rec, None)

    dml.hook("before_insert", "CampaignMember", member_before_insert)
    dml.hook("before_update", "CampaignMember", lambda obj, rec, old, item, txn: member_common(rec, old))

    def children(sobject: str, field: str):
        return lambda rec, txn: [r["Id"] for r in _related(org, sobject, field, rec["Id"])]

    dml.hook("cascade", "Campaign", children("CampaignMember", "CampaignId"))
    dml.hook("cascade", "Campaign", children("CampaignMemberStatus", "CampaignId"))
    dml.hook("cascade", "Lead", children("CampaignMember", "LeadId"))
    dml.hook("cascade", "Contact", children("CampaignMember", "ContactId"))
