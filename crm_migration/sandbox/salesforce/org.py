"""The org: one sandbox's state (schema, records, users, tokens, config, counters, stats).

Everything persistent lives under ``state_dir``: ``salesforce.db`` (SQLite, WAL),
``files/`` (ContentVersion bytes), ``bulk/`` (Bulk API 2.0 job data and results),
``credentials.json`` (mode 600) and ``tls/``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import string
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from crm_migration.sandbox.salesforce import behaviour, content, notes
from crm_migration.sandbox.salesforce.content import Blobs
from crm_migration.sandbox.salesforce.dml import Dml, Txn
from crm_migration.sandbox.salesforce.errors import RecordError
from crm_migration.sandbox.salesforce.ids import IdFactory
from crm_migration.sandbox.salesforce.schema import Schema
from crm_migration.sandbox.salesforce.store import Store
from crm_migration.sandbox.salesforce.values import now_sf

DEFAULT_CONFIG: dict[str, Any] = {
    "daily_api_limit": 100_000,
    "session_ttl_seconds": 7200,
    "content_max_json_bytes": 25 * 1024 * 1024,
    "attachment_max_bytes": 25 * 1024 * 1024,
    "query_batch_size": 2000,
    "daily_bulk_query_jobs": 10_000,
}
INTEGRATION_USERNAME = "integration@sandbox.local"
# The profiles every org has (Name -> UserType); a user's type comes from its profile.
PROFILES = {"System Administrator": "Standard", "Standard User": "Standard",
            "Partner Community User": "PowerPartner", "Customer Community User": "CspLitePortal"}
USER_DEFAULTS = {"TimeZoneSidKey": "GMT", "LocaleSidKey": "en_US", "EmailEncodingKey": "UTF-8",
                 "LanguageLocaleKey": "en_US"}


def _random(n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def load_or_create_credentials(state_dir: Path) -> dict[str, str]:
    path = state_dir / "credentials.json"
    if path.exists():
        return json.loads(path.read_text())
    creds = {
        "client_id": "3MVG9" + _random(80, string.ascii_letters + string.digits + "._"),
        "client_secret": secrets.token_hex(32).upper(),
        "username": INTEGRATION_USERNAME,
        "password": _random(20),
        "security_token": _random(24),
        "admin_token": secrets.token_urlsafe(32),
    }
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(creds, fh, indent=2)
    os.replace(tmp, path)
    return creds


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.requests = 0
            self.by_route: dict[str, int] = {}
            self.writes = {"created": 0, "updated": 0, "deleted": 0}
            self.faults: dict[str, int] = {}

    def request(self, route: str) -> None:
        with self.lock:
            self.requests += 1
            self.by_route[route] = self.by_route.get(route, 0) + 1

    def fault(self, kind: str) -> None:
        with self.lock:
            self.faults[kind] = self.faults.get(kind, 0) + 1

    def add_writes(self, counts: dict[str, int]) -> None:
        with self.lock:
            for k, v in counts.items():
                self.writes[k] = self.writes.get(k, 0) + v


class Org:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.credentials = load_or_create_credentials(self.state_dir)
        self.store = Store(self.state_dir / "salesforce.db")
        self.schema = Schema.from_customisations(self.store.meta_get("schema"))
        self.store.schema = self.schema
        self.store.load()
        self.ids = IdFactory(int(self.store.meta_get("id_counter", 0)))
        self.counters: dict[str, int] = self.store.meta_get("counters", {})
        self.config = dict(DEFAULT_CONFIG, **self.store.meta_get("config", {}))
        self.org_id = self.store.meta_get("org_id")
        if not self.org_id:
            self.org_id = self.ids.new("00D")
            self.store.meta_set("org_id", self.org_id)
        self.blobs = Blobs(self.state_dir / "files")
        self.bulk_dir = self.state_dir / "bulk"
        self.bulk_dir.mkdir(exist_ok=True)
        self.dml = Dml(self)
        behaviour.install(self)
        content.install(self)
        notes.install(self)
        self.stats = Stats()
        self.usage = self.store.meta_get("api_usage", {"day": "", "count": 0})
        self._usage_saved = time.monotonic()
        self.usage_lock = threading.Lock()
        self.tokens: dict[str, dict[str, Any]] = self.store.kv_all("tokens")
        self.tokens_lock = threading.Lock()
        self.cursors: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.profiles = self._ensure_profiles()
        self.integration_user_id = self._ensure_integration_user()

    # -- counters / persistence -------------------------------------------------------------------
    def next_number(self, name: str, start: int) -> int:
        n = self.counters.get(name, start) + 1
        self.counters[name] = n
        return n

    def persist_counters(self) -> None:
        self.store.meta_set("id_counter", self.ids.counter)
        self.store.meta_set("counters", self.counters)

    def persist_schema(self) -> None:
        self.store.meta_set("schema", self.schema.customisations())
        self.persist_counters()

    def set_config(self, updates: dict[str, Any]) -> dict[str, Any]:
        for key, value in updates.items():
            if key not in DEFAULT_CONFIG:
                raise KeyError(key)
            self.config[key] = int(value)
        self.store.meta_set("config", {k: v for k, v in self.config.items() if DEFAULT_CONFIG[k] != v})
        return dict(self.config)

    def count_writes(self, counts: dict[str, int]) -> None:
        self.stats.add_writes(counts)

    # -- API usage ----------------------------------------------------------------------------
    def _today(self) -> str:
        return dt.datetime.now(dt.timezone.utc).date().isoformat()

    def use_api(self) -> tuple[bool, int, int]:
        """Count one API request; returns (allowed, used, max)."""
        with self.usage_lock:
            today = self._today()
            if self.usage.get("day") != today:
                self.usage = {"day": today, "count": 0}
            limit = int(self.config["daily_api_limit"])
            if self.usage["count"] >= limit:
                return False, self.usage["count"], limit
            self.usage["count"] += 1
            if time.monotonic() - self._usage_saved > 1.0:
                self.store.meta_set("api_usage", self.usage)
                self._usage_saved = time.monotonic()
            return True, self.usage["count"], limit

    def api_usage_today(self) -> int:
        with self.usage_lock:
            return self.usage["count"] if self.usage.get("day") == self._today() else 0

    def save_usage(self) -> None:
        with self.usage_lock:
            self.store.meta_set("api_usage", self.usage)

    # -- sessions -----------------------------------------------------------------------------------
    def issue_token(self, user_id: str) -> str:
        token = f"{self.org_id[:15]}!{secrets.token_urlsafe(72)}"
        with self.tokens_lock:
            self.tokens[token] = {"user_id": user_id, "issued": time.time()}
        self.store.kv_put("tokens", token, self.tokens[token])
        return token

    def check_token(self, token: str) -> str | None:
        with self.tokens_lock:
            info = self.tokens.get(token)
        if info is None:
            return None
        if time.time() - info["issued"] > int(self.config["session_ttl_seconds"]):
            self.revoke_token(token)
            return None
        user = self.store.get(info["user_id"])
        if user is None or not user.get("IsActive"):
            return None
        return info["user_id"]

    def revoke_token(self, token: str) -> None:
        with self.tokens_lock:
            self.tokens.pop(token, None)
        self.store.kv_delete("tokens", token)

    # -- users --------------------------------------------------------------------------------------
    def _ensure_profiles(self) -> dict[str, str]:
        """Profile name -> Id; profiles are metadata, so they are written directly, once."""
        have = {r["Name"]: r["Id"] for r in self.store.all("Profile")}
        with self.store.lock:
            for name, user_type in PROFILES.items():
                if name not in have:
                    now = now_sf()
                    rec = {"Id": self.ids.new("00e"), "Name": name, "UserType": user_type, "Description": None,
                           "IsDeleted": False, "CreatedDate": now, "CreatedById": None, "LastModifiedDate": now,
                           "LastModifiedById": None, "SystemModstamp": now}
                    self.store.put("Profile", rec)
                    have[name] = rec["Id"]
            self.persist_counters()
            self.store.flush()
        return have

    def _ensure_integration_user(self) -> str:
        uname = self.credentials["username"]
        user_obj = self.schema.get("User")
        found = self.store.lookup("User", user_obj.field("Username"), uname)
        if found:
            return found[0]
        # the very first user creates itself
        bootstrap = self.ids.new("005")
        results = self.create_users([{"Username": uname, "Email": uname, "FirstName": "Integration",
                                      "LastName": "User", "IsActive": True,
                                      "ProfileId": self.profiles["System Administrator"]}],
                                    creator=bootstrap, fixed_id=bootstrap)
        if not results[0].success:
            raise RuntimeError(results[0].errors[0].message)
        return results[0].id

    def create_users(self, users: list[dict[str, Any]], creator: str | None = None,
                     fixed_id: str | None = None):
        user_obj = self.schema.get("User")
        creator = creator or self.integration_user_id
        ops = []
        for raw in users:
            def op(txn: Txn, raw: dict[str, Any] = raw):
                body = dict(raw)
                body.setdefault("Username", body.get("Email"))
                body.setdefault("IsActive", True)
                if not body.get("Alias"):
                    body["Alias"] = ((body.get("FirstName") or "")[:1] + (body.get("LastName") or "u")[:4]).lower()
                for key, value in USER_DEFAULTS.items():
                    body.setdefault(key, value)
                body.setdefault("ProfileId", self.profiles["Standard User"])
                try:
                    item = self.dml.prepare_json(user_obj, body)
                except Exception as exc:  # noqa: BLE001 - surfaced as a per-user error
                    raise RecordError("INVALID_FIELD", str(getattr(exc, "message", exc))) from None
                if fixed_id:
                    item.extra["_id"] = fixed_id
                return self.dml.insert_one(user_obj, item, creator, txn, internal=True), True
            ops.append(op)
        return self.dml.run(ops)

    def reset(self, schema: bool = False) -> None:
        with self.store.lock:
            self.store.delete_all(keep=("user", "profile"))
            self.blobs.clear()
            self.cursors.clear()
            if schema:
                # custom objects' records go with the schema; standard records are already gone
                self.schema = Schema()
                self.store.schema = self.schema
                self.dml.schema = self.schema
                self.store.rebuild_indexes()
                self.persist_schema()
