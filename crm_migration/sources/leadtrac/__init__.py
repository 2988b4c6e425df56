"""LeadTrac: a lead-centric CRM (leads, companies, deals, telephony, documents).

No public API: the data arrives as an export folder (see :mod:`.layout` for the default layout and
the default aliases of its inconsistent headers). ``SOURCE`` is what the pipeline uses;
:mod:`.generator` writes deterministic, messy sample exports.
"""

from __future__ import annotations

from pathlib import Path

from crm_migration.sources.base import ExportAliases, ExportRead, SourceObjectLayout
from crm_migration.sources.export_folder import export_watermark, read_export_object
from crm_migration.sources.leadtrac.layout import LAYOUTS, with_default_aliases


class LeadTracSource:
    """The LeadTrac export-folder source (satisfies :class:`crm_migration.sources.base.Source`).

    ``read`` applies the layout's default aliases first, then the pair's own (see
    :func:`.layout.with_default_aliases`).
    """

    name = "leadtrac"
    layouts: dict[str, SourceObjectLayout] = LAYOUTS

    def read(self, export_dir: Path, object_name: str, aliases: ExportAliases | None) -> ExportRead:
        try:
            layout = self.layouts[object_name]
        except KeyError:
            raise KeyError(f"{self.name} has no object {object_name!r}; objects: {sorted(self.layouts)}") from None
        return read_export_object(Path(export_dir), layout, with_default_aliases(aliases))

    def watermark(self, export_dir: Path, aliases: ExportAliases | None = None) -> str:
        return export_watermark(Path(export_dir))

    def generate(self, out_dir: Path, *, seed: int = 7, scale: float = 1.0, with_files: bool = True) -> Path:
        from crm_migration.sources.leadtrac.generator import generate_export

        return generate_export(Path(out_dir), seed=seed, scale=scale, with_files=with_files)

    def __repr__(self) -> str:
        return f"<Source {self.name}>"


SOURCE = LeadTracSource()

__all__ = ["SOURCE", "LeadTracSource"]
