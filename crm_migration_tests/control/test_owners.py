"""The owner report: matched, inactive and unknown owners, with and without a fallback."""

from __future__ import annotations

import pandas as pd

from crm_migration.control.owners import owner_report
from crm_migration.mapping.loader import Pair
from crm_migration.pipeline.storage import RunStore, write_parquet

USERS = pd.DataFrame({"id": ["005A", "005B", "005F"], "email": ["ann@firm.example", "bob@firm.example", "fallback@firm.example"],
                      "active": [True, False, True], "name": ["Ann", "Bob", "Fallback"]})


def _store(tmp_path, pair) -> RunStore:
    store = RunStore(tmp_path, pair.name, "r1")
    owners = {"account": "owner_email", "contact": "owner_email", "case": "owner_email", "document": "uploaded_by_email",
              "task": "assigned_to_email", "interaction": "logged_by_email"}
    for obj, col in owners.items():
        emails = ["Ann@firm.example", "bob@firm.example", "carol@elsewhere.example", None] if obj == "contact" else ["ann@firm.example"]
        write_parquet(pd.DataFrame({col: pd.Series(emails, dtype="string")}), store.path(obj, "normalized"))
    return store


def _with_owners(pair, **owners) -> Pair:
    settings = pair.settings.model_copy(update={"owners": pair.settings.owners.model_copy(update=owners)})
    return Pair(pair.folder, settings, pair.objects)


def test_fallback_covers_inactive_and_unknown_owners(tmp_path, pair):
    report = owner_report(_with_owners(pair, fallback_email="fallback@firm.example"), _store(tmp_path, pair), USERS).set_index("source_owner")
    assert report.loc["ann@firm.example", "resolution"] == "user" and report.loc["ann@firm.example", "records"] == 6
    assert report.loc["bob@firm.example", "destination_user"] == "005B" and not report.loc["bob@firm.example", "active"]
    for who in ("bob@firm.example", "carol@elsewhere.example", "(blank)"):
        assert report.loc[who, "resolution"] == "fallback fallback@firm.example", who


def test_without_a_usable_fallback_unmatched_owners_are_unresolved(tmp_path, pair):
    for owners in ({"fallback_email": None}, {"fallback_email": "bob@firm.example"}, {"on_unresolved": "reject"}):
        report = owner_report(_with_owners(pair, **owners), _store(tmp_path, pair), USERS).set_index("source_owner")
        assert report.loc["ann@firm.example", "resolution"] == "user"
        assert (report.drop(index="ann@firm.example")["resolution"] == "UNRESOLVED").all(), owners
