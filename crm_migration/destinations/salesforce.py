"""Salesforce as a destination, through simple-salesforce (REST, sObject Collections, Bulk API 2.0, Tooling).

The OAuth token is requested from the org's own `/services/oauth2/token` (client credentials, or
username-password), the documented endpoint every My Domain serves; simple-salesforce's built-in
login insists on `*.salesforce.com` hosts, so it is handed the token and instance URL instead. The
same code reaches a real org and the local sandbox: only the settings differ.

Volume decides the API: below `bulk_threshold` records, sObject Collections upserts (200 a call);
from it on, Bulk API 2.0 upsert jobs with per-record successful/failed results.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import threading
import urllib.request
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import requests
from dagster import ConfigurableResource
from pydantic import PrivateAttr
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceOperationError,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

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

COLLECTION_SIZE = 200  # sObject Collections' limit per call
SOQL_IN_CHUNK = 300  # external ids per `IN (...)`, well inside the URL length limit
BULK_IN_CHUNK = 4000  # external ids per Bulk API 2.0 query job

# Salesforce status codes -> the project's reason codes (crm_migration.reasons).
REASON_BY_STATUS_CODE = {
    "REQUIRED_FIELD_MISSING": "DEST_REQUIRED_FIELD",
    "INVALID_EMAIL_ADDRESS": "DEST_INVALID_VALUE",
    "INVALID_TYPE_ON_FIELD_IN_RECORD": "DEST_INVALID_VALUE",
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": "DEST_INVALID_VALUE",
    "INVALID_FIELD": "DEST_INVALID_VALUE",
    "JSON_PARSER_ERROR": "DEST_INVALID_VALUE",
    "NUMBER_OUTSIDE_VALID_RANGE": "DEST_INVALID_VALUE",
    "STRING_TOO_LONG": "DEST_VALUE_TOO_LONG",
    "INVALID_CROSS_REFERENCE_KEY": "DEST_INVALID_REFERENCE",
    "FIELD_INTEGRITY_EXCEPTION": "DEST_INVALID_REFERENCE",
    "INVALID_ID_FIELD": "DEST_INVALID_REFERENCE",
    "DUPLICATE_VALUE": "DEST_DUPLICATE",
    "DUPLICATES_DETECTED": "DEST_DUPLICATE",
    "DUPLICATE_EXTERNAL_ID": "DEST_DUPLICATE",
    "INACTIVE_OWNER_OR_USER": "DEST_INACTIVE_OWNER",
    "INVALID_FIELD_FOR_INSERT_UPDATE": "DEST_PERMISSION",
    "INSUFFICIENT_ACCESS_OR_READONLY": "DEST_PERMISSION",
    "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY": "DEST_PERMISSION",
    "MAXIMUM_SIZE_OF_DOCUMENT": "DEST_FILE_TOO_LARGE",
    "MAXIMUM_SIZE_OF_ATTACHMENT": "DEST_FILE_TOO_LARGE",
    "STORAGE_LIMIT_EXCEEDED": "DEST_LIMIT_EXCEEDED",
    "REQUEST_LIMIT_EXCEEDED": "DEST_LIMIT_EXCEEDED",
    "ENTITY_IS_DELETED": "DEST_NOT_FOUND",
    "NOT_FOUND": "DEST_NOT_FOUND",
}

_KIND_BY_SOAP_TYPE = {
    "id": "id", "string": "text", "textarea": "textarea", "email": "email", "phone": "phone", "url": "url",
    "picklist": "picklist", "multipicklist": "multipicklist", "reference": "reference", "boolean": "boolean",
    "int": "integer", "double": "decimal", "currency": "decimal", "percent": "decimal", "date": "date",
    "datetime": "datetime", "base64": "base64", "combobox": "picklist", "encryptedstring": "text",
}
_PLAN_TYPES = {  # schema-plan type -> Tooling CustomField metadata
    "Text": {"type": "Text"}, "TextArea": {"type": "TextArea"}, "LongTextArea": {"type": "LongTextArea", "visibleLines": 5},
    "Number": {"type": "Number"}, "Currency": {"type": "Currency"}, "Percent": {"type": "Percent"},
    "Checkbox": {"type": "Checkbox", "defaultValue": "false"}, "Date": {"type": "Date"}, "DateTime": {"type": "DateTime"},
    "Email": {"type": "Email"}, "Phone": {"type": "Phone"}, "Url": {"type": "Url"},
    "Picklist": {"type": "Picklist"}, "MultiselectPicklist": {"type": "MultiselectPicklist", "visibleLines": 4},
    "Lookup": {"type": "Lookup"},
}


def reason_for(status_code: str | None) -> str:
    return REASON_BY_STATUS_CODE.get(status_code or "", "DEST_UNKNOWN")


def _error_list(content: Any) -> list[dict]:
    if isinstance(content, (bytes, str)):
        try:
            content = json.loads(content)
        except ValueError:
            return [{"errorCode": None, "message": str(content)[:500]}]
    if isinstance(content, dict):
        content = [content]
    return content if isinstance(content, list) else []


class SalesforceDestination(ConfigurableResource):
    """Salesforce Sales Cloud (or the local Salesforce sandbox), reached through simple-salesforce."""

    instance_url: str
    client_id: str
    client_secret: str
    username: str | None = None
    password: str | None = None
    security_token: str | None = None
    ca_file: str | None = None
    api_version: str = "59.0"
    bulk_threshold: int = 2000
    max_file_bytes: int = 25 * 1024 * 1024
    bulk_poll_seconds: float = 0.2
    # The destination org's optional settings (CA file, username login) may come from SALESFORCE_* variables,
    # read when it connects; another org reached with this class (a Salesforce-based source) turns that off.
    env_fallback: bool = True

    _sf: Salesforce | None = PrivateAttr(default=None)
    _session: requests.Session | None = PrivateAttr(default=None)
    _retry: RetryPolicy = PrivateAttr(default_factory=RetryPolicy)
    _describe_cache: dict[str, ObjectSchema] = PrivateAttr(default_factory=dict)
    _last_retry_after: threading.local = PrivateAttr(default_factory=threading.local)

    name: ClassVar[str] = "salesforce"

    # --- connection ------------------------------------------------------------------------

    @property
    def sf(self) -> Salesforce:
        if self._sf is None:
            self._authenticate()
        return self._sf

    def _http(self) -> requests.Session:
        if self._session is None:
            session = requests.Session()
            # The CA file of a sandbox (or a corporate proxy); a real org needs none. Read when the resource is used.
            ca_file = self.ca_file or self._env("SALESFORCE_CA_FILE")
            if ca_file:
                # requests lets REQUESTS_CA_BUNDLE override session.verify; keep the env's proxies, not its CA.
                session.trust_env = False
                session.proxies.update(urllib.request.getproxies())
            session.verify = ca_file or True
            session.hooks["response"].append(self._remember_retry_after)
            self._session = session
        return self._session

    def _env(self, name: str) -> str | None:
        return os.environ.get(name) if self.env_fallback else None

    def _remember_retry_after(self, response: requests.Response, *args, **kwargs) -> None:
        value = response.headers.get("Retry-After")
        try:
            self._last_retry_after.value = float(value) if value else None
        except ValueError:
            self._last_retry_after.value = None

    def _authenticate(self) -> None:
        form = {"client_id": self.client_id, "client_secret": self.client_secret}
        username = self.username or self._env("SALESFORCE_USERNAME")
        if username:
            password = self.password or self._env("SALESFORCE_PASSWORD") or ""
            token = self.security_token or self._env("SALESFORCE_SECURITY_TOKEN") or ""
            form |= {"grant_type": "password", "username": username, "password": password + token}
        else:
            form["grant_type"] = "client_credentials"
        try:
            resp = self._http().post(f"{self.instance_url.rstrip('/')}/services/oauth2/token", data=form, timeout=30)
        except requests.RequestException as e:
            raise TransientError(f"Salesforce token endpoint unreachable: {type(e).__name__}") from None
        if resp.status_code >= 500:
            raise TransientError(f"Salesforce token endpoint answered {resp.status_code}")
        if resp.status_code != 200:
            body = resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {}
            # The description names the grant problem; it never echoes the secret.
            raise AuthenticationError(f"Salesforce refused the credentials: {body.get('error')}: {body.get('error_description')}")
        token = resp.json()
        self._sf = Salesforce(instance_url=token.get("instance_url") or self.instance_url, session_id=token["access_token"],
                              session=self._http(), version=self.api_version)

    def _call(self, fn):
        """Run one API call with the project's retry policy, translating simple-salesforce's errors."""

        def attempt():
            try:
                return fn(self.sf)
            except SalesforceExpiredSession:
                self._sf = None
                raise AuthenticationError("Salesforce session expired") from None
            except SalesforceGeneralError as e:
                wait = getattr(self._last_retry_after, "value", None)
                if e.status == 429:
                    raise ThrottledError("Salesforce throttled the request (429)", wait) from None
                if e.status >= 500:
                    raise TransientError(f"Salesforce answered {e.status}", wait) from None
                raise self._permanent(e) from None
            except SalesforceRefusedRequest as e:
                raise self._permanent(e) from None
            except (SalesforceMalformedRequest, SalesforceResourceNotFound) as e:
                raise self._permanent(e) from None
            except SalesforceOperationError as e:
                # A Bulk API job that failed or timed out as a whole: re-running the job is safe (upsert).
                raise TransientError(f"Salesforce bulk job did not complete: {str(e)[:200]}") from None
            except (requests.ConnectionError, requests.Timeout) as e:
                raise TransientError(f"connection to Salesforce failed: {type(e).__name__}") from None

        return self._retry.run(attempt, reauthenticate=self._authenticate)

    @staticmethod
    def _permanent(e: SalesforceError) -> PermanentError:
        errors = _error_list(e.content)
        code = errors[0].get("errorCode") if errors else None
        message = errors[0].get("message") if errors else str(e)
        return PermanentError(f"Salesforce refused {e.resource_name or 'the request'}: {code}: {message}", reason_for(code), code)

    @property
    def retries(self) -> int:
        return self._retry.retried

    # --- describe, users ---------------------------------------------------------------------

    def describe(self, objects: list[str]) -> dict[str, ObjectSchema]:
        result = {}
        for obj in objects:
            if obj not in self._describe_cache:
                try:
                    raw = self._call(lambda sf: getattr(sf, obj).describe())
                except PermanentError as e:
                    if e.reason_code == "DEST_NOT_FOUND":
                        continue  # the org has no such object (yet): the schema plan says so
                    raise
                self._describe_cache[obj] = ObjectSchema(obj, {f["name"]: _field_schema(f) for f in raw["fields"]})
            result[obj] = self._describe_cache[obj]
        return result

    def users(self) -> pd.DataFrame:
        # Internal users only: partner and community users cannot own what a migration brings in.
        rows = self._call(lambda sf: sf.query_all("SELECT Id, Email, IsActive, Name FROM User WHERE UserType = 'Standard'")["records"])
        return pd.DataFrame(
            {"id": [r["Id"] for r in rows], "email": [(r.get("Email") or "").lower() for r in rows],
             "active": [bool(r.get("IsActive")) for r in rows], "name": [r.get("Name") for r in rows]},
        ).astype({"id": "string", "email": "string", "name": "string"})

    # --- upsert ------------------------------------------------------------------------------

    def upsert(self, obj: str, external_id_field: str, records: pd.DataFrame) -> pd.DataFrame:
        if records.empty:
            return outcomes([])
        schema = self.describe([obj])[obj]
        if external_id_field == "Id":
            return self._write_by_id(obj, records, schema)
        if len(records) >= self.bulk_threshold:
            return self._bulk_upsert(obj, external_id_field, records, schema)
        parts = [self._collection_upsert(obj, external_id_field, records.iloc[i:i + COLLECTION_SIZE], schema)
                 for i in range(0, len(records), COLLECTION_SIZE)]
        return pd.concat(parts, ignore_index=True)

    def _collection_upsert(self, obj: str, ext: str, chunk: pd.DataFrame, schema: ObjectSchema) -> pd.DataFrame:
        body = {"allOrNone": False, "records": [{"attributes": {"type": obj}, **r} for r in _json_records(chunk, schema)]}
        answers = self._call(lambda sf: sf.restful(f"composite/sobjects/{obj}/{ext}", method="PATCH", json=body))
        rows = []
        for ext_id, answer in zip(chunk[ext], answers):
            if answer.get("success"):
                rows.append({"external_id": ext_id, "destination_id": answer["id"],
                             "action": "created" if answer.get("created") else "updated"})
            else:
                err = (answer.get("errors") or [{}])[0]
                rows.append(_failure(ext_id, err.get("statusCode"), err.get("message"), err.get("fields")))
        return outcomes(rows)

    def _write_by_id(self, obj: str, records: pd.DataFrame, schema: ObjectSchema) -> pd.DataFrame:
        """Objects without an external id: rows with an Id are updated, rows without one created (sObject Collections).

        Outcomes name each row by its position in `records`. A create is not idempotent on its own: the
        pipeline finds an interrupted create by the record's natural key before it sends again.
        """
        records = records.reset_index(drop=True)
        has_id = records["Id"].notna()
        rows = []
        # An update leaves out what cannot change after create (an invitee's event, say): it is part of the key.
        fixed = [c for c in records.columns if c != "Id" and c in schema.fields and not schema.fields[c].updateable]
        for method, part in (("PATCH", records[has_id].drop(columns=fixed)), ("POST", records[~has_id].drop(columns="Id"))):
            for i in range(0, len(part), COLLECTION_SIZE):
                chunk = part.iloc[i:i + COLLECTION_SIZE]
                body = {"allOrNone": False, "records": [{"attributes": {"type": obj}, **r} for r in _json_records(chunk, schema)]}
                answers = self._call(lambda sf: sf.restful("composite/sobjects", method=method, json=body))
                for position, answer in zip(chunk.index, answers):
                    if answer.get("success"):
                        rows.append({"external_id": str(position), "destination_id": answer["id"],
                                     "action": "updated" if method == "PATCH" else "created"})
                    else:
                        err = (answer.get("errors") or [{}])[0]
                        rows.append(_failure(str(position), err.get("statusCode"), err.get("message"), err.get("fields")))
        return outcomes(rows)

    def _bulk_upsert(self, obj: str, ext: str, records: pd.DataFrame, schema: ObjectSchema) -> pd.DataFrame:
        csv_text = _bulk_csv(records, schema)

        def run(sf: Salesforce) -> pd.DataFrame:
            handler = getattr(sf.bulk2, obj)
            tmp = io.StringIO(csv_text)
            path = _spill(tmp)
            try:
                jobs = handler.upsert(csv_file=str(path), external_id_field=ext, wait=self.bulk_poll_seconds)
            finally:
                path.unlink(missing_ok=True)
            parts = []
            for job in jobs:
                ok = _read_csv(handler.get_successful_records(job["job_id"]))
                bad = _read_csv(handler.get_failed_records(job["job_id"]))
                todo = _read_csv(handler.get_unprocessed_records(job["job_id"]))
                if not ok.empty:
                    parts.append(pd.DataFrame({"external_id": ok[ext], "destination_id": ok["sf__Id"],
                                               "action": ok["sf__Created"].str.lower().map({"true": "created", "false": "updated"})}))
                if not bad.empty:
                    code, message = _split_bulk_error(bad["sf__Error"])
                    parts.append(pd.DataFrame({"external_id": bad[ext], "destination_id": pd.NA, "action": "failed",
                                               "reason_code": code.map(reason_for), "dest_code": code, "dest_message": message}))
                if not todo.empty:
                    parts.append(pd.DataFrame({"external_id": todo[ext], "action": "failed", "reason_code": "DEST_TRANSIENT_EXHAUSTED",
                                               "dest_message": "not processed by the bulk job"}))
            return outcomes(pd.concat(parts, ignore_index=True) if parts else [])

        return self._call(run)

    # --- read back, delete -------------------------------------------------------------------

    def read_back(self, obj: str, external_id_field: str, external_ids: list[str], fields: list[str]) -> pd.DataFrame:
        schema = self.describe([obj])[obj]
        select = ", ".join(dict.fromkeys(["Id", external_id_field, *fields]))
        latest = " AND IsLatest = true" if obj == "ContentVersion" else ""
        ids = [i for i in dict.fromkeys(external_ids) if isinstance(i, str)]
        if len(ids) > self.bulk_threshold:
            # Bulk API 2.0 query jobs, each with a few thousand ids (Bulk SOQL allows 100,000 characters).
            frames = []
            for i in range(0, len(ids), BULK_IN_CHUNK):
                soql = f"SELECT {select} FROM {obj} WHERE {external_id_field} IN ({_soql_list(ids[i:i + BULK_IN_CHUNK])}){latest}"
                frames.append(self._call(lambda sf: _bulk_query(getattr(sf.bulk2, obj), soql, self.bulk_poll_seconds)))
            frame = pd.concat(frames, ignore_index=True)
            frame = frame.reindex(columns=list(dict.fromkeys([*frame.columns, "Id", external_id_field, *fields])))
            return _canonical_frame(frame, schema, external_id_field, fields, from_csv=True)
        records: list[dict] = []
        for i in range(0, len(ids), SOQL_IN_CHUNK):
            soql = f"SELECT {select} FROM {obj} WHERE {external_id_field} IN ({_soql_list(ids[i:i + SOQL_IN_CHUNK])}){latest}"
            records += self._call(lambda sf: sf.query_all(soql)["records"])
        frame = pd.DataFrame([{k: v for k, v in r.items() if k != "attributes"} for r in records],
                             columns=list(dict.fromkeys(["Id", external_id_field, *fields])))
        return _canonical_frame(frame, schema, external_id_field, fields, from_csv=False)

    def delete(self, obj: str, ids: list[str]) -> pd.DataFrame:
        if obj == "ContentVersion":  # a file is deleted with its document (versions and links go with it)
            return self._delete_files(ids)
        rows = []
        for i in range(0, len(ids), COLLECTION_SIZE):
            chunk = ids[i:i + COLLECTION_SIZE]
            answers = self._call(lambda sf: sf.restful("composite/sobjects", method="DELETE",
                                                        params={"ids": ",".join(chunk), "allOrNone": "false"}))
            for dest_id, answer in zip(chunk, answers):
                if answer.get("success"):
                    rows.append({"destination_id": dest_id, "action": "deleted"})
                else:
                    err = (answer.get("errors") or [{}])[0]
                    rows.append(_failure(None, err.get("statusCode"), err.get("message"), None) | {"destination_id": dest_id})
        return outcomes(rows)

    def _delete_files(self, version_ids: list[str]) -> pd.DataFrame:
        docs: dict[str, str] = {}
        for i in range(0, len(version_ids), SOQL_IN_CHUNK):
            quoted = ",".join(f"'{v}'" for v in version_ids[i:i + SOQL_IN_CHUNK])
            soql = f"SELECT Id, ContentDocumentId FROM ContentVersion WHERE Id IN ({quoted})"
            docs |= {r["Id"]: r["ContentDocumentId"] for r in self._call(lambda sf: sf.query_all(soql)["records"])}
        gone = self.delete("ContentDocument", sorted(set(docs.values()))).set_index("destination_id")
        rows = []
        for vid in version_ids:
            doc = docs.get(vid)
            if doc is None:
                rows.append(_failure(None, "NOT_FOUND", "no such file version", None) | {"destination_id": vid})
            else:
                rows.append(gone.loc[doc].to_dict() | {"destination_id": vid})
        return outcomes(rows)

    # --- files -------------------------------------------------------------------------------

    def upload_files(self, obj: str, external_id_field: str, files: pd.DataFrame, path_column: str) -> pd.DataFrame:
        """ContentVersion per file; a file already there with the same checksum is left alone."""
        schema = self.describe([obj])[obj]
        existing = self.read_back(obj, external_id_field, files[external_id_field].tolist(), ["Checksum", "ContentDocumentId", "ContentUrl"])
        by_ext = existing.set_index("external_id") if not existing.empty else pd.DataFrame()
        links = files[FILE_LINK] if FILE_LINK in files else pd.Series(pd.NA, index=files.index)
        rows = []
        # One REST call per file is what the API offers for bodies; the loop is over files, not table rows.
        for record in _json_records(files.drop(columns=[path_column, FILE_LINK], errors="ignore"), schema, keep_nulls=False):
            ext_id = record[external_id_field]
            row = files[external_id_field] == ext_id
            if pd.isna(files.loc[row, path_column].iloc[0]) and pd.notna(links[row].iloc[0]):
                rows.append(self._link(obj, external_id_field, ext_id, record, str(links[row].iloc[0]), by_ext))
                continue
            path = Path(files.loc[row, path_column].iloc[0])
            size = path.stat().st_size
            if size > self.max_file_bytes:
                rows.append(_failure(ext_id, "MAXIMUM_SIZE_OF_DOCUMENT", f"{size} bytes is over the {self.max_file_bytes} byte limit", None))
                continue
            md5 = _md5(path)
            if ext_id in by_ext.index:
                current = by_ext.loc[ext_id]
                if current["Checksum"] == md5:
                    rows.append({"external_id": ext_id, "destination_id": current["destination_id"], "action": "unchanged"})
                    continue
                record.pop("FirstPublishLocationId", None)  # a new version stays on its document
                record["ContentDocumentId"] = current["ContentDocumentId"]
            record["VersionData"] = base64.b64encode(path.read_bytes()).decode("ascii")
            try:
                answer = self._call(self._create_file_once(obj, external_id_field, ext_id, {"Checksum": md5}, record))
                rows.append({"external_id": ext_id, "destination_id": answer["id"],
                             "action": "updated" if ext_id in by_ext.index else "created"})
            except PermanentError as e:
                rows.append(_failure(ext_id, e.dest_code, str(e), None))
        return outcomes(rows)

    def _link(self, obj: str, ext_field: str, ext_id: str, record: dict, url: str, by_ext: pd.DataFrame) -> dict:
        """A web-link version (ContentUrl) for a file kept elsewhere; an unchanged link is left alone."""
        if ext_id in by_ext.index:
            current = by_ext.loc[ext_id]
            if current["ContentUrl"] == url:
                return {"external_id": ext_id, "destination_id": current["destination_id"], "action": "unchanged"}
            record.pop("FirstPublishLocationId", None)
            record["ContentDocumentId"] = current["ContentDocumentId"]
        record["ContentUrl"] = url
        try:
            answer = self._call(self._create_file_once(obj, ext_field, ext_id, {"ContentUrl": url}, record))
        except PermanentError as e:
            return _failure(ext_id, e.dest_code, str(e), None)
        return {"external_id": ext_id, "destination_id": answer["id"], "action": "updated" if ext_id in by_ext.index else "created"}

    @staticmethod
    def _create_file_once(obj: str, ext_field: str, ext_id: str, same: dict, record: dict):
        """A file insert is not an upsert: before retrying, look whether the failed attempt landed after all
        (a latest version with this external id and the `same` values: the checksum, or a link's URL)."""
        tried = []

        def attempt(sf: Salesforce) -> dict:
            if tried:
                soql = f"SELECT Id, {', '.join(same)} FROM {obj} WHERE {ext_field} = '{ext_id}' AND IsLatest = true"
                found = [r for r in sf.query(soql)["records"] if all(r.get(k) == v for k, v in same.items())]
                if found:
                    return {"id": found[0]["Id"]}
            tried.append(True)
            return getattr(sf, obj).create(record)

        return attempt

    # --- schema plan -------------------------------------------------------------------------

    def apply_schema_plan(self, plan: SchemaPlan) -> list[str]:
        applied = []
        for o in plan.objects:
            body = {"FullName": o.name, "Metadata": {
                "label": o.label, "pluralLabel": o.plural_label, "deploymentStatus": "Deployed", "sharingModel": "ReadWrite",
                "nameField": {"type": o.name_field, "label": o.name_field_label}}}
            self._call(lambda sf: sf.toolingexecute("sobjects/CustomObject/", method="POST", json=body))
            applied.append(f"created object {o.name} ({o.label})")
        for f in plan.fields:
            meta: dict[str, Any] = {"label": f.label, **_PLAN_TYPES[f.type]}
            if f.length:
                meta["length"] = f.length
            if f.precision:
                meta["precision"], meta["scale"] = f.precision, f.scale or 0
            if f.external_id:
                meta["externalId"] = True
            if f.unique:
                meta["unique"] = True
            if f.description:
                meta["description"] = f.description
            if f.reference_to:
                meta["referenceTo"] = f.reference_to
                meta["relationshipName"] = f.name.removesuffix("__c") + "s"
                meta["deleteConstraint"] = "SetNull"
            if f.values:
                meta["valueSet"] = {"restricted": True, "valueSetDefinition": {
                    "value": [{"fullName": v, "label": v, "default": False} for v in f.values]}}
            body = {"FullName": f"{f.object}.{f.name}", "Metadata": meta}
            self._call(lambda sf: sf.toolingexecute("sobjects/CustomField/", method="POST", json=body))
            applied.append(f"created field {f.object}.{f.name} ({f.type})")
        for v in plan.values:
            self._add_standard_values(v.object, v.field, list(v.values))
            applied.append(f"added {', '.join(v.values)} to {v.object}.{v.field}")
        self._describe_cache.clear()
        return applied

    def _add_standard_values(self, obj: str, field: str, values: list[str]) -> None:
        # Standard picklists are StandardValueSets, mostly named object+field (CaseStatus, TaskType); a set
        # shared by several objects is named after the field alone (LeadSource, Industry).
        for name in (f"{obj}{field}", field):
            found = self._call(lambda sf: sf.toolingexecute(
                f"query/?q=SELECT+Id,Metadata+FROM+StandardValueSet+WHERE+MasterLabel='{name}'"))
            if found.get("records"):
                break
        else:
            raise PermanentError(f"no StandardValueSet {obj}{field} or {field} for {obj}.{field}", "DEST_UNKNOWN")
        record = found["records"][0]
        metadata = record["Metadata"]
        have = {v["fullName"] for v in metadata.get("standardValue", [])}
        metadata["standardValue"] = metadata.get("standardValue", []) + [
            {"fullName": v, "label": v, "default": False} for v in values if v not in have]
        self._call(lambda sf: sf.toolingexecute(f"sobjects/StandardValueSet/{record['Id']}", method="PATCH",
                                                json={"Metadata": metadata}))

    # --- for the sandbox's owner of the org (limits shown in reports) --------------------------

    def limits(self) -> dict:
        return self._call(lambda sf: sf.limits())


Destination.register(SalesforceDestination)


# --- helpers: wire formats ---------------------------------------------------------------------


def _field_schema(f: dict) -> FieldSchema:
    kind = _KIND_BY_SOAP_TYPE.get(f["type"], "text")
    return FieldSchema(
        name=f["name"], kind=kind, label=f.get("label", ""), length=f.get("length") or None,
        required=not f.get("nillable", True) and f.get("createable", False) and not f.get("defaultedOnCreate", False),
        createable=f.get("createable", False), updateable=f.get("updateable", False),
        external_id=f.get("externalId", False), unique=f.get("unique", False),
        picklist_values=tuple(v["value"] for v in f.get("picklistValues") or [] if v.get("active", True)),
        restricted=bool(f.get("restrictedPicklist")), reference_to=tuple(f.get("referenceTo") or ()),
    )


def _failure(ext_id, code, message, fields) -> dict:
    suffix = f" ({', '.join(fields)})" if fields else ""
    return {"external_id": ext_id, "destination_id": None, "action": "failed", "reason_code": reason_for(code),
            "dest_code": code, "dest_message": f"{message}{suffix}"}


def _json_records(df: pd.DataFrame, schema: ObjectSchema, keep_nulls: bool = True) -> list[dict]:
    """Records as JSON-ready dicts; null means 'set to null' (REST), canonical values are Salesforce's wire values."""
    out = df.astype(object).where(df.notna(), None)
    records = out.to_dict("records")
    if not keep_nulls:
        records = [{k: v for k, v in r.items() if v is not None} for r in records]
    return records


def _bulk_csv(df: pd.DataFrame, schema: ObjectSchema) -> str:
    """Bulk API 2.0 CSV: '#N/A' clears a field (an empty cell would leave it unchanged)."""
    out = pd.DataFrame(index=df.index)
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_bool_dtype(s.dtype):
            text = s.map({True: "true", False: "false"})
        elif pd.api.types.is_float_dtype(s.dtype):
            text = s.map(lambda v: format(v, ".15g") if pd.notna(v) else None)
        else:
            text = s.astype("string")
        out[col] = text.astype("string").fillna("#N/A")
    return out.to_csv(index=False, lineterminator="\n")


def _spill(buffer: io.StringIO) -> Path:
    import tempfile

    fd, name = tempfile.mkstemp(suffix=".csv", prefix="sf-bulk-")
    with open(fd, "w", encoding="utf-8", newline="") as f:
        f.write(buffer.getvalue())
    return Path(name)


def _read_csv(text: str | bytes | None) -> pd.DataFrame:
    if not text:
        return pd.DataFrame()
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return pd.read_csv(io.StringIO(text), dtype="string", keep_default_na=False, na_values=[""])


def _split_bulk_error(errors: pd.Series) -> tuple[pd.Series, pd.Series]:
    """`STATUS_CODE:message:fields --` -> (status code, message)."""
    parts = errors.fillna("").str.split(":", n=1, expand=True)
    code = parts[0].astype("string")
    message = (parts[1] if 1 in parts else pd.Series("", index=errors.index)).astype("string").str.rstrip(" -")
    return code, message


def _soql_list(values: list[str]) -> str:
    return ",".join("'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'" for v in values)


def _bulk_query(handler, soql: str, poll_seconds: float) -> pd.DataFrame:
    # simple-salesforce sleeps `wait` seconds before its first poll (5 by default).
    frames = [_read_csv(page) for page in handler.query(soql, wait=poll_seconds)]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _canonical_frame(frame: pd.DataFrame, schema: ObjectSchema, ext: str, fields: list[str], from_csv: bool) -> pd.DataFrame:
    out = pd.DataFrame({"external_id": frame.get(ext, pd.Series(dtype="string")).astype("string"),
                        "destination_id": frame.get("Id", pd.Series(dtype="string")).astype("string")})
    for name in fields:
        s = frame[name] if name in frame else pd.Series(pd.NA, index=frame.index)
        if from_csv:
            s = s.replace("", pd.NA)
        out[name] = canonical(s, schema.fields.get(name))
    return out.reset_index(drop=True)


def canonical(s: pd.Series, f: FieldSchema | None) -> pd.Series:
    """Salesforce wire values -> the canonical form of crm_migration.destinations.base."""
    kind = f.kind if f else "text"
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
    return s.astype("string")


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
