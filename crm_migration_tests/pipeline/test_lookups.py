"""Lookups beyond one parent id: polymorphic, by a parent's column, by range, many at once, defaults."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from crm_migration.destinations.base import FieldSchema, ObjectSchema
from crm_migration.mapping.loader import Pair
from crm_migration.mapping.model import ObjectMapping, PairSettings
from crm_migration.pipeline.load import translate_lookups
from crm_migration.pipeline.transform import ParentKeys, build_mapped

SETTINGS = PairSettings(pair="x__y", source="x", destination="y", description="test", timezone="UTC", date_formats=["%Y-%m-%d"])
USERS = pd.DataFrame({"id": ["U1"], "email": ["owner@example.com"], "active": [True], "name": ["Owner"]})


def _object(name: str, prefix: str, fields: dict, **source) -> ObjectMapping:
    return ObjectMapping.model_validate({
        "object": name, "description": name, "fields": fields,
        "source": {"object": name + "s", "id": "id", "external_id_prefix": prefix, **source},
        "destination": {"object": name.title(), "external_id": "Ext__c"},
    })


def _pair(*objects: ObjectMapping) -> Pair:
    return Pair(folder=Path("."), settings=SETTINGS, objects={o.object: o for o in objects})


def _rows(**cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    df = pd.DataFrame({k: pd.Series(v, dtype="string") for k, v in cols.items()})
    df["_source_file"] = "rows.csv"
    df["_source_row"] = pd.Series(range(2, n + 2), dtype="Int64")
    df["_source_id"] = df["id"]
    df["_external_id"] = "E-" + df["id"]
    return df


CONTACT = _object("contact", "C-", {"Name": {"from": "name"}})
LEAD = _object("lead", "L-", {"Name": {"from": "name"}})
SCHEMA = ObjectSchema("Event", {"WhoId": FieldSchema("WhoId", "reference")})


def _codes(issues: pd.DataFrame) -> set[tuple[str, str]]:
    return {(r.source_id, r.reason_code) for r in issues.itertuples()}


def test_first_non_blank_column_chooses_the_object():
    event = _object("event", "EV-", {"WhoId": {"lookup": ["contact", "lead"], "from": ["contact_id", "prospect_id"]}})
    norm = _rows(id=["1", "2", "3", "4"], contact_id=["7", None, "99", None], prospect_id=["8", "8", None, None])
    parents = {"contact": ParentKeys(alive={"C-7"}), "lead": ParentKeys(alive={"L-8"})}
    out, issues = build_mapped(norm, _pair(CONTACT, LEAD, event), event, SCHEMA, USERS, parents)
    assert dict(zip(out["_source_id"], out["WhoId"].fillna("-"))) == {"1": "C-7", "2": "L-8", "4": "-"}
    assert _codes(issues) == {("3", "ORPHAN_REFERENCE")}


def test_type_column_chooses_the_object_and_found_anywhere_without_it():
    note = _object("note", "N-", {"ParentId": {"lookup": ["contact", "lead"], "from": "parent_id", "type_column": "parent_type",
                                               "types": {"Contact": "contact", "Prospect": "lead"}}})
    norm = _rows(id=["1", "2", "3"], parent_id=["5", "5", "5"], parent_type=["Contact", "Prospect", "Job"])
    parents = {"contact": ParentKeys(alive={"C-5"}), "lead": ParentKeys(alive={"L-5"})}
    out, issues = build_mapped(norm, _pair(CONTACT, LEAD, note), note, SCHEMA, USERS, parents)
    assert dict(zip(out["_source_id"], out["ParentId"])) == {"1": "C-5", "2": "L-5"}
    assert _codes(issues) == {("3", "ORPHAN_REFERENCE")}  # a type no mapped object stands for

    anywhere = _object("note", "N-", {"ParentId": {"lookup": ["contact", "lead"], "from": "parent_id"}})
    out, _ = build_mapped(_rows(id=["1"], parent_id=["5"]), _pair(CONTACT, LEAD, anywhere), anywhere, SCHEMA, USERS,
                          {"contact": ParentKeys(), "lead": ParentKeys(alive={"L-5"})})
    assert list(out["ParentId"]) == ["L-5"]


def test_many_by_email_with_the_unmatched_kept_for_audit():
    event = _object("event", "EV-", {
        "Participants": {"lookup": ["contact", "lead"], "from": "attendees", "match": "email", "many": True},
        "Audit__c": {"unmatched": "Participants"},
    })
    contacts = _rows(id=["7"], email=["Ann@Example.com"]).assign(_external_id="C-7")
    leads = _rows(id=["8"], email=["lee@example.com"]).assign(_external_id="L-8")
    parents = {"contact": ParentKeys(alive={"C-7"}, frame=contacts), "lead": ParentKeys(alive={"L-8"}, frame=leads)}
    norm = _rows(id=["1", "2"], attendees=["ann@example.com; lee@example.com; who@else.org", None])
    out, issues = build_mapped(norm, _pair(CONTACT, LEAD, event), event, SCHEMA, USERS, parents)
    first = out.iloc[0]
    assert first["Participants"] == "C-7;L-8" and first["Audit__c"] == "who@else.org"
    assert pd.isna(out.iloc[1]["Participants"]) and pd.isna(out.iloc[1]["Audit__c"])
    assert _codes(issues) == {("1", "LOOKUP_UNRESOLVED")}
    # The loader turns each external id into its destination id and keeps the list sorted.
    loaded, _ = translate_lookups(out, event, {"contact": {"C-7": "003B"}, "lead": {"L-8": "00QA"}})
    assert loaded.iloc[0]["Participants"] == "003B;00QA"


def test_range_and_default_parent():
    territory = _object("territory", "T-", {"Name": {"from": "name"}})
    account = _object("account", "A-", {
        "Territory__c": {"lookup": "territory", "from": "zip", "range": ["zip_from", "zip_to"], "on_missing": "flag"},
    })
    zones = _rows(id=["N", "S"], zip_from=["10000", "30000"], zip_to=["19999", "39999"]).assign(_external_id=["T-N", "T-S"])
    parents = {"territory": ParentKeys(alive={"T-N", "T-S"}, frame=zones)}
    norm = _rows(id=["1", "2", "3", "4"], zip=["10001", "39999", "20000", None])
    out, issues = build_mapped(norm, _pair(territory, account), account, SCHEMA, USERS, parents)
    assert list(out["Territory__c"].fillna("-")) == ["T-N", "T-S", "-", "-"]
    assert _codes(issues) == {("3", "LOOKUP_UNRESOLVED")}

    contact = _object("contact", "C-", {"AccountId": {"lookup": "account", "from": "company_id", "default": "UNASSIGNED"}})
    out, issues = build_mapped(_rows(id=["1", "2"], company_id=["9", None]), _pair(account, contact), contact, SCHEMA, USERS,
                               {"account": ParentKeys(alive={"A-9", "A-UNASSIGNED"})})
    assert list(out["AccountId"]) == ["A-9", "A-UNASSIGNED"] and issues.empty
