"""The raw_extract and normalized stages: read a source object, then type and clean it.

Everything here works on whole columns (pandas/pyarrow), never row by row: the same code runs the
demo's few thousand rows and the benchmark's million.
"""

from __future__ import annotations

import hashlib
import html
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from crm_migration.destinations.base import FILE_LINK
from crm_migration.mapping.model import ObjectMapping, PairSettings
from crm_migration.pipeline.issues import EXTERNAL_ID, drop_rejected, issues_for
from crm_migration.pipeline.storage import issues_frame
from crm_migration.sources.base import SOURCE_FILE, SOURCE_ID, SOURCE_ROW, ExportAliases, ExportRead, Source

STAGE = "normalized"
PROPERTY_PREFIX = "property:"  # pivoted properties the mapping does not name keep this prefix

FILE_PATH = "file_path"
FILE_SIZE = "file_size"
FILE_SHA256 = "file_sha256"
FILE_BASENAME = "file_basename"  # the file's own name, without the export's folders

_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s.]+$"
_HAS_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"
_ISO_START = r"^\d{4}-\d{2}-\d{2}T"
_TRUE = {"true", "yes", "y", "1", "t", "on"}
_FALSE = {"false", "no", "n", "0", "f", "off"}
_THOUSANDS = r"^-?\d{1,3}(,\d{3})+(\.\d+)?$"


def aliases(settings: PairSettings) -> ExportAliases:
    return ExportAliases(files=dict(settings.export.files), columns={k: dict(v) for k, v in settings.export.columns.items()})


# --- raw_extract -----------------------------------------------------------------------------


def extract(source: Source, export_dir: Path, mapping: ObjectMapping, settings: PairSettings) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Read the object and pivot its property rows into columns; returns rows, issues, metadata."""
    if mapping.source.object is None:  # only rows the mapping adds
        read = ExportRead(pa.table({SOURCE_ROW: pa.array([], pa.int64())}), pa.table({c: pa.array([], pa.string()) for c in
                                                                                     (SOURCE_FILE, "reason_code", "message", "raw")}))
    else:
        read = source.read(export_dir, mapping.source.object, aliases(settings))
    raw = read.table.to_pandas()
    if mapping.source.add_rows:  # records the migration adds, named after the mapping file that adds them
        added = pd.DataFrame(mapping.source.add_rows)
        added[SOURCE_FILE] = Path(mapping.file_name).name or f"{mapping.object}.yaml"
        added[SOURCE_ROW] = range(1, len(added) + 1)
        added[SOURCE_ID] = added[mapping.source.id]
        raw = pd.concat([raw, added], ignore_index=True)
    raw = raw.astype({c: "string" for c in raw.columns if c != SOURCE_ROW} | {SOURCE_ROW: "Int64"})
    issues = [_unparseable(read.rejects.to_pandas(), mapping.object)]
    meta: dict = {"source_file": mapping.source.object, "rows": len(raw)}
    for pivot in mapping.source.pivot:
        props = source.read(export_dir, pivot.object, aliases(settings))
        issues.append(_unparseable(props.rejects.to_pandas(), mapping.object))
        wide, orphan_rows, unnamed = _pivot(props.table.to_pandas(), pivot, raw[mapping.source.id])
        raw = raw.merge(wide, how="left", left_on=mapping.source.id, right_index=True)
        meta[f"{pivot.object}: rows without a parent"] = orphan_rows
        meta[f"{pivot.object}: properties not in the mapping"] = ", ".join(unnamed) or "none"
    return raw.reset_index(drop=True), issues_frame(issues), meta


def _unparseable(rejects: pd.DataFrame, obj: str) -> pd.DataFrame:
    if rejects.empty:
        return issues_frame([])
    rows = rejects.rename(columns={"raw": "value"})
    rows[SOURCE_ID] = None
    detail = rows["message"].astype("string").str.replace(r"^.*? row \d+:\s*", "", regex=True)  # issues_for names file and row
    return issues_for(rows, stage="raw_extract", obj=obj, code="UNPARSEABLE_ROW", value=rows["value"], detail=detail)


def _pivot(props: pd.DataFrame, pivot, ids: pd.Series) -> tuple[pd.DataFrame, int, list[str]]:
    props = props.dropna(subset=[pivot.key, pivot.name_column])
    names = props[pivot.name_column].str.strip()
    column = names.map(pivot.properties).fillna(PROPERTY_PREFIX + names)
    unnamed = sorted(set(names[~names.isin(pivot.properties.keys())]))
    known = props[pivot.key].isin(set(ids.dropna()))
    long = pd.DataFrame({"key": props[pivot.key], "column": column, "value": props[pivot.value_column]})[known]
    # A property given twice for one record: the last row wins, as the portal shows it.
    wide = long.drop_duplicates(["key", "column"], keep="last").pivot(index="key", columns="column", values="value")
    for col in pivot.properties.values():
        if col not in wide.columns:
            wide[col] = pd.NA
    return wide.astype("string"), int((~known).sum()), unnamed


# --- normalized ------------------------------------------------------------------------------


def normalize(raw: pd.DataFrame, mapping: ObjectMapping, settings: PairSettings, export_dir: Path,
              work_dir: Path | None = None, orders: dict[str, str | None] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Type and clean the rows; rows that cannot be used go to the issues with a reason code.

    `work_dir` receives the files this stage writes (note bodies that load as files); `orders` are the
    date columns' day/month orders as the whole export shows them (`column_orders`)."""
    obj, spec = mapping.object, mapping.source
    df = raw.copy()
    for col in df.columns:
        if df[col].dtype == "string":
            df[col] = df[col].str.strip().replace("", pd.NA)
    df[SOURCE_ID] = df[spec.id]
    df[EXTERNAL_ID] = spec.external_id_prefix + df[spec.id]
    issues: list[pd.DataFrame] = []

    dup_id = df[spec.id].notna() & df.duplicated(subset=[spec.id], keep="first")
    issues.append(issues_for(df[dup_id], stage=STAGE, obj=obj, code="DUPLICATE_SOURCE_ID", field=spec.id,
                             value=df.loc[dup_id, spec.id], detail="the same source id is on an earlier row; this row is not loaded"))
    for col in spec.required:
        blank = df[col].isna() if col in df else pd.Series(True, index=df.index)
        issues.append(issues_for(df[blank], stage=STAGE, obj=obj, code="REQUIRED_MISSING", field=col,
                                 detail="required value is blank"))

    for col, typ in spec.types.items():
        if col not in df:
            df[col] = pd.Series(pd.NA, index=df.index, dtype="string")
        df[col], col_issues = _typed(df, col, typ, settings, obj, (orders or {}).get(col))
        issues.append(col_issues)

    for group in spec.duplicates:
        issues.append(_suspected_duplicates(df, group, obj))

    for col, wanted in spec.only.items():
        other = ~(df[col].isin(wanted) if col in df else pd.Series(False, index=df.index)).fillna(False).astype(bool)
        issues.append(issues_for(df[other], stage=STAGE, obj=obj, code="OTHER_MAPPING", field=col, value=df.loc[other, col],
                                 detail=f"{col} is not {' or '.join(wanted)}: another mapping moves it"))

    for col in spec.skip_when_blank:
        blank = df[col].isna() if col in df else pd.Series(True, index=df.index)
        issues.append(issues_for(df[blank], stage=STAGE, obj=obj, code="NOTHING_TO_MIGRATE", field=col,
                                 detail=f"{col} is blank: nothing for this mapping to move"))

    if spec.file is not None and spec.file.text_column is not None:
        body = df[spec.file.text_column]
        if spec.file.format == "html":
            body = as_html_paragraphs(body)
        names = write_text_files(body, Path(work_dir or export_dir / "_bodies"), spec.file.extension)
        df, file_issues = attach_files(df.assign(_body_file=names), "_body_file", Path(work_dir or export_dir / "_bodies"), obj)
        issues.append(file_issues)
    elif spec.file is not None:
        df, file_issues = attach_files(df, spec.file.path_column, export_dir / spec.file.folder, obj)
        if spec.file.link_column:  # a file that is not in the export but kept elsewhere loads as a link
            linked = df[spec.file.path_column].isna() & df[spec.file.link_column].notna()
            df[FILE_LINK] = df[spec.file.link_column].where(linked)
            issues.append(issues_for(df[linked], stage=STAGE, obj=obj, code="FILE_LINKED", field=spec.file.path_column,
                                     value=df.loc[linked, spec.file.link_column],
                                     detail="no file in the export; loaded as a link to where it is kept"))
        issues.append(file_issues)

    all_issues = issues_frame(issues)
    return drop_rejected(df, all_issues).reset_index(drop=True), all_issues


def _typed(df: pd.DataFrame, col: str, typ: str, settings: PairSettings, obj: str,
           order: str | None = None) -> tuple[pd.Series, pd.DataFrame]:
    s = df[col].astype("string")
    present = s.notna()
    none = issues_for(df.iloc[0:0], stage=STAGE, obj=obj, code="REQUIRED_MISSING")
    if typ in ("text", "phone", "url"):
        return s, none
    if typ == "email":
        bad = present & ~s.str.match(_EMAIL).fillna(False).astype(bool)
        flags = issues_for(df[bad], stage=STAGE, obj=obj, code="INVALID_EMAIL", field=col, value=s[bad],
                           detail="not a valid e-mail address; the field is left blank")
        return s.mask(bad), flags
    if typ == "html":
        return html_to_text(s), none
    if typ == "multiselect":
        parts = s.str.split(r"\s*[;,]\s*", regex=True)
        return parts.map(lambda p: ";".join(sorted({v for v in p if v})) if isinstance(p, list) else pd.NA).astype("string"), none
    if typ in ("integer", "decimal"):
        cleaned = s.str.replace(r"^[$€£]\s*", "", regex=True)
        cleaned = cleaned.where(~cleaned.str.match(_THOUSANDS).fillna(False).astype(bool), cleaned.str.replace(",", "", regex=False))
        num = pd.to_numeric(cleaned, errors="coerce")
        bad = present & num.isna()
        if typ == "integer":
            bad |= present & num.notna() & (num % 1 != 0)
            num = num.where(~bad).astype("Int64")
        else:
            num = num.astype("Float64")
        return num, issues_for(df[bad], stage=STAGE, obj=obj, code="INVALID_NUMBER", field=col, value=s[bad],
                               detail=f"not a{'n integer' if typ == 'integer' else ' number'}")
    if typ == "boolean":
        low = s.str.lower()
        out = pd.Series(pd.NA, index=s.index, dtype="boolean")
        out[low.isin(_TRUE).fillna(False).astype(bool)] = True
        out[low.isin(_FALSE).fillna(False).astype(bool)] = False
        bad = present & out.isna()
        return out, issues_for(df[bad], stage=STAGE, obj=obj, code="INVALID_BOOLEAN", field=col, value=s[bad],
                               detail="not a yes/no value")
    if typ in ("date", "datetime"):
        parsed = parse_datetimes(s, settings.date_formats, settings.timezone, order=order)
        _, ambiguous = date_order(s, settings.date_formats, order)
        bad = present & parsed.isna() & ~ambiguous
        out = parsed if typ == "datetime" else parsed.dt.tz_convert(settings.timezone).dt.date.astype("object")
        why = "day-first and month-first values both occur" if _evidence(s)[0] and _evidence(s)[1] else "no value shows the order"
        return out, issues_frame([
            issues_for(df[bad], stage=STAGE, obj=obj, code="INVALID_DATE", field=col, value=s[bad],
                       detail=f"matches no accepted format ({'; '.join(settings.date_formats)}, or ISO 8601)"),
            issues_for(df[ambiguous], stage=STAGE, obj=obj, code="AMBIGUOUS_DATE", field=col, value=s[ambiguous],
                       detail=f"day and month could be either way round and {why} in this column; left blank"),
        ])
    raise ValueError(f"unknown source type {typ!r} for column {col!r}")


_SLASHED = r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-]\d{2,4}\b"


def _swap_day_month(fmt: str) -> str:
    return fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")


def _evidence(s: pd.Series) -> tuple[bool, bool]:
    """(some value can only be day-first, some value can only be month-first)."""
    parts = s.astype("string").str.extract(_SLASHED).apply(pd.to_numeric, errors="coerce")
    return bool((parts[0] > 12).any()), bool((parts[1] > 12).any())


def column_orders(df: pd.DataFrame, mapping: ObjectMapping) -> dict[str, str | None]:
    """Each date column's day/month order as its values show it ("day_first", "month_first" or None).

    Decided on the whole export (raw_extract reads all of it), so that a sample or a delta, which
    may hold no telling value, reads a column the way the full run does."""
    out = {}
    for col, typ in mapping.source.types.items():
        if typ in ("date", "datetime") and col in df:
            day_first, month_first = _evidence(df[col])
            out[col] = "day_first" if day_first and not month_first else "month_first" if month_first and not day_first else None
    return out


def date_order(s: pd.Series, formats: list[str], order: str | None = None) -> tuple[list[str], pd.Series]:
    """Decide day-first or month-first for one column from its own values.

    When the settings accept both orders of a format (`%d/%m/%Y` and `%m/%d/%Y`), a value such as
    23/04/2024 shows the column is day-first. The column's formats keep only the order its data
    shows; if the data shows both or neither, values that read either way (03/04/2024) are ambiguous:
    they are reported, never guessed. Returns the formats for this column and the ambiguous values.
    """
    paired = [f for f in formats if "%d" in f and "%m" in f and _swap_day_month(f) in formats]
    none = pd.Series(False, index=s.index)
    if not paired:
        return list(formats), none
    day_first, month_first = _evidence(s) if order is None else (order == "day_first", order == "month_first")
    month_first_formats = {f for f in paired if f.index("%m") < f.index("%d")}
    if day_first != month_first:
        drop = month_first_formats if day_first else set(paired) - month_first_formats
        return [f for f in formats if f not in drop], none
    parts = s.astype("string").str.extract(_SLASHED).apply(pd.to_numeric, errors="coerce")
    ambiguous = (parts[0] <= 12) & (parts[1] <= 12) & (parts[0] != parts[1])
    return list(formats), ambiguous.fillna(False).astype(bool)


def parse_datetimes(s: pd.Series, formats: list[str], zone: str, keep_ambiguous: bool = False,
                    order: str | None = None) -> pd.Series:
    """Parse mixed-format timestamps to UTC. Values with an offset keep it; naive ones are read in `zone`.

    Each format is tried on what is still unparsed, so a column may mix formats; a local time that
    is ambiguous or skipped at a DST change stays unparsed rather than being shifted silently, and so
    does a date whose day/month order the column cannot decide (`date_order`), unless the caller only
    asks whether values are dates at all (`keep_ambiguous`: the first matching format reads them).
    """
    s = s.astype("string").str.strip()
    formats, ambiguous = date_order(s, formats, order)
    if not keep_ambiguous:
        s = s.mask(ambiguous)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us, UTC]")
    with_offset = s.str.match(_ISO_START + ".*" + _HAS_OFFSET).fillna(False).astype(bool)
    if with_offset.any():
        out[with_offset] = pd.to_datetime(s[with_offset], format="ISO8601", utc=True, errors="coerce")
    attempts = [("ISO8601", s.str.match(_ISO_START).fillna(False).astype(bool) & ~with_offset)]
    attempts += [(fmt, None) for fmt in formats]
    for fmt, only in attempts:
        todo = s.notna() & out.isna() & ~with_offset
        if only is not None:
            todo &= only
        if not todo.any():
            continue
        naive = pd.to_datetime(s[todo], format=fmt, errors="coerce")
        naive = naive[naive.notna()]
        if naive.empty:
            continue
        local = naive.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
        out[local.index] = local
    return out


def html_to_text(s: pd.Series) -> pd.Series:
    """Strip HTML to readable text: line breaks at <br> and block ends, entities decoded, blank lines dropped."""
    text = s.str.replace(r"(?is)<(script|style)\b.*?</\1>", "", regex=True)
    text = text.str.replace(r"(?i)<br\s*/?>|</(p|div|li|tr|h[1-6]|blockquote)>", "\n", regex=True)
    text = text.str.replace(r"<[^>]+>", "", regex=True)
    has_entity = text.str.contains("&", regex=False).fillna(False).astype(bool)
    text[has_entity] = text[has_entity].map(html.unescape)
    text = text.str.replace("\u00a0", " ", regex=False)
    text = text.str.replace(r"[ \t]+", " ", regex=True).str.replace(r" *\n *", "\n", regex=True)
    text = text.str.replace(r"\n{2,}", "\n", regex=True).str.strip()
    return text.replace("", pd.NA)


def _suspected_duplicates(df: pd.DataFrame, group: list[str], obj: str) -> pd.DataFrame:
    keys = pd.DataFrame({c: df[c].astype("string").str.lower().str.strip() for c in group})
    complete = keys.notna().all(axis=1)
    dup = complete & keys.duplicated(keep=False)
    if not dup.any():
        return issues_frame([])
    first_id = df.loc[dup, SOURCE_ID].groupby([keys.loc[dup, c] for c in group]).transform("first")
    others = df.loc[dup].groupby([keys.loc[dup, c] for c in group])[SOURCE_ID].transform(lambda ids: ", ".join(ids))
    return issues_for(df[dup], stage=STAGE, obj=obj, code="DUPLICATE_SUSPECTED", field="+".join(group),
                      value=first_id, detail="suspected duplicates (" + others + "); loaded, flagged for review")


def attach_files(df: pd.DataFrame, path_column: str, folder: Path, obj: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Find each record's file body; a missing file rejects the record. Hashes are streamed."""
    names = df[path_column].astype("string")
    paths = names.map(lambda n: str(folder / n) if isinstance(n, str) else None, na_action="ignore")
    sizes = paths.map(lambda p: _size(p))
    missing = names.notna() & sizes.isna()
    df = df.assign(**{FILE_PATH: paths.astype("string"), FILE_SIZE: sizes.astype("Int64"),
                      FILE_BASENAME: names.str.rsplit("/", n=1).str[-1].astype("string")})
    present = df[~missing & names.notna()]
    df[FILE_SHA256] = pd.Series(pd.NA, index=df.index, dtype="string")
    df.loc[present.index, FILE_SHA256] = present[FILE_PATH].map(sha256_file).astype("string")
    return df, issues_for(df[missing], stage=STAGE, obj=obj, code="FILE_MISSING", field=path_column, value=names[missing],
                          detail=f"the file is not in {folder}")


def _size(path: str | None) -> float:
    if not isinstance(path, str):  # None or pd.NA: no file named
        return np.nan
    try:
        return float(Path(path).stat().st_size)
    except OSError:
        return np.nan


def as_html_paragraphs(text: pd.Series) -> pd.Series:
    """Text as HTML: one escaped paragraph per line, on one line (a note body Salesforce stores as sent)."""
    escaped = (text.str.replace("&", "&amp;", regex=False).str.replace("<", "&lt;", regex=False)
               .str.replace(">", "&gt;", regex=False).str.replace('"', "&quot;", regex=False))
    return ("<p>" + escaped.str.replace(r"\r?\n", "</p><p>", regex=True) + "</p>").where(text.notna())


def write_text_files(text: pd.Series, folder: Path, extension: str) -> pd.Series:
    """Write each non-blank text to a content-addressed file; returns the file names (blank text: none)."""
    folder.mkdir(parents=True, exist_ok=True)
    encoded = text.dropna().astype(str).map(lambda t: t.encode("utf-8"))
    names = encoded.map(lambda b: f"{hashlib.sha256(b).hexdigest()}.{extension}")
    for name, body in zip(names, encoded):  # one write per note body: files, not a table transform
        path = folder / name
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(body)
            tmp.replace(path)
    return names.reindex(text.index).astype("string")


def sha256_file(path: str, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()
