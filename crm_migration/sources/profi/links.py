"""What a Profi export breaks or spreads over two files, put back together when it is read.

Two things in a Profi export cannot be mapped column to column:

- **The package-to-session link breaks in export.** Some sessions come with a blank
  ``package_id`` although they belong to a package. The booking client is always there, and usually
  the course or the package's name too: the package is then the one package of that client whose
  course matches (``course_id``, else ``package_name`` compared without case and surrounding
  spaces) and whose period (``enrolled_at``..``valid_until``, local dates, inclusive) holds the
  session's start date. No candidate, or more than one, leaves the link blank: guessing would
  put sessions on the wrong package. The exported ``package_id`` is never changed; the result is
  in two added columns, ``package_id_rebuilt`` and ``package_link`` (how it was found).
- **A session with several clients** is one session row and one participant row per client. To
  load one Event per client, each participant row needs its session's fields: the reader adds
  them as ``session_<column>`` (``layout.SESSION_FIELDS``).

Both work on whole columns (merges and masks). Dates are read with the export's default
zone and formats (:mod:`.layout`), the same parser the normalized stage uses.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from crm_migration.sources.base import SOURCE_FILE
from crm_migration.sources.profi.layout import NAIVE_DATE_FORMATS, SESSION_FIELDS, SOURCE_TIMEZONE

PACKAGE_ID_REBUILT = "package_id_rebuilt"
PACKAGE_LINK = "package_link"
# package_link values
FROM_EXPORT, BY_COURSE, BY_NAME, NO_LINK = "export", "client_course_date", "package_name", "none"


def _local_dates(s: pd.Series, zone: str) -> pd.Series:
    from crm_migration.pipeline.normalize import parse_datetimes

    return parse_datetimes(s, list(NAIVE_DATE_FORMATS), zone).dt.tz_convert(zone).dt.normalize()


def _key(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip().str.casefold()


def rebuild_package_links(sessions: pd.DataFrame, packages: pd.DataFrame, zone: str = SOURCE_TIMEZONE) -> pd.DataFrame:
    """``package_id_rebuilt`` and ``package_link`` for each session (same index as ``sessions``)."""
    exported = sessions["package_id"].astype("string")
    out = pd.DataFrame({PACKAGE_ID_REBUILT: exported, PACKAGE_LINK: pd.Series(NO_LINK, index=sessions.index, dtype="string")})
    out.loc[exported.notna(), PACKAGE_LINK] = FROM_EXPORT
    broken = sessions[exported.isna() & sessions["client_id"].notna()]
    if broken.empty or packages.empty:
        return out

    left = pd.DataFrame({
        "row": broken.index, "client_id": broken["client_id"].astype("string").to_numpy(),
        "course_id": broken["course_id"].astype("string").to_numpy(), "name": _key(broken["package_name"]).to_numpy(),
        "day": _local_dates(broken["start_at"], zone).to_numpy(),
    })
    right = pd.DataFrame({
        "client_id": packages["client_id"].astype("string"), "p_course_id": packages["course_id"].astype("string"),
        "p_name": _key(packages["package_name"]), "p_id": packages["package_id"].astype("string"),
        "p_from": _local_dates(packages["enrolled_at"], zone), "p_to": _local_dates(packages["valid_until"], zone),
    }).dropna(subset=["client_id", "p_id"])
    cand = left.merge(right, on="client_id", how="inner")
    by_course = cand["course_id"].notna() & (cand["course_id"] == cand["p_course_id"]).fillna(False)
    by_name = cand["course_id"].isna() & cand["name"].notna() & (cand["name"] == cand["p_name"]).fillna(False)
    within = ((cand["day"] >= cand["p_from"]) & (cand["day"] <= cand["p_to"])).fillna(False)
    hits = cand[(by_course | by_name) & within].assign(how=by_course.map({True: BY_COURSE, False: BY_NAME}))
    unique = hits[~hits["row"].duplicated(keep=False)].set_index("row")
    out.loc[unique.index, PACKAGE_ID_REBUILT] = unique["p_id"]
    out.loc[unique.index, PACKAGE_LINK] = unique["how"]
    return out


def session_columns(session_ids: pd.Series, sessions: pd.DataFrame) -> pd.DataFrame:
    """``session_<field>`` for each participant row, from its session (blank when the session is not there)."""
    fields = [f for f in SESSION_FIELDS if f in sessions.columns]
    first = sessions.drop_duplicates("session_id").set_index("session_id")[fields]
    out = first.reindex(session_ids.astype("string").to_numpy()).set_axis(session_ids.index)
    return out.rename(columns=lambda c: f"session_{c}").reindex(columns=[f"session_{f}" for f in SESSION_FIELDS])


def event_ids(participants: pd.DataFrame, booking_client: pd.Series) -> pd.Series:
    """One Event per client: the booking client's Event carries the session's id, the others their own."""
    booking = participants["client_id"].astype("string").eq(booking_client.astype("string")).fillna(False)
    return participants["session_id"].where(booking, participants["participant_id"]).astype("string")


def add_columns(table: pa.Table, extra: pd.DataFrame) -> pa.Table:
    """The table with ``extra``'s columns inserted before the provenance columns (metadata kept)."""
    at = table.column_names.index(SOURCE_FILE)
    for offset, name in enumerate(extra.columns):
        values = pa.array(extra[name].astype("string"), type=pa.string(), from_pandas=True)
        table = table.add_column(at + offset, pa.field(name, pa.string()), values)
    return table
