"""Shared fixtures: demo-sized migrations against real sandboxes (one per session, one per life-cycle test)."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path

import pytest

from crm_migration.mapping.loader import load_pair, mappings_root

PAIR_NAME = "perfect_portal__salesforce"


@pytest.fixture(scope="session")
def pair():
    return load_pair(mappings_root() / PAIR_NAME)


class Migration:
    """A data home, a generated export and a running Salesforce sandbox with the pair's schema applied."""

    def __init__(self, home: Path, pair, sandbox, export, instance, folder: Path | None = None):
        self.home, self.pair, self.sandbox, self.export, self.instance = home, pair, sandbox, export, instance
        self.folder = folder or Path(export)  # where the generator wrote its truth file

    def run(self, run_id: str, kind: str = "full") -> bool:
        from crm_migration.assets import open_run
        from crm_migration.cli import materialize

        open_run(self.instance, self.pair, run_id, kind, self.export)
        return materialize(self.pair, run_id, self.instance)

    def store(self, run_id: str):
        from crm_migration.pipeline.storage import RunStore

        return RunStore(self.home, self.pair.name, run_id)

    @property
    def truth(self) -> dict:
        return json.loads((self.folder / "_generator_truth.json").read_text())


@contextmanager
def migration_setup(home: Path, pair_folder: Path, *, seed: int, scale: float):
    """Environment for one migration: its data home, mappings, source data, sandbox and Dagster instance."""
    from contextlib import ExitStack

    from dagster import DagsterInstance

    from crm_migration.cli import prepare_sandbox, source_input
    from crm_migration.destinations import destination_kind
    from crm_migration.sandbox import start_sandbox

    saved = dict(os.environ)
    os.environ["CRM_MIGRATION_HOME"] = str(home)
    os.environ["CRM_MIGRATION_MAPPINGS"] = str(pair_folder.parent)
    try:
        pair = load_pair(pair_folder)
        with ExitStack() as stack:
            location, users = source_input(pair, home / "export", seed=seed, scale=scale, stack=stack)
            sandbox = stack.enter_context(start_sandbox(pair.settings.destination, home / "sandbox"))
            destination_kind(pair.settings.destination).point_at_sandbox(sandbox)
            prepare_sandbox(pair, sandbox, users)
            instance = stack.enter_context(DagsterInstance.ephemeral())
            yield Migration(home, pair, sandbox, location, instance, folder=home / "export")
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="session")
def migration(tmp_path_factory, pair):
    """The sandbox with the schema plan applied, the mapping not yet confirmed."""
    with migration_setup(tmp_path_factory.mktemp("home"), pair.folder, seed=11, scale=0.3) as m:
        yield m


@pytest.fixture(scope="session")
def approved(migration):
    """The mapping confirmed and a sample run approved: what a full run needs."""
    from crm_migration.control.jobs import approve_sample, confirm_mapping

    confirm_mapping(migration.pair, "tests")
    assert migration.run("sample-1", kind="sample"), "the sample run failed"
    approve_sample(migration.pair, "sample-1", "tests")
    return migration
