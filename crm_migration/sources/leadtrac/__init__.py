"""LeadTrac: a lead-centric CRM (leads, companies, deals, telephony, documents).

No public API: the data arrives as an export folder (see :mod:`.layout` for the default layout and
the default aliases of its inconsistent headers). ``SOURCE`` is what the pipeline uses;
:mod:`.generator` writes deterministic, messy sample exports.
"""

from __future__ import annotations

from pathlib import Path

from crm_migration.sources.base import ExportAliases, ExportRead, SourceObjectLayout
from crm_migration.sources.export_folder import ExportFolderSource
from crm_migration.sources.leadtrac.layout import LAYOUTS, with_default_aliases


class LeadTracSource(ExportFolderSource):
    """The LeadTrac export-folder source (satisfies :class:`crm_migration.sources.base.Source`).

    ``read`` applies the layout's default aliases first, then the pair's own (see
    :func:`.layout.with_default_aliases`).
    """

    name = "leadtrac"
    layouts: dict[str, SourceObjectLayout] = LAYOUTS

    def read(self, export_dir: Path, object_name: str, aliases: ExportAliases | None) -> ExportRead:
        return super().read(export_dir, object_name, with_default_aliases(aliases))


SOURCE = LeadTracSource()

__all__ = ["SOURCE", "LeadTracSource"]
