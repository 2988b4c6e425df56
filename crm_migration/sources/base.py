"""What every source offers the pipeline, whatever system it is.

A source names its objects with a default export layout (file name, id column, canonical
columns). A user's export may name files and columns differently: the pair's settings alias them,
and the reader maps them back to the canonical names before anything else sees the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pyarrow as pa

# Columns every reader adds to each row, so that any later error can name file and row.
SOURCE_FILE = "_source_file"
SOURCE_ROW = "_source_row"  # the row as a spreadsheet shows it: the header is row 1
SOURCE_ID = "_source_id"


@dataclass(frozen=True)
class SourceObjectLayout:
    """One object of a source's export: where it is and what its columns are called by default."""

    name: str
    file: str
    id_column: str | None  # None for name/value property rows, which have no id of their own
    columns: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True)
class ExportAliases:
    """The user's names for files and columns, from the pair's settings (canonical -> export)."""

    files: dict[str, str] = field(default_factory=dict)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class ExportRead:
    """One object read from an export: rows (all values as text) and the rows that could not be read."""

    table: pa.Table  # canonical columns as strings (blank -> null) + SOURCE_FILE, SOURCE_ROW, SOURCE_ID
    rejects: pa.Table  # SOURCE_FILE, SOURCE_ROW, reason_code, message, raw


def as_location(value: str | Path) -> str | Path:
    """Where a source's data is: an export folder (a Path), or an API source's URL (kept as text)."""
    text = str(value)
    return text if "://" in text else Path(text)


def files_root(source: "Source", location: str | Path) -> Path:
    """The local folder holding the source's file bodies: the export folder, or an API source's download cache."""
    local = getattr(source, "files_root", None)
    return Path(local(location)) if local is not None else Path(location)


class Source(Protocol):
    """A source system: its objects' layouts, a reader, a watermark and a sample generator."""

    name: str
    layouts: dict[str, SourceObjectLayout]

    def read(self, export_dir: Path, object_name: str, aliases: ExportAliases) -> ExportRead: ...

    def watermark(self, export_dir: Path, aliases: ExportAliases) -> str:
        """ISO 8601 UTC time of the newest export file: what a delta run compares against."""
        ...

    def generate(self, out_dir: Path, *, seed: int = 7, scale: float = 1.0, with_files: bool = True) -> Path:
        """Write a deterministic, deliberately messy sample export; returns the export folder."""
        ...
