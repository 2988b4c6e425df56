"""The sandbox org: schema, records, users, OAuth tokens, API credits, config and stats.

Everything persistent lives under ``state_dir``: ``zoho.db`` (SQLite, WAL: records, schema
customisations, tokens, Bulk Write jobs, counters), ``files/`` (attachment bytes), ``bulk/`` (uploaded
and result files), ``credentials.json`` (mode 600) and ``tls/``. Record ids look like Zoho's: the
org's seven-digit prefix and a twelve-digit counter (``4876876000000231001``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import string
import threading
import time
from pathlib import Path
from typing import Any

from crm_migration.sandbox.zoho.schema import Schema
from crm_migration.sandbox.zoho.store import Store

DEFAULT_CONFIG: dict[str, int] = {
    "access_token_ttl_seconds": 3600,
    "daily_api_credits": 100_000,
    "concurrency_limit": 20,
    "max_attachment_bytes": 20 * 1024 * 1024,
    "bulk_write_max_records": 25_000,
    "bulk_write_delay_ms": 0,
}
ADMIN_EMAIL = "admin@sandbox.local"


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def load_or_create_credentials(state_dir: Path) -> dict[str, str]:
    path = state_dir / "credentials.json"
    if path.exists():
        return json.loads(path.read_text())
    upper = string.ascii_uppercase + string.digits
    creds = {
        "client_id": "1000." + "".join(secrets.choice(upper) for _ in range(30)),
        "client_secret": secrets.token_hex(21),
        "refresh_token": f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}",
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

    def add_writes(self, **counts: int) -> None:
        with self.lock:
            for k, v in counts.items():
                self.writes[k] = self.writes.get(k, 0) + v


class Crm:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.credentials = load_or_create_credentials(self.state_dir)
        self.store = Store(self.state_dir / "zoho.db")
        self.org_prefix = self.store.meta_get("org_prefix")
        if not self.org_prefix:
            self.org_prefix = str(secrets.randbelow(9_000_000) + 1_000_000)
            self.store.meta_set("org_prefix", self.org_prefix)
            self.store.meta_set("zgid", str(secrets.randbelow(900_000_000) + 100_000_000))
        self.zgid = self.store.meta_get("zgid")
        self.schema = Schema(self.org_prefix, self.store.meta_get("schema"))
        self.index_schema()
        self.counter = int(self.store.meta_get("id_counter", 100_000))
        self.counter_lock = threading.Lock()
        self.config = dict(DEFAULT_CONFIG, **self.store.meta_get("config", {}))
        self.stats = Stats()
        self.tokens: dict[str, dict[str, Any]] = self.store.kv_all("tokens")
        self.tokens_lock = threading.Lock()
        self.usage = self.store.meta_get("api_usage", {"day": "", "used": 0})
        self.usage_lock = threading.Lock()
        self._usage_saved = time.monotonic()
        self.files_dir = self.state_dir / "files"
        self.bulk_dir = self.state_dir / "bulk"
        self.files_dir.mkdir(exist_ok=True)
        self.bulk_dir.mkdir(exist_ok=True)
        self.admin_id = self._ensure_admin()

    # -- ids, schema, config ----------------------------------------------------------------------
    def new_id(self) -> str:
        with self.counter_lock:
            self.counter += 1
            return f"{self.org_prefix}{self.counter:012d}"

    def persist_counter(self) -> None:
        self.store.meta_set("id_counter", self.counter)

    def index_schema(self) -> None:
        for module in self.schema.modules.values():
            names = {f.api_name for f in module.unique_fields()} | set(module.dedupe) \
                | {f.api_name for f in module.fields.values() if f.data_type == "lookup"}
            self.store.set_indexed(module.api_name, names)

    def persist_schema(self) -> None:
        self.store.meta_set("schema", self.schema.customisations())
        self.index_schema()

    def set_config(self, updates: dict[str, Any]) -> dict[str, int]:
        for key, value in updates.items():
            if key not in DEFAULT_CONFIG:
                raise KeyError(key)
            self.config[key] = int(value)
        self.store.meta_set("config", {k: v for k, v in self.config.items() if DEFAULT_CONFIG[k] != v})
        return dict(self.config)

    # -- API credits --------------------------------------------------------------------------------
    def charge(self, credits: int) -> tuple[bool, int, int]:
        """Spend credits from today's allowance; returns (allowed, used, limit)."""
        with self.usage_lock:
            today = dt.datetime.now(dt.timezone.utc).date().isoformat()
            if self.usage.get("day") != today:
                self.usage = {"day": today, "used": 0}
            limit = int(self.config["daily_api_credits"])
            if self.usage["used"] + credits > limit:
                return False, self.usage["used"], limit
            self.usage["used"] += credits
            if time.monotonic() - self._usage_saved > 1.0:
                self.store.meta_set("api_usage", self.usage)
                self._usage_saved = time.monotonic()
            return True, self.usage["used"], limit

    def credits_used(self) -> int:
        with self.usage_lock:
            return self.usage["used"] if self.usage.get("day") == dt.datetime.now(dt.timezone.utc).date().isoformat() else 0

    def save_usage(self) -> None:
        with self.usage_lock:
            self.store.meta_set("api_usage", self.usage)

    # -- OAuth tokens -------------------------------------------------------------------------------
    def issue_token(self, user_id: str) -> tuple[str, int]:
        token = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
        ttl = int(self.config["access_token_ttl_seconds"])
        info = {"user_id": user_id, "expires": time.time() + ttl}
        with self.tokens_lock:
            self.tokens[token] = info
        self.store.kv_put("tokens", token, info)
        return token, ttl

    def check_token(self, token: str) -> str | None:
        with self.tokens_lock:
            info = self.tokens.get(token)
        if info is None:
            return None
        if time.time() >= info["expires"]:
            self.revoke_token(token)
            return None
        user = self.store.get(info["user_id"])
        return info["user_id"] if user and user.get("status") == "active" else None

    def revoke_token(self, token: str) -> None:
        with self.tokens_lock:
            self.tokens.pop(token, None)
        self.store.kv_delete("tokens", token)

    # -- users --------------------------------------------------------------------------------------
    def _ensure_admin(self) -> str:
        found = self.store.find("users", "email", ADMIN_EMAIL)
        if found:
            return found[0]
        return self.create_users([{"email": ADMIN_EMAIL, "first_name": "Sandbox", "last_name": "Admin"}],
                                 role="CEO", profile="Administrator")[0]

    def create_users(self, users: list[dict[str, Any]], role: str = "Manager", profile: str = "Standard") -> list[str]:
        ids = []
        with self.store.lock:
            for u in users:
                email = str(u.get("email") or u.get("Email") or "").strip().lower()
                if not email or "@" not in email:
                    raise ValueError("every user needs an e-mail address")
                if self.store.find("users", "email", email):
                    raise ValueError(f"a user with e-mail {email} exists already")
                first = u.get("first_name") or u.get("FirstName") or ""
                last = u.get("last_name") or u.get("LastName") or email.split("@")[0]
                active = u.get("status", "active" if u.get("IsActive", u.get("active", True)) else "disabled")
                rid = self.new_id()
                self.store.put("users", {
                    "id": rid, "email": email, "first_name": first, "last_name": last,
                    "full_name": f"{first} {last}".strip(), "status": active, "confirm": True,
                    "role": {"name": role, "id": f"{self.org_prefix}000000000026"},
                    "profile": {"name": profile, "id": f"{self.org_prefix}000000000027"},
                    "created_time": now_iso(), "time_zone": "UTC", "country_locale": "en_US",
                })
                ids.append(rid)
            self.store.flush()
            self.persist_counter()
        return ids

    def user_ref(self, user_id: str | None) -> dict[str, Any] | None:
        user = self.store.get(user_id) if user_id else None
        return {"name": user["full_name"], "id": user["id"], "email": user["email"]} if user else None

    def reset(self, schema: bool = False) -> None:
        with self.store.lock:
            self.store.delete_all(keep=("users",))
            for f in self.files_dir.glob("*"):
                f.unlink()
            if schema:
                self.schema = Schema(self.org_prefix, None)
                self.persist_schema()
