"""Reading a LeadSmart org through the Salesforce API: one object's records as a text table.

The connection is the Salesforce destination's own (:class:`SalesforceDestination`: the OAuth token
from the org's ``/services/oauth2/token`` with client credentials, simple-salesforce, the
project's retry policy), built at call time from ``LEADSMART_CLIENT_ID``,
``LEADSMART_CLIENT_SECRET`` and, for a private CA such as a sandbox's, ``LEADSMART_CA_FILE``.

One read: describe the sObject (fields the org lacks become null columns, as the export readers
treat missing columns), count the matching records, then query them with REST (``query_all``)
below ``bulk_threshold`` records or with a Bulk API 2.0 query job from it on. Both paths give the
same table: values are normalised by field type (datetimes ``...Z``, numbers without ``.0``,
booleans ``true``/``false``) and rows are sorted by Id (Bulk 2.0 queries are not ordered: an
``ORDER BY`` would switch off its PK chunking). Files, notes and attachments also download their
bodies to the local cache (:func:`files_root`), once per version.
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pyarrow as pa

from crm_migration.sources.base import SOURCE_FILE, SOURCE_ID, SOURCE_ROW, ExportAliases, ExportRead
from crm_migration.sources.export_folder import REJECTS_SCHEMA
from crm_migration.sources.leadsmart.layout import FILES_DIR, LAYOUTS, MODIFIED_COLUMN, ApiObjectLayout

ENV_CLIENT_ID = "LEADSMART_CLIENT_ID"
ENV_CLIENT_SECRET = "LEADSMART_CLIENT_SECRET"
ENV_CA_FILE = "LEADSMART_CA_FILE"
ENV_FILES_DIR = "LEADSMART_FILES_DIR"
DERIVED = {"WebsiteDomain", "local_file", "ContentVersionId", "Content"}  # computed here, not selected
IN_CHUNK = 200  # ids per `IN (...)` (URL length)
NUMBER_TYPES = {"int", "double", "currency", "percent"}


class LeadSmartConfigError(RuntimeError):
    """The reader lacks a setting (the message names the environment variable, never a value)."""


def org_url(location: str | Path) -> str:
    """The org's URL; a URL that went through ``Path`` (``https:/host``) gets its second slash back."""
    return re.sub(r"^(https?):/(?!/)", r"\1://", str(location)).rstrip("/")


def connect(location: str, poll_seconds: float = 0.2):
    """The org as the Salesforce destination reaches it, from the LEADSMART_* variables read now."""
    from crm_migration.destinations.salesforce import SalesforceDestination

    missing = [v for v in (ENV_CLIENT_ID, ENV_CLIENT_SECRET) if not os.environ.get(v)]
    if missing:
        raise LeadSmartConfigError(f"LeadSmart source {location}: set {', '.join(missing)}")
    return SalesforceDestination(instance_url=org_url(location), client_id=os.environ[ENV_CLIENT_ID],
                                 client_secret=os.environ[ENV_CLIENT_SECRET],
                                 ca_file=os.environ.get(ENV_CA_FILE) or None, bulk_poll_seconds=poll_seconds,
                                 env_fallback=False)


def files_root(location: str) -> Path:
    """The local folder of an org's downloaded bodies: LEADSMART_FILES_DIR, else under the data home."""
    if os.environ.get(ENV_FILES_DIR):
        return Path(os.environ[ENV_FILES_DIR]).resolve()
    from crm_migration.pipeline.storage import data_home

    parts = urlsplit(org_url(location))
    host = re.sub(r"[^A-Za-z0-9.-]+", "_", parts.netloc or str(location))
    return data_home() / "sources" / "leadsmart" / host


def soql_list(values: Iterable[str]) -> str:
    return ",".join("'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'" for v in values)


# ---------------------------------------------------------------------------------------------
# Querying


class Reader:
    """One connection to one org; reads objects as text frames."""

    def __init__(self, location: str, bulk_threshold: int, poll_seconds: float) -> None:
        self.location = org_url(location)
        self.dest = connect(self.location, poll_seconds)
        self.bulk_threshold = bulk_threshold
        self.poll_seconds = poll_seconds
        self._describe: dict[str, dict[str, dict]] = {}
        self.api_used: set[str] = set()

    def call(self, fn):
        return self.dest._call(fn)  # the destination's retry policy: throttling, 5xx, expired sessions

    def fields(self, sobject: str) -> dict[str, dict]:
        """Lower-case field name and relationship name -> describe entry."""
        if sobject not in self._describe:
            desc = self.call(lambda sf: getattr(sf, sobject).describe())
            out: dict[str, dict] = {}
            for f in desc["fields"]:
                out[f["name"].lower()] = f
                if f.get("relationshipName"):
                    out.setdefault(f["relationshipName"].lower() + ".", f)
            self._describe[sobject] = out
        return self._describe[sobject]

    def plan(self, sobject: str, columns: list[str], renames: dict[str, str]) -> tuple[dict[str, str], list[str]]:
        """canonical column -> the org's path for the columns the org has; the missing canonical columns."""
        known = self.fields(sobject)
        chosen, missing = {}, []
        for col in columns:
            api = renames.get(col, col)
            head = api.split(".", 1)[0].lower() + ("." if "." in api else "")
            if head in known:
                chosen[col] = known[head]["name"] if "." not in api else api
            else:
                missing.append(col)
        return chosen, missing

    def query(self, sobject: str, paths: list[str], where: str) -> pd.DataFrame:
        """Every matching record as text, one column per path, sorted by Id."""
        tail = f" WHERE {where}" if where else ""
        total = self.call(lambda sf: sf.query(f"SELECT COUNT() FROM {sobject}{tail}"))["totalSize"]
        soql = f"SELECT {', '.join(paths)} FROM {sobject}{tail}"
        if total >= self.bulk_threshold:
            self.api_used.add("bulk2")
            frame = self._bulk(sobject, soql, paths)
        else:
            self.api_used.add("rest")
            frame = self._rest(soql, paths)
        frame = self._normalise(sobject, frame, paths)
        return frame.sort_values("Id", kind="stable").reset_index(drop=True) if len(frame) else frame

    def _rest(self, soql: str, paths: list[str]) -> pd.DataFrame:
        records = self.call(lambda sf: sf.query_all(soql + " ORDER BY Id")["records"])
        return pd.DataFrame([[_path_value(r, p) for p in paths] for r in records], columns=paths, dtype=object)

    def _bulk(self, sobject: str, soql: str, paths: list[str]) -> pd.DataFrame:
        def run(sf) -> list[pd.DataFrame]:
            handler = getattr(sf.bulk2, sobject)
            # keep_default_na off: only empty cells are null (a name such as "NA" stays text)
            return [pd.read_csv(io.StringIO(page), dtype=str, keep_default_na=False, na_values=[""])
                    for page in handler.query(soql, wait=self.poll_seconds)]

        pages = [p for p in self.call(run) if len(p)]
        frame = pd.concat(pages, ignore_index=True) if pages else pd.DataFrame(columns=paths)
        return frame.reindex(columns=paths).astype(object)

    def _normalise(self, sobject: str, frame: pd.DataFrame, paths: list[str]) -> pd.DataFrame:
        """Both APIs' values as the same text: by the field's type (relationship paths stay text)."""
        known = self.fields(sobject)
        out = pd.DataFrame(index=frame.index)
        for p in paths:
            s = frame[p].astype("string")
            ftype = known.get(p.lower(), {}).get("type") if "." not in p else None
            if ftype == "boolean":
                s = s.str.lower()
            elif ftype in NUMBER_TYPES:
                num = pd.to_numeric(s, errors="coerce")
                whole = num.notna() & (num == np.floor(num))
                text = num.astype("string")
                text[whole] = num[whole].astype("int64").astype("string")
                s = text.where(num.notna(), s)
            elif ftype == "datetime":
                s = s.str.replace(r"\+0000$", "Z", regex=True)
            out[p] = s.replace("", pd.NA)
        return out

    # -- bodies --------------------------------------------------------------------------------
    def download(self, url_path: str, target: Path, size: int | None) -> bool:
        """Stream a body to ``target`` (skipped when it is there with the expected size); False on 404."""
        if target.exists() and (size is None or target.stat().st_size == size):
            return True
        target.parent.mkdir(parents=True, exist_ok=True)

        def get(sf) -> bool:
            resp = sf.session.get(f"{self.location}{url_path}", headers=sf.headers, stream=True, timeout=300)
            if resp.status_code == 404:
                return False
            if resp.status_code == 401:
                from crm_migration.destinations.base import AuthenticationError
                raise AuthenticationError("Salesforce session expired")
            resp.raise_for_status()
            tmp = target.with_name(f".{target.name}.part")
            with open(tmp, "wb") as fh:
                for block in resp.iter_content(1 << 20):
                    fh.write(block)
            os.replace(tmp, target)
            return True

        return self.call(get)

    def body_text(self, url_path: str) -> str | None:
        def get(sf) -> str | None:
            resp = sf.session.get(f"{self.location}{url_path}", headers=sf.headers, timeout=60)
            if resp.status_code == 404:
                return None
            resp.raise_for_status()
            return resp.content.decode("utf-8", errors="replace")

        return self.call(get)


def _path_value(record: dict, path: str) -> Any:
    cur: Any = record
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return cur


# ---------------------------------------------------------------------------------------------
# One object


def read_object(reader: Reader, layout: ApiObjectLayout, aliases: ExportAliases, since: str | None) -> ExportRead:
    sobject = aliases.files.get(layout.name, layout.file)
    renames = aliases.columns.get(layout.name, {})
    wanted = [c for c in layout.columns if c not in DERIVED or (layout.body == "note" and c == "Content")]
    if layout.body in ("file", "note"):
        frame, missing, soql_object = _linked_content(reader, layout, renames)
    else:
        chosen, missing = reader.plan(sobject, [c for c in wanted if c not in DERIVED], renames)
        stamp_path = chosen.get(MODIFIED_COLUMN)
        since_clause = f"{stamp_path} >= {soql_datetime(since)}" if since and stamp_path else ""
        where = " AND ".join(w for w in (layout.where, since_clause) if w)
        frame = reader.query(sobject, list(chosen.values()), where).rename(columns={v: k for k, v in chosen.items()})
        soql_object = sobject
    if since and MODIFIED_COLUMN in frame:
        stamp = pd.to_datetime(frame[MODIFIED_COLUMN], utc=True, format="ISO8601")
        frame = frame[stamp > pd.Timestamp(since)].reset_index(drop=True)
    if "WebsiteDomain" in layout.columns and "Website" in frame:
        frame["WebsiteDomain"] = website_domain(frame["Website"])
    if layout.body == "attachment":
        frame["local_file"] = _attachment_bodies(reader, frame)
    for col in layout.columns:
        if col not in frame:
            frame[col] = pd.Series(pd.NA, index=frame.index, dtype="string")
    frame = frame[list(layout.columns)].astype("string")
    n = len(frame)
    table = pa.table({**{c: pa.array(frame[c].to_numpy(dtype=object, na_value=None), pa.string()) for c in layout.columns},
                      SOURCE_FILE: pa.array([soql_object] * n, pa.string()),
                      SOURCE_ROW: pa.array(np.arange(1, n + 1), pa.int64()),
                      SOURCE_ID: pa.array(frame["Id"].to_numpy(dtype=object, na_value=None), pa.string())})
    info = {"sobject": soql_object, "api": sorted(reader.api_used), "missing_columns": missing, "since": since,
            "row_numbering": "1-based position in Id order within this read"}
    return ExportRead(table=table.replace_schema_metadata({"crm_migration.export_read": json.dumps(info)}),
                      rejects=REJECTS_SCHEMA.empty_table())


def website_domain(website: pd.Series) -> pd.Series:
    """The host of a website as typed by hand: lower case, without scheme, ``www.``, port or path."""
    host = website.str.strip().str.lower().str.replace(r"^[a-z][a-z0-9+.-]*://", "", regex=True)
    host = host.str.replace(r"[/?#:].*$", "", regex=True).str.replace(r"^www\d*\.", "", regex=True)
    return host.replace("", pd.NA)


def _safe_name(name: str | None, fallback: str) -> str:
    clean = re.sub(r"[^\w.\- ]+", "_", (name or "").strip()).strip(" .")
    return clean[:120] or fallback


def _attachment_bodies(reader: Reader, frame: pd.DataFrame) -> pd.Series:
    root = files_root(reader.location) / FILES_DIR
    out = []
    for rid, name, size, stamp in zip(frame["Id"], frame.get("Name", pd.Series(None, index=frame.index)),
                                      frame.get("BodyLength", pd.Series(None, index=frame.index)),
                                      frame.get(MODIFIED_COLUMN, pd.Series(None, index=frame.index))):
        # a changed body gets a new path (the time is part of it): a stale cached copy is never reused
        rel = f"attachments/{rid}_{re.sub(r'[^0-9]', '', str(stamp or ''))[:17]}/{_safe_name(name, rid)}"
        reader.download(f"/services/data/v{reader.dest.api_version}/sobjects/Attachment/{rid}/Body", root / rel,
                        int(size) if isinstance(size, str) and size.isdigit() else None)
        out.append(rel)  # a body that could not be fetched keeps its path: the pipeline reports it missing
    return pd.Series(out, index=frame.index, dtype="string")


VERSION_FIELDS = ["Id", "ContentDocumentId", "Title", "PathOnClient", "FileType", "FileExtension", "ContentSize",
                  "Checksum", "ContentUrl", "VersionNumber", "Description", "OwnerId", "Owner.Email",
                  "Owner.UserType", "CreatedDate", "CreatedById", "LastModifiedDate", "SystemModstamp"]
NOTE_FIELDS = ["Id", "Title", "TextPreview", "ContentSize", "OwnerId", "Owner.Email", "Owner.UserType",
               "CreatedDate", "CreatedById", "LastModifiedDate", "SystemModstamp"]
LINK_FIELDS = ["Id", "LinkedEntityId", "LinkedEntity.Type", "ContentDocumentId", "ShareType", "Visibility",
               "SystemModstamp"]


def _linked_content(reader: Reader, layout: ApiObjectLayout, renames: dict[str, str]) -> tuple[pd.DataFrame, list[str], str]:
    """Files or notes, one row per link to a record (links to users, i.e. owners' libraries, are left out)."""
    if layout.body == "file":
        content = reader.query("ContentVersion", VERSION_FIELDS, "IsLatest = true AND FileType != 'SNOTE'")
        content = content.rename(columns={"Id": "ContentVersionId"})
    else:
        content = reader.query("ContentNote", NOTE_FIELDS, "").rename(columns={"Id": "ContentDocumentId"})
    doc_ids = content["ContentDocumentId"].dropna().tolist() if len(content) else []
    links = [reader.query("ContentDocumentLink", LINK_FIELDS, f"ContentDocumentId IN ({soql_list(doc_ids[i:i + IN_CHUNK])})")
             for i in range(0, len(doc_ids), IN_CHUNK)]
    link = pd.concat(links, ignore_index=True) if links else pd.DataFrame(columns=LINK_FIELDS, dtype="string")
    link = link[link["LinkedEntity.Type"] != "User"].rename(columns={"SystemModstamp": "_link_stamp"})
    frame = link.merge(content, on="ContentDocumentId", how="inner").sort_values("Id", kind="stable").reset_index(drop=True)
    # the later of the version's and the link's times: a new link is a change too
    frame["SystemModstamp"] = frame[["SystemModstamp", "_link_stamp"]].astype(object).max(axis=1).astype("string")
    frame = frame.drop(columns="_link_stamp")
    root = files_root(reader.location) / FILES_DIR
    if layout.body == "file":
        frame["local_file"] = _version_bodies(reader, frame, root)
    else:
        bodies = {d: reader.body_text(f"/services/data/v{reader.dest.api_version}/sobjects/ContentNote/{d}/Content")
                  for d in frame["ContentDocumentId"].unique()}
        frame["Content"] = frame["ContentDocumentId"].map(bodies).astype("string")
    missing = [c for c in layout.columns if c not in frame and c not in DERIVED]
    return frame, missing, "ContentDocumentLink"


def _version_bodies(reader: Reader, frame: pd.DataFrame, root: Path) -> pd.Series:
    out: list[str | None] = []
    done: dict[str, str] = {}
    for vid, path, size, link in zip(frame["ContentVersionId"], frame["PathOnClient"], frame["ContentSize"],
                                     frame["ContentUrl"]):
        if isinstance(link, str):  # a web link has no body
            out.append(None)
            continue
        if vid not in done:  # one download per version, however many records it is linked to
            done[vid] = f"content/{vid}/{_safe_name(str(path).replace(chr(92), '/').rsplit('/', 1)[-1], vid)}"
            reader.download(f"/services/data/v{reader.dest.api_version}/sobjects/ContentVersion/{vid}/VersionData",
                            root / done[vid], int(size) if isinstance(size, str) and size.isdigit() else None)
        out.append(done[vid])
    return pd.Series(out, index=frame.index, dtype="string")


def watermark(reader: Reader, aliases: ExportAliases) -> str:
    """The newest SystemModstamp of every object read (files and notes by their versions and documents)."""
    newest = ""
    seen: set[tuple[str, str]] = set()
    for layout in LAYOUTS.values():
        targets = [("ContentVersion", ""), ("ContentDocument", "")] if layout.body in ("file", "note") else \
            [(aliases.files.get(layout.name, layout.file), layout.where)]
        for sobject, where in targets:
            if (sobject, where) in seen:
                continue
            seen.add((sobject, where))
            tail = f" WHERE {where}" if where else ""
            rows = reader.call(lambda sf: sf.query(
                f"SELECT {MODIFIED_COLUMN} FROM {sobject}{tail} ORDER BY {MODIFIED_COLUMN} DESC LIMIT 1"))["records"]
            if rows and rows[0][MODIFIED_COLUMN]:
                newest = max(newest, pd.Timestamp(rows[0][MODIFIED_COLUMN]).tz_convert("UTC").isoformat())
    if not newest:
        raise FileNotFoundError(f"LeadSmart org {reader.location} has no records")
    return newest.replace("+00:00", "Z")


def soql_datetime(since: str) -> str:
    """A SOQL datetime literal (whole seconds, rounded down: the caller filters the rest exactly)."""
    return pd.Timestamp(since).tz_convert("UTC").floor("s").strftime("%Y-%m-%dT%H:%M:%SZ")
