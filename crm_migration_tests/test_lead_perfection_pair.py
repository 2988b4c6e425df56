"""End to end: Lead Perfection -> the Salesforce sandbox (twelve mappings, custom objects, a many:1 split)."""

from __future__ import annotations

import pytest

from crm_migration.mapping.loader import mappings_root
from crm_migration.pipeline.report import account
from crm_migration_tests.conftest import migration_setup
from crm_migration_tests.pair_checks import (
    assert_defects_reported,
    assert_nothing_unplanted,
    assert_reconciles,
    assert_rerun_writes_nothing,
    migrate,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lp(tmp_path_factory):
    with migration_setup(tmp_path_factory.mktemp("lp"), mappings_root() / "lead_perfection__salesforce", seed=11, scale=0.15) as m:
        yield m, migrate(m)


def _dest():
    from crm_migration.destinations import destination_kind

    return destination_kind("salesforce").from_env()


def test_every_object_reconciles(lp):
    assert_reconciles(*lp)


def test_each_planted_defect_is_reported_with_its_code(lp):
    assert_defects_reported(*lp)


def test_nothing_is_reported_that_was_not_planted(lp):
    assert_nothing_unplanted(*lp)


def test_each_job_is_an_opportunity_and_a_job_linked_to_it(lp):
    m, store = lp
    loaded = store.read("job", "loaded")
    jobs = loaded.loc[loaded["action"].isin(["created", "updated", "unchanged"]), "_external_id"].tolist()
    assert len(jobs) == account(store, "job").loaded > 10
    dest = _dest()
    opps = dest.read_back("Opportunity", "Source_System_ID__c", jobs, ["Name", "StageName"]).set_index("external_id")
    installs = dest.read_back("Job__c", "Source_System_ID__c", jobs, ["Name", "Opportunity__c", "Material_Type__c"]).set_index("external_id")
    assert set(installs.index) == set(jobs) and set(opps.index) == set(jobs)
    # One source row, two destination records: the installation points at its own commercial record.
    assert (installs.loc[jobs, "Opportunity__c"].to_numpy() == opps.loc[jobs, "destination_id"].to_numpy()).all()
    assert (installs.loc[jobs, "Name"].to_numpy() == opps.loc[jobs, "Name"].to_numpy()).all()


def test_contacts_without_a_company_land_on_the_unassigned_account(lp):
    m, store = lp
    dest = _dest()
    [unassigned] = dest.read_back("Account", "Source_System_ID__c", ["LP:UNASSIGNED"], ["Name"])["destination_id"]
    mapped = store.read("contact", "mapped")
    orphans = mapped.loc[mapped["AccountId"] == "LP:UNASSIGNED", "_external_id"].tolist()
    assert orphans, "the sample export has contacts without a company"
    back = dest.read_back("Contact", "Source_System_ID__c", orphans, ["AccountId"])
    assert set(back["AccountId"]) == {unassigned}


def test_a_second_materialization_changes_nothing(lp):
    assert_rerun_writes_nothing(*lp)
