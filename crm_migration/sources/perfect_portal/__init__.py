"""Perfect Portal: a client portal and matter-management layer for professional service firms.

No public API: the data arrives as an export folder (see :mod:`.layout` for the default layout).
``SOURCE`` is what the pipeline uses; :mod:`.generator` writes deterministic, messy sample exports.
"""

from __future__ import annotations

from pathlib import Path

from crm_migration.sources.base import ExportAliases, ExportRead, SourceObjectLayout
from crm_migration.sources.export_folder import export_watermark, read_export_object
from crm_migration.sources.perfect_portal.layout import LAYOUTS


class PerfectPortalSource:
    """The Perfect Portal export-folder source (satisfies :class:`crm_migration.sources.base.Source`)."""

    name = "perfect_portal"
    layouts: dict[str, SourceObjectLayout] = LAYOUTS

    def read(self, export_dir: Path, object_name: str, aliases: ExportAliases) -> ExportRead:
        try:
            layout = self.layouts[object_name]
        except KeyError:
            raise KeyError(f"{self.name} has no object {object_name!r}; objects: {sorted(self.layouts)}") from None
        return read_export_object(Path(export_dir), layout, aliases or ExportAliases())

    def watermark(self, export_dir: Path, aliases: ExportAliases | None = None) -> str:
        return export_watermark(Path(export_dir))

    def generate(self, out_dir: Path, *, seed: int = 7, scale: float = 1.0, with_files: bool = True) -> Path:
        from crm_migration.sources.perfect_portal.generator import generate_export

        return generate_export(Path(out_dir), seed=seed, scale=scale, with_files=with_files)

    def __repr__(self) -> str:
        return f"<Source {self.name}>"


SOURCE = PerfectPortalSource()

__all__ = ["SOURCE", "PerfectPortalSource"]
