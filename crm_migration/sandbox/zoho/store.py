"""Persistence: every record in memory, written through to SQLite (WAL) under the state dir.

Records are plain dicts in wire form (lookups and owners as bare ids, datetimes as ISO UTC) keyed by
module. Values of unique fields and of the fields upserts look records up by are indexed
(case-insensitively) so that a 25,000-row Bulk Write job checks duplicates in O(1) per row. A write
call changes records in memory under ``lock`` and calls :meth:`flush` once: one SQLite transaction.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Iterator


def index_key(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).lower()


class Store:
    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS records (id TEXT PRIMARY KEY, module TEXT NOT NULL, data TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS kv (kind TEXT NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (kind, key));
            """
        )
        self.lock = threading.RLock()
        self.db_lock = threading.Lock()
        self.records: dict[str, dict[str, dict[str, Any]]] = {}
        self.where: dict[str, str] = {}
        self.indexed: dict[str, set[str]] = {}  # module -> indexed field names
        self.indexes: dict[tuple[str, str], dict[str, set[str]]] = {}
        self._dirty: set[str] = set()
        self._removed: set[str] = set()
        with self.db_lock:
            rows = self.db.execute("SELECT id, module, data FROM records").fetchall()
        for rid, module, data in rows:
            self.records.setdefault(module, {})[rid] = json.loads(data)
            self.where[rid] = module

    # -- meta and small tables --------------------------------------------------------------------
    def meta_get(self, key: str, default: Any = None) -> Any:
        with self.db_lock:
            row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def meta_set(self, key: str, value: Any) -> None:
        with self.db_lock:
            self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def kv_put(self, kind: str, key: str, value: Any) -> None:
        with self.db_lock:
            self.db.execute("INSERT OR REPLACE INTO kv(kind, key, data) VALUES (?, ?, ?)", (kind, key, json.dumps(value)))

    def kv_delete(self, kind: str, key: str) -> None:
        with self.db_lock:
            self.db.execute("DELETE FROM kv WHERE kind=? AND key=?", (kind, key))

    def kv_all(self, kind: str) -> dict[str, Any]:
        with self.db_lock:
            rows = self.db.execute("SELECT key, data FROM kv WHERE kind=?", (kind,)).fetchall()
        return {k: json.loads(v) for k, v in rows}

    # -- indexes ----------------------------------------------------------------------------------
    def set_indexed(self, module: str, fields: set[str]) -> None:
        with self.lock:
            self.indexed[module] = set(fields)
            for name in fields:
                index = self.indexes[(module, name)] = {}
                for rid, rec in self.records.get(module, {}).items():
                    if (k := index_key(rec.get(name))) is not None:
                        index.setdefault(k, set()).add(rid)

    def _index(self, module: str, rid: str, rec: dict[str, Any], add: bool) -> None:
        for name in self.indexed.get(module, ()):
            k = index_key(rec.get(name))
            if k is None:
                continue
            bucket = self.indexes[(module, name)].setdefault(k, set())
            bucket.add(rid) if add else bucket.discard(rid)

    def find(self, module: str, name: str, value: Any) -> list[str]:
        key = index_key(value)
        if key is None:
            return []
        if name in self.indexed.get(module, ()):
            return sorted(self.indexes[(module, name)].get(key, ()))
        return [rid for rid, rec in self.records.get(module, {}).items() if index_key(rec.get(name)) == key]

    # -- records ----------------------------------------------------------------------------------
    def get(self, rid: str) -> dict[str, Any] | None:
        module = self.where.get(str(rid))
        return self.records[module].get(str(rid)) if module else None

    def module_of(self, rid: str) -> str | None:
        return self.where.get(str(rid))

    def all(self, module: str) -> Iterator[dict[str, Any]]:
        yield from list(self.records.get(module, {}).values())

    def put(self, module: str, rec: dict[str, Any]) -> dict[str, Any] | None:
        """Insert or replace; returns the previous version (the caller's undo log)."""
        rid = rec["id"]
        old = self.get(rid)
        if old is not None:
            self._index(module, rid, old, add=False)
        self.records.setdefault(module, {})[rid] = rec
        self.where[rid] = module
        self._index(module, rid, rec, add=True)
        self._dirty.add(rid)
        self._removed.discard(rid)
        return old

    def remove(self, rid: str) -> dict[str, Any] | None:
        module = self.where.pop(rid, None)
        if module is None:
            return None
        old = self.records[module].pop(rid)
        self._index(module, rid, old, add=False)
        self._dirty.discard(rid)
        self._removed.add(rid)
        return old

    def flush(self) -> None:
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
                self.db.executemany("INSERT OR REPLACE INTO records(id, module, data) VALUES (?,?,?)", dirty)
                self.db.executemany("DELETE FROM records WHERE id=?", removed)
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def delete_all(self, keep: tuple[str, ...] = ("users",)) -> None:
        with self.lock:
            for module in list(self.records):
                if module not in keep:
                    for rid in list(self.records[module]):
                        self.remove(rid)
            self.flush()

    def close(self) -> None:
        self.flush()
        with self.db_lock:
            self.db.close()
