"""Perfect Portal: a client portal and matter-management layer for professional service firms.

No public API: the data arrives as an export folder (see :mod:`.layout` for the default layout).
``SOURCE`` is what the pipeline uses; :mod:`.generator` writes deterministic, messy sample exports.
"""

from __future__ import annotations

from crm_migration.sources.base import SourceObjectLayout
from crm_migration.sources.export_folder import ExportFolderSource
from crm_migration.sources.perfect_portal.layout import LAYOUTS


class PerfectPortalSource(ExportFolderSource):
    """The Perfect Portal export-folder source (satisfies :class:`crm_migration.sources.base.Source`)."""

    name = "perfect_portal"
    layouts: dict[str, SourceObjectLayout] = LAYOUTS


SOURCE = PerfectPortalSource()

__all__ = ["SOURCE", "PerfectPortalSource"]
