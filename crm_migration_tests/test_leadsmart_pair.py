"""End to end: a LeadSmart org (a Salesforce sandbox, read through the API) -> the Dataverse sandbox (msal + Web API)."""

from __future__ import annotations

import os

import pytest

from crm_migration.mapping.loader import mappings_root
from crm_migration.pipeline.report import account
from crm_migration_tests.conftest import migration_setup
from crm_migration_tests.pair_checks import (
    assert_defects_reported,
    assert_faults_do_not_change_the_result,
    assert_nothing_unplanted,
    assert_reconciles,
    assert_rerun_writes_nothing,
    migrate,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def leadsmart(tmp_path_factory):
    with migration_setup(tmp_path_factory.mktemp("leadsmart"), mappings_root() / "leadsmart__dynamics365", seed=11, scale=0.15) as m:
        yield m, migrate(m)


def test_every_object_reconciles(leadsmart):
    assert_reconciles(*leadsmart)


def test_each_planted_defect_is_reported_with_its_code(leadsmart):
    assert_defects_reported(*leadsmart)


def test_nothing_is_reported_that_was_not_planted(leadsmart):
    assert_nothing_unplanted(*leadsmart)


def test_partner_users_never_become_system_users(leadsmart):
    m, store = leadsmart
    from crm_migration.destinations import destination_kind

    users = set(destination_kind("dataverse").from_env().users()["email"].str.lower())
    assert not users & {e.lower() for e in m.truth["partner_owner_emails"]}
    partners = store.read("partner_user", "loaded")
    assert len(partners) and partners["action"].isin(["updated", "unchanged"]).all()  # their contacts, updated


def test_a_second_materialization_changes_nothing(leadsmart):
    assert_rerun_writes_nothing(*leadsmart)


def test_429_with_retry_after_and_token_expiry_do_not_change_the_result(leadsmart):
    assert_faults_do_not_change_the_result(*leadsmart, throttle_rate=0.06, expire_session_rate=0.04, seed=4)


def test_a_delta_run_picks_up_only_what_moved_by_systemmodstamp(leadsmart):
    m, store = leadsmart
    from crm_migration.cli import materialize
    from crm_migration.control.jobs import next_delta
    from crm_migration.sources.leadsmart.generator import touch_records

    touched = touch_records(m.export, os.environ["LEADSMART_CLIENT_ID"], os.environ["LEADSMART_CLIENT_SECRET"],
                            os.environ.get("LEADSMART_CA_FILE"), per_object=2)
    manifest = next_delta(m.pair)
    assert not isinstance(manifest, str), manifest
    m.instance.add_dynamic_partitions(f"{m.pair.name}__runs", [manifest.run_id])
    assert materialize(m.pair, manifest.run_id, m.instance)
    delta = m.store(manifest.run_id)
    by_source = {"leads": "lead", "accounts": "account", "opportunities": "opportunity"}
    for source_object, ids in touched.items():
        obj = by_source[source_object]
        raw = delta.read(obj, "raw_extract")
        assert sorted(raw["_source_id"]) == sorted(ids), obj
        acc = account(delta, obj)
        assert acc.reconciled and acc.extracted == len(ids) and acc.created == 0, obj  # a planted defect stays rejected
    accounts = account(delta, "account")
    assert accounts.loaded == len(touched["accounts"]) and accounts.updated == accounts.loaded  # a mapped field changed
    assert account(delta, "contact").extracted == 0  # nothing of theirs moved
    # Loading the delta again changes nothing.
    before = m.sandbox.stats()["writes"]
    assert materialize(m.pair, manifest.run_id, m.instance)
    assert m.sandbox.stats()["writes"] == before
