"""Records in memory, persisted to SQLite (``dataverse.db``, WAL) at every commit.

Every request runs on the server's event loop, so there is one writer at a time and no locking.
A write opens a transaction (:meth:`Store.begin`): changes are applied in memory with an undo log;
:meth:`Store.commit` persists them in one SQLite transaction, :meth:`Store.rollback` undoes them. A
``$batch`` change set is one such transaction, which is what makes it atomic.

Alternate keys are unique indexes over normalised values: strings compare case-insensitively, as
they do in Dataverse's SQL collation.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def key_value(value: Any) -> Any:
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, list):  # a lookup [entity, id]
        return value[1].lower()
    return value


class Store:
    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS records (entity TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,
                                                PRIMARY KEY (entity, id));
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            """
        )
        self.records: dict[str, dict[str, dict[str, Any]]] = {}
        for entity, rid, data in self.db.execute("SELECT entity, id, data FROM records"):
            self.records.setdefault(entity, {})[rid] = json.loads(data)
        self.indexes: dict[tuple[str, str], dict[tuple, str]] = {}
        self.key_defs: dict[tuple[str, str], tuple[str, ...]] = {}
        self.refs: dict[str, set[tuple[str, str, str]]] = {}  # target id -> {(entity, id, lookup)}
        for entity, recs in self.records.items():
            for rid, rec in recs.items():
                self._index(entity, rid, rec, add=True)
        self._undo: list[tuple[str, str, dict[str, Any] | None]] | None = None
        self._dirty: set[tuple[str, str]] = set()

    # -- meta ---------------------------------------------------------------------------------
    def meta_get(self, key: str, default: Any = None) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def meta_set(self, key: str, value: Any) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, json.dumps(value)))

    # -- alternate keys -------------------------------------------------------------------------
    def define_key(self, entity: str, name: str, attributes: tuple[str, ...]) -> list[str]:
        """Index a key over the existing records; returns the ids that collide (the key then fails)."""
        index: dict[tuple, str] = {}
        clashes = []
        for rid, rec in self.records.get(entity, {}).items():
            values = self._key_of(rec, attributes)
            if values is None:
                continue
            if values in index:
                clashes.append(rid)
            index[values] = rid
        if not clashes:
            self.indexes[(entity, name)] = index
            self.key_defs[(entity, name)] = attributes
        return clashes

    @staticmethod
    def _key_of(rec: dict[str, Any], attributes: tuple[str, ...]) -> tuple | None:
        values = tuple(key_value(rec.get(a)) for a in attributes)
        return None if any(v is None for v in values) else values

    def find_by_key(self, entity: str, name: str, values: dict[str, Any]) -> str | None:
        attributes = self.key_defs[(entity, name)]
        return self.indexes[(entity, name)].get(tuple(key_value(values[a]) for a in attributes))

    def key_clash(self, entity: str, rec: dict[str, Any], rid: str) -> str | None:
        """The name of a key whose values another record already holds."""
        for (ent, name), attributes in self.key_defs.items():
            if ent != entity:
                continue
            values = self._key_of(rec, attributes)
            if values is not None and self.indexes[(ent, name)].get(values, rid) != rid:
                return name
        return None

    def _index(self, entity: str, rid: str, rec: dict[str, Any] | None, add: bool) -> None:
        if rec is None:
            return
        for name, value in rec.items():
            if isinstance(value, list):
                bucket = self.refs.setdefault(value[1], set())
                bucket.add((entity, rid, name)) if add else bucket.discard((entity, rid, name))
        for (ent, name), attributes in self.key_defs.items():
            if ent != entity:
                continue
            values = self._key_of(rec, attributes)
            if values is None:
                continue
            if add:
                self.indexes[(ent, name)][values] = rid
            elif self.indexes[(ent, name)].get(values) == rid:
                del self.indexes[(ent, name)][values]

    # -- records ----------------------------------------------------------------------------------
    def referrers(self, rid: str) -> list[tuple[str, str, str]]:
        """(entity, id, lookup) of every record whose lookup points at ``rid``."""
        return sorted(self.refs.get(rid, ()))

    def get(self, entity: str, rid: str) -> dict[str, Any] | None:
        return self.records.get(entity, {}).get(rid)

    def all(self, entity: str) -> Iterator[dict[str, Any]]:
        yield from list(self.records.get(entity, {}).values())

    def count(self, entity: str) -> int:
        return len(self.records.get(entity, {}))

    def put(self, entity: str, rid: str, rec: dict[str, Any]) -> None:
        old = self.get(entity, rid)
        if self._undo is not None:
            self._undo.append((entity, rid, old))
        self._index(entity, rid, old, add=False)
        self.records.setdefault(entity, {})[rid] = rec
        self._index(entity, rid, rec, add=True)
        self._dirty.add((entity, rid))

    def remove(self, entity: str, rid: str) -> None:
        old = self.records.get(entity, {}).pop(rid, None)
        if old is None:
            return
        if self._undo is not None:
            self._undo.append((entity, rid, old))
        self._index(entity, rid, old, add=False)
        self._dirty.add((entity, rid))

    # -- transactions -----------------------------------------------------------------------------
    def begin(self) -> None:
        self._undo = []

    def rollback(self) -> None:
        undo, self._undo = self._undo or [], None
        for entity, rid, old in reversed(undo):
            current = self.get(entity, rid)
            self._index(entity, rid, current, add=False)
            if old is None:
                self.records.get(entity, {}).pop(rid, None)
            else:
                self.records.setdefault(entity, {})[rid] = old
                self._index(entity, rid, old, add=True)
        self.commit()

    def commit(self) -> None:
        self._undo = None
        dirty, self._dirty = self._dirty, set()
        if not dirty:
            return
        rows = [(e, r, json.dumps(self.records[e][r], separators=(",", ":"))) for e, r in dirty
                if r in self.records.get(e, {})]
        gone = [(e, r) for e, r in dirty if r not in self.records.get(e, {})]
        self.db.execute("BEGIN")
        try:
            self.db.executemany("INSERT OR REPLACE INTO records(entity, id, data) VALUES (?,?,?)", rows)
            self.db.executemany("DELETE FROM records WHERE entity=? AND id=?", gone)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.commit()
        self.db.close()
