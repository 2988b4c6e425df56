"""Building issue rows (rejects, flags, skips) for many records at once, each naming file, row and field."""

from __future__ import annotations

import pandas as pd

from crm_migration.pipeline.storage import issues_frame
from crm_migration.reasons import reason
from crm_migration.sources.base import SOURCE_FILE, SOURCE_ID, SOURCE_ROW

EXTERNAL_ID = "_external_id"


def issues_for(
    rows: pd.DataFrame,
    *,
    stage: str,
    obj: str,
    code: str | pd.Series,
    field: str | None = None,
    value: pd.Series | None = None,
    detail: str | pd.Series = "",
    dest_code: pd.Series | None = None,
    dest_message: pd.Series | None = None,
) -> pd.DataFrame:
    """One issue per row of `rows` (which carries the _source_* columns), vectorised.

    `code` is one reason code for all rows, or a Series of codes (a destination's per-record answers).
    """
    if rows.empty:
        return issues_frame([])
    codes = code if isinstance(code, pd.Series) else pd.Series(code, index=rows.index)
    entries = {c: reason(c) for c in codes.unique()}
    where = rows[SOURCE_FILE].astype("string") + " row " + rows[SOURCE_ROW].astype("Int64").astype("string")
    if field:
        where = where + ", field " + field
    text = detail if isinstance(detail, pd.Series) else pd.Series(detail, index=rows.index)
    text = text.where(text.fillna("") != "", codes.map(lambda c: entries[c].meaning))
    out = pd.DataFrame(
        {
            "stage": stage,
            "severity": codes.map(lambda c: entries[c].severity.value),
            "reason_code": codes,
            "object": obj,
            "source_file": rows[SOURCE_FILE].astype("string"),
            "source_row": rows[SOURCE_ROW].astype("Int64"),
            "source_id": rows[SOURCE_ID].astype("string") if SOURCE_ID in rows else None,
            "external_id": rows[EXTERNAL_ID].astype("string") if EXTERNAL_ID in rows else None,
            "field": field,
            "value": value.astype("string") if value is not None else None,
            "message": where + ": " + text.astype("string"),
            "dest_code": dest_code,
            "dest_message": dest_message,
        },
        index=rows.index,
    )
    return issues_frame([out])


def rejected_rows(issues: pd.DataFrame) -> pd.Index:
    """Source rows (file, row) that some issue rejects or skips: they go no further."""
    rej = issues[issues["severity"].isin(["reject", "skip"])]
    return pd.MultiIndex.from_frame(rej[["source_file", "source_row"]].drop_duplicates())


def drop_rejected(df: pd.DataFrame, issues: pd.DataFrame) -> pd.DataFrame:
    if issues.empty or df.empty:
        return df
    rejected = rejected_rows(issues)
    keys = pd.MultiIndex.from_arrays([df[SOURCE_FILE].astype("string"), df[SOURCE_ROW].astype("Int64")])
    return df[~keys.isin(rejected)]
