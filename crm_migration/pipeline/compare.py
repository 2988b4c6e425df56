"""Field-by-field comparison of canonical values, shared by the loader (what changed?) and reconciliation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_migration.destinations.base import FieldSchema


def field_equal(expected: pd.Series, actual: pd.Series, f: FieldSchema | None) -> pd.Series:
    """True where the two canonical values are the same value (blank and null are the same)."""
    kind = f.kind if f else "text"
    e, a = _blank_to_na(expected), _blank_to_na(actual)
    both_null = e.isna().to_numpy() & a.isna().to_numpy()
    one_null = e.isna().to_numpy() ^ a.isna().to_numpy()
    if kind in ("integer", "decimal"):
        en = pd.to_numeric(e, errors="coerce").astype("float64").to_numpy()
        an = pd.to_numeric(a, errors="coerce").astype("float64").to_numpy()
        same = np.isclose(np.nan_to_num(en), np.nan_to_num(an), rtol=1e-9, atol=1e-6)
    elif kind == "datetime":
        et = pd.to_datetime(e, utc=True, errors="coerce", format="ISO8601")
        at = pd.to_datetime(a, utc=True, errors="coerce", format="ISO8601")
        same = (et == at).fillna(False).to_numpy(dtype=bool)
    elif kind == "email":  # addresses compare without case, as every CRM matches them
        same = (e.astype("string").str.lower() == a.astype("string").str.lower()).fillna(False).to_numpy(dtype=bool)
    elif kind == "boolean":
        same = (e.astype("boolean") == a.astype("boolean")).fillna(False).to_numpy(dtype=bool)
    else:
        same = (e.astype("string") == a.astype("string")).fillna(False).to_numpy(dtype=bool)
    return pd.Series(both_null | (~one_null & same), index=expected.index)


def _blank_to_na(s: pd.Series) -> pd.Series:
    if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
        return s.astype("string").replace("", pd.NA)
    return s
