"""The DML engine: insert / update / upsert / delete with Salesforce's validation rules.

Every write path (REST single record, sObject Collections, Bulk API 2.0 ingest, files) prepares
:class:`Item` objects and calls :meth:`Dml.save` / :meth:`Dml.delete`. Those run under the
store lock, apply each record in memory with an undo log (a failing record is undone on its own;
with ``all_or_none`` every record is undone and the others answer
``ALL_OR_NONE_OPERATION_ROLLED_BACK``) and then flush once to SQLite.

Object-specific behaviour (Case numbers, closed flags, ContentVersion files, direct
AccountContactRelations...) lives in hooks: ``before_insert``/``before_update`` may change the
new record, ``after_insert``/``after_update`` may write related records, ``before_delete`` may refuse a
delete asked for through the API (not one a cascade makes), ``cascade`` names the ids a delete
takes with it (``"*"``: every object, e.g. a record's attachments).

An object with ``virtual`` set (ContentNote) has no records of its own: ``virtual[name]`` (a
:class:`View`) answers reads and turns writes into writes on the stored object it views.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Protocol

from crm_migration.sandbox.salesforce.errors import ApiError, RecordError, RequestDecodeError
from crm_migration.sandbox.salesforce.ids import to18
from crm_migration.sandbox.salesforce.schema import Field, SObjectType
from crm_migration.sandbox.salesforce.values import coerce, now_sf, validate

if TYPE_CHECKING:
    from crm_migration.sandbox.salesforce.org import Org

ROLLED_BACK = RecordError(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using AllOrNone header",
)
READ_ONLY_HINT = ("Please check the security settings of this field and verify that it is read/write "
                  "for your profile or permission set.")


@dataclass
class ExtRef:
    """A relationship given by the parent's external id (``"Account": {"Ext__c": "X"}``)."""

    target: str | None
    field: str
    value: Any


@dataclass
class Item:
    values: dict[str, Any] = field(default_factory=dict)  # canonical field name -> value / ExtRef / None
    record_id: str | None = None  # update: the record's Id
    ext_value: Any = None  # upsert: the external id value
    error: RecordError | None = None  # failed before reaching the engine (e.g. CSV decode)
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. ContentVersion VersionData


@dataclass
class Result:
    id: str | None
    success: bool
    errors: list[RecordError] = field(default_factory=list)
    created: bool | None = None

    def as_json(self, with_created: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "success": self.success,
                               "errors": [e.as_json() for e in self.errors]}
        if with_created:
            out["created"] = bool(self.created)
        return out


class View(Protocol):
    """The records of a virtual object, and how its writes reach the stored object."""

    def get(self, record_id: str) -> dict[str, Any] | None: ...

    def records(self, include_deleted: bool = False) -> Iterable[dict[str, Any]]: ...

    def insert(self, item: "Item", user_id: str, txn: "Txn") -> str: ...

    def update(self, record_id: str, item: "Item", user_id: str, txn: "Txn") -> str: ...


class Txn:
    """Undo log plus effects to run on commit / rollback."""

    def __init__(self) -> None:
        self.undo: list[tuple[str, str, dict[str, Any] | None]] = []
        self.on_commit: list[Callable[[], None]] = []
        self.on_rollback: list[Callable[[], None]] = []
        self.counts = {"created": 0, "updated": 0, "deleted": 0}

    def mark(self) -> tuple[int, int, int, dict[str, int]]:
        return len(self.undo), len(self.on_commit), len(self.on_rollback), dict(self.counts)


class Dml:
    def __init__(self, org: "Org") -> None:
        self.org = org
        self.store = org.store
        self.schema = org.schema
        self.before_insert: dict[str, list[Callable]] = {}
        self.before_update: dict[str, list[Callable]] = {}
        self.after_insert: dict[str, list[Callable]] = {}
        self.after_update: dict[str, list[Callable]] = {}
        self.cascade: dict[str, list[Callable]] = {}
        self.before_delete: dict[str, list[Callable]] = {}
        self.virtual: dict[str, View] = {}

    def hook(self, kind: str, sobject: str, fn: Callable) -> None:
        getattr(self, kind).setdefault(sobject.lower(), []).append(fn)

    # -- preparation (REST JSON) ------------------------------------------------------------------
    def prepare_json(self, obj: SObjectType, body: Any) -> Item:
        """Decode a REST record body; unknown fields and undecodable values fail the request."""
        if not isinstance(body, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of SObject from a non-object value")
        item = Item()
        for key, raw in body.items():
            if key == "attributes":
                continue
            f = obj.field(key)
            if f is not None:
                if f.type == "base64":
                    item.extra[f.name] = raw
                    continue
                try:
                    item.values[f.name] = coerce(f, raw)
                except RequestDecodeError as exc:
                    raise exc.api_error() from None
                continue
            rel = obj.relationship(key)
            if rel is not None and (raw is None or isinstance(raw, dict)):
                if raw is None:
                    item.values[rel.name] = None
                    continue
                target = (raw.get("attributes") or {}).get("type")
                keys = [k for k in raw if k != "attributes"]
                if len(keys) != 1:
                    raise ApiError(400, "INVALID_FIELD",
                                   f"Relationship {rel.relationship_name} must name exactly one external id or "
                                   f"indexed field of the referenced object")
                item.values[rel.name] = ExtRef(target, keys[0], raw[keys[0]])
                continue
            raise ApiError(400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}")
        return item

    # -- references ---------------------------------------------------------------------------
    def resolve_ext(self, f: Field, ref: ExtRef) -> str:
        target = ref.target
        if target is None:
            if f.polymorphic:
                raise RecordError("INVALID_FIELD",
                                  f"The polymorphic foreign key {f.relationship_name} needs the referenced "
                                  f"object type (attributes.type in JSON, Type:{f.relationship_name}.Field in "
                                  f"a CSV header)", [f.name])
            target = f.reference_to[0]
        tobj = self.schema.get(target)
        if tobj is None or tobj.name not in f.reference_to:
            raise RecordError("FIELD_INTEGRITY_EXCEPTION",
                              f"{f.label}: id value of incorrect type: {target}", [f.name])
        tf = tobj.field(ref.field)
        if tf is None:
            raise RecordError("INVALID_FIELD", f"No such column '{ref.field}' on sobject of type {tobj.name}",
                              [f.name])
        if not (tf.external_id or tf.id_lookup):
            raise RecordError("INVALID_FIELD", f"Field name provided, {tf.name} is not an External ID or "
                                               f"indexed field for {tobj.name}", [f.name])
        try:
            value = coerce(tf, ref.value)
        except RequestDecodeError:
            value = ref.value
        ids = self.store.lookup(tobj.name, tf, value) if value is not None else []
        if not ids:
            raise RecordError("INVALID_FIELD", f"Foreign key external ID: {ref.value} not found for field "
                                               f"{tf.name} in entity {tobj.name}", [f.name])
        if len(ids) > 1:
            raise RecordError("INVALID_FIELD", f"Foreign key external ID: {ref.value} matched more than one "
                                               f"record for field {tf.name} in entity {tobj.name}", [f.name])
        return ids[0]

    def check_ref(self, f: Field, value: Any) -> str:
        id18 = to18(str(value))
        if id18 is None:
            raise RecordError("MALFORMED_ID", f"{f.label}: id value of incorrect type: {value}", [f.name])
        target = self.schema.object_for_id(id18)
        known_targets = [t for t in f.reference_to if self.schema.get(t) is not None]
        if not known_targets:
            return id18  # e.g. ProfileId: no such object in the sandbox, accept any id
        if target is None or target.name not in f.reference_to:
            raise RecordError("FIELD_INTEGRITY_EXCEPTION", f"{f.label}: id value of incorrect type: {value}",
                              [f.name])
        rec = self.store.get(id18)
        if rec is None:
            raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [f.name])
        if rec.get("IsDeleted"):
            raise RecordError("ENTITY_IS_DELETED", "entity is deleted", [f.name])
        return id18

    def check_owner(self, owner_id: str) -> None:
        rec = self.store.get(owner_id)
        if rec is None or not rec.get("IsActive"):
            raise RecordError("INACTIVE_OWNER_OR_USER", "owner or user is inactive.", [])

    def _apply_values(self, obj: SObjectType, item: Item, rec: dict[str, Any], creating: bool) -> list[Field]:
        bad = [n for n in item.values
               if not (obj.field(n).createable if creating else obj.field(n).updateable)]
        if creating and any(n == "Id" and item.values[n] is not None for n in bad):
            raise RecordError("INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"])
        bad = [n for n in bad if n != "Id"]
        if bad:
            raise RecordError("INVALID_FIELD_FOR_INSERT_UPDATE",
                              f"Unable to create/update fields: {', '.join(bad)}. {READ_ONLY_HINT}", bad)
        changed = []
        for name, value in item.values.items():
            if name == "Id":
                continue
            f = obj.field(name)
            if isinstance(value, ExtRef):
                value = self.resolve_ext(f, value)
            elif value is not None and f.type == "reference":
                value = self.check_ref(f, value)
            if value is not None:
                value = validate(f, value)
            rec[f.name] = value
            changed.append(f)
        return changed

    def _check_unique(self, obj: SObjectType, rec: dict[str, Any], fields: list[Field]) -> None:
        for f in fields:
            if f.unique and rec.get(f.name) is not None:
                others = [i for i in self.store.lookup(obj.name, f, rec[f.name]) if i != rec["Id"]]
                if others:
                    raise RecordError("DUPLICATE_VALUE", f"duplicate value found: {f.name} duplicates value on "
                                                         f"record with id: {others[0]}", [f.name])

    def _missing(self, obj: SObjectType, rec: dict[str, Any], fields: list[Field] | None = None) -> None:
        pool = fields if fields is not None else list(obj.fields.values())
        # base64 bodies never sit in the record: the hooks that store them check them
        missing = [f.name for f in pool if not f.nillable and f.type not in ("boolean", "base64") and f.createable
                   and rec.get(f.name) is None]
        if missing:
            restricted = [n for n in missing if obj.field(n).restricted and fields is not None]
            if restricted:
                f = obj.field(restricted[0])
                raise RecordError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                                  f"{f.label}: bad value for restricted picklist field: null", [f.name])
            raise RecordError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
                              missing)

    # -- single-record operations (inside the lock) ----------------------------------------
    def insert_one(self, obj: SObjectType, item: Item, user_id: str, txn: Txn, internal: bool = False) -> str:
        if not obj.createable and not internal:
            raise RecordError("INVALID_TYPE_FOR_OPERATION", f"entity type {obj.name} does not support insert")
        if obj.virtual:
            return self.virtual[obj.name.lower()].insert(item, user_id, txn)
        rec: dict[str, Any] = {"Id": item.extra.get("_id") or self.org.ids.new(obj.key_prefix)}
        self._apply_values(obj, item, rec, creating=True)
        for f in obj.fields.values():
            if f.name in rec:
                continue
            if f.type == "boolean":
                rec[f.name] = bool(f.default_value)
            elif f.type == "picklist" and f.default_picklist_value() is not None:
                rec[f.name] = f.default_picklist_value()
            else:
                rec[f.name] = None
        now = now_sf()
        if obj.has_owner:
            if rec.get("OwnerId") is None:
                rec["OwnerId"] = user_id
            self.check_owner(rec["OwnerId"])
        rec.update({"IsDeleted": False, "CreatedDate": now, "CreatedById": user_id, "LastModifiedDate": now,
                    "LastModifiedById": user_id, "SystemModstamp": now})
        for fn in self.before_insert.get(obj.name.lower(), []):
            fn(obj, rec, item, txn)
        self._missing(obj, rec)
        self._check_unique(obj, rec, [f for f in obj.fields.values() if f.unique])
        old = self.store.put(obj.name, rec)
        txn.undo.append((obj.name, rec["Id"], old))
        txn.counts["created"] += 1
        for fn in self.after_insert.get(obj.name.lower(), []):
            fn(obj, rec, item, txn, user_id)
        return rec["Id"]

    def target_record(self, obj: SObjectType, raw_id: Any) -> dict[str, Any]:
        id18 = to18(str(raw_id)) if raw_id is not None else None
        if id18 is None:
            raise RecordError("MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {raw_id}", ["Id"])
        if obj.virtual:
            rec = self.virtual[obj.name.lower()].get(id18)
            if rec is None:
                raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["Id"])
            return rec
        rec = self.store.get(id18)
        if rec is None or self.store.sobject_of(id18) != obj.name.lower():
            if self.schema.object_for_id(id18) not in (None, obj):
                raise RecordError("MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {raw_id}", ["Id"])
            raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["Id"])
        if rec.get("IsDeleted"):
            raise RecordError("ENTITY_IS_DELETED", "entity is deleted", [])
        return rec

    def update_one(self, obj: SObjectType, raw_id: Any, item: Item, user_id: str, txn: Txn) -> str:
        if not obj.updateable:
            raise RecordError("INVALID_TYPE_FOR_OPERATION", f"entity type {obj.name} does not support update")
        old = self.target_record(obj, raw_id)
        if obj.virtual:
            return self.virtual[obj.name.lower()].update(old["Id"], item, user_id, txn)
        rec = dict(old)
        changed = self._apply_values(obj, item, rec, creating=False)
        self._missing(obj, rec, changed)
        if obj.has_owner and any(f.name == "OwnerId" for f in changed):
            self.check_owner(rec["OwnerId"])
        now = now_sf()
        rec.update({"LastModifiedDate": now, "LastModifiedById": user_id, "SystemModstamp": now})
        for fn in self.before_update.get(obj.name.lower(), []):
            fn(obj, rec, old, item, txn)
        self._check_unique(obj, rec, [f for f in changed if f.unique])
        self.store.put(obj.name, rec)
        txn.undo.append((obj.name, rec["Id"], old))
        txn.counts["updated"] += 1
        for fn in self.after_update.get(obj.name.lower(), []):
            fn(obj, rec, old, txn, user_id)
        return rec["Id"]

    def upsert_one(self, obj: SObjectType, ext: Field, item: Item, user_id: str, txn: Txn) -> tuple[str, bool]:
        value = item.ext_value
        if ext.name == "Id":
            if value in (None, ""):
                item.values.pop("Id", None)
                return self.insert_one(obj, item, user_id, txn), True
            return self.update_one(obj, value, item, user_id, txn), False
        if value is None or value == "":
            raise RecordError("MISSING_ARGUMENT", f"{ext.name} not specified", [ext.name])
        matches = self.store.lookup(obj.name, ext, value)
        if len(matches) > 1:
            raise RecordError("DUPLICATE_EXTERNAL_ID",
                              f"{ext.name}: more than one record found for external id field: "
                              f"[{', '.join(matches)}]", [ext.name])
        if matches:
            item.values.pop(ext.name, None)
            return self.update_one(obj, matches[0], item, user_id, txn), False
        item.values[ext.name] = value
        return self.insert_one(obj, item, user_id, txn), True

    def delete_one(self, raw_id: Any, hard: bool, user_id: str, txn: Txn, expect: SObjectType | None = None) -> str:
        id18 = to18(str(raw_id)) if raw_id is not None else None
        if id18 is None:
            raise RecordError("MALFORMED_ID", f"malformed id {raw_id}", [])
        rec = self.store.get(id18)
        sobject = self.store.sobject_of(id18)
        if expect is not None and expect.virtual:  # deleting a note deletes its document
            if self.virtual[expect.name.lower()].get(id18) is None:
                raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
            expect = self.schema.get(expect.virtual)
        if rec is None or (expect is not None and sobject != expect.name.lower()):
            raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
        if rec.get("IsDeleted") and not hard:
            raise RecordError("ENTITY_IS_DELETED", "entity is deleted", [])
        obj = self.schema.get(sobject)
        if not obj.deletable:
            raise RecordError("INVALID_TYPE_FOR_OPERATION", f"entity type {obj.name} does not support delete")
        for fn in self.cascade.get(sobject, []) + self.cascade.get("*", []):
            for child in fn(rec, txn):
                if child != id18 and self.store.get(child) is not None:
                    child_rec = self.store.get(child)
                    if not child_rec.get("IsDeleted") or hard:
                        self.delete_one(child, hard, user_id, txn)
        if hard:
            old = self.store.remove(id18)
        else:
            new = dict(rec, IsDeleted=True, LastModifiedDate=now_sf(), LastModifiedById=user_id,
                       SystemModstamp=now_sf())
            old = self.store.put(sobject, new)
        txn.undo.append((sobject, id18, old))
        txn.counts["deleted"] += 1
        return id18

    # -- batch drivers --------------------------------------------------------------------------
    def run(self, ops: list[Callable[[Txn], tuple[str | None, bool | None]] | RecordError],
            all_or_none: bool = False) -> list[Result]:
        """Run per-record operations in one transaction; each returns (id, created)."""
        results: list[Result] = []
        txn = Txn()
        with self.store.lock:
            for op in ops:
                if isinstance(op, RecordError):
                    results.append(Result(None, False, [op]))
                    continue
                mark = txn.mark()
                try:
                    rid, created = op(txn)
                    results.append(Result(rid, True, [], created))
                except RecordError as exc:
                    self._rollback(txn, mark)
                    results.append(Result(None, False, [exc]))
            if all_or_none and any(not r.success for r in results):
                self._rollback(txn, (0, 0, 0, {"created": 0, "updated": 0, "deleted": 0}))
                results = [r if not r.success else Result(None, False, [ROLLED_BACK]) for r in results]
                self.store.flush()
                return results
            self.org.persist_counters()
            self.store.flush()
            for fn in txn.on_commit:
                fn()
            self.org.count_writes(txn.counts)
        return results

    def _rollback(self, txn: Txn, mark: tuple[int, int, int, dict[str, int]]) -> None:
        n_undo, n_commit, n_rollback, counts = mark
        for sobject, rid, old in reversed(txn.undo[n_undo:]):
            self.store.restore(sobject, rid, old)
        del txn.undo[n_undo:]
        del txn.on_commit[n_commit:]
        for fn in reversed(txn.on_rollback[n_rollback:]):
            fn()
        del txn.on_rollback[n_rollback:]
        txn.counts = counts

    def save(self, obj: SObjectType, operation: str, items: list[Item], user_id: str,
             ext_field: Field | None = None, all_or_none: bool = False) -> list[Result]:
        ops: list[Any] = []
        seen: set[Any] = set()
        for item in items:
            if item.error is not None:
                ops.append(item.error)
                continue
            if operation == "insert":
                ops.append(lambda txn, it=item: (self.insert_one(obj, it, user_id, txn), True))
            elif operation == "update":
                ops.append(lambda txn, it=item: (self.update_one(obj, it.record_id, it, user_id, txn), False))
            elif operation == "upsert":
                assert ext_field is not None
                key = item.ext_value
                if ext_field.name != "Id" and key not in (None, ""):
                    norm = str(key).lower()
                    if norm in seen:
                        ops.append(RecordError("DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {key}",
                                               [ext_field.name]))
                        continue
                    seen.add(norm)
                ops.append(lambda txn, it=item: self.upsert_one(obj, ext_field, it, user_id, txn))
            else:
                raise ValueError(operation)
        return self.run(ops, all_or_none)

    def delete(self, ids: list[Any], user_id: str, all_or_none: bool = False, hard: bool = False,
               expect: SObjectType | None = None) -> list[Result]:
        def op(txn: Txn, rid: Any) -> tuple[str, bool]:
            rec = self.store.get(to18(str(rid)) or "")
            if rec is not None and not rec.get("IsDeleted"):
                for fn in self.before_delete.get(self.store.sobject_of(rec["Id"]) or "", []):
                    fn(rec)
            return self.delete_one(rid, hard, user_id, txn, expect), False

        return self.run([lambda txn, rid=rid: op(txn, rid) for rid in ids], all_or_none)
