"""The one Definitions of the project: every pair in `mappings/` becomes an asset group and a job."""

from __future__ import annotations

from dagster import Definitions

from crm_migration.assets import build_pair_assets, build_pair_job, partitions_for
from crm_migration.control.jobs import build_control
from crm_migration.destinations import KINDS
from crm_migration.mapping.loader import load_all_pairs


def destination_resources() -> dict:
    """One resource per destination CRM; secrets stay EnvVars, resolved when a run builds the resource."""
    return {name: kind.resource() for name, kind in KINDS.items()}


def build_definitions() -> Definitions:
    pairs = load_all_pairs()
    resources = destination_resources()
    pairs = [p for p in pairs if p.settings.destination in resources]
    jobs, sensors = [], []
    for pair in pairs:
        migrate = build_pair_job(pair)
        control_jobs, control_sensors = build_control(pair, migrate, partitions_for(pair))
        jobs += [migrate, *control_jobs]
        sensors += control_sensors
    return Definitions(
        assets=[a for p in pairs for a in build_pair_assets(p)],
        jobs=jobs,
        sensors=sensors,
        resources=resources,
    )


defs = build_definitions()
