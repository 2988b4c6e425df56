"""Zoho CRM as a destination, through Zoho's official SDK for API v8 (``zohocrmsdk8_0``).

The SDK keeps its state in process-wide singletons (``Initializer``): this resource initialises it
lazily, and again whenever another destination took it over, with ``DataCenter.Environment(api_domain,
accounts token URL, file_upload_url)`` so that the same code reaches a real org or the local sandbox.
The SDK's token store and field cache live in a private folder (``state_dir`` or a temporary one).
With a refresh token the SDK refreshes expired access tokens itself; without one the resource uses
the client-credentials grant (which the SDK does not implement) and hands the SDK the access token.

Ids: Zoho record ids do not say which module they belong to, so every id this destination returns
or accepts is ``<Module>/<id>`` (``Contacts/4876876000000231001``, owners ``Users/<id>``); an attachment
is addressed through its parent, as Zoho's API addresses it: ``Attachments/<Module>/<parent id>/<id>``.

Volume decides the write API: below ``bulk_threshold`` records, upserts of 100 records a call with
``duplicate_check_fields`` = the key field; from it on, Bulk Write jobs (a zipped CSV of up to 25,000
rows, upsert with ``find_by`` = the key field) whose result file gives the per-record outcomes. Modules
keyed by their id (notes, attachments) and modules Bulk Write does not take (events) always use the
records API. Creates keyed by id are not idempotent: before retrying one, the records that appeared
under the rows' parents are read, so that a create that landed but failed in transit is not repeated.
Read-back uses COQL (``in`` lists of 100 keys). An event's participants cross the interface as text:
the sorted ``;``-joined participant ids (``Contacts/..``, ``Leads/..``, ``Users/..``) and e-mail addresses.

Settings come from the resource (EnvVar in the definitions); ``ca_file`` (or ZOHO_CA_FILE, read when
the SDK is first used) names a private CA to trust besides the usual ones, see :func:`trust_ca`.
"""

from __future__ import annotations

import atexit
import datetime as dt
import hashlib
import io
import logging
import numbers
import os
import shutil
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar

import pandas as pd
import requests
from dagster import ConfigurableResource
from pydantic import PrivateAttr
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.file_store import FileStore
from zohocrmsdk.src.com.zoho.api.logger import Logger
from zohocrmsdk.src.com.zoho.crm.api import HeaderMap, ParameterMap
from zohocrmsdk.src.com.zoho.crm.api import attachments as za
from zohocrmsdk.src.com.zoho.crm.api import bulk_write as zb
from zohocrmsdk.src.com.zoho.crm.api import coql as zq
from zohocrmsdk.src.com.zoho.crm.api import fields as zf
from zohocrmsdk.src.com.zoho.crm.api import record as zr
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.modules import MinifiedModule
from zohocrmsdk.src.com.zoho.crm.api.org import OrgOperations
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig
from zohocrmsdk.src.com.zoho.crm.api.users import GetUsersParam, MinifiedUser, UsersOperations
from zohocrmsdk.src.com.zoho.crm.api.util import Choice, StreamWrapper

from crm_migration.destinations.base import (
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

RECORDS_PER_CALL = 100  # insert / update / upsert / delete
COQL_IN = 100  # values of one COQL `in`
COQL_LIMIT = 2000  # rows of one COQL call
BULK_ROWS = 25_000  # rows of one Bulk Write file
PER_PAGE = 200
ATTACHMENTS = "Attachments"
USERS = "Users"
RECORDS_API_ONLY = {"Notes", "Events", ATTACHMENTS}  # Bulk Write does not take them (or they are keyed by id)
SE_MODULE = "se_module"

# Zoho error codes -> the project's reason codes (crm_migration.reasons); INVALID_DATA is refined by
# the field it names (see reason_for).
REASON_BY_CODE = {
    "MANDATORY_NOT_FOUND": "DEST_REQUIRED_FIELD",
    "INVALID_DATA": "DEST_INVALID_VALUE",
    "DUPLICATE_DATA": "DEST_DUPLICATE",
    "NO_PERMISSION": "DEST_PERMISSION",
    "PERMISSION_DENIED": "DEST_PERMISSION",
    "OAUTH_SCOPE_MISMATCH": "DEST_PERMISSION",
    "FILE_SIZE_MORE_THAN_ALLOWED_SIZE": "DEST_FILE_TOO_LARGE",
    "FILE_TOO_LARGE": "DEST_FILE_TOO_LARGE",
    "LIMIT_EXCEEDED": "DEST_LIMIT_EXCEEDED",
    "RESOURCE_NOT_FOUND": "DEST_NOT_FOUND",
    "ID_ALREADY_DELETED": "DEST_NOT_FOUND",
}

_KIND_BY_DATA_TYPE = {
    "text": "text", "textarea": "textarea", "email": "email", "phone": "phone", "website": "url",
    "picklist": "picklist", "multiselectpicklist": "multipicklist", "lookup": "reference", "ownerlookup": "reference",
    "userlookup": "reference", "boolean": "boolean", "integer": "integer", "bigint": "integer", "double": "decimal",
    "currency": "decimal", "percent": "decimal", "date": "date", "datetime": "datetime", "autonumber": "text",
    "participants": "text",
}
_PLAN_TYPES = {  # schema-plan type -> (Zoho data_type, default length)
    "Text": ("text", 255), "TextArea": ("textarea", 2000), "LongTextArea": ("textarea", 32000),
    "Number": ("integer", 9), "Currency": ("currency", 16), "Percent": ("percent", 5), "Checkbox": ("boolean", None),
    "Date": ("date", None), "DateTime": ("datetime", None), "Email": ("email", 100), "Phone": ("phone", 30),
    "Url": ("website", 255), "Picklist": ("picklist", None), "MultiselectPicklist": ("multiselectpicklist", None),
    "Lookup": ("lookup", None),
}
_PARTICIPANT_MODULES = {"contact": "Contacts", "lead": "Leads", "user": USERS}


def reason_for(code: str | None, details: dict | None = None, field: FieldSchema | None = None) -> str:
    details = details or {}
    if code == "INVALID_DATA":
        api_name = details.get("api_name")
        if "maximum_length" in details:
            return "DEST_VALUE_TOO_LONG"
        if api_name == "id":
            return "DEST_NOT_FOUND"
        if api_name == "Owner":
            return "DEST_INACTIVE_OWNER"
        if api_name == "$se_module" or (field is not None and field.kind == "reference"):
            return "DEST_INVALID_REFERENCE"
    return REASON_BY_CODE.get(code or "", "DEST_UNKNOWN")


def split_id(value: Any) -> tuple[str | None, str]:
    """``"Contacts/123"`` -> ("Contacts", "123"); a bare id has no module."""
    text = str(value)
    module, _, rid = text.rpartition("/")
    return (module or None), rid


# --- trust for a private CA ----------------------------------------------------------------------

_CA_LOCK = threading.Lock()
_CA_STATE: dict[str, Any] = {"bundle": None, "base": "", "extra": [], "dir": None}
_WORKDIRS: dict[str, str] = {}


def trust_ca(ca_file: str) -> None:
    """Make this process's module-level ``requests`` calls trust ``ca_file`` as well as what they trusted.

    The SDK calls ``requests.get/post`` on the module, never a session we could configure, so the only
    way to make it verify a private CA (the sandbox's) is REQUESTS_CA_BUNDLE. We write a bundle of the
    CAs the environment already trusts (REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, else certifi's) plus this
    CA, and point REQUESTS_CA_BUNDLE at it for this process. Verification stays on.
    """
    import certifi

    with _CA_LOCK:
        pem = Path(ca_file).read_text()
        current = os.environ.get("REQUESTS_CA_BUNDLE")
        if current is None or current != _CA_STATE["bundle"]:
            # first use, or someone set the environment since: start from what it trusts now
            base = current or os.environ.get("CURL_CA_BUNDLE") or certifi.where()
            _CA_STATE.update(base=Path(base).read_text() if Path(base).is_file() else Path(certifi.where()).read_text(),
                             extra=[])
            _CA_STATE["dir"] = _CA_STATE["dir"] or _private_dir("crm-migration-ca-")
        elif pem in _CA_STATE["extra"]:
            return
        if pem not in _CA_STATE["extra"]:
            _CA_STATE["extra"].append(pem)
        bundle = Path(_CA_STATE["dir"]) / f"bundle-{hashlib.sha256(''.join(_CA_STATE['extra']).encode()).hexdigest()[:12]}.pem"
        bundle.write_text(_CA_STATE["base"].rstrip("\n") + "\n" + "\n".join(_CA_STATE["extra"]))
        os.environ["REQUESTS_CA_BUNDLE"] = _CA_STATE["bundle"] = str(bundle)


def _private_dir(prefix: str) -> str:
    path = tempfile.mkdtemp(prefix=prefix)  # mode 700
    atexit.register(shutil.rmtree, path, True)
    return path


@dataclass
class Answer:
    status: int
    body: Any
    headers: Any
    object: Any = None


class ZohoDestination(ConfigurableResource):
    """Zoho CRM (or the local Zoho sandbox), reached through the official Python SDK for API v8."""

    api_domain: str
    accounts_url: str
    client_id: str
    client_secret: str
    refresh_token: str | None = None
    file_upload_url: str | None = None
    scope: str = ("ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.users.READ,ZohoCRM.org.READ,ZohoCRM.bulk.ALL,"
                  "ZohoCRM.coql.READ,ZohoFiles.files.ALL")
    soid: str | None = None
    ca_file: str | None = None
    state_dir: str | None = None
    bulk_threshold: int = 5000
    bulk_poll_seconds: float = 0.5
    bulk_timeout_seconds: float = 1800
    max_file_bytes: int = 20 * 1024 * 1024
    timeout_seconds: float = 120

    _retry: RetryPolicy = PrivateAttr(default_factory=RetryPolicy)
    _describe_cache: dict[str, ObjectSchema] = PrivateAttr(default_factory=dict)
    _initializer: Any = PrivateAttr(default=None)
    _workdir: str | None = PrivateAttr(default=None)
    _zgid: str | None = PrivateAttr(default=None)
    _user_signature: Any = PrivateAttr(default=None)
    _modules: list[str] | None = PrivateAttr(default=None)

    name: ClassVar[str] = "zoho"

    @property
    def _refresh_token(self) -> str | None:
        # Optional (without it: client credentials); read when the resource connects, like ZOHO_CA_FILE.
        return self.refresh_token or os.environ.get("ZOHO_REFRESH_TOKEN")

    # --- connection --------------------------------------------------------------------------

    @property
    def retries(self) -> int:
        return self._retry.retried

    def _dir(self) -> Path:
        """The SDK's token store and field cache: private to this process, shared by the resources that
        reach the same org with the same client (the field cache then serves them all)."""
        if self._workdir is None:
            key = hashlib.sha256("\n".join([self.api_domain, self.accounts_url, self.client_id, self._refresh_token or ""])
                                 .encode()).hexdigest()[:16]
            with _CA_LOCK:
                if key not in _WORKDIRS:
                    if self.state_dir:
                        Path(self.state_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
                        _WORKDIRS[key] = tempfile.mkdtemp(prefix="zoho-sdk-", dir=self.state_dir)
                    else:
                        _WORKDIRS[key] = _private_dir("zoho-sdk-")
                self._workdir = _WORKDIRS[key]
        return Path(self._workdir)

    def _token_url(self) -> str:
        url = self.accounts_url.rstrip("/")
        return url if url.endswith("/oauth/v2/token") else url + "/oauth/v2/token"

    def _init_sdk(self, fresh_token: bool = False) -> None:
        ca_file = self.ca_file or os.environ.get("ZOHO_CA_FILE")
        if ca_file:
            trust_ca(ca_file)
        work = self._dir()
        token_file = work / "tokens.csv"
        if fresh_token or not token_file.exists():  # a refused token is forgotten, so the SDK asks for a new one
            token_file.unlink(missing_ok=True)
            os.close(os.open(token_file, os.O_WRONLY | os.O_CREAT, 0o600))  # the SDK keeps tokens here: owner only
        environment = DataCenter.Environment(self.api_domain.rstrip("/"), self._token_url(),
                                             (self.file_upload_url or self.api_domain).rstrip("/"))
        if self._refresh_token:
            # Once the SDK knows whose token it is, say so: it then skips the user and org look-ups it
            # would otherwise make after every refresh.
            token = OAuthToken(client_id=self.client_id, client_secret=self.client_secret, refresh_token=self._refresh_token,
                               user_signature=self._user_signature)
        else:
            token = OAuthToken(access_token=self._client_credentials_token())
        try:
            Initializer.initialize(environment=environment, token=token, store=FileStore(str(token_file)),
                                   sdk_config=SDKConfig(auto_refresh_fields=False, pick_list_validation=False,
                                                        read_timeout=self.timeout_seconds, connect_timeout=30),
                                   resource_path=str(work), logger=Logger.get_instance(Logger.Levels.WARNING, None))
        except SDKException as e:
            raise _sdk_error(e, "Zoho refused the credentials") from None
        sdk_logger = logging.getLogger("SDKLogger")
        sdk_logger.setLevel(logging.WARNING)
        if not any(isinstance(f, _SdkLogFormat) for f in sdk_logger.filters):
            sdk_logger.addFilter(_SdkLogFormat())
        self._initializer = Initializer.get_initializer()
        if self._user_signature is None:
            self._user_signature = self._initializer.token.get_user_signature()

    def _client_credentials_token(self) -> str:
        # The SDK has no client-credentials grant: this is the documented accounts-server call.
        form = {"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.client_secret,
                "scope": self.scope}
        if self.soid:
            form["soid"] = self.soid
        try:
            resp = requests.post(self._token_url(), data=form, timeout=30)
        except requests.RequestException as e:
            raise TransientError(f"Zoho accounts server unreachable: {type(e).__name__}") from None
        if resp.status_code >= 500:
            raise TransientError(f"Zoho accounts server answered {resp.status_code}")
        body = resp.json() if "json" in resp.headers.get("content-type", "") else {}
        if "access_token" not in body:
            raise AuthenticationError(f"Zoho refused the credentials: {body.get('error', resp.status_code)}")
        return body["access_token"]

    def _ensure_sdk(self) -> None:
        if ca_file := self.ca_file or os.environ.get("ZOHO_CA_FILE"):
            trust_ca(ca_file)
        if self._initializer is None or Initializer.get_initializer() is not self._initializer:
            self._init_sdk()

    def _call(self, fn: Callable[[], Any], accept: tuple[int, ...] = ()) -> Answer:
        """One SDK call under the retry policy; HTTP-level failures become the typed errors of base.py.
        A 4xx whose body lists per-record (or per-field) answers is returned, as is any status in ``accept``."""

        return self._retry.run(lambda: self._once(fn, accept), reauthenticate=lambda: self._init_sdk(fresh_token=True))

    def _once(self, fn: Callable[[], Any], accept: tuple[int, ...] = ()) -> Answer:
        """One attempt of an SDK call, its failures translated (the caller decides about retrying)."""
        self._ensure_sdk()
        try:
            response = fn()
        except SDKException as e:
            raise _sdk_error(e, "the Zoho SDK failed") from None
        if response is None:
            raise PermanentError("the Zoho SDK could not read the answer", "DEST_UNKNOWN")
        return self._check(Answer(response.get_status_code(), response.get_response_json(), response.get_headers(),
                                  response.get_object()), accept)

    @staticmethod
    def _check(answer: Answer, accept: tuple[int, ...]) -> Answer:
        status, body = answer.status, answer.body if isinstance(answer.body, dict) else {}
        code, message = body.get("code"), body.get("message")
        wait = _retry_after(answer.headers)
        if status < 400 or status in accept:
            return answer
        if status == 401:
            raise AuthenticationError(f"Zoho refused the access token: {code}")
        if status == 429:
            if code == "LIMIT_EXCEEDED":
                raise PermanentError(f"Zoho API limit reached: {message}", "DEST_LIMIT_EXCEEDED", code)
            raise ThrottledError(f"Zoho throttled the request: {code}", wait)
        if status >= 500:
            raise TransientError(f"Zoho answered {status}: {code}", wait)
        if isinstance(body.get("data"), list) or isinstance(body.get("fields"), list):
            return answer  # per-record answers
        raise PermanentError(f"Zoho refused the request ({status}): {code}: {message} {body.get('details') or ''}".strip(),
                             reason_for(code, body.get("details")), code)

    # --- describe, users ---------------------------------------------------------------------

    def describe(self, objects: list[str]) -> dict[str, ObjectSchema]:
        result = {}
        for obj in objects:
            if obj not in self._describe_cache:
                if obj == ATTACHMENTS:
                    self._describe_cache[obj] = self._attachment_schema()
                else:
                    params = ParameterMap()
                    params.add(zf.GetFieldsParam.module, obj)
                    try:
                        answer = self._call(lambda: zf.FieldsOperations().get_fields(params))
                    except PermanentError as e:
                        if e.dest_code == "INVALID_MODULE":
                            continue  # the org has no such module: the schema plan says so
                        raise
                    fields = [_field_schema(f, self._polymorphic_targets) for f in (answer.body or {}).get("fields", [])]
                    self._describe_cache[obj] = ObjectSchema(obj, {f.name: f for f in fields})
            result[obj] = self._describe_cache[obj]
        return result

    def _polymorphic_targets(self) -> tuple[str, ...]:
        if self._modules is None:
            from zohocrmsdk.src.com.zoho.crm.api.modules import ModulesOperations

            answer = self._call(lambda: ModulesOperations().get_modules(ParameterMap(), HeaderMap()))
            self._modules = [m["api_name"] for m in (answer.body or {}).get("modules", []) if m.get("api_supported")]
        return tuple(m for m in self._modules if m not in ("Tasks", "Events", "Calls", "Notes"))

    def _attachment_schema(self) -> ObjectSchema:
        # Attachments are no module of the fields API: these are the keys its list answer carries.
        fields = [FieldSchema("id", "id", "Id", createable=False, updateable=False),
                  FieldSchema("File_Name", "text", "File Name", 255, required=True),
                  FieldSchema("Size", "integer", "Size", createable=False, updateable=False),
                  FieldSchema("Parent_Id", "reference", "Parent", required=True, updateable=False,
                              reference_to=self._polymorphic_targets()),
                  FieldSchema("Owner", "reference", "Owner", createable=False, updateable=False, reference_to=(USERS,)),
                  FieldSchema("Created_Time", "datetime", "Created Time", createable=False, updateable=False)]
        return ObjectSchema(ATTACHMENTS, {f.name: f for f in fields})

    def users(self) -> pd.DataFrame:
        rows, page = [], 1
        while True:
            params = ParameterMap()
            params.add(GetUsersParam.type, "AllUsers")
            params.add(GetUsersParam.page, page)
            params.add(GetUsersParam.per_page, PER_PAGE)
            answer = self._call(lambda: UsersOperations().get_users(params))
            body = answer.body or {}
            rows += body.get("users", [])
            if answer.status == 204 or not (body.get("info") or {}).get("more_records"):
                break
            page += 1
        return pd.DataFrame(
            {"id": [f"{USERS}/{u['id']}" for u in rows], "email": [(u.get("email") or "").lower() for u in rows],
             "active": [u.get("status") == "active" for u in rows], "name": [u.get("full_name") for u in rows]},
        ).astype({"id": "string", "email": "string", "name": "string"})

    # --- upsert ------------------------------------------------------------------------------

    def upsert(self, obj: str, external_id_field: str, records: pd.DataFrame) -> pd.DataFrame:
        if records.empty:
            return outcomes([])
        schema = self.describe([obj])[obj]
        if _kind(schema, external_id_field) == "id":
            return self._write_by_id(obj, external_id_field, records.reset_index(drop=True), schema)
        if len(records) >= self.bulk_threshold and obj not in RECORDS_API_ONLY:
            return pd.concat([self._bulk_write(obj, external_id_field, records.iloc[i:i + BULK_ROWS], schema)
                              for i in range(0, len(records), BULK_ROWS)], ignore_index=True)
        parts = []
        for i in range(0, len(records), RECORDS_PER_CALL):
            chunk = records.iloc[i:i + RECORDS_PER_CALL]
            body = zr.BodyWrapper()
            body.set_data([self._sdk_record(r, schema) for r in _json_rows(chunk)])
            body.set_duplicate_check_fields([external_id_field])
            body.set_trigger([])  # a migration must not fire workflows, approvals or blueprints
            answer = self._call(lambda: zr.RecordOperations(obj).upsert_records(body))
            parts.append(_record_outcomes(obj, chunk[external_id_field].astype("string").tolist(), answer, schema, "upsert"))
        return pd.concat(parts, ignore_index=True)

    def _write_by_id(self, obj: str, id_field: str, records: pd.DataFrame, schema: ObjectSchema) -> pd.DataFrame:
        """Rows with an id update that record; rows without one create a record. Keyed by row position."""
        has_id = records[id_field].notna() & (records[id_field].astype("string") != "")
        parts = []
        for op, rows in (("update", records[has_id]), ("insert", records[~has_id])):
            for i in range(0, len(rows), RECORDS_PER_CALL):
                chunk = rows.iloc[i:i + RECORDS_PER_CALL]
                data = _json_rows(chunk)
                if op == "insert":
                    data = [{k: v for k, v in r.items() if k != id_field} for r in data]
                keys = [str(p) for p in chunk.index]
                if op == "insert":
                    parts.append(self._create_once(obj, keys, data, schema))
                    continue
                body = zr.BodyWrapper()
                body.set_data([self._sdk_record(r, schema, id_field) for r in data])
                body.set_trigger([])
                answer = self._call(lambda: zr.RecordOperations(obj).update_records(body))
                parts.append(_record_outcomes(obj, keys, answer, schema, op))
        out = pd.concat(parts, ignore_index=True)
        return outcomes(out.assign(_pos=out["external_id"].astype(int)).sort_values("_pos").drop(columns="_pos"))

    def _create_once(self, obj: str, keys: list[str], rows: list[dict[str, Any]], schema: ObjectSchema) -> pd.DataFrame:
        """A create is no upsert: before retrying one, find the rows the failed attempt created after all.

        The rows' parents (their first reference field with values) are read before the first attempt;
        before a retry, a record that appeared under those parents since and carries a row's values is
        that row's record, and only the other rows are sent again. Rows with no parent are sent again."""
        ref = next((n for n, f in schema.fields.items() if f.kind == "reference" and f.reference_to != (USERS,)
                    and any(r.get(n) for r in rows)), None)
        parents = list(dict.fromkeys(split_id(r[ref])[1] for r in rows if ref and r.get(ref)))
        compare = [n for n in rows[0] if n in schema.fields and n != "Participants"]
        found: dict[int, str] = {}
        state: dict[str, Any] = {}

        def attempt():
            if ref and parents:
                current = self._coql(obj, list(dict.fromkeys(["id", *compare])), ref, parents, retry=False)
                if "before" not in state:
                    state["before"] = {str(c["id"]) for c in current}
                else:
                    landed = _canonical_frame(obj, pd.DataFrame(current, columns=list(dict.fromkeys(["id", *compare]))),
                                              pd.Series([None] * len(current), dtype="string"), schema, compare)
                    landed = landed[~landed["destination_id"].isin({f"{obj}/{i}" for i in state["before"]} | set(found.values()))]
                    for i in [i for i in range(len(rows)) if i not in found]:
                        if landed.empty:
                            break
                        same = landed.apply(lambda c: all(_same(rows[i].get(n), c[n]) for n in compare), axis=1)
                        if same.any():
                            found[i] = landed.loc[same, "destination_id"].iloc[0]
                            landed = landed[landed["destination_id"] != found[i]]
            state["sent"] = [i for i in range(len(rows)) if i not in found]
            if not state["sent"]:
                return _Found(None)  # nothing left to send
            body = zr.BodyWrapper()
            body.set_data([self._sdk_record(rows[i], schema) for i in state["sent"]])
            body.set_trigger([])
            return zr.RecordOperations(obj).create_records(body)

        answer = self._call(attempt)
        sent = _record_outcomes(obj, [keys[i] for i in state["sent"]], answer, schema, "insert") \
            if state["sent"] else outcomes([])
        recovered = outcomes([{"external_id": keys[i], "destination_id": d, "action": "created"} for i, d in found.items()])
        return pd.concat([sent, recovered], ignore_index=True)

    def _sdk_record(self, row: dict[str, Any], schema: ObjectSchema, id_field: str = "id") -> zr.Record:
        record = zr.Record()
        for name, value in row.items():
            if name == id_field:
                if value is not None:
                    record.set_id(int(split_id(value)[1]))
                continue
            f = schema.fields.get(name)
            if f is not None and f.kind == "reference" and value is not None:
                module, rid = split_id(value)
                if module == USERS or f.reference_to == (USERS,):
                    user = MinifiedUser()
                    user.set_id(int(rid))
                    record.add_key_value(name, user)
                    continue
                ref = zr.Record()
                ref.set_id(int(rid))
                if len(f.reference_to) != 1 and module:
                    ref.add_key_value("module", {"api_name": module})  # v8 form of a polymorphic parent
                    record.add_key_value("$se_module", module)  # and the classic one
                record.add_key_value(name, ref)
            elif name == "Participants" and schema.name == "Events":
                record.add_key_value(name, _participants(value))
            else:
                record.add_key_value(name, _to_sdk(f, value))
        return record

    # --- Bulk Write ----------------------------------------------------------------------------

    def _bulk_write(self, obj: str, key: str, records: pd.DataFrame, schema: ObjectSchema) -> pd.DataFrame:
        columns = [key] + [c for c in records.columns if c != key]
        table = pd.DataFrame({c: _csv_column(records[c], schema.fields.get(c)) for c in columns})
        polymorphic = [c for c in columns if (f := schema.fields.get(c)) is not None and f.kind == "reference"
                       and len(f.reference_to) > 1]
        for c in polymorphic[:1]:  # one $se_module column names the module of the (single) polymorphic lookup
            table["$se_module"] = records[c].map(lambda v: split_id(v)[0] if pd.notna(v) else None)
        text = table.to_csv(index=False, lineterminator="\n")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf_:
            zf_.writestr(f"{obj}.csv", text)
        data = buffer.getvalue()

        def upload():
            stream = io.BytesIO(data)
            stream.name = f"{obj}.zip"  # requests names the multipart file after it
            body = zb.FileBodyWrapper()
            body.set_file(StreamWrapper(name=stream.name, stream=stream))
            headers = HeaderMap()
            headers.add(zb.UploadFileHeader.feature, "bulk-write")
            headers.add(zb.UploadFileHeader.x_crm_org, self._org_zgid())
            return zb.BulkWriteOperations().upload_file(body, headers)

        uploaded = self._call(upload)
        if (uploaded.body or {}).get("status") != "success":
            raise PermanentError(f"Zoho refused the Bulk Write file: {(uploaded.body or {}).get('code')}", "DEST_UNKNOWN",
                                 (uploaded.body or {}).get("code"))
        file_id = uploaded.body["details"]["file_id"]
        resource = zb.Resource()
        resource.set_type(Choice("data"))
        module = MinifiedModule()
        module.set_api_name(obj)
        resource.set_module(module)
        resource.set_file_id(file_id)
        resource.set_find_by(key)
        mappings = []
        for index, name in enumerate(table.columns):
            fm = zb.FieldMapping()
            fm.set_api_name(name)
            fm.set_index(index)
            if (f := schema.fields.get(name)) is not None and f.kind == "reference":
                fm.set_find_by("id")
            mappings.append(fm)
        resource.set_field_mappings(mappings)
        request = zb.RequestWrapper()
        request.set_operation(Choice("upsert"))
        request.set_ignore_empty(False)  # an empty cell clears the field, as null does in the records API
        request.set_character_encoding("UTF-8")
        request.set_resource([resource])
        created = self._call(lambda: zb.BulkWriteOperations().create_bulk_write_job(request))
        job_id = str(created.body["details"]["id"])
        deadline = time.monotonic() + self.bulk_timeout_seconds
        while True:
            job = self._call(lambda: zb.BulkWriteOperations().get_bulk_write_job_details(job_id)).body or {}
            if job.get("status") == "COMPLETED":
                break
            if job.get("status") == "FAILED" or time.monotonic() > deadline:
                raise TransientError(f"Zoho Bulk Write job {job_id} did not complete ({job.get('status')})")
            time.sleep(self.bulk_poll_seconds)
        url = job["result"]["download_url"]
        result = self._call(lambda: zb.BulkWriteOperations().download_bulk_write_result(url))
        content = result.object.get_file().get_stream().content
        return _bulk_outcomes(obj, records[key].astype("string").tolist(), content, schema)

    def _org_zgid(self) -> str:
        if self._zgid is None:
            answer = self._call(lambda: OrgOperations().get_organization())
            self._zgid = str(answer.body["org"][0]["zgid"])
        return self._zgid

    # --- read back, delete -------------------------------------------------------------------

    def read_back(self, obj: str, external_id_field: str, external_ids: list[str], fields: list[str]) -> pd.DataFrame:
        schema = self.describe([obj])[obj]
        if obj == ATTACHMENTS:
            return self._read_attachments(external_id_field, external_ids, fields, schema)
        kind = _kind(schema, external_id_field)
        given = [k for k in dict.fromkeys(external_ids) if isinstance(k, str) and k]
        by_raw = {split_id(k)[1] if kind in ("id", "reference") else k: k for k in given}
        extra = [f for f in fields if f == "Participants" and obj == "Events"]
        select = list(dict.fromkeys(["id", external_id_field, *[f for f in fields if f not in extra]]))
        rows = self._coql(obj, select, external_id_field, list(by_raw))
        if extra and rows:
            participants = self._participants_of(obj, [r["id"] for r in rows])
            for r in rows:
                r["Participants"] = participants.get(str(r["id"]))
        frame = pd.DataFrame(rows, columns=list(dict.fromkeys(["id", external_id_field, *fields])))
        key = frame[external_id_field].map(lambda v: _raw_key(v, kind)).map(by_raw) if len(frame) else \
            pd.Series(dtype="string")
        return _canonical_frame(obj, frame, key, schema, fields)

    def _coql(self, obj: str, select: list[str], key: str, values: list[str], retry: bool = True) -> list[dict[str, Any]]:
        """Rows whose ``key`` is one of ``values``: COQL ``in`` lists of 100, pages of 2,000.
        Without ``retry``, failures are raised as they come (for use inside a retried attempt)."""
        rows: list[dict[str, Any]] = []
        for i in range(0, len(values), COQL_IN):
            where = f"{key} in ({', '.join(_coql_literal(v) for v in values[i:i + COQL_IN])})"
            offset = 0
            while True:
                query = zq.BodyWrapper()
                query.set_select_query(f"select {', '.join(select)} from {obj} where {where} limit {offset}, {COQL_LIMIT}")
                answer = self._call(lambda: zq.CoqlOperations().get_records(query)) if retry else self._once(
                    lambda: zq.CoqlOperations().get_records(query))
                body = answer.body or {}
                rows += body.get("data", [])
                if answer.status == 204 or not (body.get("info") or {}).get("more_records"):
                    break
                offset += COQL_LIMIT
        return rows

    def _participants_of(self, obj: str, ids: list[str]) -> dict[str, Any]:
        out = {}
        for i in range(0, len(ids), RECORDS_PER_CALL):
            params = ParameterMap()
            params.add(zr.GetRecordsParam.ids, ",".join(str(x) for x in ids[i:i + RECORDS_PER_CALL]))
            params.add(zr.GetRecordsParam.fields, "Participants")
            answer = self._call(lambda: zr.RecordOperations(obj).get_records(params))
            out |= {str(r["id"]): r.get("Participants") for r in (answer.body or {}).get("data", [])}
        return out

    def delete(self, obj: str, ids: list[str]) -> pd.DataFrame:
        if obj == ATTACHMENTS:
            return outcomes([self._delete_attachment(i) for i in ids])
        rows = []
        for i in range(0, len(ids), RECORDS_PER_CALL):
            chunk = ids[i:i + RECORDS_PER_CALL]
            params = ParameterMap()
            params.add(zr.DeleteRecordsParam.ids, ",".join(split_id(x)[1] for x in chunk))
            params.add(zr.DeleteRecordsParam.wf_trigger, False)
            before = self._retry.retried
            answer = self._call(lambda: zr.RecordOperations(obj).delete_records(params))
            retried = self._retry.retried > before
            for dest_id, item in zip(chunk, (answer.body or {}).get("data", [])):
                if item.get("status") == "success":
                    rows.append({"destination_id": dest_id, "action": "deleted"})
                elif retried and item.get("code") == "INVALID_DATA":
                    # the attempt that failed in transit had deleted it already
                    rows.append({"destination_id": dest_id, "action": "deleted"})
                else:
                    rows.append({"destination_id": dest_id, "action": "failed", "dest_code": item.get("code"),
                                 "reason_code": "DEST_NOT_FOUND" if item.get("code") == "INVALID_DATA" else reason_for(item.get("code")),
                                 "dest_message": item.get("message")})
        return outcomes(rows)

    # --- files -------------------------------------------------------------------------------

    def upload_files(self, obj: str, external_id_field: str, files: pd.DataFrame, path_column: str) -> pd.DataFrame:
        """One attachment per row on the record in ``Parent_Id``; the outcome keeps the file's MD5.

        Zoho cannot replace an attachment's content, and gives no checksum: a row whose parent already
        has an attachment of the same name and size is taken as uploaded (an interrupted run's file)."""
        if obj != ATTACHMENTS:
            raise PermanentError(f"files go to {ATTACHMENTS}, not {obj}", "DEST_UNKNOWN")
        files = files.reset_index(drop=True)
        id_keyed = external_id_field == "id"
        parents = files["Parent_Id"].dropna().unique().tolist()
        existing = self._read_attachments("Parent_Id", parents, ["File_Name", "Size", "Parent_Id"], self.describe([obj])[obj])
        rows = []
        # One call per file is what the API offers; the loop is over files, not table rows.
        for pos, row in files.iterrows():
            key = str(pos) if id_keyed else str(row[external_id_field])
            path = Path(row[path_column])
            size = path.stat().st_size
            md5 = _md5(path)
            name = row["File_Name"] if isinstance(row.get("File_Name"), str) and row.get("File_Name") else path.name
            if size > self.max_file_bytes:
                rows.append({"external_id": key, "action": "failed", "reason_code": "DEST_FILE_TOO_LARGE",
                             "dest_code": "FILE_SIZE_MORE_THAN_ALLOWED_SIZE",
                             "dest_message": f"{size} bytes is over the {self.max_file_bytes} byte limit", "content_hash": md5})
                continue
            parent = row["Parent_Id"]
            same = existing[(existing["external_id"] == parent) & (existing["File_Name"] == name) & (existing["Size"] == size)]
            if len(same):
                rows.append({"external_id": key, "destination_id": same["destination_id"].iloc[0], "action": "unchanged",
                             "content_hash": md5})
                continue
            try:
                dest_id = self._upload_once(parent, path, name, size)
                rows.append({"external_id": key, "destination_id": dest_id, "action": "created", "content_hash": md5})
            except PermanentError as e:
                rows.append({"external_id": key, "action": "failed", "reason_code": e.reason_code, "dest_code": e.dest_code,
                             "dest_message": str(e), "content_hash": md5})
        out = outcomes(rows)
        out["content_hash"] = pd.array([r.get("content_hash") for r in rows], dtype="string")
        return out

    def _upload_once(self, parent: str, path: Path, name: str, size: int) -> str:
        """An upload is no upsert: before a retry, look whether the failed attempt landed after all."""
        module, pid = split_id(parent)
        state: dict[str, set[str]] = {}

        def attempt():
            if "before" not in state:
                state["before"] = self._attachment_ids(module, pid, name, size)
            elif landed := self._attachment_ids(module, pid, name, size) - state["before"]:
                return _Found(f"{ATTACHMENTS}/{module}/{pid}/{min(landed)}")
            with open(path, "rb") as fh:
                stream = io.BytesIO(fh.read())
            stream.name = name  # requests names the multipart file after it
            body = za.FileBodyWrapper()
            body.set_file(StreamWrapper(name=name, stream=stream))
            return za.AttachmentsOperations().upload_attachments(int(pid), module, body)

        answer = self._call(attempt)
        if isinstance(answer.object, _Found):
            return answer.object.id
        item = ((answer.body or {}).get("data") or [answer.body or {}])[0]
        if item.get("status") != "success":
            raise PermanentError(f"Zoho refused the attachment: {item.get('code')}: {item.get('message')}",
                                 reason_for(item.get("code"), item.get("details")), item.get("code"))
        return f"{ATTACHMENTS}/{module}/{pid}/{item['details']['id']}"

    def _attachment_ids(self, module: str, pid: str, name: str, size: int) -> set[str]:
        """Ids of the parent's attachments with this name and size (one unretried call: the caller retries)."""
        params = ParameterMap()
        params.add(za.GetAttachmentsParam.fields, "id,File_Name,Size")
        params.add(za.GetAttachmentsParam.per_page, PER_PAGE)
        answer = self._once(lambda: za.AttachmentsOperations().get_attachments(int(pid), module, params))
        return {str(a["id"]) for a in (answer.body or {}).get("data", [])
                if a.get("File_Name") == name and str(a.get("Size")) == str(size)}

    def _read_attachments(self, key_field: str, keys: list[str], fields: list[str], schema: ObjectSchema) -> pd.DataFrame:
        """Attachments by parent (``Parent_Id``) or by id; Zoho lists them per parent record."""
        keys = [k for k in dict.fromkeys(keys) if isinstance(k, str) and k]
        if key_field == "id":
            wanted = {k: k for k in keys}
            parents = list(dict.fromkeys(k.rsplit("/", 1)[0].split("/", 1)[1] for k in keys if k.count("/") == 3))
        else:
            wanted, parents = None, keys
        rows = []
        for parent in parents:
            module, pid = split_id(parent)
            page = 1
            while True:
                params = ParameterMap()
                params.add(za.GetAttachmentsParam.fields, "id,File_Name,Size,Parent_Id,Owner,Created_Time")
                params.add(za.GetAttachmentsParam.page, page)
                params.add(za.GetAttachmentsParam.per_page, PER_PAGE)
                try:
                    answer = self._call(lambda: za.AttachmentsOperations().get_attachments(int(pid), module, params))
                except PermanentError as e:
                    if e.dest_code != "INVALID_DATA":
                        raise
                    break  # the parent record is not there (deleted since): it has no attachments to read back
                body = answer.body or {}
                for item in body.get("data", []):
                    dest_id = f"{ATTACHMENTS}/{module}/{pid}/{item['id']}"
                    if wanted is not None and dest_id not in wanted:
                        continue
                    rows.append({"external_id": dest_id if wanted is not None else parent, "destination_id": dest_id,
                                 "File_Name": item.get("File_Name"), "Size": item.get("Size"),
                                 "Parent_Id": f"{module}/{pid}",
                                 "Owner": f"{USERS}/{item['Owner']['id']}" if item.get("Owner") else None,
                                 "Created_Time": item.get("Created_Time")})
                if answer.status == 204 or not (body.get("info") or {}).get("more_records"):
                    break
                page += 1
        frame = pd.DataFrame(rows, columns=["external_id", "destination_id", "File_Name", "Size", "Parent_Id", "Owner", "Created_Time"])
        out = pd.DataFrame({"external_id": frame["external_id"].astype("string"),
                            "destination_id": frame["destination_id"].astype("string")})
        for name in fields:
            out[name] = _canonical(frame[name] if name in frame else pd.Series(pd.NA, index=frame.index), schema.fields.get(name), None)
        return out.reset_index(drop=True)

    def _delete_attachment(self, dest_id: str) -> dict[str, Any]:
        parts = dest_id.split("/")
        if len(parts) != 4 or parts[0] != ATTACHMENTS:
            return {"destination_id": dest_id, "action": "failed", "reason_code": "DEST_NOT_FOUND",
                    "dest_message": "not an attachment id (Attachments/<Module>/<parent id>/<id>)"}
        _, module, pid, att = parts
        before = self._retry.retried
        answer = self._call(lambda: za.AttachmentsOperations().delete_attachment(int(att), int(pid), module), accept=(400,))
        item = ((answer.body or {}).get("data") or [answer.body or {}])[0]
        if item.get("status") == "success" or (self._retry.retried > before and item.get("code") == "INVALID_DATA"):
            return {"destination_id": dest_id, "action": "deleted"}
        return {"destination_id": dest_id, "action": "failed", "reason_code": "DEST_NOT_FOUND" if item.get("code") == "INVALID_DATA"
                else reason_for(item.get("code")), "dest_code": item.get("code"), "dest_message": item.get("message")}

    # --- schema plan -------------------------------------------------------------------------

    def apply_schema_plan(self, plan: SchemaPlan) -> list[str]:
        if plan.objects:
            names = ", ".join(o.name for o in plan.objects)
            raise PermanentError(f"Zoho custom modules are created in Zoho's setup, not through this API: {names}",
                                 "DEST_PERMISSION")
        applied = []
        for f in plan.fields:
            schema = self.describe([f.object]).get(f.object)
            if schema is None:
                raise PermanentError(f"Zoho has no module {f.object}", "DEST_NOT_FOUND")
            if f.name in schema.fields:
                continue
            data_type, length = _PLAN_TYPES[f.type]
            if f.type == "Number" and (f.scale or 0) > 0:
                data_type = "double"
            field = zf.Fields()
            field.set_api_name(f.name)
            field.set_field_label(f.label)
            field.set_data_type(data_type)
            if length and data_type not in ("boolean", "date", "datetime"):
                field.set_length(f.length or length)
            if f.unique or f.external_id:
                unique = zf.Unique()
                unique.set_casesensitive("false")
                field.set_unique(unique)
            if f.values:
                field.set_pick_list_values([_pick_value(v) for v in f.values])
            if f.reference_to:
                lookup = zf.Lookup()
                target = MinifiedModule()
                target.set_api_name(f.reference_to)
                lookup.set_module(target)
                field.set_lookup(lookup)
            body = zf.BodyWrapper()
            body.set_fields([field])
            params = ParameterMap()
            params.add(zf.CreateFieldParam.module, f.object)
            answer = self._call(lambda: zf.FieldsOperations().create_field(body, params))
            item = (answer.body or {}).get("fields", [{}])[0]
            if item.get("status") != "success":
                raise PermanentError(f"Zoho refused the field {f.object}.{f.name}: {item.get('code')} {item.get('details')}",
                                     reason_for(item.get("code")), item.get("code"))
            self._describe_cache.pop(f.object, None)
            applied.append(f"created field {f.object}.{f.name} ({f.type})")
        for v in plan.values:
            current = self.describe([v.object])[v.object].fields[v.field]
            missing = [x for x in v.values if x not in current.picklist_values]
            if not missing:
                continue
            field_id = self._field_id(v.object, v.field)
            field = zf.Fields()
            field.set_pick_list_values([_pick_value(x) for x in missing])
            body = zf.BodyWrapper()
            body.set_fields([field])
            params = ParameterMap()
            params.add(zf.UpdateFieldParam.module, v.object)
            self._call(lambda: zf.FieldsOperations().update_field(field_id, body, params))
            self._describe_cache.pop(v.object, None)
            applied.append(f"added {', '.join(missing)} to {v.object}.{v.field}")
        self._forget_sdk_fields()
        return applied

    def _field_id(self, obj: str, name: str) -> int:
        params = ParameterMap()
        params.add(zf.GetFieldsParam.module, obj)
        answer = self._call(lambda: zf.FieldsOperations().get_fields(params))
        return int(next(f["id"] for f in answer.body["fields"] if f["api_name"] == name))

    def _forget_sdk_fields(self) -> None:
        """The SDK types requests by the fields it cached; after a schema change it must read them again."""
        shutil.rmtree(self._dir() / "resources", ignore_errors=True)
        self._describe_cache.clear()


Destination.register(ZohoDestination)


class _SdkLogFormat(logging.Filter):
    """The SDK logs ``logger.error(message, exception)`` with no placeholder, which breaks formatting."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and "%" not in str(record.msg):
            record.msg = f"{record.msg} {' '.join(type(a).__name__ for a in record.args)}"
            record.args = ()
        return True


class _Found:
    """What an attempt returns instead of calling Zoho when an earlier attempt turned out to have landed."""

    def __init__(self, dest_id: str | None):
        self.id = dest_id

    def get_status_code(self):  # answers like an SDK response, so _call passes it through
        return 200

    def get_response_json(self):
        return None

    def get_headers(self):
        return {}

    def get_object(self):
        return self


# --- helpers: errors -------------------------------------------------------------------------------


def _sdk_error(e: SDKException, what: str) -> Exception:
    cause = e.cause
    while cause is not None and not isinstance(cause, (requests.RequestException, ValueError)):
        cause = getattr(cause, "cause", None) or cause.__cause__
    if isinstance(cause, requests.RequestException):
        return TransientError(f"connection to Zoho failed: {type(cause).__name__}")
    if isinstance(cause, ValueError):
        return TransientError(f"Zoho answered something that is not JSON ({what})")
    if e.code == "INVALID_TOKEN_ERROR" or (e.code or "").startswith("TOKEN"):
        return AuthenticationError(f"{what}: {e.error_message[:200]}")
    inner = (e.details or {}).get("code") if isinstance(e.details, dict) else None
    if e.code == "API_EXCEPTION" and inner:
        # an API answer the SDK met in a call of its own (the field metadata it fetches to type requests)
        if inner in ("INVALID_TOKEN", "AUTHENTICATION_FAILURE"):
            return AuthenticationError(f"Zoho refused the access token: {inner}")
        if inner == "TOO_MANY_REQUESTS":
            return ThrottledError(f"Zoho throttled the request: {inner}")
        if inner in ("INTERNAL_ERROR", "SERVICE_UNAVAILABLE"):
            return TransientError(f"Zoho failed: {inner}")
        return PermanentError(f"{what}: {inner}: {e.details.get('message')}", reason_for(inner), inner)
    return PermanentError(f"{what}: {e.code}: {e.error_message[:300]}", "DEST_UNKNOWN", e.code)


def _retry_after(headers: Any) -> float | None:
    try:
        value = headers.get("Retry-After") if headers is not None else None
        return float(value) if value else None
    except (TypeError, ValueError):
        return None


def _record_outcomes(obj: str, keys: list[str], answer: Answer, schema: ObjectSchema, op: str) -> pd.DataFrame:
    rows = []
    for key, item in zip(keys, (answer.body or {}).get("data", [])):
        if item.get("status") == "success":
            action = item.get("action") or op
            rows.append({"external_id": key, "destination_id": f"{obj}/{item['details']['id']}",
                         "action": "created" if action == "insert" else "updated"})
        else:
            details = item.get("details") or {}
            api_name = details.get("api_name")
            rows.append({"external_id": key, "action": "failed", "dest_code": item.get("code"),
                         "reason_code": reason_for(item.get("code"), details, schema.fields.get(api_name)),
                         "dest_message": f"{item.get('message')}" + (f" ({api_name})" if api_name else "")})
    return outcomes(rows)


def _bulk_outcomes(obj: str, keys: list[str], zipped: bytes, schema: ObjectSchema) -> pd.DataFrame:
    """The result file lists the uploaded rows in order: STATUS, RECORD_ID and ERRORS (``CODE-field,...:CODE-field``)."""
    with zipfile.ZipFile(io.BytesIO(zipped)) as z:
        name = next(n for n in z.namelist() if n.lower().endswith(".csv"))
        result = pd.read_csv(io.BytesIO(z.read(name)), dtype="string", keep_default_na=False, na_values=[""])
    status = result["STATUS"].str.upper()
    parts = result["ERRORS"].astype("string").str.extract(r"^([A-Z_]+)(?:-([^,:]*))?")
    code, field = parts[0].astype("string"), parts[1].astype("string")
    reason = [reason_for(c, {"api_name": f}, schema.fields.get(f)) if isinstance(c, str) else None
              for c, f in zip(code, field.fillna(""))]
    failed = status.isin(["SKIPPED", "UNPROCESSED"])
    return outcomes(pd.DataFrame({
        "external_id": keys[:len(result)],
        "destination_id": (obj + "/" + result["RECORD_ID"]).where(~failed & result["RECORD_ID"].notna()),
        "action": status.map({"ADDED": "created", "UPDATED": "updated"}).fillna("failed"),
        "reason_code": pd.Series(reason, dtype="string").where(status == "SKIPPED", "DEST_TRANSIENT_EXHAUSTED").where(failed),
        "dest_code": code.where(failed),
        "dest_message": result["ERRORS"].where(status == "SKIPPED", "not processed by the Bulk Write job").where(failed),
    }))


# --- helpers: values -------------------------------------------------------------------------------


def _kind(schema: ObjectSchema, name: str) -> str:
    f = schema.fields.get(name)
    return f.kind if f else "text"


def _field_schema(f: dict, polymorphic_targets: Callable[[], tuple[str, ...]]) -> FieldSchema:
    data_type = f.get("data_type") or "text"
    kind = "id" if f.get("api_name") == "id" else _KIND_BY_DATA_TYPE.get(data_type, "text")
    reference_to: tuple[str, ...] = ()
    if data_type == "lookup":
        target = ((f.get("lookup") or {}).get("module") or {}).get("api_name")
        reference_to = polymorphic_targets() if target in (None, SE_MODULE) else (target,)
    elif data_type in ("ownerlookup", "userlookup"):
        reference_to = (USERS,)
    read_only = bool(f.get("read_only") or f.get("field_read_only")) or kind == "id"
    unique = bool(f.get("unique"))
    values = tuple(v.get("actual_value") or v.get("display_value") for v in f.get("pick_list_values") or []
                   if (v.get("actual_value") or v.get("display_value")) != "-None-")
    return FieldSchema(
        name=f["api_name"], kind=kind, label=f.get("field_label") or f.get("display_label") or "",
        length=f.get("length") if kind in ("text", "textarea", "email", "phone", "url") else None,
        required=bool(f.get("system_mandatory")) and not read_only, createable=not read_only, updateable=not read_only,
        external_id=unique and bool(f.get("custom_field")) and kind == "text", unique=unique,
        picklist_values=values, restricted=kind in ("picklist", "multipicklist"), reference_to=reference_to,
    )


def _json_rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    return df.astype(object).where(df.notna(), None).to_dict("records")


def _to_sdk(f: FieldSchema | None, value: Any) -> Any:
    """A canonical value as the Python type the SDK checks for the field (it refuses an int for a double)."""
    if value is None:
        return None
    kind = f.kind if f else "text"
    if kind == "boolean":
        return bool(value)
    if kind == "integer":
        return int(value)
    if kind == "decimal":
        return float(value)
    if kind == "date":
        return dt.date.fromisoformat(str(value)[:10])
    if kind == "datetime":
        ts = pd.Timestamp(value)
        return (ts.tz_localize("UTC") if ts.tzinfo is None else ts).to_pydatetime()
    if kind == "picklist":
        return Choice(str(value))
    if kind == "multipicklist":
        return [Choice(v) for v in str(value).split(";") if v]
    return str(value)


def _participants(value: Any) -> list[zr.Participants] | None:
    """``Contacts/1;Leads/2;someone@example.com`` -> the SDK's participants."""
    if value is None:
        return None
    out = []
    for item in str(value).split(";"):
        p = zr.Participants()
        module, rid = split_id(item)
        if module is None and "@" in rid:
            p.set_type("email")
            p.set_email(rid)
            p.set_participant(rid)
        else:
            p.set_type({v: k for k, v in _PARTICIPANT_MODULES.items()}.get(module, "contact"))
            p.set_participant(rid)
        out.append(p)
    return out


def _csv_column(s: pd.Series, f: FieldSchema | None) -> pd.Series:
    """Canonical values -> Bulk Write CSV cells (an empty cell clears the field)."""
    kind = f.kind if f else "text"
    if kind == "boolean":
        return s.map(lambda v: ("true" if v else "false") if pd.notna(v) else "")
    if kind == "decimal":
        return s.map(lambda v: format(float(v), ".15g") if pd.notna(v) else "")
    if kind == "integer":
        return s.map(lambda v: str(int(v)) if pd.notna(v) else "")
    if kind == "reference":
        return s.map(lambda v: split_id(v)[1] if pd.notna(v) else "")
    if kind == "datetime":
        ts = pd.to_datetime(s, utc=True, errors="coerce", format="ISO8601")
        return ts.dt.strftime("%Y-%m-%dT%H:%M:%S+00:00").fillna("")
    return s.astype("string").fillna("")


def _coql_literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _raw_key(value: Any, kind: str) -> str | None:
    if value is None or (not isinstance(value, (dict, list)) and pd.isna(value)):
        return None
    if isinstance(value, dict):
        return str(value.get("id"))
    return str(value)


def _canonical_frame(obj: str, frame: pd.DataFrame, key: pd.Series, schema: ObjectSchema, fields: list[str]) -> pd.DataFrame:
    out = pd.DataFrame({"external_id": key.astype("string"),
                        "destination_id": (obj + "/" + frame["id"].astype("string")) if len(frame) else pd.Series(dtype="string")})
    for name in fields:
        out[name] = _canonical(frame[name] if name in frame else pd.Series(pd.NA, index=frame.index), schema.fields.get(name), obj)
    return out.reset_index(drop=True)


def _canonical(s: pd.Series, f: FieldSchema | None, obj: str | None) -> pd.Series:
    """Zoho's JSON values -> the canonical form of crm_migration.destinations.base."""
    kind = f.kind if f else "text"
    if f is not None and f.name == "Participants" and obj == "Events":
        return s.map(_canonical_participants).astype("string")
    if kind == "id":
        return s.map(lambda v: f"{obj}/{v}" if v is not None and not pd.isna(v) else None).astype("string")
    if kind == "reference":
        return s.map(lambda v: _canonical_ref(v, f)).astype("string")
    if kind == "multipicklist":
        return s.map(lambda v: ";".join(sorted(v)) if isinstance(v, list) and v else None).astype("string")
    if kind == "datetime":
        return pd.to_datetime(s, utc=True, errors="coerce", format="ISO8601").dt.strftime("%Y-%m-%dT%H:%M:%SZ").astype("string")
    if kind == "date":
        return s.astype("string").str.slice(0, 10)
    if kind == "integer":
        return pd.to_numeric(s, errors="coerce").round().astype("Int64")
    if kind == "decimal":
        return pd.to_numeric(s, errors="coerce").astype("Float64")
    if kind == "boolean":
        return s.map(lambda v: v if isinstance(v, bool) else (str(v).lower() == "true" if pd.notna(v) else pd.NA)).astype("boolean")
    return s.map(lambda v: None if v is None or (not isinstance(v, (list, dict)) and pd.isna(v)) else str(v)).astype("string")


def _canonical_ref(value: Any, f: FieldSchema) -> str | None:
    if value is None or (not isinstance(value, dict) and pd.isna(value)):
        return None
    if isinstance(value, str) and "/" in value:
        return value
    rid = value.get("id") if isinstance(value, dict) else value
    module = f.reference_to[0] if len(f.reference_to) == 1 else ((value.get("module") or {}).get("api_name")
                                                                  if isinstance(value, dict) else None)
    return f"{module}/{rid}" if module else str(rid)


def _canonical_participants(value: Any) -> str | None:
    if not isinstance(value, list) or not value:
        return None
    items = [p.get("Email") if p.get("type") == "email" else f"{_PARTICIPANT_MODULES.get(p.get('type'), 'Contacts')}/{p.get('participant')}"
             for p in value]
    return ";".join(sorted(str(i) for i in items))


def _same(a: Any, b: Any) -> bool:
    """Canonical values equal, numbers by value (a row's 3 is a read-back 3.0)."""
    a_null = a is None or (not isinstance(a, (list, dict)) and pd.isna(a))
    b_null = b is None or (not isinstance(b, (list, dict)) and pd.isna(b))
    if a_null or b_null:
        return a_null and b_null
    if isinstance(a, numbers.Number) and isinstance(b, numbers.Number) and not isinstance(a, bool):
        return float(a) == float(b)
    return str(a) == str(b)


def _pick_value(value: str) -> zf.PickListValue:
    v = zf.PickListValue()
    v.set_display_value(value)
    v.set_actual_value(value)
    return v


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


__all__ = ["ZohoDestination", "reason_for", "split_id", "trust_ca"]
