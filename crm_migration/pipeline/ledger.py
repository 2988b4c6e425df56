"""The ledger: run manifests, the audit log and the ID cross-reference, safe across crashes and processes.

Every batch written to a destination leaves two immutable Parquet files, each fsynced and renamed
into place, so several step processes can write at once and DuckDB reads them all:

1. before sending, the *intent*: for every record, the external id, whether it already existed,
   its before-image (the destination's values before this write) and the after-image being sent;
2. after the answer, the *result*: one outcome per record (destination id, created / updated /
   unchanged / failed, reason code, the destination's own code and message).

A crash between the two leaves an intent without a result. Nothing is lost: the upsert is keyed by
external id, so re-running the step converges, and the intent still says what existed before the
run, which is what rollback needs. The ID cross-reference is a view over the results.

    <home>/ledger/<pair>/runs/<run>.json
    <home>/ledger/<pair>/audit/<run>/<object>/<batch>.intent.parquet
    <home>/ledger/<pair>/audit/<run>/<object>/<batch>.result.parquet
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

import pandas as pd

from crm_migration.pipeline.storage import query, write_json, write_parquet

RunKind = Literal["full", "sample", "delta"]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class RunManifest:
    run_id: str
    pair: str
    kind: RunKind
    export_dir: str
    mapping_version: str
    created_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="microseconds"))
    watermark: str | None = None  # the export's newest file time when the run was opened
    since: str | None = None  # delta runs: records modified after this time
    sample_size: int | None = None


@dataclass(frozen=True)
class Ledger:
    home: Path
    pair: str

    @property
    def root(self) -> Path:
        return self.home / "ledger" / self.pair

    # --- runs -----------------------------------------------------------------------------------

    def open_run(self, manifest: RunManifest) -> RunManifest:
        path = self.root / "runs" / f"{manifest.run_id}.json"
        if path.exists():
            existing = self.run(manifest.run_id)
            if existing.export_dir != manifest.export_dir or existing.kind != manifest.kind:
                raise ValueError(f"run {manifest.run_id} already exists for {existing.export_dir} ({existing.kind})")
            return existing
        write_json(asdict(manifest), path)
        return manifest

    def run(self, run_id: str) -> RunManifest:
        path = self.root / "runs" / f"{run_id}.json"
        if not path.exists():
            raise KeyError(f"no run {run_id!r} for pair {self.pair} (expected {path}); open it with `crm-migration run open`")
        return RunManifest(**json.loads(path.read_text(encoding="utf-8")))

    def runs(self) -> list[RunManifest]:
        return sorted((self.run(p.stem) for p in (self.root / "runs").glob("*.json")), key=lambda m: m.created_at)

    # --- confirmation, approval, rollback: small JSON records, one file each -------------------

    def _record(self, name: str) -> dict | None:
        path = self.root / name
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def confirm_mapping(self, version: str, files: dict[str, str], by: str) -> dict:
        record = {"mapping_version": version, "files": files, "confirmed_by": by, "at": _now()}
        write_json(record, self.root / "confirmation.json")
        return record

    def confirmation(self) -> dict | None:
        return self._record("confirmation.json")

    def approve_sample(self, run_id: str, by: str, note: str | None) -> dict:
        record = {"run_id": run_id, "mapping_version": self.run(run_id).mapping_version, "approved_by": by,
                  "note": note, "at": _now()}
        write_json(record, self.root / "approvals" / f"{run_id}.json")
        return record

    def approvals(self) -> list[dict]:
        return [json.loads(p.read_text()) for p in sorted((self.root / "approvals").glob("*.json"))]

    def mark_rolled_back(self, run_id: str, summary: dict) -> None:
        write_json(summary | {"run_id": run_id, "at": _now()}, self.root / "rollbacks" / f"{run_id}.json")

    def rolled_back(self, run_id: str) -> dict | None:
        return self._record(f"rollbacks/{run_id}.json")

    # --- audit ----------------------------------------------------------------------------------

    def _batch_dir(self, run_id: str, obj: str) -> Path:
        return self.root / "audit" / run_id / obj

    def new_batch(self, run_id: str, obj: str, label: str) -> str:
        return f"{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%f')}-{label}-{uuid.uuid4().hex[:8]}"

    def write_intent(self, run_id: str, obj: str, batch: str, intent: pd.DataFrame) -> None:
        """intent columns: external_id, existed, destination_id, before (JSON), after (JSON)."""
        write_parquet(intent.assign(batch=batch, run_id=run_id, object=obj), self._batch_dir(run_id, obj) / f"{batch}.intent.parquet")

    def write_result(self, run_id: str, obj: str, batch: str, result: pd.DataFrame) -> None:
        stamped = result.assign(batch=batch, run_id=run_id, object=obj,
                                written_at=datetime.now(timezone.utc).isoformat(timespec="microseconds"))
        write_parquet(stamped, self._batch_dir(run_id, obj) / f"{batch}.result.parquet")

    def _glob(self, kind: str, run_id: str | None = None, obj: str | None = None) -> str:
        return str(self.root / "audit" / (run_id or "*") / (obj or "*") / f"*.{kind}.parquet")

    def _has(self, kind: str, run_id: str | None = None, obj: str | None = None) -> bool:
        return any((self.root / "audit").glob(f"{run_id or '*'}/{obj or '*'}/*.{kind}.parquet"))

    def results(self, run_id: str | None = None, obj: str | None = None) -> pd.DataFrame:
        if not self._has("result", run_id, obj):
            return pd.DataFrame(columns=["external_id", "destination_id", "action", "reason_code", "dest_code",
                                         "dest_message", "batch", "run_id", "object", "written_at"])
        return query(f"SELECT * FROM read_parquet('{self._glob('result', run_id, obj)}', union_by_name=true)")

    def intents(self, run_id: str | None = None, obj: str | None = None) -> pd.DataFrame:
        if not self._has("intent", run_id, obj):
            return pd.DataFrame(columns=["external_id", "existed", "destination_id", "before", "after", "batch", "run_id", "object"])
        return query(f"SELECT * FROM read_parquet('{self._glob('intent', run_id, obj)}', union_by_name=true)")

    def xref(self, obj: str | None = None) -> pd.DataFrame:
        """External id -> destination id of every record that is in the destination now.

        The latest outcome per record decides: created, updated, unchanged or restored keep it;
        deleted (by a rollback) drops it; a failure leaves the last good outcome standing.
        """
        if not self._has("result", None, obj):
            return pd.DataFrame(columns=["object", "external_id", "destination_id"])
        return query(
            f"""
            SELECT object, external_id, arg_max(destination_id, written_at || batch) AS destination_id,
                   arg_max(action, written_at || batch) AS action
            FROM read_parquet('{self._glob('result', None, obj)}', union_by_name=true)
            WHERE action IN ('created', 'updated', 'unchanged', 'restored', 'deleted') AND destination_id IS NOT NULL
            GROUP BY object, external_id
            HAVING arg_max(action, written_at || batch) != 'deleted'
            """
        )[["object", "external_id", "destination_id"]]

    def xref_by_object(self) -> dict[str, dict[str, str]]:
        """The ID cross-reference as {object: {external id: destination id}}."""
        x = self.xref()
        return {obj: dict(zip(g["external_id"], g["destination_id"])) for obj, g in x.groupby("object")}
