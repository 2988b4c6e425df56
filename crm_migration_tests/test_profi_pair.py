"""End to end: Profi -> the Salesforce sandbox, with each of the seed's choices (the pair's options)."""

from __future__ import annotations

import shutil

import pytest
import yaml

from crm_migration.mapping.loader import mappings_root
from crm_migration_tests.conftest import migration_setup
from crm_migration_tests.pair_checks import (
    assert_defects_reported,
    assert_nothing_unplanted,
    assert_reconciles,
    assert_rerun_writes_nothing,
    migrate,
)

pytestmark = pytest.mark.integration
PAIR = "profi__salesforce"


@pytest.fixture(scope="module")
def profi(tmp_path_factory):
    """The pair as shipped: Individual accounts, other clients as invitees."""
    with migration_setup(tmp_path_factory.mktemp("profi"), mappings_root() / PAIR, seed=11, scale=0.15) as m:
        yield m, migrate(m)


@pytest.fixture(scope="module")
def profi_other_choices(tmp_path_factory):
    """The other choices: one shared account, one Event per client."""
    folder = tmp_path_factory.mktemp("mappings") / PAIR
    shutil.copytree(mappings_root() / PAIR, folder)
    settings = yaml.safe_load((folder / "pair.yaml").read_text())
    settings["options"] = {"client_accounts": "shared", "multi_client_sessions": "event_per_client"}
    (folder / "pair.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    with migration_setup(tmp_path_factory.mktemp("profi2"), folder, seed=11, scale=0.1) as m:
        yield m, migrate(m)


def _dest():
    from crm_migration.destinations import destination_kind

    return destination_kind("salesforce").from_env()


def _participants(m, store):
    from crm_migration.sources import get_source
    from crm_migration.sources.base import ExportAliases

    parts = get_source("profi").read(m.export, "session_participants", ExportAliases()).table.to_pandas()
    return parts


def test_every_object_reconciles(profi):
    assert_reconciles(*profi)


def test_each_planted_defect_is_reported_with_its_code(profi):
    assert_defects_reported(*profi)


def test_nothing_is_reported_that_was_not_planted(profi):
    assert_nothing_unplanted(*profi)


def test_a_group_session_is_one_event_with_its_clients_as_invitees(profi):
    m, store = profi
    loaded = store.read("session_invitee", "loaded")
    ok = store.read("session_invitee", "mapped").merge(loaded[["_external_id", "action", "destination_id"]], on="_external_id")
    ok = ok[ok["action"].isin(["created", "updated", "unchanged"])]
    per_event = ok.groupby("EventId").size()
    groups = per_event[per_event > 1]
    assert len(groups) >= 3, "the export has group sessions"
    dest = _dest()
    events = dest.read_back("Event", "Source_System_ID__c", list(groups.index), ["Id"])  # EventId holds the external id here
    relations = dest.read_back("EventRelation", "EventId", events["destination_id"].tolist(), ["RelationId", "IsInvitee"])
    counted = relations[relations["IsInvitee"].astype(bool)].groupby("external_id").size()
    by_event = dict(zip(events["external_id"], events["destination_id"]))
    for ext, clients in groups.items():
        assert counted.get(by_event[ext], 0) == clients, ext


def test_a_second_materialization_changes_nothing(profi):
    assert_rerun_writes_nothing(*profi)


# Last: its fixture points the environment at a second sandbox and data home.
def test_the_other_choices_one_event_per_client_and_one_shared_account(profi_other_choices):
    m, store = profi_other_choices
    assert_reconciles(m, store)
    assert "session_invitee" not in m.pair.objects
    parts = _participants(m, store)
    loaded = store.read("event", "loaded")
    events = loaded.loc[loaded["action"].isin(["created", "updated", "unchanged"]), "_external_id"].tolist()
    dest = _dest()
    back = dest.read_back("Event", "Source_System_ID__c", events, ["WhoId"])
    assert len(back) == len(events) and back["external_id"].is_unique
    # A group session became one Event per client, each with that client as its contact.
    prefix = m.pair.settings.external_id_prefix
    group = parts.groupby("session_id").filter(lambda g: len(g) > 1)
    sample = group[(prefix + group["event_id"]).isin(events)]
    assert len(sample) >= 3
    contacts = dest.read_back("Contact", "Source_System_ID__c", (prefix + sample["client_id"]).tolist(), ["AccountId"])
    who = dict(zip(back["external_id"], back["WhoId"]))
    by_client = dict(zip(contacts["external_id"], contacts["destination_id"]))
    assert all(who[prefix + e] == by_client[prefix + c] for e, c in zip(sample["event_id"], sample["client_id"])
               if prefix + c in by_client)
    # Every client under the one shared account.
    [shared] = dest.read_back("Account", "Source_System_ID__c", [prefix + "PROFI-CLIENTS"], ["Name"])["destination_id"]
    assert set(contacts["AccountId"]) == {shared}
