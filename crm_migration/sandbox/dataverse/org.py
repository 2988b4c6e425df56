"""The environment: one sandbox's state (credentials, tables, records, users, config, counters, stats).

Everything persistent lives under ``state_dir``: ``dataverse.db`` (records, customisations, config,
the token signing key), ``credentials.json`` (mode 600: tenant_id, client_id, client_secret,
admin_token) and ``tls/``. On first start the environment gets a business unit, its default team, the
application user the client credentials sign in as, and the standard connection roles.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from crm_migration.sandbox.dataverse.metadata import Schema
from crm_migration.sandbox.dataverse.store import Store

DEFAULT_CONFIG: dict[str, Any] = {
    "token_ttl_seconds": 3600,
    "max_upload_file_size": 5 * 1024 * 1024,  # Organization.MaxUploadFileSize (bytes)
    "requests_per_window": 6000,  # service protection: requests per user per window
    "window_seconds": 300,
    "max_concurrent_requests": 52,
    "max_page_size": 5000,
    "max_batch_requests": 1000,
    # Dataverse enforces only system-required columns through the API; the sandbox also refuses a
    # blank business-required one (account name, contact last name...) so a rehearsal surfaces it.
    "enforce_business_required": True,
}
CONNECTION_ROLES = {"Stakeholder": 1000, "Partner": 1, "Influencer": 4, "Referral": 4, "Former Employee": 1}


def load_or_create_credentials(state_dir: Path) -> dict[str, str]:
    path = state_dir / "credentials.json"
    if path.exists():
        return json.loads(path.read_text())
    creds = {
        "tenant_id": str(uuid.uuid4()),
        "client_id": str(uuid.uuid4()),
        "client_secret": secrets.token_urlsafe(30),
        "admin_token": secrets.token_urlsafe(32),
    }
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(creds, fh, indent=2)
    os.replace(tmp, path)
    return creds


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


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
            self.throttled = 0
            self.batches = 0

    def request(self, route: str) -> None:
        with self.lock:
            self.requests += 1
            self.by_route[route] = self.by_route.get(route, 0) + 1

    def fault(self, kind: str) -> None:
        with self.lock:
            self.faults[kind] = self.faults.get(kind, 0) + 1

    def write(self, action: str) -> None:
        with self.lock:
            self.writes[action] = self.writes.get(action, 0) + 1


class Org:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.credentials = load_or_create_credentials(self.state_dir)
        self.store = Store(self.state_dir / "dataverse.db")
        self.schema = Schema(self.store.meta_get("customisations", []))
        self._index_keys()
        self.config = dict(DEFAULT_CONFIG, **self.store.meta_get("config", {}))
        self.signing_key: str = self.store.meta_get("signing_key") or secrets.token_hex(32)
        self.store.meta_set("signing_key", self.signing_key)
        self.ids: dict[str, str] = self.store.meta_get("ids") or {
            "organization": str(uuid.uuid4()), "businessunit": str(uuid.uuid4()), "team": str(uuid.uuid4()),
            "app_user": str(uuid.uuid4())}
        self.store.meta_set("ids", self.ids)
        # row versions keep increasing across restarts, even after a crash
        self.version = max([1000] + [r.get("versionnumber") or 0 for recs in self.store.records.values()
                                     for r in recs.values()])
        self.revoked: set[str] = set()  # token ids revoked by the expire_session fault
        self.stats = Stats()
        self.windows: dict[str, list[float]] = {}  # user -> [window start, requests]
        self.in_flight = 0
        self._seed()

    def _index_keys(self) -> None:
        for ent in self.schema.entities.values():
            for k in ent.keys.values():
                if k.status == "Active":
                    self.store.define_key(ent.name, k.name, k.attributes)

    def _seed(self) -> None:
        """The records every environment starts with."""
        self.store.begin()
        if self.store.get("team", self.ids["team"]) is None:
            self.stamp("team", {"teamid": self.ids["team"], "name": "crm_migration sandbox"}, creating=True)
        if self.store.get("systemuser", self.ids["app_user"]) is None:
            self.stamp("systemuser", {
                "systemuserid": self.ids["app_user"], "firstname": "#", "lastname": "crm_migration sandbox",
                "fullname": "# crm_migration sandbox", "domainname": f"{self.credentials['client_id']}@sandbox.local",
                "applicationid": self.credentials["client_id"], "isdisabled": False}, creating=True)
        if not self.store.count("connectionrole"):
            for name, category in CONNECTION_ROLES.items():
                rid = str(uuid.uuid4())
                self.stamp("connectionrole", {"connectionroleid": rid, "name": name, "category": category,
                                              "statecode": 0, "statuscode": 1}, creating=True)
        self.store.commit()

    # -- writes ---------------------------------------------------------------------------------
    def next_version(self) -> int:
        self.version += 1
        return self.version

    def stamp(self, entity: str, rec: dict[str, Any], creating: bool, user: str | None = None) -> dict[str, Any]:
        """Fill in the columns the platform owns, then store the record."""
        ent = self.schema.entities[entity]
        user = user or self.ids["app_user"]
        now = now_iso()
        if creating:
            rec["createdon"] = rec.pop("overriddencreatedon", None) or now
            rec["createdby"] = ["systemuser", user]
            if ent.owned and not rec.get("ownerid"):
                rec["ownerid"] = ["systemuser", user]
        rec["modifiedon"] = now
        rec["modifiedby"] = ["systemuser", user]
        rec["versionnumber"] = self.next_version()
        self.store.put(entity, rec[ent.primary_id], rec)
        return rec

    def save_meta(self) -> None:
        self.store.meta_set("customisations", self.schema.customisations)
        self.store.meta_set("config", {k: v for k, v in self.config.items() if DEFAULT_CONFIG.get(k) != v})

    def set_config(self, values: dict[str, Any]) -> dict[str, Any]:
        for key, value in values.items():
            if key not in DEFAULT_CONFIG:
                raise KeyError(key)
            default = DEFAULT_CONFIG[key]
            self.config[key] = bool(value) if isinstance(default, bool) else type(default)(value)
        self.save_meta()
        return self.config

    # -- users ----------------------------------------------------------------------------------
    def create_users(self, users: list[dict[str, Any]]) -> list[str]:
        """Admin: add system users. Accepts Dataverse column names or the Salesforce-style
        Email/FirstName/LastName/IsActive the sample generators produce."""
        ids = []
        self.store.begin()
        for u in users:
            email = u.get("internalemailaddress") or u.get("Email") or u.get("email")
            first = u.get("firstname") or u.get("FirstName") or ""
            last = u.get("lastname") or u.get("LastName") or (email or "user").split("@")[0]
            disabled = u.get("isdisabled")
            if disabled is None:
                disabled = not u.get("IsActive", u.get("active", True))
            rid = str(u.get("systemuserid") or uuid.uuid4())
            self.stamp("systemuser", {"systemuserid": rid, "firstname": first, "lastname": last,
                                      "fullname": f"{first} {last}".strip(), "internalemailaddress": email,
                                      "domainname": email or f"{rid}@sandbox.local", "title": u.get("title"),
                                      "isdisabled": bool(disabled)}, creating=True)
            ids.append(rid)
        self.store.commit()
        return ids

    def reset(self, schema: bool = False) -> None:
        keep = {"systemuser", "team", "connectionrole"}
        self.store.begin()
        for entity in list(self.store.records):
            if entity not in keep:
                for rid in list(self.store.records[entity]):
                    self.store.remove(entity, rid)
        self.store.commit()
        if schema:
            self.schema = Schema()
            self.store.indexes.clear()
            self.store.key_defs.clear()
            self._index_keys()
            self.save_meta()

    # -- service protection ---------------------------------------------------------------------
    def count_request(self, user: str) -> float | None:
        """Count one request against the user's window; the seconds to wait when over the limit."""
        now = time.monotonic()
        window = self.windows.setdefault(user, [now, 0])
        if now - window[0] >= self.config["window_seconds"]:
            window[0], window[1] = now, 0
        if window[1] >= self.config["requests_per_window"]:
            return max(1.0, self.config["window_seconds"] - (now - window[0]))
        window[1] += 1
        return None

    def close(self) -> None:
        self.save_meta()
        self.store.close()
