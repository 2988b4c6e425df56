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
  with AccountId; a second relation for the same account and contact is DUPLICATE_VALUE.
- Deleting an Account or Contact deletes its AccountContactRelations; an Event its EventRelations.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from crm_migration.sandbox.salesforce.dml import Item, Txn
from crm_migration.sandbox.salesforce.errors import RecordError
from crm_migration.sandbox.salesforce.values import fmt_datetime, now_sf

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
