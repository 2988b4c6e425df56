"""Rendering stored records as the REST API answers them, and running SOQL over the org."""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any

from crm_migration.sandbox.salesforce import soql
from crm_migration.sandbox.salesforce.errors import ApiError
from crm_migration.sandbox.salesforce.schema import Field, SObjectType
from crm_migration.sandbox.salesforce.values import to_json

if TYPE_CHECKING:
    from crm_migration.sandbox.salesforce.org import Org

CURSOR_TTL = 15 * 60
MAX_CURSORS = 200


def attributes(sobject: str, rid: str | None, version: str) -> dict[str, Any]:
    out = {"type": sobject}
    if rid:
        out["url"] = f"/services/data/{version}/sobjects/{sobject}/{rid}"
    return out


def blob_url(obj_name: str, f: Field, rec: dict[str, Any], version: str) -> str | None:
    """A base64 field's value in REST answers: the URL of the body (none for a web link's version)."""
    if rec.get("FileType") == "LINK":
        return None
    return f"/services/data/{version}/sobjects/{obj_name}/{rec['Id']}/{f.name}"


def record_json(obj: SObjectType, rec: dict[str, Any], version: str, fields: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"attributes": attributes(obj.name, rec["Id"], version)}
    wanted = obj.fields.values() if not fields else [obj.field(n) for n in fields]
    for f in wanted:
        if f is None:
            continue
        if f.type == "base64":
            out[f.name] = blob_url(obj.name, f, rec, version)
        else:
            out[f.name] = to_json(f, rec.get(f.name))
    return out


def check_fields_param(obj: SObjectType, fields: str | None) -> list[str] | None:
    if not fields:
        return None
    names = [n.strip() for n in fields.split(",") if n.strip()]
    bad = [n for n in names if obj.field(n) is None]
    if bad:
        raise ApiError(400, "INVALID_FIELD", f"No such column '{bad[0]}' on sobject of type {obj.name}")
    return [obj.field(n).name for n in names]


class QueryRunner:
    def __init__(self, org: "Org") -> None:
        self.org = org

    def fetch(self, rid: str) -> dict[str, Any] | None:
        rec = self.org.store.get(rid)
        return rec

    def type_of(self, rid: str) -> str | None:
        obj = self.org.schema.object_for_id(rid)
        return obj.name if obj else None

    def compile(self, q: str) -> soql.Compiled:
        if not q or not q.strip():
            raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
        compiled = soql.compile_query(q, self.org.schema)
        if compiled.obj.name == "ContentDocumentLink" and not soql.filters_on(
                compiled, {"Id", "ContentDocumentId", "LinkedEntityId"}):
            raise ApiError(400, "MALFORMED_QUERY", "Implementation restriction: ContentDocumentLink requires a filter "
                                                   "by a single Id on ContentDocumentId or LinkedEntityId using the "
                                                   "equals operator or multiple Id's using the IN operator.")
        return compiled

    def select(self, compiled: soql.Compiled, include_deleted: bool = False) -> list[dict[str, Any]]:
        store = self.org.store
        obj = compiled.obj
        with store.lock:
            if obj.virtual:
                pool = list(self.org.dml.virtual[obj.name.lower()].records(include_deleted))
                return soql.run(compiled, pool, self.fetch, self.type_of)
            ids = None if include_deleted else soql.index_candidates(
                compiled, lambda f, v: store.lookup(obj.name, f, v))
            if ids is not None:
                pool = [store.get(i) for i in dict.fromkeys(ids)]
                pool = [r for r in pool if r is not None]
            else:
                pool = list(store.all(obj.name, include_deleted=include_deleted))
            return soql.run(compiled, pool, self.fetch, self.type_of)

    def render(self, compiled: soql.Compiled, rec: dict[str, Any], version: str) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": attributes(compiled.obj.name, rec.get("Id"), version)}
        for path in compiled.q.select:
            if len(path.parts) == 1 and path.fields[0].type == "base64":
                out[path.fields[0].name] = blob_url(compiled.obj.name, path.fields[0], rec, version)
            else:
                self._put(out, rec, path, version)
        return out

    def _put(self, out: dict[str, Any], rec: dict[str, Any], path: soql.Path, version: str) -> None:
        chain = path.fields
        if len(path.parts) == 1:
            out[chain[0].name] = to_json(chain[0], rec.get(chain[0].name))
            return
        cur_out, cur = out, rec
        rel_fields = chain if path.is_type else chain[:-1]
        for depth, rf in enumerate(rel_fields):
            rel = rf.relationship_name
            rid = cur.get(rf.name) if cur is not None else None
            if rid is None:
                if rel not in cur_out:
                    cur_out[rel] = None
                return
            target = self.fetch(rid)
            tname = self.type_of(rid) or (rf.reference_to[0] if rf.reference_to else "Name")
            node = cur_out.get(rel)
            if node is None:
                node = {"attributes": attributes(tname, rid, version)}
                cur_out[rel] = node
            cur_out, cur = node, target
        if path.is_type:
            cur_out["Type"] = self.type_of(rec_id_of(cur)) if cur else None
            return
        leaf = chain[-1]
        cur_out[leaf.name] = to_json(leaf, soql.leaf_value(cur, leaf)) if cur is not None else None

    # REST query / queryAll with cursors ----------------------------------------------------------
    def rest_query(self, q: str, version: str, include_deleted: bool, batch_size: int) -> dict[str, Any]:
        compiled = self.compile(q)
        rows = self.select(compiled, include_deleted)
        if compiled.q.count == "plain":
            return {"totalSize": len(rows), "done": True, "records": []}
        if compiled.q.count == "expr":
            return {"totalSize": 1, "done": True,
                    "records": [{"attributes": {"type": "AggregateResult"}, "expr0": len(rows)}]}
        rendered = [self.render(compiled, r, version) for r in rows]
        return self._page(rendered, 0, batch_size, version, include_deleted, None)

    def _page(self, rendered: list[dict[str, Any]], start: int, batch: int, version: str, include_deleted: bool,
              locator: str | None) -> dict[str, Any]:
        end = start + batch
        out: dict[str, Any] = {"totalSize": len(rendered), "done": end >= len(rendered),
                               "records": rendered[start:end]}
        if end < len(rendered):
            if locator is None:
                locator = "01g" + secrets.token_hex(8)[:15]
                cursors = self.org.cursors
                cursors[locator] = {"rows": rendered, "batch": batch, "at": time.monotonic()}
                now = time.monotonic()
                for key in [k for k, v in cursors.items() if now - v["at"] > CURSOR_TTL]:
                    del cursors[key]
                while len(cursors) > MAX_CURSORS:
                    cursors.popitem(last=False)
            endpoint = "queryAll" if include_deleted else "query"
            out["nextRecordsUrl"] = f"/services/data/{version}/{endpoint}/{locator}-{end}"
        return out

    def more(self, locator_path: str, version: str, include_deleted: bool) -> dict[str, Any]:
        loc, _, offset = locator_path.rpartition("-")
        cur = self.org.cursors.get(loc)
        if cur is None or not offset.isdigit():
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        cur["at"] = time.monotonic()
        return self._page(cur["rows"], int(offset), cur["batch"], version, include_deleted, loc)


def rec_id_of(rec: dict[str, Any] | None) -> str:
    return rec.get("Id", "") if rec else ""
