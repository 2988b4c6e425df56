"""Record store: every record in memory, persisted write-behind to SQLite (WAL) under state_dir.

Records are plain dicts keyed by canonical field name. Values are kept indexed (lower-cased
unless case-sensitive) for every external-id / unique / idLookup text field of non-deleted
records, so upserts and relationship look-ups by external id are O(1). The DML engine changes
records in memory under ``lock`` with an undo log and calls :meth:`Store.flush` once per call
(one SQLite transaction), which is what keeps 50,000-record bulk upserts at seconds.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Iterable, Iterator

from crm_migration.sandbox.salesforce.schema import Field, Schema


def index_key(f: Field, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    value = str(value)
    return value if f.case_sensitive else value.lower()


class Store:
    def __init__(self, path: Path, schema: Schema | None = None) -> None:
        self.path = Path(path)
        self.db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS records (id TEXT PRIMARY KEY, sobject TEXT NOT NULL, data TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS records_sobject ON records(sobject);
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY, data TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, data TEXT NOT NULL);
            """
        )
        self.lock = threading.RLock()
        self.db_lock = threading.Lock()
        self.schema = schema or Schema()
        self.records: dict[str, dict[str, dict[str, Any]]] = {}
        self.where: dict[str, str] = {}
        self.indexes: dict[tuple[str, str], dict[Any, set[str]]] = {}
        self._dirty: set[str] = set()
        self._removed: set[str] = set()

    # -- meta --------------------------------------------------------------------------------
    def meta_get(self, key: str, default: Any = None) -> Any:
        with self.db_lock:
            row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def meta_set(self, key: str, value: Any) -> None:
        with self.db_lock:
            self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, json.dumps(value)))

    # generic small tables (tokens, jobs)
    def kv_put(self, table: str, key: str, value: Any) -> None:
        with self.db_lock:
            self.db.execute(f"INSERT OR REPLACE INTO {table}(id, data) VALUES (?, ?)"
                            if table == "jobs" else
                            f"INSERT OR REPLACE INTO {table}(token, data) VALUES (?, ?)",
                            (key, json.dumps(value)))

    def kv_delete(self, table: str, key: str) -> None:
        col = "id" if table == "jobs" else "token"
        with self.db_lock:
            self.db.execute(f"DELETE FROM {table} WHERE {col}=?", (key,))

    def kv_all(self, table: str) -> dict[str, Any]:
        col = "id" if table == "jobs" else "token"
        with self.db_lock:
            rows = self.db.execute(f"SELECT {col}, data FROM {table}").fetchall()
        return {k: json.loads(v) for k, v in rows}

    # -- loading -------------------------------------------------------------------------------
    def load(self) -> None:
        with self.lock:
            self.records.clear()
            self.where.clear()
            with self.db_lock:
                rows = self.db.execute("SELECT id, sobject, data FROM records").fetchall()
            for rid, sobject, data in rows:
                self.records.setdefault(sobject, {})[rid] = json.loads(data)
                self.where[rid] = sobject
            self.rebuild_indexes()

    def rebuild_indexes(self) -> None:
        with self.lock:
            self.indexes.clear()
            for sobject, recs in self.records.items():
                obj = self.schema.get(sobject)
                if obj is None:
                    continue
                fields = obj.indexed_fields()
                for rid, rec in recs.items():
                    if not rec.get("IsDeleted"):
                        self._index_add(sobject, fields, rid, rec)

    # -- indexes -------------------------------------------------------------------------------
    def _index_add(self, sobject: str, fields: list[Field], rid: str, rec: dict[str, Any]) -> None:
        for f in fields:
            k = index_key(f, rec.get(f.name))
            if k is not None:
                self.indexes.setdefault((sobject, f.name.lower()), {}).setdefault(k, set()).add(rid)

    def _index_remove(self, sobject: str, fields: list[Field], rid: str, rec: dict[str, Any]) -> None:
        for f in fields:
            k = index_key(f, rec.get(f.name))
            if k is not None:
                bucket = self.indexes.get((sobject, f.name.lower()), {}).get(k)
                if bucket:
                    bucket.discard(rid)
                    if not bucket:
                        del self.indexes[(sobject, f.name.lower())][k]

    def lookup(self, sobject: str, f: Field, value: Any) -> list[str]:
        """Ids of non-deleted ``sobject`` records whose indexed field ``f`` equals ``value``."""
        sobject = sobject.lower()
        if f.name == "Id":
            rec = self.get(str(value))
            return [rec["Id"]] if rec and not rec.get("IsDeleted") and self.where.get(rec["Id"]) == sobject else []
        if f.indexed:
            return sorted(self.indexes.get((sobject, f.name.lower()), {}).get(index_key(f, value), ()))
        key = index_key(f, value)
        return [rid for rid, rec in self.records.get(sobject, {}).items()
                if not rec.get("IsDeleted") and index_key(f, rec.get(f.name)) == key]

    # -- records ---------------------------------------------------------------------------------
    def get(self, rid: str) -> dict[str, Any] | None:
        sobject = self.where.get(rid)
        if sobject is None:
            return None
        return self.records[sobject].get(rid)

    def sobject_of(self, rid: str) -> str | None:
        return self.where.get(rid)

    def all(self, sobject: str, include_deleted: bool = False) -> Iterator[dict[str, Any]]:
        for rec in list(self.records.get(sobject.lower(), {}).values()):
            if include_deleted or not rec.get("IsDeleted"):
                yield rec

    def count(self, sobject: str) -> int:
        return sum(1 for _ in self.all(sobject))

    def put(self, sobject: str, rec: dict[str, Any]) -> dict[str, Any] | None:
        """Insert or replace a record; returns the previous version (for the undo log)."""
        sobject = sobject.lower()
        rid = rec["Id"]
        obj = self.schema.get(sobject)
        fields = obj.indexed_fields() if obj else []
        old = self.get(rid)
        if old is not None and not old.get("IsDeleted"):
            self._index_remove(sobject, fields, rid, old)
        self.records.setdefault(sobject, {})[rid] = rec
        self.where[rid] = sobject
        if not rec.get("IsDeleted"):
            self._index_add(sobject, fields, rid, rec)
        self._dirty.add(rid)
        self._removed.discard(rid)
        return old

    def remove(self, rid: str) -> dict[str, Any] | None:
        sobject = self.where.get(rid)
        if sobject is None:
            return None
        obj = self.schema.get(sobject)
        old = self.records[sobject].pop(rid)
        del self.where[rid]
        if not old.get("IsDeleted") and obj:
            self._index_remove(sobject, obj.indexed_fields(), rid, old)
        self._dirty.discard(rid)
        self._removed.add(rid)
        return old

    def restore(self, sobject: str, rid: str, old: dict[str, Any] | None) -> None:
        """Undo: put back ``old`` (or remove the record when it did not exist)."""
        if old is None:
            self.remove(rid)
        else:
            self.put(sobject, old)

    def flush(self) -> None:
        """Persist pending changes in one transaction."""
        with self.lock:
            dirty = [(rid, self.where[rid], json.dumps(self.get(rid), separators=(",", ":")))
                     for rid in self._dirty if rid in self.where]
            removed = [(rid,) for rid in self._removed]
            self._dirty.clear()
            self._removed.clear()
        if not dirty and not removed:
            return
        with self.db_lock:
            self.db.execute("BEGIN")
            try:
                if dirty:
                    self.db.executemany("INSERT OR REPLACE INTO records(id, sobject, data) VALUES (?,?,?)", dirty)
                if removed:
                    self.db.executemany("DELETE FROM records WHERE id=?", removed)
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def delete_all(self, keep: Iterable[str] = ("user",)) -> None:
        keep = {k.lower() for k in keep}
        with self.lock:
            for sobject in list(self.records):
                if sobject in keep:
                    continue
                for rid in list(self.records[sobject]):
                    self.remove(rid)
            self.flush()

    def close(self) -> None:
        self.flush()
        with self.db_lock:
            self.db.close()
