"""Files: ContentVersion / ContentDocument / ContentDocumentLink.

Inserting a ContentVersion with base64 ``VersionData`` (the JSON flow) stores the bytes as a file
under ``state_dir/files/<ContentVersionId>`` (never in the database), computes the read-only
fields (FileType, FileExtension, ContentSize, Checksum = MD5 hex, VersionNumber, IsLatest) and:
without ContentDocumentId creates the ContentDocument and, when FirstPublishLocationId is set, a
ContentDocumentLink to it (ShareType I, Visibility AllUsers); with ContentDocumentId adds a new
version to that document. Decoded size above ``content_max_json_bytes`` (25 MB by default)
fails with MAXIMUM_SIZE_OF_DOCUMENT. Deleting a ContentDocument deletes its versions and links.
Simplification: Salesforce also links the owner's library (a link to the owning User); the
sandbox does not.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crm_migration.sandbox.salesforce.dml import Item, Txn
from crm_migration.sandbox.salesforce.errors import RecordError
from crm_migration.sandbox.salesforce.values import now_sf

if TYPE_CHECKING:
    from crm_migration.sandbox.salesforce.org import Org

FILE_TYPES = {
    "pdf": "PDF", "doc": "WORD", "docx": "WORD_X", "docm": "WORD_M", "xls": "EXCEL", "xlsx": "EXCEL_X",
    "xlsm": "EXCEL_M", "ppt": "POWER_POINT", "pptx": "POWER_POINT_X", "pptm": "POWER_POINT_M",
    "png": "PNG", "jpg": "JPG", "jpeg": "JPEG", "gif": "GIF", "bmp": "BMP", "tif": "TIFF", "tiff": "TIFF",
    "txt": "TEXT", "csv": "CSV", "zip": "ZIP", "htm": "HTML", "html": "HTML", "xml": "XML",
    "rtf": "RTF", "mp3": "MP3", "mp4": "MP4", "mov": "MOV", "wav": "WAV", "odt": "ODT", "eml": "EML",
    "msg": "MSG", "json": "JSON", "svg": "SVG", "key": "KEYNOTE", "pages": "PAGES", "numbers": "NUMBERS",
    "vsd": "VISIO", "psd": "PSD", "exe": "EXE", "js": "JAVASCRIPT", "css": "CSS",
}


def file_type(path: str | None) -> tuple[str, str]:
    name = (path or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    ext = name.rsplit(".", 1)[1].lower() if "." in name else ""
    return FILE_TYPES.get(ext, "UNKNOWN"), ext


class Blobs:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, version_id: str) -> Path:
        return self.root / version_id

    def write(self, version_id: str, data: bytes) -> None:
        tmp = self.root / f".{version_id}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, self.path(version_id))

    def delete(self, version_id: str) -> None:
        self.path(version_id).unlink(missing_ok=True)

    def clear(self) -> None:
        for p in self.root.iterdir():
            p.unlink(missing_ok=True)


def max_size_error(limit: int) -> RecordError:
    return RecordError("MAXIMUM_SIZE_OF_DOCUMENT",
                       f"Maximum size of document exceeded: a file sent as base64 in a JSON request "
                       f"can be at most {limit} bytes; use a multipart request for larger files", [])


def decoded_size_estimate(b64: str) -> int:
    n = len(b64)
    return n * 3 // 4 - (2 if b64.endswith("==") else 1 if b64.endswith("=") else 0)


def install(org: "Org") -> None:
    dml = org.dml
    blobs = org.blobs

    def internal_put(sobject: str, values: dict[str, Any], user_id: str, txn: Txn) -> dict[str, Any]:
        obj = org.schema.get(sobject)
        now = now_sf()
        rec = {f.name: (bool(f.default_value) if f.type == "boolean" else None) for f in obj.fields.values()}
        rec.update({"Id": org.ids.new(obj.key_prefix), "IsDeleted": False, "CreatedDate": now,
                    "CreatedById": user_id, "LastModifiedDate": now, "LastModifiedById": user_id,
                    "SystemModstamp": now})
        if obj.has_owner:
            rec["OwnerId"] = user_id
        rec.update(values)
        txn.undo.append((obj.name, rec["Id"], org.store.put(obj.name, rec)))
        txn.counts["created"] += 1
        return rec

    def version_before_insert(obj, rec, item: Item, txn: Txn) -> None:
        raw = item.extra.get("VersionData")
        if raw in (None, ""):
            raise RecordError("REQUIRED_FIELD_MISSING", "Required fields are missing: [VersionData]", ["VersionData"])
        if isinstance(raw, (bytes, bytearray)):
            data = bytes(raw)
        else:
            if not isinstance(raw, str):
                raise RecordError("INVALID_FIELD", "VersionData: the value is not base64 text", ["VersionData"])
            limit = int(org.config["content_max_json_bytes"])
            if decoded_size_estimate(raw) > limit:
                raise max_size_error(limit)
            try:
                data = base64.b64decode(raw, validate=False)
            except (binascii.Error, ValueError):
                raise RecordError("INVALID_FIELD", "VersionData: invalid base64 value", ["VersionData"]) from None
            if len(data) > limit:
                raise max_size_error(limit)
        if not rec.get("PathOnClient"):
            raise RecordError("REQUIRED_FIELD_MISSING", "Required fields are missing: [PathOnClient]",
                              ["PathOnClient"])
        ftype, ext = file_type(rec["PathOnClient"])
        if not rec.get("Title"):
            base = rec["PathOnClient"].rsplit("/", 1)[-1]
            rec["Title"] = base.rsplit(".", 1)[0] if "." in base else base
        rec.update({"FileType": ftype, "FileExtension": ext or None, "ContentSize": len(data),
                    "Checksum": hashlib.md5(data).hexdigest(), "IsLatest": True})
        doc_id = rec.get("ContentDocumentId")
        if doc_id:
            versions = [org.store.get(i) for i in org.store.lookup("ContentVersion", obj.field("ContentDocumentId"),
                                                                   doc_id)]
            rec["VersionNumber"] = str(1 + max((int(v.get("VersionNumber") or 0) for v in versions), default=0))
            for v in versions:
                if v.get("IsLatest"):
                    txn.undo.append(("ContentVersion", v["Id"], org.store.put("ContentVersion",
                                                                              dict(v, IsLatest=False))))
            doc = org.store.get(doc_id)
            txn.undo.append(("ContentDocument", doc_id, org.store.put("ContentDocument", dict(
                doc, Title=rec["Title"], FileType=ftype, FileExtension=ext or None, ContentSize=len(data),
                LatestPublishedVersionId=rec["Id"], LastModifiedDate=now_sf(), SystemModstamp=now_sf()))))
            if rec.get("FirstPublishLocationId"):
                raise RecordError("FIELD_INTEGRITY_EXCEPTION", "First Publish Location ID: can only be set on the "
                                                               "first version of a document",
                                  ["FirstPublishLocationId"])
        else:
            doc = internal_put("ContentDocument", {
                "Title": rec["Title"], "FileType": ftype, "FileExtension": ext or None, "ContentSize": len(data),
                "LatestPublishedVersionId": rec["Id"], "PublishStatus": "P", "OwnerId": rec.get("OwnerId"),
            }, rec["CreatedById"], txn)
            rec["ContentDocumentId"] = doc["Id"]
            rec["VersionNumber"] = "1"
        blobs.write(rec["Id"], data)
        vid = rec["Id"]
        txn.on_rollback.append(lambda: blobs.delete(vid))

    def version_after_insert(obj, rec, item: Item, txn: Txn, user_id: str) -> None:
        loc = rec.get("FirstPublishLocationId")
        if loc and rec.get("VersionNumber") == "1":
            dml.insert_one(org.schema.get("ContentDocumentLink"),
                           Item(values={"ContentDocumentId": rec["ContentDocumentId"], "LinkedEntityId": loc,
                                        "ShareType": "I", "Visibility": "AllUsers"}), user_id, txn)

    dml.hook("before_insert", "ContentVersion", version_before_insert)
    dml.hook("after_insert", "ContentVersion", version_after_insert)

    def link_before_insert(obj, rec, item, txn) -> None:
        f = obj.field("ContentDocumentId")
        for other in org.store.lookup("ContentDocumentLink", f, rec["ContentDocumentId"]):
            if org.store.get(other).get("LinkedEntityId") == rec["LinkedEntityId"]:
                raise RecordError("DUPLICATE_VALUE",
                                  f"Document with ID: {rec['ContentDocumentId']} is already linked with the "
                                  f"entity with ID: {rec['LinkedEntityId']}", ["LinkedEntityId"])

    dml.hook("before_insert", "ContentDocumentLink", link_before_insert)

    def doc_children(rec: dict[str, Any], txn: Txn) -> list[str]:
        links = org.store.lookup("ContentDocumentLink",
                                 org.schema.get("ContentDocumentLink").field("ContentDocumentId"), rec["Id"])
        versions = [r["Id"] for r in org.store.all("ContentVersion", include_deleted=True)
                    if r.get("ContentDocumentId") == rec["Id"]]
        for vid in versions:
            vrec = org.store.get(vid)
            txn.undo.append(("ContentVersion", vid, org.store.put("ContentVersion", dict(vrec, IsDeleted=True))))
            txn.on_commit.append(lambda v=vid: blobs.delete(v))
        return links

    dml.hook("cascade", "ContentDocument", doc_children)


def read_version_data(org: "Org", version_id: str) -> bytes | None:
    path = org.blobs.path(version_id)
    return path.read_bytes() if path.exists() else None
