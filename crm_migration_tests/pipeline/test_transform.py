"""The mapped stage on hand-made rows: value maps, owners, lookups, hierarchy waves and cycles."""

from __future__ import annotations

import pandas as pd

from crm_migration.destinations.base import FieldSchema, ObjectSchema
from crm_migration.mapping.loader import load_pair, mappings_root
from crm_migration.pipeline.transform import WAVE, ParentKeys, build_mapped

PAIR = load_pair(mappings_root() / "perfect_portal__salesforce")


def _schema(obj: str, **kinds) -> ObjectSchema:
    return ObjectSchema(obj, {n: FieldSchema(n, k) for n, k in kinds.items()})


USERS = pd.DataFrame({"id": ["005A", "005B", "005F"], "email": ["ann@firm.example", "bob@firm.example", "migration.owner@example.com"],
                      "active": [True, False, True], "name": ["Ann", "Bob", "Owner"]})


def _rows(**cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    df = pd.DataFrame({k: pd.Series(v, dtype="string") for k, v in cols.items()})
    df["_source_file"] = "x.csv"
    df["_source_row"] = pd.Series(range(2, n + 2), dtype="Int64")
    return df


def test_hierarchy_waves_and_cycle():
    m = PAIR.objects["account"]
    norm = _rows(client_id=["A", "B", "C", "X", "Y", "Z", "K"], name=list("ABCXYZK"),
                 parent_client_id=[None, "A", "B", "Z", "X", "Y", "X"], owner_email=["ann@firm.example"] * 7)
    norm["_source_id"] = norm["client_id"]
    norm["_external_id"] = norm["client_id"]
    out, issues = build_mapped(norm, PAIR, m, _schema("Account", Name="text", ParentId="reference"), USERS, {})
    assert dict(zip(out["_external_id"], out[WAVE])) == {"A": 0, "B": 1, "C": 2}
    codes = dict(zip(issues["source_id"], issues["reason_code"]))
    assert codes == {"X": "HIERARCHY_CYCLE", "Y": "HIERARCHY_CYCLE", "Z": "HIERARCHY_CYCLE", "K": "PARENT_REJECTED"}


def test_value_map_owner_fallback_and_lookups():
    m = PAIR.objects["case"]
    norm = _rows(matter_id=["M1", "M2", "M3", "M4"], name=["a", "b", "c", "d"],
                 stage=["Intake", "Archived", "Closed", "In Progress"], client_id=["C1", "C1", "C404", "CR"],
                 primary_contact_id=[None, None, None, "nobody"], owner_email=["ANN@firm.example", "ann@firm.example", "bob@firm.example", None])
    norm["_source_id"] = norm["matter_id"]
    norm["_external_id"] = norm["matter_id"]
    schema = _schema("Case", Status="picklist", Origin="picklist", OwnerId="reference", AccountId="reference", ContactId="reference")
    parents = {"account": ParentKeys(alive={"C1"}, rejected={"CR"}), "contact": ParentKeys(alive=set())}
    out, issues = build_mapped(norm, PAIR, m, schema, USERS, parents)
    assert list(out["_external_id"]) == ["M1"]
    assert out.loc[0, "Status"] == "New" and out.loc[0, "Origin"] == "Portal Migration" and out.loc[0, "OwnerId"] == "005A"
    by = {(r.source_id, r.reason_code) for r in issues.itertuples()}
    assert ("M2", "UNMAPPED_VALUE") in by
    assert ("M3", "ORPHAN_REFERENCE") in by and ("M3", "OWNER_FALLBACK") in by  # bob is inactive
    assert ("M4", "PARENT_REJECTED") in by and ("M4", "LOOKUP_UNRESOLVED") in by
    msg = issues.loc[issues["reason_code"] == "UNMAPPED_VALUE", "message"].iloc[0]
    assert msg.startswith("x.csv row 3, field Status:") and "Archived" in msg
