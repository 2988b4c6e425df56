"""Where a run's data lives: immutable Parquet files per asset partition, read back through DuckDB.

Several Dagster steps run at once in separate processes and a DuckDB database file admits one
writer, so nothing here shares a database file: every step writes its own Parquet files (to a
temporary name, then an atomic rename), and DuckDB reads them by path or glob.

    <home>/runs/<pair>/<run>/<object>/<stage>.parquet         the stage's records
    <home>/runs/<pair>/<run>/<object>/<stage>.issues.parquet  its rejects, flags and skips
    <home>/runs/<pair>/<run>/_pair/<name>.*                   pair-level assets (schema, users, ...)
    <home>/ledger/<pair>/...                                  see crm_migration.pipeline.ledger
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ISSUE_COLUMNS = {
    "stage": pa.string(),
    "severity": pa.string(),
    "reason_code": pa.string(),
    "object": pa.string(),
    "source_file": pa.string(),
    "source_row": pa.int64(),
    "source_id": pa.string(),
    "external_id": pa.string(),
    "field": pa.string(),
    "value": pa.string(),
    "message": pa.string(),
    "dest_code": pa.string(),
    "dest_message": pa.string(),
}
ISSUE_SCHEMA = pa.schema(list(ISSUE_COLUMNS.items()))


def data_home() -> Path:
    """The one data directory: CRM_MIGRATION_HOME, else `.crm_migration` in the working directory."""
    return Path(os.environ.get("CRM_MIGRATION_HOME") or Path.cwd() / ".crm_migration").resolve()


def write_parquet(table: pa.Table | pd.DataFrame, path: Path) -> Path:
    """Write atomically: readers see the old file or the new one, never half of one."""
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    pq.write_table(table, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def write_json(data: object, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str), encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_parquet(path: Path) -> pd.DataFrame:
    return pq.read_table(path).to_pandas()


def query(sql: str, **params: object) -> pd.DataFrame:
    """Run SQL over Parquet files with an in-memory DuckDB: no shared database file, no writer lock."""
    with duckdb.connect() as con:
        return con.execute(sql, params or None).fetchdf()


def empty_issues() -> pd.DataFrame:
    return ISSUE_SCHEMA.empty_table().to_pandas()


def issues_frame(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_issues()
    out = pd.concat(frames, ignore_index=True)
    for col in ISSUE_COLUMNS:
        if col not in out.columns:
            out[col] = None
    out = out[list(ISSUE_COLUMNS)]
    out["source_row"] = out["source_row"].astype("Int64")
    for col, typ in ISSUE_COLUMNS.items():
        if typ == pa.string():
            out[col] = out[col].astype("string")
    return out


@dataclass(frozen=True)
class RunStore:
    """The files of one run (one partition) of one pair."""

    home: Path
    pair: str
    run_id: str

    @property
    def root(self) -> Path:
        return self.home / "runs" / self.pair / self.run_id

    def path(self, obj: str, stage: str) -> Path:
        return self.root / obj / f"{stage}.parquet"

    def issues_path(self, obj: str, stage: str) -> Path:
        return self.root / obj / f"{stage}.issues.parquet"

    def pair_path(self, name: str) -> Path:
        return self.root / "_pair" / name

    def write(self, df: pd.DataFrame, obj: str, stage: str, issues: pd.DataFrame | None = None) -> Path:
        write_parquet(issues_frame([issues]) if issues is not None else empty_issues(), self.issues_path(obj, stage))
        return write_parquet(df, self.path(obj, stage))

    def read(self, obj: str, stage: str) -> pd.DataFrame:
        path = self.path(obj, stage)
        if not path.exists():
            raise FileNotFoundError(
                f"{path} does not exist: materialize {self.pair}/{obj}/{stage} for run {self.run_id} first"
            )
        return read_parquet(path)

    def read_issues(self, obj: str, stage: str | None = None) -> pd.DataFrame:
        paths = [self.issues_path(obj, stage)] if stage else sorted((self.root / obj).glob("*.issues.parquet"))
        paths = [p for p in paths if p.exists()]
        if not paths:
            return empty_issues()
        return issues_frame([read_parquet(p) for p in paths])

    def reports_dir(self) -> Path:
        return self.root / "reports"
