"""Notes (Salesforce's enhanced notes, ``ContentNote``): files of type SNOTE, read as their own object.

A note is a ContentDocument whose versions have ``PathOnClient`` ending in ``.snote``; its Id is
the ContentDocument's Id. Two ways in, as in Salesforce: a ContentVersion with ``PathOnClient =
"x.snote"`` and base64 ``VersionData``, or ``POST sobjects/ContentNote`` with ``Title`` and base64
``Content``; either way it is linked to records with ContentDocumentLink. ``ContentNote`` answers
queries and ``GET``s (``Content`` is the body's URL, as for every base64 field in REST; ``GET
sobjects/ContentNote/{id}/Content`` returns the bytes); ``PATCH`` may change Title and Content (a
new Content is a new version), ``DELETE`` deletes the document.

The body must be what the documentation asks for: plain text with its special characters escaped,
or HTML. Salesforce refuses a body with a bare ``&`` (one that starts no entity), a ``<`` that
opens no tag, an entity outside ``&amp; &lt; &gt; &quot;`` and numeric references (``&apos;``
fails, a known trap of ``escapeHtml4``-style escaping), invalid UTF-8 or control characters
(FIELD_INTEGRITY_EXCEPTION); it strips line breaks and ``script``/``style`` elements before saving.
The body counts against ``content_max_json_bytes`` like any file sent as base64.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any, Iterable

from crm_migration.sandbox.salesforce.dml import Item, Txn
from crm_migration.sandbox.salesforce.errors import RecordError

if TYPE_CHECKING:
    from crm_migration.sandbox.salesforce.org import Org

NOTE_EXTENSION = "snote"
PREVIEW_LENGTH = 255
_UNSAFE = re.compile(r"(?is)<(script|style)\b.*?</\1\s*>")
_AMP = re.compile(r"&(?!(?:amp|lt|gt|quot|#\d{1,7}|#[xX][0-9a-fA-F]{1,6});)")
_LT = re.compile(r"<(?!/?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TAG = re.compile(r"<[^>]*>")


def bad_note() -> RecordError:
    return RecordError("FIELD_INTEGRITY_EXCEPTION", "Note can't be saved because it contains HTML tags or "
                                                    "unescaped characters that are not allowed in a Note.",
                       ["Content"])


def note_body(data: bytes) -> tuple[bytes, str]:
    """The body Salesforce stores for a note, and its text preview; refuses what Salesforce refuses."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_note() from None
    if _CONTROL.search(text) or _AMP.search(text) or _LT.search(text):
        raise bad_note()
    text = _UNSAFE.sub("", text).replace("\r", "").replace("\n", "")
    preview = " ".join(html.unescape(_TAG.sub(" ", text)).split())[:PREVIEW_LENGTH]
    return text.encode("utf-8"), preview


class NoteView:
    """ContentNote records: ContentDocuments of type SNOTE, with their latest version's body."""

    def __init__(self, org: "Org") -> None:
        self.org = org

    def _view(self, doc: dict[str, Any]) -> dict[str, Any]:
        version = self.org.store.get(doc.get("LatestPublishedVersionId") or "") or {}
        out = {k: doc.get(k) for k in ("Id", "Title", "OwnerId", "IsDeleted", "CreatedDate", "CreatedById",
                                       "LastModifiedDate", "LastModifiedById", "SystemModstamp", "FileType",
                                       "FileExtension", "ContentSize", "LatestPublishedVersionId")}
        out.update(TextPreview=version.get("_TextPreview"), IsReadOnly=False, SharingPrivacy="N",
                   ContentModifiedDate=version.get("CreatedDate"), Content=True)
        return out

    def get(self, record_id: str) -> dict[str, Any] | None:
        doc = self.org.store.get(record_id)
        if doc is None or self.org.store.sobject_of(record_id) != "contentdocument" or doc.get("FileType") != "SNOTE":
            return None
        return None if doc.get("IsDeleted") else self._view(doc)

    def records(self, include_deleted: bool = False) -> Iterable[dict[str, Any]]:
        for doc in self.org.store.all("ContentDocument", include_deleted=include_deleted):
            if doc.get("FileType") == "SNOTE":
                yield self._view(doc)

    def insert(self, item: Item, user_id: str, txn: Txn) -> str:
        values = self._checked(item, creating=True)
        title = values.get("Title")
        version = Item(values={"Title": title, "PathOnClient": f"{title}.{NOTE_EXTENSION}"},
                       extra={"VersionData": item.extra.get("Content") or b""})
        if values.get("OwnerId"):
            version.values["OwnerId"] = values["OwnerId"]
        vid = self.org.dml.insert_one(self.org.schema.get("ContentVersion"), version, user_id, txn)
        return self.org.store.get(vid)["ContentDocumentId"]

    def update(self, record_id: str, item: Item, user_id: str, txn: Txn) -> str:
        values = self._checked(item, creating=False)
        dml, schema, store = self.org.dml, self.org.schema, self.org.store
        title = values.get("Title") or store.get(record_id)["Title"]
        if "Content" in item.extra:  # a new body is a new version
            version = Item(values={"ContentDocumentId": record_id, "Title": title,
                                   "PathOnClient": f"{title}.{NOTE_EXTENSION}"},
                           extra={"VersionData": item.extra["Content"] or b""})
            dml.insert_one(schema.get("ContentVersion"), version, user_id, txn)
        elif "Title" in values:
            dml.update_one(schema.get("ContentDocument"), record_id, Item(values={"Title": title}), user_id, txn)
            latest = store.get(store.get(record_id)["LatestPublishedVersionId"])
            txn.undo.append(("ContentVersion", latest["Id"], store.put("ContentVersion", dict(latest, Title=title))))
        return record_id

    def _checked(self, item: Item, creating: bool) -> dict[str, Any]:
        """The item's values validated as ContentNote fields (types, lengths, writability)."""
        values: dict[str, Any] = {}
        self.org.dml._apply_values(self.org.schema.get("ContentNote"), item, values, creating)
        title = values.get("Title")
        if ("Title" in values or creating) and not (title or "").strip():
            raise RecordError("REQUIRED_FIELD_MISSING", "Required fields are missing: [Title]", ["Title"])
        return values


def install(org: "Org") -> None:
    org.dml.virtual["contentnote"] = NoteView(org)
