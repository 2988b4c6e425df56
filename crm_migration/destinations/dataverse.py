"""Dynamics 365 Sales (Dataverse) as a destination: msal (client credentials) + the Web API v9.2 over requests.

Authentication: an msal ``ConfidentialClientApplication`` for the tenant authority, with
``instance_discovery=False`` (the documented switch for an authority msal does not know, such as the
local sandbox's ``<url>/<tenant>``) and an HTTP client that trusts ``ca_file`` when one is set. The
token is requested for ``<environment_url>/.default``; a 401 drops it from msal's cache and the retry
policy re-acquires it.

Writes go in ``$batch`` requests of ``batch_size`` (at most 1,000) *independent* requests with
``Prefer: odata.continue-on-error``. Not change sets: a change set is one transaction, so a record
that fails would roll back every other record in it; one record per change set would only add
framing to what an independent request already is (its own transaction). Each record is a
``PATCH`` upsert with ``Prefer: return=representation`` and ``$select=<primary id>``: Dataverse
answers 201 when it created the record and 200 when it updated it. Rows are keyed

- by an alternate key: ``PATCH accounts(crm_sourcesystemid='X')``. A key value holding a
  character Dataverse cannot take in a URL key (``/ < > * % & : \\ ? +``) is resolved with a
  ``$filter`` first and written by id;
- by the primary id (objects without an alternate key, see ``base.py``): a row with an id updates
  it (``If-Match: *``, so a vanished record fails instead of being re-created); a row without one
  gets a GUID chosen here and ``If-None-Match: *``, so a retried request that had landed answers
  412 on *our* id, which is then a create, never a duplicate.

Values cross the interface in canonical form (``base.py``): option-set columns by their labels
(converted to and from option values with the table's metadata), lookups as ``<table>/<guid>``,
written as ``<navigation property>@odata.bind`` with the navigation property learnt from the
table's ``ManyToOneRelationships`` (polymorphic lookups have one per target, e.g.
``regardingobjectid_contact_task``), read back from ``_<lookup>_value`` and its
``Microsoft.Dynamics.CRM.lookuplogicalname`` annotation.
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import os
import re
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote, urlparse

import msal
import pandas as pd
import requests
from dagster import ConfigurableResource
from pydantic import Field, PrivateAttr

from crm_migration.destinations.base import (
    FILE_LINK,
    AuthenticationError,
    Destination,
    FieldSchema,
    ObjectSchema,
    PermanentError,
    RetryPolicy,
    SchemaPlan,
    ThrottledError,
    TransientError,
    outcomes,
)

API = "api/data/v9.2"
MAX_BATCH = 1000  # requests per $batch, Dataverse's limit
IN_CHUNK = 200  # values per In(...) filter: keeps a GET well under the URL length limit
URL_KEY_FORBIDDEN = set("/<>*%&:\\?+")  # characters an alternate key value cannot hold in a URL
PRECONDITION_FAILED_CREATE = "0x80040237"  # If-None-Match failed: the record (our own id) exists

# Dataverse error codes -> the project's reason codes (crm_migration.reasons).
REASON_BY_CODE = {
    "0x80040200": "DEST_REQUIRED_FIELD",
    "0x80044331": "DEST_INVALID_VALUE",
    "0x80048d19": "DEST_INVALID_VALUE",
    "0x80040203": "DEST_INVALID_VALUE",
    "0x80060888": "DEST_INVALID_VALUE",
    "0x80040217": "DEST_INVALID_REFERENCE",
    "0x80060891": "DEST_NOT_FOUND",
    "0x80060892": "DEST_DUPLICATE",
    "0x80040237": "DEST_DUPLICATE",
    "0x80040225": "DEST_INACTIVE_OWNER",
    "0x80040220": "DEST_PERMISSION",
    "0x80048306": "DEST_PERMISSION",
    "0x80043e09": "DEST_FILE_TOO_LARGE",
    "0x80072322": "DEST_LIMIT_EXCEEDED",
    "0x80072321": "DEST_LIMIT_EXCEEDED",
    "0x80072326": "DEST_LIMIT_EXCEEDED",
}
_KIND_BY_TYPE = {
    "Memo": "textarea", "Integer": "integer", "BigInt": "integer", "Decimal": "decimal", "Double": "decimal",
    "Money": "decimal", "Boolean": "boolean", "Picklist": "picklist", "State": "picklist", "Status": "picklist",
    "Lookup": "reference", "Customer": "reference", "Owner": "reference", "EntityName": "text",
}
_STRING_KIND = {"Email": "email", "Phone": "phone", "Url": "url", "TextArea": "textarea"}
_OPTION_CASTS = ("PicklistAttributeMetadata", "StateAttributeMetadata", "StatusAttributeMetadata",
                 "MultiSelectPicklistAttributeMetadata")


def reason_for(code: str | None, message: str | None = "") -> str:
    """A Dataverse error code (refined by its message where one code covers several causes)."""
    message = (message or "").lower()
    if code == "0x80044331" and "maximum allowed length" in message:
        return "DEST_VALUE_TOO_LONG"
    if code == "0x80040203" and "read-only" in message:
        return "DEST_PERMISSION"
    return REASON_BY_CODE.get(code or "", "DEST_UNKNOWN")


def _label(text: str) -> dict:
    return {"@odata.type": "Microsoft.Dynamics.CRM.Label", "LocalizedLabels": [
        {"@odata.type": "Microsoft.Dynamics.CRM.LocalizedLabel", "Label": text, "LanguageCode": 1033}]}


def _label_text(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    user = value.get("UserLocalizedLabel") or {}
    if user.get("Label"):
        return user["Label"]
    return next((loc.get("Label") for loc in value.get("LocalizedLabels") or [] if loc.get("Label")), None)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _guid(dest_id: str) -> str:
    """``account/<guid>`` (or a bare guid) -> the guid."""
    return str(dest_id).rsplit("/", 1)[-1].strip().lower()


@dataclass
class _Part:
    """One answer inside a $batch response."""

    status: int
    headers: dict[str, str]
    body: Any

    def error(self) -> tuple[str | None, str]:
        err = (self.body or {}).get("error", {}) if isinstance(self.body, dict) else {}
        return err.get("code"), err.get("message") or f"HTTP {self.status}"


@dataclass
class _Table:
    """What the destination needs to know about one table."""

    name: str
    set_name: str
    primary_id: str
    schema: ObjectSchema
    types: dict[str, str]  # column -> AttributeType
    options: dict[str, dict[int, str]]  # option-set column -> value -> label
    navs: dict[tuple[str, str], str]  # (lookup, target table) -> navigation property
    keys: list[tuple[str, ...]]

    def nav(self, attr: str, target: str | None) -> str | None:
        """The navigation property that points ``attr`` at a ``target`` record (any of them to clear it)."""
        found = self.navs.get((attr, target))
        if found is None:
            # A lookup with one navigation property for all its targets (the owner's, whose relationship
            # names the abstract 'owner' table) takes any target through it.
            candidates = sorted({n for (a, _), n in self.navs.items() if a == attr})
            if candidates and (target is None or len(candidates) == 1):
                found = candidates[0]
        return found


class DataverseDestination(ConfigurableResource, Destination):
    """Dynamics 365 Sales / Dataverse (or the local Dataverse sandbox), reached through msal + the Web API."""

    environment_url: str
    authority: str
    client_id: str
    client_secret: str = Field(repr=False)  # kept out of reprs, so out of logs and tracebacks
    scope: str | None = None
    ca_file: str | None = None
    batch_size: int = 500
    publisher_prefix: str = "crm_"
    max_file_bytes: int = 5 * 1024 * 1024  # Organization.MaxUploadFileSize's default
    page_size: int = 5000
    timeout_seconds: float = 300.0
    key_activation_timeout: float = 120.0

    _session: requests.Session | None = PrivateAttr(default=None)
    _app: Any = PrivateAttr(default=None)
    _token: str | None = PrivateAttr(default=None)
    _token_expires: float = PrivateAttr(default=0.0)
    _retry: RetryPolicy = PrivateAttr(default_factory=RetryPolicy)
    _tables: dict[str, _Table] = PrivateAttr(default_factory=dict)
    _sets: dict[str, str] | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    name: ClassVar[str] = "dataverse"

    # --- connection ------------------------------------------------------------------------

    @property
    def _root(self) -> str:
        return self.environment_url.rstrip("/")

    def _api(self, path: str) -> str:
        return f"{self._root}/{API}/{path}"

    def _http(self) -> requests.Session:
        if self._session is None:
            session = requests.Session()
            ca_file = self.ca_file or os.environ.get("DATAVERSE_CA_FILE")
            if ca_file:
                # requests lets REQUESTS_CA_BUNDLE override session.verify; keep the env's proxies, not its CA.
                session.trust_env = False
                session.proxies.update(urllib.request.getproxies())
            session.verify = ca_file or True
            self._session = session
        return self._session

    def _access_token(self) -> str:
        with self._lock:
            if self._token is None or time.time() > self._token_expires:
                self._acquire()
            return self._token

    def _acquire(self) -> None:
        try:
            if self._app is None:
                self._app = msal.ConfidentialClientApplication(
                    self.client_id, client_credential=self.client_secret, authority=self.authority.rstrip("/"),
                    http_client=self._http(), instance_discovery=False)
            result = self._app.acquire_token_for_client(scopes=[self.scope or f"{self._root}/.default"])
        except requests.RequestException as e:
            raise TransientError(f"Entra ID unreachable: {type(e).__name__}") from None
        except ValueError as e:  # the authority's discovery failed (unknown tenant)
            raise AuthenticationError(f"Entra ID authority {self.authority} is not usable: {str(e)[:200]}") from None
        if "access_token" not in result:
            # The description names the grant problem (AADSTS code); it never echoes the secret.
            description = str(result.get("error_description", "")).splitlines()[0][:300]
            raise AuthenticationError(f"Entra ID refused the client credentials: {result.get('error')}: {description}")
        self._token = result["access_token"]
        # Renew a little early: a request must not set out with a token about to lapse.
        self._token_expires = time.time() + max(0.0, float(result.get("expires_in", 0)) * 0.9 - 5)

    def _reauthenticate(self) -> None:
        with self._lock:
            self._token = None
            if self._app is not None:
                self._app.remove_tokens_for_client()

    def _send(self, method: str, url: str, headers: dict[str, str] | None = None, **kw: Any) -> requests.Response:
        """One HTTP call; 401, 429, 5xx and dropped connections become the typed errors the retry policy knows."""
        hdrs = {"Authorization": f"Bearer {self._access_token()}", "OData-MaxVersion": "4.0", "OData-Version": "4.0",
                "Accept": "application/json", **(headers or {})}
        try:
            resp = self._http().request(method, url, headers=hdrs, timeout=self.timeout_seconds, **kw)
        except (requests.ConnectionError, requests.Timeout) as e:
            raise TransientError(f"connection to Dataverse failed: {type(e).__name__}") from None
        wait = _retry_after(resp)
        if resp.status_code == 401:
            self._token = None
            challenge = resp.headers.get("WWW-Authenticate", "")
            why = re.search(r"error_description=([^,]*)", challenge)
            raise AuthenticationError(f"Dataverse refused the access token (401): {why.group(1) if why else 'unauthorized'}")
        if resp.status_code == 429:
            code, message = _error_of(resp)
            raise ThrottledError(f"Dataverse service protection limit: {code}: {message}", wait)
        if resp.status_code >= 500:
            code, message = _error_of(resp)
            raise TransientError(f"Dataverse answered {resp.status_code}: {code}: {message[:200]}", wait)
        return resp

    def _call(self, fn):
        return self._retry.run(fn, reauthenticate=self._reauthenticate)

    def _get(self, url: str, params: dict | None = None, prefer: str | None = None) -> dict | None:
        """A GET with retries; None for 404, PermanentError for another refusal."""

        def attempt():
            resp = self._send("GET", url, params=params, headers={"Prefer": prefer} if prefer else None)
            if resp.status_code == 404:
                return None
            if resp.status_code >= 400:
                raise _permanent(resp, f"GET {urlparse(url).path}")
            return resp.json()

        return self._call(attempt)

    def _get_all(self, path: str, params: dict, annotations: bool = False):
        """Every row of a query, following @odata.nextLink."""
        prefer = f"odata.maxpagesize={self.page_size}"
        if annotations:
            prefer = 'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname",' + prefer
        url, query = self._api(path), params
        while url:
            page = self._get(url, query, prefer) or {}
            yield from page.get("value", [])
            url, query = page.get("@odata.nextLink"), None

    @property
    def retries(self) -> int:
        return self._retry.retried

    # --- $batch -----------------------------------------------------------------------------

    def _batch(self, parts: list[tuple[str, str, dict[str, str], Any]]) -> list[_Part]:
        """Send (method, url, headers, json body) requests as one $batch; one answer per request.

        A 429 or 5xx for any request retries the whole batch: every request in it is idempotent."""
        boundary = f"batch_{uuid.uuid4()}"
        chunks = []
        for method, url, headers, body in parts:
            lines = [f"{method} {url} HTTP/1.1", "Accept: application/json"]
            lines += [f"{k}: {v}" for k, v in headers.items()]
            payload = ""
            if body is not None:
                lines.append("Content-Type: application/json; type=entry")
                payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
            chunks.append(f"--{boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
                          + "\r\n".join(lines) + "\r\n\r\n" + payload + "\r\n")
        data = ("".join(chunks) + f"--{boundary}--\r\n").encode("utf-8")

        def attempt() -> list[_Part]:
            resp = self._send("POST", self._api("$batch"), data=data, headers={
                "Content-Type": f"multipart/mixed; boundary={boundary}", "Prefer": "odata.continue-on-error"})
            if resp.status_code != 200:
                raise _permanent(resp, "$batch")
            answers = _parse_batch(resp.headers.get("Content-Type", ""), resp.content)
            if len(answers) != len(parts):
                raise TransientError(f"Dataverse answered {len(answers)} of {len(parts)} batch requests")
            for a in answers:
                if a.status == 429 or a.status >= 500:
                    code, message = a.error()
                    error = ThrottledError if a.status == 429 else TransientError
                    raise error(f"Dataverse answered {a.status} inside a batch: {code}: {message[:200]}", _retry_after(a))
            return answers

        return self._call(attempt)

    # --- describe, users ---------------------------------------------------------------------

    def _entity_sets(self) -> dict[str, str]:
        if self._sets is None:
            data = self._get(self._api("EntityDefinitions"), {"$select": "LogicalName,EntitySetName"}) or {}
            self._sets = {e["LogicalName"]: e["EntitySetName"] for e in data.get("value", [])}
        return self._sets

    def _table(self, obj: str) -> _Table | None:
        if obj in self._tables:
            return self._tables[obj]
        if obj not in self._entity_sets():
            return None
        ent = f"EntityDefinitions(LogicalName={_literal(obj)})"
        requests_ = [("GET", self._api(f"{ent}?$select=LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute"
                                       "&$expand=Attributes,Keys"), {}, None)]
        requests_ += [("GET", self._api(f"{ent}/Attributes/Microsoft.Dynamics.CRM.{cast}?$select=LogicalName"
                                        "&$expand=OptionSet,GlobalOptionSet"), {}, None) for cast in _OPTION_CASTS]
        requests_.append(("GET", self._api(f"{ent}/ManyToOneRelationships?$select=ReferencingAttribute,"
                                           "ReferencedEntity,ReferencingEntityNavigationPropertyName"), {}, None))
        answers = self._batch(requests_)
        if answers[0].status == 404:
            return None
        for a in answers:
            if a.status >= 400:
                code, message = a.error()
                raise PermanentError(f"Dataverse refused the metadata of {obj}: {code}: {message}", reason_for(code), code)
        meta = answers[0].body
        options: dict[str, dict[int, str]] = {}
        for a in answers[1:1 + len(_OPTION_CASTS)]:
            for attr in a.body.get("value", []):
                opts = (attr.get("OptionSet") or attr.get("GlobalOptionSet") or {}).get("Options") or []
                options[attr["LogicalName"]] = {int(o["Value"]): _label_text(o.get("Label")) or str(o["Value"]) for o in opts}
        navs = {(r["ReferencingAttribute"], r["ReferencedEntity"]): r["ReferencingEntityNavigationPropertyName"]
                for r in answers[-1].body.get("value", [])}
        keys = [tuple(k["KeyAttributes"]) for k in meta.get("Keys") or [] if k.get("EntityKeyIndexStatus") == "Active"]
        key_columns = {k[0] for k in keys if len(k) == 1}
        in_keys = {a for k in keys for a in k}
        fields, types = {}, {}
        for a in meta.get("Attributes", []):
            if a.get("AttributeOf") or not a.get("IsValidForRead", True):
                continue
            kind = _kind(a, meta["PrimaryIdAttribute"])
            if kind is None:
                continue
            name = a["LogicalName"]
            types[name] = "MultiSelectPicklist" if kind == "multipicklist" else a["AttributeType"]
            level = (a.get("RequiredLevel") or {}).get("Value")
            fields[name] = FieldSchema(
                name=name, kind=kind, label=_label_text(a.get("DisplayName")) or name,
                length=a.get("MaxLength") if a["AttributeType"] in ("String", "Memo") else None,
                required=(level in ("SystemRequired", "ApplicationRequired") and bool(a.get("IsValidForCreate"))
                          and a["AttributeType"] not in ("Owner", "State", "Status", "Uniqueidentifier")),
                createable=bool(a.get("IsValidForCreate")), updateable=bool(a.get("IsValidForUpdate")),
                external_id=name in key_columns, unique=name in in_keys or kind == "id",
                picklist_values=tuple(options.get(name, {}).values()), restricted=kind in ("picklist", "multipicklist"),
                reference_to=tuple(a.get("Targets") or ()))
        table = _Table(obj, meta["EntitySetName"], meta["PrimaryIdAttribute"], ObjectSchema(obj, fields), types,
                       options, navs, keys)
        self._tables[obj] = table
        return table

    def _need(self, obj: str) -> _Table:
        table = self._table(obj)
        if table is None:
            raise PermanentError(f"Dataverse has no table {obj!r}", "DEST_NOT_FOUND")
        return table

    def describe(self, objects: list[str]) -> dict[str, ObjectSchema]:
        return {obj: t.schema for obj in objects if (t := self._table(obj)) is not None}

    def users(self) -> pd.DataFrame:
        rows = list(self._get_all("systemusers", {"$select": "systemuserid,internalemailaddress,isdisabled,fullname"}))
        return pd.DataFrame(
            {"id": [f"systemuser/{r['systemuserid']}" for r in rows],
             "email": [(r.get("internalemailaddress") or "").lower() for r in rows],
             "active": [not r.get("isdisabled") for r in rows], "name": [r.get("fullname") for r in rows]},
        ).astype({"id": "string", "email": "string", "name": "string"})

    # --- writes ------------------------------------------------------------------------------

    def upsert(self, obj: str, external_id_field: str, records: pd.DataFrame) -> pd.DataFrame:
        if records.empty:
            return outcomes([])
        return outcomes(self._write(self._need(obj), external_id_field, records.reset_index(drop=True)))

    def _write(self, table: _Table, key_field: str, records: pd.DataFrame, start: int = 0) -> list[dict]:
        """Upsert every row; one outcome dict per row (in order). ``start`` offsets the positions
        reported for rows keyed by id."""
        by_id = key_field == table.primary_id
        bodies, local_failures = self._bodies(table, records.drop(columns=[key_field]))
        keys = records[key_field].astype("string").str.strip().replace("", pd.NA)
        existing = {} if by_id else self._resolve_unsafe_keys(table, key_field, keys)
        select = f"?$select={table.primary_id}"
        specs: list[tuple[str, str, dict[str, str], dict, str | None]] = []  # (ext, url, headers, body, our new id)
        for i, (key, body) in enumerate(zip(keys, bodies)):
            prefer = {"Prefer": "return=representation"}
            if by_id:
                ext = str(start + i)
                if pd.notna(key):
                    specs.append((ext, f"{table.set_name}({_guid(key)}){select}", prefer | {"If-Match": "*"}, body, None))
                else:
                    new = str(uuid.uuid4())
                    specs.append((ext, f"{table.set_name}({new}){select}", prefer | {"If-None-Match": "*"}, body, new))
            elif pd.isna(key):
                specs.append((None, "", {}, body, None))
            elif set(key) & URL_KEY_FORBIDDEN:
                if key in existing:
                    specs.append((key, f"{table.set_name}({existing[key]}){select}", prefer | {"If-Match": "*"}, body, None))
                else:
                    new = str(uuid.uuid4())
                    specs.append((key, f"{table.set_name}({new}){select}", prefer | {"If-None-Match": "*"},
                                  {**body, key_field: key}, new))
            else:
                segment = quote(f"{key_field}={_literal(key)}", safe="=")
                specs.append((key, f"{table.set_name}({segment}){select}", prefer, body, None))
        results: list[dict | None] = [None] * len(specs)
        todo = []
        for i, spec in enumerate(specs):
            if i in local_failures:
                results[i] = _failure(spec[0], None, local_failures[i][1], local_failures[i][0])
            elif spec[1] == "":
                results[i] = _failure(None, None, f"the key {key_field} is blank", "DEST_REQUIRED_FIELD")
            else:
                todo.append(i)
        size = max(1, min(self.batch_size, MAX_BATCH))
        for n in range(0, len(todo), size):
            chunk = todo[n:n + size]
            answers = self._batch([("PATCH", self._api(specs[i][1]), specs[i][2], specs[i][3]) for i in chunk])
            for i, answer in zip(chunk, answers):
                results[i] = self._outcome(table, specs[i], answer)
        return results

    def _outcome(self, table: _Table, spec, answer: _Part) -> dict:
        ext, url, _, _, new_id = spec
        if answer.status in (200, 201, 204):
            rid = (answer.body or {}).get(table.primary_id) if isinstance(answer.body, dict) else None
            rid = rid or _id_from_entity_url(answer.headers.get("odata-entityid", ""))
            action = "created" if answer.status == 201 or new_id else "updated"
            return {"external_id": ext, "destination_id": f"{table.name}/{rid}", "action": action}
        code, message = answer.error()
        if new_id and answer.status == 412 and code == PRECONDITION_FAILED_CREATE:
            # An earlier attempt of this very request created the record under the id we chose.
            return {"external_id": ext, "destination_id": f"{table.name}/{new_id}", "action": "created"}
        reason = reason_for(code, message)
        own = re.search(r"\(([0-9a-f-]{36})\)", url)
        if answer.status == 404 and code == "0x80040217" and own and own.group(1) in message.lower():
            reason = "DEST_NOT_FOUND"  # the record to update is gone (not a lookup target)
        return _failure(ext, code, message, reason)

    def _resolve_unsafe_keys(self, table: _Table, key_field: str, keys: pd.Series) -> dict[str, str]:
        unsafe = [k for k in keys.dropna().unique() if set(k) & URL_KEY_FORBIDDEN]
        if not unsafe:
            return {}
        found = self.read_back(table.name, key_field, unsafe, [])
        return {k: _guid(d) for k, d in zip(found["external_id"], found["destination_id"])}

    def _bodies(self, table: _Table, frame: pd.DataFrame) -> tuple[list[dict], dict[int, tuple[str, str]]]:
        """Canonical columns -> Web API JSON bodies (per row), and the rows that cannot be sent: (reason, why)."""
        failures: dict[int, tuple[str, str]] = {}
        columns: list[tuple[str, list]] = []
        for name in frame.columns:
            f = table.schema.fields.get(name)
            if f is not None and f.kind == "id":
                continue
            values = frame[name].astype(object).where(frame[name].notna(), None).tolist()
            if f is None:  # not in the metadata: Dataverse will say what it thinks of it
                columns.append((name, values))
                continue
            if f.kind == "reference":
                columns.append((name, [self._bind(table, f, v, i, failures) for i, v in enumerate(values)]))
                continue
            columns.append((name, [_to_wire(table, f, v, i, failures) for i, v in enumerate(values)]))
        bodies = []
        for i in range(len(frame)):
            body: dict[str, Any] = {}
            for name, values in columns:
                value = values[i]
                if isinstance(value, tuple):  # a lookup: (navigation property, bind path or None)
                    if value[0] is not None:
                        body[f"{value[0]}@odata.bind"] = value[1]
                else:
                    body[name] = value
            bodies.append(body)
        return bodies, failures

    def _bind(self, table: _Table, f: FieldSchema, value: Any, row: int, failures: dict[int, tuple[str, str]]) -> tuple:
        if value is None or (isinstance(value, str) and not value.strip()):
            if table.types.get(f.name) == "Owner":
                return (None, None)  # never clear an owner: Dataverse keeps the caller as owner
            return (table.nav(f.name, None), None)
        target, _, guid = str(value).rpartition("/")
        nav = table.nav(f.name, target) if target in f.reference_to else None
        sets = self._entity_sets()
        if not guid or nav is None or target not in sets:
            failures[row] = ("DEST_INVALID_REFERENCE",
                             f"{f.name}: {value!r} is not a '<table>/<id>' of {', '.join(f.reference_to)}")
            return (None, None)
        return (nav, f"/{sets[target]}({guid.lower()})")

    # --- reads -------------------------------------------------------------------------------

    def read_back(self, obj: str, external_id_field: str, external_ids: list[str], fields: list[str]) -> pd.DataFrame:
        table = self._need(obj)
        key_field = external_id_field
        key_kind = "id" if key_field == table.primary_id else (
            "reference" if table.schema.fields.get(key_field) and table.schema.fields[key_field].kind == "reference" else "value")
        prop = f"_{key_field}_value" if key_kind == "reference" else key_field
        given: dict[str, list[str]] = {}
        for k in dict.fromkeys(k for k in external_ids if isinstance(k, str) and k.strip()):
            norm = _guid(k) if key_kind in ("id", "reference") else k.casefold()
            given.setdefault(norm, []).append(k)
        selects = [self._select_name(table, f) for f in dict.fromkeys([table.primary_id, key_field, *fields])]
        rows: list[dict] = []
        values = list(given)
        for n in range(0, len(values), IN_CHUNK):
            chunk = [given[v][0] if key_kind == "value" else v for v in values[n:n + IN_CHUNK]]
            if key_kind == "reference":  # lookups are filtered by their _x_value, one comparison per parent
                flt = " or ".join(f"{prop} eq {v}" for v in chunk)
            else:
                flt = (f"Microsoft.Dynamics.CRM.In(PropertyName={_literal(prop)},"
                       f"PropertyValues=[{','.join(_literal(v) for v in chunk)}])")
            rows += self._get_all(table.set_name, {"$select": ",".join(dict.fromkeys(selects)), "$filter": flt},
                                  annotations=True)
        key_values = self._column(table, key_field, rows)
        matched = [given.get(_guid(v) if key_kind in ("id", "reference") else str(v).casefold(), []) if pd.notna(v) else []
                   for v in key_values]
        out = pd.DataFrame({"external_id": pd.Series(matched, dtype=object),
                            "destination_id": [f"{obj}/{r[table.primary_id]}" for r in rows]})
        for name in fields:
            out[name] = self._column(table, name, rows)
        out = out.explode("external_id", ignore_index=True)
        out = out[out["external_id"].notna()].reset_index(drop=True)
        result = pd.DataFrame({"external_id": out["external_id"].astype("string"),
                               "destination_id": out["destination_id"].astype("string")})
        for name in fields:
            result[name] = _canonical(out[name], table.schema.fields.get(name), table.options.get(name))
        return result

    @staticmethod
    def _select_name(table: _Table, name: str) -> str:
        f = table.schema.fields.get(name)
        return f"_{name}_value" if f is not None and f.kind == "reference" else name

    def _column(self, table: _Table, name: str, rows: list[dict]) -> list:
        f = table.schema.fields.get(name)
        if f is not None and f.kind == "reference":
            prop = f"_{name}_value"
            return [f"{r.get(prop + '@Microsoft.Dynamics.CRM.lookuplogicalname')}/{r[prop]}" if r.get(prop) else None
                    for r in rows]
        if f is not None and f.kind == "id":
            return [f"{table.name}/{r[name]}" if r.get(name) else None for r in rows]
        return [r.get(name) for r in rows]

    # --- delete, files -------------------------------------------------------------------------

    def delete(self, obj: str, ids: list[str]) -> pd.DataFrame:
        sets = self._entity_sets()
        rows = []
        size = max(1, min(self.batch_size, MAX_BATCH))
        for n in range(0, len(ids), size):
            chunk = ids[n:n + size]
            parts = []
            for dest_id in chunk:
                entity = str(dest_id).rpartition("/")[0] or obj
                parts.append(("DELETE", self._api(f"{sets.get(entity, sets.get(obj))}({_guid(dest_id)})"), {}, None))
            for dest_id, answer in zip(chunk, self._batch(parts)):
                if answer.status in (200, 204):
                    rows.append({"destination_id": dest_id, "action": "deleted"})
                else:
                    code, message = answer.error()
                    reason = "DEST_NOT_FOUND" if answer.status == 404 else reason_for(code, message)
                    rows.append(_failure(None, code, message, reason) | {"destination_id": dest_id})
        return outcomes(rows)

    def upload_files(self, obj: str, external_id_field: str, files: pd.DataFrame, path_column: str) -> pd.DataFrame:
        """A note (``annotation``) per file: ``documentbody`` base64, ``filename``, ``mimetype`` and the
        record's other columns (its ``objectid`` parent among them). One request per file, so a batch
        never holds more than one file in memory. A file whose content is already there (same SHA-256)
        is left alone. The outcome carries ``content_hash`` (SHA-256, hex)."""
        table = self._need(obj)
        files = files.reset_index(drop=True)
        by_id = external_id_field == table.primary_id
        current = {}
        keys = files[external_id_field].dropna().astype(str).tolist()
        if keys:
            found = self.read_back(obj, external_id_field, keys, [])
            current = dict(zip(found["external_id"], found["destination_id"]))
        rows = []
        # One request per file is what the API offers for bodies; the loop is over files, not table rows.
        for i in range(len(files)):
            record = files.iloc[[i]].drop(columns=[path_column, FILE_LINK], errors="ignore")
            key = files.at[i, external_id_field]
            ext = str(i) if by_id else key
            if pd.isna(files.at[i, path_column]):
                # A file kept elsewhere (a web link): Dataverse has no link records, so it is a note without a
                # document; the mapping puts the link in its text.
                rows.append(self._write(table, external_id_field, record.reset_index(drop=True), start=i)[0])
                continue
            path = Path(files.at[i, path_column])
            digest = _sha256(path)
            size = path.stat().st_size
            if size > self.max_file_bytes:
                rows.append(_failure(ext, None, f"{size} bytes is over the {self.max_file_bytes} byte limit",
                                     "DEST_FILE_TOO_LARGE") | {"content_hash": digest})
                continue
            dest_id = current.get(key) if pd.notna(key) else None
            if dest_id and self._stored_hash(table, dest_id) == digest:
                rows.append({"external_id": ext, "destination_id": dest_id, "action": "unchanged", "content_hash": digest})
                continue
            record = record.assign(documentbody=base64.b64encode(path.read_bytes()).decode("ascii"))
            if "filename" not in record or record["filename"].isna().all():
                record["filename"] = path.name
            if "mimetype" not in record or record["mimetype"].isna().all():
                record["mimetype"] = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            outcome = self._write(table, external_id_field, record.reset_index(drop=True), start=i)[0]
            rows.append(outcome | {"content_hash": digest})
        out = outcomes(rows)
        out["content_hash"] = pd.Series([r.get("content_hash") for r in rows], dtype="string")
        return out

    def _stored_hash(self, table: _Table, dest_id: str) -> str | None:
        data = self._get(self._api(f"{table.set_name}({_guid(dest_id)})"), {"$select": "documentbody"})
        body = (data or {}).get("documentbody")
        return hashlib.sha256(base64.b64decode(body)).hexdigest() if body else None

    # --- schema plan ---------------------------------------------------------------------------

    def apply_schema_plan(self, plan: SchemaPlan) -> list[str]:
        if plan.objects:
            names = ", ".join(o.name for o in plan.objects)
            raise PermanentError(f"Dataverse tables are not created by this tool: create {names} in Power Apps "
                                 "(with the publisher prefix) and run the plan again", "DEST_PERMISSION")
        applied = []
        for f in plan.fields:
            table = self._need(f.object)
            name = f.name.lower()
            if not name.startswith(self.publisher_prefix):
                raise PermanentError(f"{f.object}.{f.name}: a Dataverse custom column needs the publisher prefix "
                                     f"{self.publisher_prefix!r}", "DEST_INVALID_VALUE")
            if name not in table.schema.fields:
                self._create_column(f.object, name, f)
                applied.append(f"created field {f.object}.{name} ({f.type})")
            if (f.external_id or f.unique) and (name,) not in table.keys:
                self._create_key(f.object, name, f.label)
                applied.append(f"created alternate key {f.object}.{name}_key ({name})")
            self._tables.pop(f.object, None)
        for v in plan.values:
            table = self._need(v.object)
            have = set(table.options.get(v.field, {}).values())
            new = [x for x in v.values if x not in have]
            for label in new:
                self._post(self._api("InsertOptionValue"), {"EntityLogicalName": v.object, "AttributeLogicalName": v.field,
                                                            "Label": _label(label)}, "InsertOptionValue")
            if new:
                applied.append(f"added {', '.join(new)} to {v.object}.{v.field}")
            self._tables.pop(v.object, None)
        if applied:
            self._post(self._api("PublishAllXml"), {}, "PublishAllXml")
        self._tables.clear()
        return applied

    def _post(self, url: str, body: dict, what: str) -> requests.Response:
        def attempt():
            resp = self._send("POST", url, json=body, headers={"Content-Type": "application/json"})
            if resp.status_code >= 400:
                raise _permanent(resp, what)
            return resp

        return self._call(attempt)

    def _create_column(self, obj: str, name: str, f) -> None:
        if f.type == "Lookup":
            if not f.reference_to:
                raise PermanentError(f"{obj}.{name}: a Lookup needs reference_to", "DEST_INVALID_VALUE")
            body = {"@odata.type": "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
                    "SchemaName": f"{self.publisher_prefix}{f.reference_to}_{obj}_{name}"[:100],
                    "ReferencedEntity": f.reference_to, "ReferencingEntity": obj,
                    "ReferencedAttribute": f"{f.reference_to}id",
                    "CascadeConfiguration": {"Assign": "NoCascade", "Delete": "RemoveLink", "Merge": "NoCascade",
                                             "Reparent": "NoCascade", "Share": "NoCascade", "Unshare": "NoCascade"},
                    "Lookup": {"@odata.type": "Microsoft.Dynamics.CRM.LookupAttributeMetadata", "AttributeType": "Lookup",
                               "AttributeTypeName": {"Value": "LookupType"}, "SchemaName": name,
                               "DisplayName": _label(f.label), "RequiredLevel": {"Value": "None", "CanBeChanged": True}}}
            self._post(self._api("RelationshipDefinitions"), body, f"lookup {obj}.{name}")
            return
        description = getattr(f, "description", None)
        body = {"SchemaName": name, "DisplayName": _label(f.label), **({"Description": _label(description)} if description else {}),
                "RequiredLevel": {"Value": "None", "CanBeChanged": True,
                                  "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings"}} | _column_metadata(f)
        self._post(self._api(f"EntityDefinitions(LogicalName={_literal(obj)})/Attributes"), body, f"column {obj}.{name}")

    def _create_key(self, obj: str, name: str, label: str) -> None:
        ent = f"EntityDefinitions(LogicalName={_literal(obj)})"
        self._post(self._api(f"{ent}/Keys"), {"SchemaName": f"{name}_key", "DisplayName": _label(f"{label} key"),
                                             "KeyAttributes": [name]}, f"alternate key {obj}.{name}")
        # Dataverse builds the key's index asynchronously; upserts by it work once it is Active.
        deadline = time.monotonic() + self.key_activation_timeout
        while True:
            keys = (self._get(self._api(f"{ent}/Keys")) or {}).get("value", [])
            status = next((k.get("EntityKeyIndexStatus") for k in keys if k.get("KeyAttributes") == [name]), None)
            if status == "Active":
                return
            if status == "Failed":
                raise PermanentError(f"the alternate key on {obj}.{name} failed: existing records share a value",
                                     "DEST_DUPLICATE")
            if time.monotonic() > deadline:
                raise TransientError(f"the alternate key on {obj}.{name} is still {status} after "
                                     f"{self.key_activation_timeout:.0f}s")
            time.sleep(1.0)


# --- helpers ---------------------------------------------------------------------------------------


def _kind(a: dict, primary_id: str) -> str | None:
    t = a.get("AttributeType")
    if a["LogicalName"] == primary_id:
        return "id"
    if a.get("LogicalName") == "documentbody":
        return "base64"  # a note's file content
    if t == "Virtual":
        return "multipicklist" if (a.get("AttributeTypeName") or {}).get("Value") == "MultiSelectPicklistType" else None
    if t == "String":
        return _STRING_KIND.get((a.get("FormatName") or {}).get("Value") or a.get("Format"), "text")
    if t == "DateTime":
        return "date" if a.get("Format") == "DateOnly" else "datetime"
    if t == "Uniqueidentifier":
        return "text"
    return _KIND_BY_TYPE.get(t)


def _column_metadata(f) -> dict:
    """Attribute metadata for a schema-plan field type."""
    def string(fmt: str, length: int) -> dict:
        return {"@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", "AttributeType": "String",
                "AttributeTypeName": {"Value": "StringType"}, "MaxLength": f.length or length, "FormatName": {"Value": fmt}}

    def memo(length: int) -> dict:
        return {"@odata.type": "Microsoft.Dynamics.CRM.MemoAttributeMetadata", "AttributeType": "Memo",
                "AttributeTypeName": {"Value": "MemoType"}, "Format": "TextArea", "MaxLength": f.length or length}

    def decimal(odata: str, type_: str, precision: int) -> dict:
        return {"@odata.type": f"Microsoft.Dynamics.CRM.{odata}", "AttributeType": type_,
                "AttributeTypeName": {"Value": f"{type_}Type"}, "Precision": precision}

    def options() -> dict:
        return {"OptionSet": {"@odata.type": "Microsoft.Dynamics.CRM.OptionSetMetadata", "IsGlobal": False,
                              "OptionSetType": "Picklist",
                              "Options": [{"Value": None, "Label": _label(v)} for v in f.values]}}

    t = f.type
    if t == "Text":
        return string("Text", 255)
    if t in ("TextArea", "LongTextArea"):
        return memo(2000 if t == "TextArea" else 100_000)
    if t == "Email":
        return string("Email", 100)
    if t == "Phone":
        return string("Phone", 50)
    if t == "Url":
        return string("Url", 200)
    if t == "Number":
        if not f.scale:
            return {"@odata.type": "Microsoft.Dynamics.CRM.IntegerAttributeMetadata", "AttributeType": "Integer",
                    "AttributeTypeName": {"Value": "IntegerType"}, "Format": "None"}
        return decimal("DecimalAttributeMetadata", "Decimal", f.scale)
    if t == "Currency":
        return decimal("MoneyAttributeMetadata", "Money", f.scale if f.scale is not None else 2) | {"PrecisionSource": 0}
    if t == "Percent":
        return decimal("DecimalAttributeMetadata", "Decimal", f.scale if f.scale is not None else 2)
    if t == "Checkbox":
        return {"@odata.type": "Microsoft.Dynamics.CRM.BooleanAttributeMetadata", "AttributeType": "Boolean",
                "AttributeTypeName": {"Value": "BooleanType"}, "DefaultValue": False,
                "OptionSet": {"@odata.type": "Microsoft.Dynamics.CRM.BooleanOptionSetMetadata",
                              "TrueOption": {"Value": 1, "Label": _label("Yes")},
                              "FalseOption": {"Value": 0, "Label": _label("No")}}}
    if t in ("Date", "DateTime"):
        return {"@odata.type": "Microsoft.Dynamics.CRM.DateTimeAttributeMetadata", "AttributeType": "DateTime",
                "AttributeTypeName": {"Value": "DateTimeType"}, "Format": "DateOnly" if t == "Date" else "DateAndTime",
                "DateTimeBehavior": {"Value": "DateOnly" if t == "Date" else "UserLocal"}}
    if t == "Picklist":
        return {"@odata.type": "Microsoft.Dynamics.CRM.PicklistAttributeMetadata", "AttributeType": "Picklist",
                "AttributeTypeName": {"Value": "PicklistType"}} | options()
    if t == "MultiselectPicklist":
        return {"@odata.type": "Microsoft.Dynamics.CRM.MultiSelectPicklistAttributeMetadata", "AttributeType": "Virtual",
                "AttributeTypeName": {"Value": "MultiSelectPicklistType"}} | options()
    raise PermanentError(f"{f.object}.{f.name}: field type {t!r} has no Dataverse column type", "DEST_INVALID_VALUE")


def _to_wire(table: _Table, f: FieldSchema, value: Any, row: int, failures: dict[int, tuple[str, str]]) -> Any:
    """One canonical value -> its Web API JSON value."""
    if value is None:
        return None
    kind = f.kind
    if kind in ("picklist", "multipicklist"):
        by_label = {label: v for v, label in table.options.get(f.name, {}).items()}
        labels = [p.strip() for p in str(value).split(";")] if kind == "multipicklist" else [str(value)]
        numbers = []
        for label in labels:
            if label not in by_label:
                failures[row] = ("DEST_INVALID_VALUE", f"{f.name}: {label!r} is not an option of {table.name}.{f.name} "
                                                       f"({', '.join(list(by_label)[:20])})")
                return None
            numbers.append(by_label[label])
        return ",".join(str(n) for n in sorted(numbers)) if kind == "multipicklist" else numbers[0]
    if kind == "boolean":
        return bool(value)
    if kind == "integer":
        number = float(value)
        return int(number) if number.is_integer() else number
    if kind == "decimal":
        return float(value)
    if kind == "date":
        return str(value)[:10]
    if kind == "datetime":
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value if isinstance(value, str) else str(value)


def _canonical(s: pd.Series, f: FieldSchema | None, options: dict[int, str] | None) -> pd.Series:
    """Web API values -> the canonical form of crm_migration.destinations.base."""
    kind = f.kind if f else "text"
    if kind == "picklist":
        return s.map(lambda v: (options or {}).get(int(v), str(v)) if pd.notna(v) else pd.NA).astype("string")
    if kind == "multipicklist":
        return s.map(lambda v: ";".join(sorted((options or {}).get(int(x), x) for x in str(v).split(",") if x))
                     if pd.notna(v) else pd.NA).astype("string")
    if kind == "datetime":
        return (pd.to_datetime(s, utc=True, errors="coerce", format="ISO8601")
                .dt.strftime("%Y-%m-%dT%H:%M:%SZ").astype("string"))
    if kind == "date":
        return s.astype("string").str.slice(0, 10)
    if kind == "integer":
        return pd.to_numeric(s, errors="coerce").round().astype("Int64")
    if kind == "decimal":
        return pd.to_numeric(s, errors="coerce").astype("Float64")
    if kind == "boolean":
        return s.map(lambda v: bool(v) if pd.notna(v) else pd.NA).astype("boolean")
    return s.astype("string")


def _failure(ext, code, message, reason) -> dict:
    return {"external_id": ext, "destination_id": None, "action": "failed", "reason_code": reason,
            "dest_code": code, "dest_message": message}


def _error_of(resp: requests.Response) -> tuple[str | None, str]:
    try:
        err = resp.json().get("error", {})
        return err.get("code"), err.get("message") or ""
    except (ValueError, AttributeError):
        return None, resp.text[:300]


def _permanent(resp: requests.Response, what: str) -> PermanentError:
    code, message = _error_of(resp)
    reason = "DEST_NOT_FOUND" if resp.status_code == 404 and code in (None, "0x80040217") else reason_for(code, message)
    return PermanentError(f"Dataverse refused {what} ({resp.status_code}): {code}: {message[:300]}", reason, code)


def _retry_after(resp) -> float | None:
    headers = resp.headers
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _id_from_entity_url(url: str) -> str | None:
    m = re.search(r"\(([0-9a-fA-F-]{36})\)\s*$", url)
    return m.group(1).lower() if m else None


def _parse_batch(content_type: str, body: bytes) -> list[_Part]:
    """The answers of a multipart/mixed $batch response, in order (a change set's answers inline)."""
    m = re.search(r'boundary=("?)([^";]+)\1', content_type)
    if not m:
        raise TransientError("Dataverse answered a $batch without a multipart boundary")
    answers = []
    for chunk in body.split(b"--" + m.group(2).encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, rest = re.sub(rb"^\r?\n", b"", chunk).partition(b"\r\n\r\n")
        part_headers = _headers(head)
        if part_headers.get("content-type", "").startswith("multipart/mixed"):
            answers += _parse_batch(part_headers["content-type"], rest)
            continue
        http_head, _, payload = rest.partition(b"\r\n\r\n")
        lines = http_head.decode("utf-8", "replace").split("\r\n")
        status = int(lines[0].split()[1])
        payload = payload.strip()
        try:
            parsed = json.loads(payload) if payload else None
        except ValueError:
            parsed = {"error": {"code": None, "message": payload[:300].decode("utf-8", "replace")}}
        answers.append(_Part(status, _headers("\r\n".join(lines[1:]).encode()), parsed))
    return answers


def _headers(raw: bytes) -> dict[str, str]:
    out = {}
    for line in raw.decode("utf-8", "replace").split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            out[name.strip().lower()] = value.strip()
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
