"""The generic reader of export folders (a folder of CSV files plus attachment files).

Every export-folder source (Perfect Portal, LeadPerfection, Profi, LeadTrac) reads its objects with
:func:`read_export_object`; only the layouts differ. The reader:

- finds the object's file (default name or the user's alias; a case-insensitive match is accepted);
- detects the encoding on a sample: UTF-8 (with or without BOM), else cp1252 (else latin-1, which
  never fails); the choice is in the result's ``encoding`` and the table's metadata;
- reads every column as text with pyarrow's multithreaded CSV reader (quoted values may span lines,
  blank values become null, whitespace-only values too);
- maps the user's header names back to the canonical names (case and surrounding whitespace do not
  matter), adds canonical columns the file lacks as all-null (``missing_columns``), keeps extra
  columns under their own names, and refuses a file without its id column;
- puts rows with the wrong number of fields in ``rejects`` (``UNPARSEABLE_ROW``) with file, row and
  raw text, and reads on;
- adds ``_source_file``, ``_source_row`` and ``_source_id`` to every row.

Row numbers are the ones a spreadsheet shows: the header is row 1, the first record row 2. They
count *records*, not physical lines: a quoted value spanning three lines is still one row, so the
numbers match what Excel or LibreOffice show when the file is opened. A blank line counts as a row
(a spreadsheet shows it as an empty row) but yields no record.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from crm_migration.sources.base import (
    SOURCE_FILE,
    SOURCE_ID,
    SOURCE_ROW,
    ExportAliases,
    ExportRead,
    SourceObjectLayout,
)

log = logging.getLogger(__name__)

SAMPLE_BYTES = 1 << 20  # how much of a file the encoding detection looks at
BLOCK_SIZE = 16 << 20  # pyarrow block size: a single quoted value must fit in one block
UTF8_BOM = codecs.BOM_UTF8

REJECTS_SCHEMA = pa.schema(
    [
        pa.field(SOURCE_FILE, pa.string()),
        pa.field(SOURCE_ROW, pa.int64()),
        pa.field("reason_code", pa.string()),
        pa.field("message", pa.string()),
        pa.field("raw", pa.string()),
    ]
)


class ExportLayoutError(ValueError):
    """The export file does not fit the layout in a way the reader cannot work around."""


@dataclass(frozen=True)
class FolderRead(ExportRead):
    """:class:`ExportRead` plus what the reader found out about the file (also in the table's metadata)."""

    file: str = ""  # relative to the export folder
    encoding: str = "utf-8"  # "utf-8", "utf-8-sig" (with BOM), "cp1252" or "latin-1"
    missing_columns: tuple[str, ...] = ()  # canonical columns absent from the file (added as null)
    extra_columns: tuple[str, ...] = ()  # columns of the file outside the layout (kept as they are)
    header_map: dict[str, str] = field(default_factory=dict)  # canonical -> header as in the file
    blank_rows: int = 0  # blank lines skipped (they are rows, not records)


# ---------------------------------------------------------------------------------------------
# Finding the file


def resolve_export_file(export_dir: Path, layout: SourceObjectLayout, aliases: ExportAliases) -> Path:
    """The object's file in the export folder; a clear FileNotFoundError when it is not there."""
    export_dir = Path(export_dir)
    name = aliases.files.get(layout.name, layout.file)
    if not export_dir.is_dir():
        raise FileNotFoundError(f"export folder {str(export_dir)!r} does not exist (reading {layout.name!r})")
    path = export_dir / name
    if path.is_file():
        return path
    # Tolerate a different case of the file name (exports made on Windows/macOS).
    wanted = name.casefold()
    for candidate in sorted(export_dir.iterdir()):
        if candidate.is_file() and candidate.name.casefold() == wanted:
            return candidate
    present = sorted(p.name for p in export_dir.iterdir() if p.suffix.lower() == ".csv")
    aliased = layout.name in aliases.files
    raise FileNotFoundError(
        f"{layout.name}: expected file {name!r} in export folder {str(export_dir)!r}, not found"
        + (f" (name from the alias files[{layout.name!r}])" if aliased else "")
        + f". CSV files present: {present}. If the export names this file differently, set the "
        f"file alias {layout.name!r} (ExportAliases.files[{layout.name!r}]) in the pair's settings."
    )


# ---------------------------------------------------------------------------------------------
# Encoding and header


def _detect_encoding(path: Path) -> tuple[str, bytes]:
    """(encoding, sample bytes): UTF-8 if the sample decodes as UTF-8, else cp1252, else latin-1."""
    with open(path, "rb") as f:
        sample = f.read(SAMPLE_BYTES)
        complete = not f.read(1)
    if sample.startswith(UTF8_BOM):
        enc = "utf-8-sig"
    else:
        enc = "utf-8"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
        return enc, sample
    except UnicodeDecodeError:
        pass
    try:
        sample.decode("cp1252")
        return "cp1252", sample
    except UnicodeDecodeError:
        return "latin-1", sample


def _decode_sample(sample: bytes, encoding: str) -> str:
    dec = codecs.getincrementaldecoder(encoding)(errors="replace")
    return dec.decode(sample, final=False).lstrip("\ufeff")


def _read_header(sample_text: str, path: Path) -> list[str]:
    if not sample_text.strip():
        raise ExportLayoutError(f"{path.name}: the file is empty (no header row)")
    # The header only: one record, so the csv module is fine here (the data goes through pyarrow).
    return next(csv.reader(io.StringIO(sample_text, newline="")))


def _norm(name: str) -> str:
    return name.strip().casefold()


def _map_header(
    header: list[str], layout: SourceObjectLayout, aliases: ExportAliases, file_name: str
) -> tuple[list[str], dict[str, str], list[str], list[str]]:
    """Output names per file column, canonical->header map, missing canonical and extra columns."""
    col_aliases = aliases.columns.get(layout.name, {})
    by_norm: dict[str, list[int]] = {}
    for i, h in enumerate(header):
        by_norm.setdefault(_norm(h), []).append(i)
    claimed: dict[int, str] = {}
    header_map: dict[str, str] = {}
    missing: list[str] = []
    for canon in layout.columns:
        candidates = [col_aliases[canon]] if canon in col_aliases else []
        candidates.append(canon)
        found = None
        for cand in candidates:
            for i in by_norm.get(_norm(cand), []):
                if i not in claimed:
                    found = i
                    break
            if found is not None:
                break
        if found is None:
            missing.append(canon)
        else:
            claimed[found] = canon
            header_map[canon] = header[found]
    if layout.id_column is not None and layout.id_column in missing:
        expected = col_aliases.get(layout.id_column, layout.id_column)
        raise ExportLayoutError(
            f"{file_name}: the id column {layout.id_column!r} (expected header {expected!r}) is not in "
            f"the file's header {header}. If the export calls it differently, set the column alias "
            f"ExportAliases.columns[{layout.name!r}][{layout.id_column!r}] in the pair's settings."
        )
    out_names: list[str] = []
    extras: list[str] = []
    taken = set(layout.columns) | {SOURCE_FILE, SOURCE_ROW, SOURCE_ID}
    for i, h in enumerate(header):
        if i in claimed:
            out_names.append(claimed[i])
            continue
        name = h.lstrip("\ufeff") if h.strip() else f"column_{i + 1}"
        base, k = name, 2
        while name in taken:
            name = f"{base} ({k})"
            k += 1
        taken.add(name)
        out_names.append(name)
        extras.append(name)
    return out_names, header_map, missing, extras


# ---------------------------------------------------------------------------------------------
# Reading


class _InvalidRows:
    """Collects pyarrow's invalid rows (called from reader threads) and skips them."""

    def __init__(self) -> None:
        self.rows: list[tuple[int | None, int, int, str]] = []
        self._lock = threading.Lock()

    def __call__(self, row) -> str:
        with self._lock:
            self.rows.append((row.number, row.expected_columns, row.actual_columns, row.text))
        return "skip"


def _pyarrow_read(path: Path, header: list[str], encoding: str, use_threads: bool) -> tuple[pa.Table, _InvalidRows]:
    handler = _InvalidRows()

    def read(names: list[str]) -> pa.Table:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                use_threads=use_threads,
                block_size=BLOCK_SIZE,
                # pyarrow skips a UTF-8 BOM itself; other encodings are transcoded to UTF-8 first.
                encoding="utf8" if encoding in ("utf-8", "utf-8-sig") else encoding,
            ),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=True,
                ignore_empty_lines=False,  # keep blank lines as (null) rows so row numbers stay exact
                invalid_row_handler=handler,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )

    # pyarrow reads the header itself (a quoted header name may span lines); the names it finds
    # are the ones parsed from the sample, else (odd quoting) read again with pyarrow's own names.
    table = read(header)
    if any(not pa.types.is_string(t) for t in table.schema.types):
        handler.rows.clear()
        table = read(table.column_names)
    return table, handler


def _read_with_fallback(path: Path, header: list[str], encoding: str) -> tuple[pa.Table, _InvalidRows, str]:
    """Multithreaded read; a second single-threaded pass only when some rows were invalid.

    pyarrow reports an invalid row's number only when reading on one thread, so a file with bad rows
    is read again that way to number them exactly (rare: the clean path is one multithreaded pass).
    If the sample was valid UTF-8 but a later part of the file is not, the file is read as cp1252
    (then latin-1, which accepts any byte).
    """
    encodings = [encoding] + [e for e in ("cp1252", "latin-1") if e != encoding and encoding != "latin-1"]
    last_exc: Exception | None = None
    for i, enc in enumerate(encodings):
        try:
            table, handler = _pyarrow_read(path, header, enc, use_threads=True)
            if handler.rows:
                table, handler = _pyarrow_read(path, header, enc, use_threads=False)
            if i:
                log.warning("%s: not valid %s beyond the first %d bytes; read as %s", path.name, encoding, SAMPLE_BYTES, enc)
            return table, handler, enc
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            last_exc = exc
            if isinstance(exc, pa.ArrowInvalid) and "utf8" not in str(exc).lower().replace("-", ""):
                break  # not an encoding problem
    raise ExportLayoutError(f"{path.name}: could not be read as CSV: {last_exc}") from last_exc


def _blank_to_null(col: pa.ChunkedArray) -> pa.ChunkedArray:
    blank = pc.match_substring_regex(col, r"^\s+$")
    if not pc.any(blank).as_py():
        return col
    return pc.if_else(blank, pa.scalar(None, pa.string()), col)


def read_export_object(export_dir: Path, layout: SourceObjectLayout, aliases: ExportAliases) -> FolderRead:
    """Read one object's CSV file of an export folder: canonical text columns, rejects, provenance."""
    export_dir = Path(export_dir)
    path = resolve_export_file(export_dir, layout, aliases)
    rel = path.relative_to(export_dir).as_posix()

    encoding, sample = _detect_encoding(path)
    if encoding not in ("utf-8", "utf-8-sig"):
        log.info("%s: not valid UTF-8, reading as %s", rel, encoding)
    header = _read_header(_decode_sample(sample, encoding), path)
    out_names, header_map, missing, extras = _map_header(header, layout, aliases, rel)

    raw, handler, encoding = _read_with_fallback(path, header, encoding)
    if raw.num_columns != len(header):
        raise ExportLayoutError(f"{rel}: header has {len(header)} columns but pyarrow found {raw.num_columns}")
    n_read = raw.num_rows

    # Rejects: rows pyarrow could not split into the header's number of fields.
    invalid = sorted(handler.rows, key=lambda r: (r[0] is None, r[0] or 0))
    reject_rows = [r[0] for r in invalid]
    rejects = pa.table(
        {
            SOURCE_FILE: pa.array([rel] * len(invalid), pa.string()),
            SOURCE_ROW: pa.array(reject_rows, pa.int64()),
            "reason_code": pa.array(["UNPARSEABLE_ROW"] * len(invalid), pa.string()),
            "message": pa.array(
                [
                    f"{rel} row {num if num is not None else '?'}: expected {exp} fields, found {act}"
                    for num, exp, act, _ in invalid
                ],
                pa.string(),
            ),
            "raw": pa.array([r[3] for r in invalid], pa.string()),
        },
        schema=REJECTS_SCHEMA,
    )

    # Row numbers of the rows read: every row from 2 on, except the rejected ones.
    known = np.array([n for n in reject_rows if n is not None], dtype=np.int64)
    if len(known) == len(reject_rows):
        all_rows = np.arange(2, 2 + n_read + len(known), dtype=np.int64)
        rows = all_rows[~np.isin(all_rows, known)] if len(known) else all_rows
        row_array = pa.array(rows, pa.int64())
    else:  # pyarrow did not number the bad rows: later row numbers would be guesses
        row_array = pa.nulls(n_read, pa.int64())

    # Blank lines come through as all-null rows: they are not records.
    blank_rows = 0
    if n_read and raw.num_columns:
        all_null = pc.is_null(raw.column(0))
        for i in range(1, raw.num_columns):
            all_null = pc.and_(all_null, pc.is_null(raw.column(i)))
        blank_rows = int(pc.sum(all_null).as_py() or 0)
        if blank_rows:
            keep = pc.invert(all_null)
            raw = raw.filter(keep)
            row_array = pc.filter(row_array, keep)

    columns: dict[str, pa.ChunkedArray | pa.Array] = {}
    file_cols = {name: _blank_to_null(raw.column(i)) for i, name in enumerate(out_names)}
    n = raw.num_rows
    for canon in layout.columns:
        columns[canon] = file_cols[canon] if canon in file_cols else pa.nulls(n, pa.string())
    for name in extras:
        columns[name] = file_cols[name]
    columns[SOURCE_FILE] = pa.repeat(pa.scalar(rel, pa.string()), n)
    columns[SOURCE_ROW] = row_array
    columns[SOURCE_ID] = columns[layout.id_column] if layout.id_column else pa.nulls(n, pa.string())

    info = {
        "file": rel,
        "encoding": encoding,
        "missing_columns": missing,
        "extra_columns": extras,
        "header_map": header_map,
        "blank_rows": blank_rows,
        "rejected_rows": len(invalid),
        "row_numbering": "spreadsheet rows: header = 1, first record = 2; records, not physical lines",
    }
    table = pa.table(columns).replace_schema_metadata({"crm_migration.export_read": json.dumps(info)})
    if missing:
        log.info("%s: columns not in the file, added as null: %s", rel, missing)
    if len(invalid):
        log.warning("%s: %d row(s) could not be parsed and were rejected", rel, len(invalid))
    return FolderRead(
        table=table,
        rejects=rejects,
        file=rel,
        encoding=encoding,
        missing_columns=tuple(missing),
        extra_columns=tuple(extras),
        header_map=header_map,
        blank_rows=blank_rows,
    )


def read_info(table: pa.Table) -> dict:
    """What the reader recorded about a table it produced (file, encoding, missing columns, ...)."""
    meta = table.schema.metadata or {}
    raw = meta.get(b"crm_migration.export_read")
    return json.loads(raw) if raw else {}


# ---------------------------------------------------------------------------------------------
# Watermark


def export_csv_files(export_dir: Path) -> list[Path]:
    """The export's data files: top-level CSV files, except those starting with ``_`` (generator notes)."""
    export_dir = Path(export_dir)
    if not export_dir.is_dir():
        raise FileNotFoundError(f"export folder {str(export_dir)!r} does not exist")
    return sorted(
        p for p in export_dir.iterdir() if p.is_file() and p.suffix.lower() == ".csv" and not p.name.startswith("_")
    )


def export_watermark(export_dir: Path) -> str:
    """ISO 8601 UTC time (``...Z``, microseconds) of the newest modification among the export's CSV files."""
    files = export_csv_files(export_dir)
    if not files:
        raise FileNotFoundError(f"export folder {str(export_dir)!r} has no CSV files")
    newest_ns = max(p.stat().st_mtime_ns for p in files)
    seconds, ns = divmod(newest_ns, 1_000_000_000)
    dt = datetime.fromtimestamp(seconds, tz=timezone.utc) + timedelta(microseconds=ns // 1000)
    return dt.isoformat(timespec="microseconds").replace("+00:00", "Z")


class ExportFolderSource:
    """A source whose data arrives as an export folder: its layouts, the generic reader and watermark, and
    its generator module (``<package>.generator.generate_export``). A source with derived objects or
    default aliases overrides :meth:`read` and calls ``super().read``."""

    name: str = ""
    layouts: dict[str, SourceObjectLayout] = {}

    def read(self, export_dir: Path, object_name: str, aliases: ExportAliases | None) -> ExportRead:
        try:
            layout = self.layouts[object_name]
        except KeyError:
            raise KeyError(f"{self.name} has no object {object_name!r}; objects: {sorted(self.layouts)}") from None
        return read_export_object(Path(export_dir), layout, aliases or ExportAliases())

    def watermark(self, export_dir: Path, aliases: ExportAliases | None = None) -> str:
        return export_watermark(Path(export_dir))

    def generate(self, out_dir: Path, *, seed: int = 7, scale: float = 1.0, with_files: bool = True) -> Path:
        import importlib

        generator = importlib.import_module(f"{type(self).__module__}.generator")
        return generator.generate_export(Path(out_dir), seed=seed, scale=scale, with_files=with_files)

    def __repr__(self) -> str:
        return f"<Source {self.name}>"
