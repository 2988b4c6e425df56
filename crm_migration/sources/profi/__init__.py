"""Profi: a platform for coaches and course creators (clients, sessions, courses, packages, billing).

No public bulk API: the data arrives as an export folder (see :mod:`.layout` for the default layout).
``SOURCE`` is what the pipeline uses. It reads every object with the generic export-folder reader
and adds the columns :mod:`.links` rebuilds (the package of a session whose link broke in the
export; each participant's session fields, for one Event per client). :mod:`.generator` writes
deterministic, messy sample exports.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pandas as pd

from crm_migration.sources.base import ExportAliases, ExportRead, SourceObjectLayout
from crm_migration.sources.export_folder import ExportFolderSource, read_export_object
from crm_migration.sources.profi import links
from crm_migration.sources.profi.layout import LAYOUTS, SESSION_FIELDS

log = logging.getLogger(__name__)

_PACKAGE_COLUMNS = ["package_id", "client_id", "course_id", "package_name", "enrolled_at", "valid_until"]
_SESSION_COLUMNS = ["package_id", "client_id", "course_id", "package_name", "start_at"]


class ProfiSource(ExportFolderSource):
    """The Profi export-folder source (satisfies :class:`crm_migration.sources.base.Source`)."""

    name = "profi"
    layouts: dict[str, SourceObjectLayout] = LAYOUTS

    def read(self, export_dir: Path, object_name: str, aliases: ExportAliases) -> ExportRead:
        export_dir, aliases = Path(export_dir), aliases or ExportAliases()
        read = super().read(export_dir, object_name, aliases)
        table = read.table
        if object_name == "sessions":
            sessions = table.select(_SESSION_COLUMNS).to_pandas()
            try:
                packages = read_export_object(export_dir, self.layouts["packages"], aliases).table
                packages = packages.select(_PACKAGE_COLUMNS).to_pandas()
            except FileNotFoundError:
                log.warning("sessions: no packages file in %s; package links are not rebuilt", export_dir)
                packages = pd.DataFrame(columns=_PACKAGE_COLUMNS)
            table = links.add_columns(table, links.rebuild_package_links(sessions, packages))
        elif object_name == "session_participants":
            try:
                sessions = self.read(export_dir, "sessions", aliases).table
                sessions = sessions.select(["session_id", *SESSION_FIELDS]).to_pandas()
            except FileNotFoundError:
                log.warning("session_participants: no sessions file in %s; session fields left blank", export_dir)
                sessions = pd.DataFrame(columns=["session_id", *SESSION_FIELDS])
            ids = table.column("session_id").to_pandas()
            extra = links.session_columns(ids, sessions)
            extra["event_id"] = links.event_ids(table.select(["participant_id", "session_id", "client_id"]).to_pandas(),
                                                extra["session_client_id"])
            table = links.add_columns(table, extra)
        return dataclasses.replace(read, table=table)


SOURCE = ProfiSource()

__all__ = ["SOURCE", "ProfiSource"]
