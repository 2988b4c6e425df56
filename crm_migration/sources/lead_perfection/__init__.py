"""Lead Perfection: a CRM for home-improvement contractors (prospects, appointments, jobs, sales reps).

No public API: the data arrives as an export folder (see :mod:`.layout` for the default layout).
``SOURCE`` is what the pipeline uses; :mod:`.generator` writes deterministic, messy sample exports.

Besides the export's own objects, the reader offers ``note_images``: the images notes show inline,
one row per ``<img>``, so that they can be re-hosted as files on the note's record. An image that
is a file of the export keeps its path; an embedded one (``data:`` URI) is decoded once into a
content-addressed cache outside the export (the export folder stays as exported: its file times
are the delta watermark). Each image names its note's file and row, and its place in the note.
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa

from crm_migration.sources.base import SOURCE_FILE, SOURCE_ID, SOURCE_ROW, ExportAliases, ExportRead, SourceObjectLayout
from crm_migration.sources.export_folder import ExportFolderSource
from crm_migration.sources.lead_perfection.layout import LAYOUTS

NOTE_IMAGES = SourceObjectLayout(
    name="note_images", file=LAYOUTS["notes"].file, id_column="image_id",
    columns=("image_id", "note_id", "position", "parent_type", "parent_id", "subject", "file_name", "image_name", "content_type",
             "author_email", "created_at", "modified_at"),
    description="Derived: one row per image a note shows inline (re-hosted as a file on the note's record).",
)
_IMG_SRC = r"""<img\b[^>]*?\bsrc\s*=\s*["']([^"']+)["']"""
_DATA_URI = r"^data:(?P<type>[\w.+/-]+);base64,(?P<data>.*)$"


def inline_image_cache() -> Path:
    return Path(tempfile.gettempdir()) / "crm_migration" / "inline_images"


def _note_images(notes: ExportRead, export_dir: Path) -> ExportRead:
    df = notes.table.to_pandas()
    found = df["body_html"].astype("string").str.extractall(_IMG_SRC)[0] if len(df) else None
    if found is None or found.empty:
        return ExportRead(pa.table({c: pa.array([], pa.string()) for c in NOTE_IMAGES.columns}), notes.rejects)
    rows = df.loc[found.index.get_level_values(0)].reset_index(drop=True)
    src = found.reset_index(drop=True).str.strip()
    position = pd.Series(found.index.get_level_values(1) + 1).astype(str)
    data = src.str.extract(_DATA_URI)
    embedded = data["data"].notna()
    cache = inline_image_cache()
    cache.mkdir(parents=True, exist_ok=True)
    names = src.copy()
    for i in src.index[embedded]:  # one decode per embedded image: files, not a table transform
        try:
            body = base64.b64decode(data.at[i, "data"], validate=True)
        except ValueError:
            names[i] = None  # undecodable: the pipeline reports the file as missing
            continue
        ext = data.at[i, "type"].split("/")[-1].split("+")[0]
        path = cache / f"{hashlib.sha256(body).hexdigest()}.{ext}"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(body)
            tmp.replace(path)
        names[i] = str(path)
    content_type = data["type"].where(embedded, "image/" + src.str.extract(r"\.(\w+)$")[0].str.lower())
    out = pd.DataFrame({
        "image_id": rows["note_id"] + "-" + position, "note_id": rows["note_id"], "position": position,
        "parent_type": rows["parent_type"], "parent_id": rows["parent_id"], "subject": rows["subject"],
        "file_name": names, "image_name": rows["note_id"] + "-" + position + "." + content_type.str.split("/").str[-1],
        "content_type": content_type, "author_email": rows["author_email"],
        "created_at": rows["created_at"], "modified_at": rows["modified_at"],
        # The note's own row, and which of its images this is: file + row stay unique per image.
        SOURCE_FILE: rows[SOURCE_FILE] + " (inline image " + position + ")",
        SOURCE_ROW: rows[SOURCE_ROW], SOURCE_ID: rows["note_id"] + "-" + position,
    })
    return ExportRead(pa.Table.from_pandas(out.astype({c: "string" for c in out.columns if c != SOURCE_ROW}), preserve_index=False),
                      notes.rejects.slice(0, 0))


class LeadPerfectionSource(ExportFolderSource):
    """The Lead Perfection export-folder source (satisfies :class:`crm_migration.sources.base.Source`)."""

    name = "lead_perfection"
    layouts: dict[str, SourceObjectLayout] = {**LAYOUTS, NOTE_IMAGES.name: NOTE_IMAGES}

    def read(self, export_dir: Path, object_name: str, aliases: ExportAliases) -> ExportRead:
        if object_name == NOTE_IMAGES.name:
            return _note_images(self.read(export_dir, "notes", aliases), Path(export_dir))
        return super().read(export_dir, object_name, aliases)


SOURCE = LeadPerfectionSource()

__all__ = ["SOURCE", "LeadPerfectionSource"]
