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

A version with ``ContentUrl`` instead of ``VersionData`` is a web link (FileType LINK, no body).
A version whose ``PathOnClient`` ends in ``.snote`` is a note (FileType SNOTE): its body must be
escaped text or HTML (see :mod:`.notes`) and it is also readable as ``ContentNote``.

``ContentDocumentLink`` can only be queried with a filter on ContentDocumentId, LinkedEntityId
(``=`` or ``IN``) or Id, as in Salesforce (``records.QueryRunner.compile``).

Legacy ``Attachment`` (ParentId, Name, Body base64, ContentType): the body is stored like
VersionData (``state_dir/files/<AttachmentId>``), ``BodyLength`` is computed, a body over
``attachment_max_bytes`` (25 MB by default) fails with MAXIMUM_SIZE_OF_ATTACHMENT, the body may be
replaced by an update, and deleting the parent record deletes its attachments.
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
from crm_migration.sandbox.salesforce.notes import NOTE_EXTENSION, note_body
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


def decode_body(raw: Any, field: str, limit: int, too_big) -> bytes:
    """The bytes of a base64 field (REST JSON) or of raw bytes (internal callers)."""
    if isinstance(raw, (bytes, bytearray)):
        data = bytes(raw)
    else:
        if not isinstance(raw, str):
            raise RecordError("INVALID_FIELD", f"{field}: the value is not base64 text", [field])
        if decoded_size_estimate(raw) > limit:
            raise too_big(limit)
        try:
            data = base64.b64decode(raw, validate=False)
        except (binascii.Error, ValueError):
            raise RecordError("INVALID_FIELD", f"{field}: invalid base64 value", [field]) from None
    if len(data) > limit:
        raise too_big(limit)
    return data


def attachment_too_big(limit: int) -> RecordError:
    return RecordError("MAXIMUM_SIZE_OF_ATTACHMENT", f"Maximum size of attachment exceeded: an attachment can be "
                                                     f"at most {limit} bytes", ["Body"])


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
        link = rec.get("ContentUrl")
        if link and raw not in (None, ""):
            raise RecordError("FIELD_INTEGRITY_EXCEPTION", "Content URL: a web link has no Version Data", ["ContentUrl"])
        if link:  # a web link: no body, no file type of its own
            data, ftype, ext = None, "LINK", ""
            rec["Title"] = rec.get("Title") or link
        else:
            if raw in (None, ""):
                raise RecordError("REQUIRED_FIELD_MISSING", "Required fields are missing: [VersionData]",
                                  ["VersionData"])
            data = decode_body(raw, "VersionData", int(org.config["content_max_json_bytes"]), max_size_error)
            if not rec.get("PathOnClient"):
                raise RecordError("REQUIRED_FIELD_MISSING", "Required fields are missing: [PathOnClient]",
                                  ["PathOnClient"])
            ftype, ext = file_type(rec["PathOnClient"])
            if not rec.get("Title"):
                base = rec["PathOnClient"].rsplit("/", 1)[-1]
                rec["Title"] = base.rsplit(".", 1)[0] if "." in base else base
            if ext == NOTE_EXTENSION:
                data, rec["_TextPreview"] = note_body(data)
                ftype = "SNOTE"
        rec.update({"FileType": ftype, "FileExtension": ext or None,
                    "ContentSize": len(data) if data is not None else None,
                    "Checksum": hashlib.md5(data).hexdigest() if data is not None else None, "IsLatest": True})
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
            if (doc.get("FileType") == "SNOTE") != (ftype == "SNOTE"):
                raise RecordError("FIELD_INTEGRITY_EXCEPTION", "A note's versions must be notes (.snote), and a "
                                                               "file's versions files", ["PathOnClient"])
            txn.undo.append(("ContentDocument", doc_id, org.store.put("ContentDocument", dict(
                doc, Title=rec["Title"], FileType=ftype, FileExtension=ext or None, ContentSize=rec["ContentSize"],
                LatestPublishedVersionId=rec["Id"], LastModifiedDate=now_sf(), SystemModstamp=now_sf()))))
            if rec.get("FirstPublishLocationId"):
                raise RecordError("FIELD_INTEGRITY_EXCEPTION", "First Publish Location ID: can only be set on the "
                                                               "first version of a document",
                                  ["FirstPublishLocationId"])
        else:
            doc = internal_put("ContentDocument", {
                "Title": rec["Title"], "FileType": ftype, "FileExtension": ext or None, "ContentSize": rec["ContentSize"],
                "LatestPublishedVersionId": rec["Id"], "PublishStatus": "P", "OwnerId": rec.get("OwnerId"),
            }, rec["CreatedById"], txn)
            rec["ContentDocumentId"] = doc["Id"]
            rec["VersionNumber"] = "1"
        if data is not None:
            write_blob(rec["Id"], data, txn)

    def write_blob(blob_id: str, data: bytes, txn: Txn) -> None:
        blobs.write(blob_id, data)
        txn.on_rollback.append(lambda: blobs.delete(blob_id))

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

    # Attachment ----------------------------------------------------------------------------------
    def attachment_body(rec, item: Item, txn: Txn, required: bool) -> None:
        raw = item.extra.get("Body")
        if raw in (None, ""):
            if required:
                raise RecordError("REQUIRED_FIELD_MISSING", "Required fields are missing: [Body]", ["Body"])
            return
        data = decode_body(raw, "Body", int(org.config["attachment_max_bytes"]), attachment_too_big)
        rec["BodyLength"] = len(data)
        old = blobs.path(rec["Id"])
        if old.exists():  # an update replaces the body; a rollback puts the old one back
            previous = old.read_bytes()
            txn.on_rollback.append(lambda: blobs.write(rec["Id"], previous))
            blobs.write(rec["Id"], data)
        else:
            write_blob(rec["Id"], data, txn)

    dml.hook("before_insert", "Attachment", lambda obj, rec, item, txn: attachment_body(rec, item, txn, True))
    dml.hook("before_update", "Attachment", lambda obj, rec, old, item, txn: attachment_body(rec, item, txn, False))

    def attachments_of(rec: dict[str, Any], txn: Txn) -> list[str]:
        f = org.schema.get("Attachment").field("ParentId")
        return org.store.lookup("Attachment", f, rec["Id"])

    dml.hook("cascade", "*", attachments_of)

    def attachment_deleted(rec: dict[str, Any], txn: Txn) -> list[str]:
        txn.on_commit.append(lambda: blobs.delete(rec["Id"]))
        return []

    dml.hook("cascade", "Attachment", attachment_deleted)


def read_version_data(org: "Org", version_id: str) -> bytes | None:
    path = org.blobs.path(version_id)
    return path.read_bytes() if path.exists() else None
