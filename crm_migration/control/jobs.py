"""The control plane in the UI: confirm the mapping, approve a sample, roll back a run, pick up deltas.

Each is also a `crm-migration` command; both call the same functions below.
"""


import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from dagster import (
    Config,
    DynamicPartitionsDefinition,
    Failure,
    OpExecutionContext,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    job,
    op,
    sensor,
)

from crm_migration.control.rollback import rollback
from crm_migration.control.runs import GateRefused
from crm_migration.mapping.loader import Pair, load_pair
from crm_migration.pipeline.ledger import Ledger, RunManifest
from crm_migration.pipeline.normalize import aliases
from crm_migration.pipeline.storage import RunStore, data_home
from crm_migration.sources.base import as_location
from crm_migration.sources import get_source


def confirm_mapping(pair: Pair, by: str) -> dict:
    """Pin the mapping files as they are now; any later edit needs a new confirmation."""
    pair = load_pair(pair.folder)  # validate what is on disk now
    return Ledger(data_home(), pair.name).confirm_mapping(pair.version, pair.file_hashes(), by)


def approve_sample(pair: Pair, run_id: str, by: str, note: str | None = None) -> dict:
    """Approve a reconciled sample run; differences must be explained in the note to be accepted."""
    ledger = Ledger(data_home(), pair.name)
    manifest = ledger.run(run_id)
    if manifest.kind != "sample":
        raise GateRefused(f"run {run_id} is a {manifest.kind} run; only sample runs are approved")
    if manifest.mapping_version != pair.version:
        raise GateRefused(f"sample {run_id} ran on mapping version {manifest.mapping_version}; the mapping is now {pair.version}")
    path = RunStore(data_home(), pair.name, run_id).reports_dir() / "accounting.json"
    if not path.exists():
        raise GateRefused(f"sample {run_id} has no reconciliation report yet: materialize it first")
    unreconciled = [a["object"] for a in json.loads(path.read_text()) if not a["reconciled"]]
    if unreconciled and not note:
        raise GateRefused(f"sample {run_id} has unexplained field-level differences in {', '.join(unreconciled)}: "
                          "fix the mapping, or approve with a note that explains them")
    return ledger.approve_sample(run_id, by, note)


def record_run(pair: Pair, run_id: str, kind: str, export_dir: Path, **extra) -> RunManifest:
    """Write the run's manifest to the ledger (the caller adds the partition to the Dagster instance)."""
    location = as_location(export_dir)
    watermark = get_source(pair.settings.source).watermark(location, aliases(pair.settings))
    return Ledger(data_home(), pair.name).open_run(RunManifest(
        run_id=run_id, pair=pair.name, kind=kind, export_dir=str(location.resolve() if isinstance(location, Path) else location),
        mapping_version=pair.version, watermark=watermark, **extra))


def next_delta(pair: Pair, now: datetime | None = None) -> RunManifest | str:
    """The delta run to open now, or the reason there is none."""
    ledger = Ledger(data_home(), pair.name)
    runs = [r for r in ledger.runs() if not ledger.rolled_back(r.run_id)]
    fulls = [r for r in runs if r.kind == "full"]
    if not fulls:
        return "no full run yet: the delta window opens after it"
    full = fulls[-1]
    now = now or datetime.now(timezone.utc)
    closes = datetime.fromisoformat(full.created_at) + timedelta(hours=pair.settings.delta.window_hours)
    if now > closes:
        return f"the delta window after {full.run_id} closed at {closes.isoformat(timespec='minutes')}"
    last = [r for r in runs if r.kind in ("full", "delta") and r.created_at >= full.created_at][-1]
    export = as_location(full.export_dir)
    watermark = get_source(pair.settings.source).watermark(export, aliases(pair.settings))
    if last.watermark and watermark <= last.watermark:
        return f"the export has not changed since {last.run_id} (watermark {last.watermark})"
    run_id = "delta-" + watermark.replace("-", "").replace(":", "").replace(".", "")[:15]
    return record_run(pair, run_id, "delta", export, since=last.watermark)


class RollbackConfig(Config):
    run_id: str
    with_later: bool = False


class ConfirmConfig(Config):
    confirmed_by: str


class ApproveConfig(Config):
    run_id: str
    approved_by: str
    note: str = ""


def build_control(pair: Pair, migrate_job, partitions: DynamicPartitionsDefinition):
    """The pair's control jobs and its delta sensor."""
    dest_key = pair.settings.destination

    @op(name=f"{pair.name}__confirm_mapping_op")
    def confirm_op(context: OpExecutionContext, config: ConfirmConfig) -> None:
        record = confirm_mapping(pair, config.confirmed_by)
        context.log.info(f"mapping version {record['mapping_version']} confirmed by {config.confirmed_by}")

    @job(name=f"{pair.name}__confirm_mapping", description=f"Confirm the mapping files of {pair.name} as they are now.")
    def confirm_job():
        confirm_op()

    @op(name=f"{pair.name}__approve_sample_op")
    def approve_op(context: OpExecutionContext, config: ApproveConfig) -> None:
        try:
            approve_sample(pair, config.run_id, config.approved_by, config.note or None)
        except GateRefused as e:
            raise Failure(description=str(e), allow_retries=False) from None
        context.log.info(f"sample {config.run_id} approved by {config.approved_by}")

    @job(name=f"{pair.name}__approve_sample", description=f"Approve a reconciled sample run of {pair.name}.")
    def approve_job():
        approve_op()

    @op(name=f"{pair.name}__rollback_op", required_resource_keys={dest_key})
    def rollback_op(context: OpExecutionContext, config: RollbackConfig) -> None:
        try:
            reports = rollback(pair, Ledger(data_home(), pair.name), getattr(context.resources, dest_key),
                               config.run_id, config.with_later)
        except GateRefused as e:
            raise Failure(description=str(e), allow_retries=False) from None
        for r in reports:
            context.log.info(f"rolled back {r.run_id}: {r.summary()}")
            if not r.verified:
                raise Failure(description=f"rollback of {r.run_id} did not verify: {r.failed[:5]}")

    @job(name=f"{pair.name}__rollback", description=f"Roll back one run of {pair.name}: delete what it created, restore what it updated.")
    def rollback_job():
        rollback_op()

    @sensor(name=f"{pair.name}__delta_pickup", job=migrate_job, minimum_interval_seconds=pair.settings.delta.check_every_seconds,
            description=f"During the cutover window after the full run, opens a delta run when the {pair.settings.source} export changes.")
    def delta_sensor(context: SensorEvaluationContext):
        found = next_delta(pair)
        if isinstance(found, str):
            return SkipReason(found)
        return SensorResult(run_requests=[RunRequest(partition_key=found.run_id, run_key=found.run_id)],
                            dynamic_partitions_requests=[partitions.build_add_request([found.run_id])])

    return [confirm_job, approve_job, rollback_job], [delta_sensor]
