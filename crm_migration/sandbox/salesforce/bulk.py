"""Bulk API 2.0: ingest jobs (CSV insert / update / upsert / delete / hardDelete) and query jobs.

Ingest: after ``UploadComplete`` a single background worker processes the job in chunks of
1,000 rows (one store transaction each), so polling and other requests interleave. CSV rules:
an empty cell leaves the field unchanged (null on insert), ``#N/A`` sets it to null; relationship
columns use ``Relationship.IndexedField`` (``Account.Source_System_ID__c``,
``Parent.Source_System_ID__c``) and, for polymorphic lookups, the documented
``ObjectType:Relationship.IndexedField`` (``Case:What.Source_System_ID__c``,
``Contact:Who.Email``). An unknown column fails the job (``InvalidBatch : Field name not found
: X``); a value of the wrong type fails its row (INVALID_TYPE_ON_FIELD_IN_RECORD). Result CSVs
(``sf__Id,sf__Created`` / ``sf__Id,sf__Error`` + original columns, every value quoted) and the
job data live under ``state_dir/bulk/<jobId>/``. Jobs interrupted by a restart end Failed.

Query: the SOQL runs when the job is created; results are paged with ``maxRecords`` and a
``locator`` (base64 of the next row offset, ``Sforce-Locator: null`` on the last page).
"""

from __future__ import annotations

import base64
import csv
import io
import json
import queue
import shutil
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from crm_migration.sandbox.salesforce import soql
from crm_migration.sandbox.salesforce.dml import ExtRef, Item
from crm_migration.sandbox.salesforce.errors import ApiError, RecordError, RequestDecodeError
from crm_migration.sandbox.salesforce.records import QueryRunner
from crm_migration.sandbox.salesforce.rest import json_body, org_of, user_of, version
from crm_migration.sandbox.salesforce.schema import SObjectType
from crm_migration.sandbox.salesforce.values import coerce, now_sf

if TYPE_CHECKING:
    from crm_migration.sandbox.salesforce.org import Org

DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
MAX_UPLOAD = 150 * 1024 * 1024
CHUNK = 1000
NULL = "#N/A"


class JobError(Exception):
    pass


def _bulk_error(status: int, code: str, message: str) -> ApiError:
    return ApiError(status, code, message)


class BulkManager:
    def __init__(self, org: "Org") -> None:
        self.org = org
        self.root = org.bulk_dir
        self.jobs: dict[str, dict[str, Any]] = org.store.kv_all("jobs")
        self.lock = threading.Lock()
        self.queue: queue.Queue[str | None] = queue.Queue()
        for job in self.jobs.values():
            if job["state"] in ("UploadComplete", "InProgress") and job.get("jobType") == "V2Ingest":
                job.update(state="Failed", errorMessage="The job was interrupted by a sandbox restart")
                self.save(job)
        self.worker = threading.Thread(target=self._work, name="bulk-ingest", daemon=True)
        self.worker.start()

    def stop(self) -> None:
        self.queue.put(None)

    def save(self, job: dict[str, Any]) -> None:
        job["systemModstamp"] = now_sf()
        with self.lock:
            self.jobs[job["id"]] = job
        self.org.store.kv_put("jobs", job["id"], job)

    def dir(self, job_id: str) -> Path:
        d = self.root / job_id
        d.mkdir(exist_ok=True)
        return d

    def get(self, job_id: str, kind: str) -> dict[str, Any]:
        job = self.jobs.get(job_id)
        if job is None or job.get("jobType") != kind:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return job

    def delete(self, job_id: str) -> None:
        with self.lock:
            self.jobs.pop(job_id, None)
        self.org.store.kv_delete("jobs", job_id)
        shutil.rmtree(self.root / job_id, ignore_errors=True)

    def clear(self) -> None:
        for job_id in list(self.jobs):
            self.delete(job_id)

    # -- ingest processing ----------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            job_id = self.queue.get()
            if job_id is None:
                return
            job = self.jobs.get(job_id)
            if job is None or job["state"] != "UploadComplete":
                continue
            started = time.monotonic()
            job["state"] = "InProgress"
            self.save(job)
            try:
                self._process(job)
                if job["state"] == "InProgress":
                    job["state"] = "JobComplete"
            except JobError as exc:
                job.update(state="Failed", errorMessage=str(exc))
            except Exception as exc:  # noqa: BLE001 - a job fails, the server stays up
                job.update(state="Failed", errorMessage=f"UNKNOWN_EXCEPTION : {type(exc).__name__}: {exc}")
            ms = int((time.monotonic() - started) * 1000)
            job.update(totalProcessingTime=ms, apiActiveProcessingTime=ms)
            self.save(job)

    def _columns(self, obj: SObjectType, header: list[str], operation: str) -> list[tuple[str, Any]]:
        """Map each CSV column to ('field', Field) or ('ref', (Field, target, ext field name))."""
        seen: set[str] = set()
        out: list[tuple[str, Any]] = []
        for col in header:
            name = col.strip()
            if name.lower() in seen:
                raise JobError(f"InvalidBatch : Duplicate field name in header: {name}")
            seen.add(name.lower())
            if operation in ("delete", "hardDelete"):
                if name.lower() != "id":
                    raise JobError(f"InvalidBatch : Field name not found : {name}")
                out.append(("field", obj.field("Id")))
                continue
            if "." in name:
                rel_part, _, ext_name = name.partition(".")
                target = None
                if ":" in rel_part:
                    target, _, rel_part = rel_part.partition(":")
                rf = obj.relationship(rel_part)
                if rf is None:
                    raise JobError(f"InvalidBatch : Field name not found : {name}")
                if target is not None:
                    tobj = self.org.schema.get(target)
                    if tobj is None or tobj.name not in rf.reference_to:
                        raise JobError(f"InvalidBatch : Field name not found : {name}")
                    target = tobj.name
                out.append(("ref", (rf, target, ext_name)))
                continue
            f = obj.field(name)
            if f is None:
                raise JobError(f"InvalidBatch : Field name not found : {name}")
            out.append(("field", f))
        return out

    def _process(self, job: dict[str, Any]) -> None:
        org = self.org
        obj = org.schema.get(job["object"])
        if obj is None:
            raise JobError(f"InvalidJob : Invalid object: {job['object']}")
        d = self.dir(job["id"])
        data_file = d / "data.csv"
        if not data_file.exists():
            job.update(numberRecordsProcessed=0, numberRecordsFailed=0)
            self._write_results(job, [], [])
            return
        delim = DELIMITERS[job["columnDelimiter"]]
        with open(data_file, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, delimiter=delim)
            try:
                header = next(reader)
            except StopIteration:
                raise JobError("InvalidBatch : Empty CSV file") from None
            rows = list(reader)
        operation = job["operation"]
        cols = self._columns(obj, header, operation)
        ext = None
        if operation == "upsert":
            ext = obj.field(job["externalIdFieldName"])
            if not any(kind == "field" and f is ext for kind, f in cols):
                raise JobError(f"InvalidBatch : Field name not found : {job['externalIdFieldName']} "
                               f"(the external id column is required for upsert)")
        if operation == "update" and not any(kind == "field" and f.name == "Id" for kind, f in cols):
            raise JobError("InvalidBatch : Field name not found : Id (required for update)")
        results: list[tuple[str, bool, str | None, list[str]]] = []  # (id, created, error, row)
        user = job["createdById"]
        processed = failed = 0
        for start in range(0, len(rows), CHUNK):
            if self.jobs.get(job["id"], {}).get("state") == "Aborted":
                job["state"] = "Aborted"
                break
            chunk = [r for r in rows[start:start + CHUNK] if any(c != "" for c in r)]
            if not chunk:
                continue
            items = [self._item(obj, cols, row, operation, ext) for row in chunk]
            if operation in ("delete", "hardDelete"):
                ops_ids = [it.record_id for it in items]
                res = org.dml.delete(ops_ids, user, hard=operation == "hardDelete", expect=obj)
            else:
                res = org.dml.save(obj, operation, items, user, ext_field=ext)
            for row, item, r in zip(chunk, items, res):
                if r.success:
                    results.append((r.id or "", bool(r.created), None, row))
                else:
                    failed += 1
                    err = r.errors[0].as_bulk() if r.errors else "UNKNOWN_EXCEPTION:unknown error: --"
                    results.append((item.record_id or "" if operation != "insert" else "", False, err, row))
            processed += len(chunk)
            job.update(numberRecordsProcessed=processed, numberRecordsFailed=failed)
            self.save(job)
        unprocessed = rows[processed:] if job["state"] == "Aborted" else []
        job.update(numberRecordsProcessed=processed, numberRecordsFailed=failed)
        self._write_results(job, header, results, unprocessed)

    def _item(self, obj: SObjectType, cols: list[tuple[str, Any]], row: list[str], operation: str,
              ext: Any) -> Item:
        item = Item()
        try:
            if len(row) != len(cols):
                raise RecordError("INVALID_FIELD", f"Row has {len(row)} values but the header has {len(cols)} "
                                                   f"columns", [])
            for (kind, spec), cell in zip(cols, row):
                if kind == "field" and spec.name == "Id":
                    item.record_id = cell or None
                    if operation == "upsert" and ext is spec:
                        item.ext_value = cell
                    continue
                if cell == "":
                    if operation == "upsert" and ext is spec:
                        item.ext_value = ""
                    continue
                if kind == "ref":
                    rf, target, ext_name = spec
                    item.values[rf.name] = None if cell == NULL else ExtRef(target, ext_name, cell)
                    continue
                if spec.type == "base64":
                    item.extra[spec.name] = cell
                    continue
                value = None if cell == NULL else coerce(spec, cell, csv=True)
                item.values[spec.name] = value
                if operation == "upsert" and ext is spec:
                    item.ext_value = value
        except RequestDecodeError as exc:
            item.error = exc.record_error()
        except RecordError as exc:
            item.error = exc
        return item

    def _write_results(self, job: dict[str, Any], header: list[str],
                       results: list[tuple[str, bool, str | None, list[str]]],
                       unprocessed: list[list[str]] | None = None) -> None:
        d = self.dir(job["id"])
        eol = ENDINGS[job["lineEnding"]]
        delim = DELIMITERS[job["columnDelimiter"]]

        def writer(buf: io.StringIO):
            return csv.writer(buf, delimiter=delim, quoting=csv.QUOTE_ALL, lineterminator=eol)

        ok, bad, un = io.StringIO(), io.StringIO(), io.StringIO()
        writer(ok).writerow(["sf__Id", "sf__Created", *header])
        writer(bad).writerow(["sf__Id", "sf__Error", *header])
        writer(un).writerow(header)
        w_ok, w_bad, w_un = writer(ok), writer(bad), writer(un)
        for rid, created, err, row in results:
            if err is None:
                w_ok.writerow([rid, "true" if created else "false", *row])
            else:
                w_bad.writerow([rid, err, *row])
        for row in unprocessed or []:
            w_un.writerow(row)
        (d / "successfulResults.csv").write_text(ok.getvalue(), encoding="utf-8")
        (d / "failedResults.csv").write_text(bad.getvalue(), encoding="utf-8")
        (d / "unprocessedrecords.csv").write_text(un.getvalue(), encoding="utf-8")


# --- job shapes ---------------------------------------------------------------------------------------

def _job_public(job: dict[str, Any], full: bool) -> dict[str, Any]:
    keys = ["id", "operation", "object", "createdById", "createdDate", "systemModstamp", "state",
            "externalIdFieldName", "concurrencyMode", "contentType", "apiVersion", "contentUrl", "lineEnding",
            "columnDelimiter"]
    if job.get("jobType") == "V2Query":
        keys = [k for k in keys if k not in ("externalIdFieldName", "contentUrl")]
    out = {k: job.get(k) for k in keys if k in job}
    if full:
        extra = ["jobType", "numberRecordsProcessed", "retries", "totalProcessingTime"]
        if job.get("jobType") == "V2Ingest":
            extra += ["numberRecordsFailed", "apiActiveProcessingTime", "apexProcessingTime"]
        else:
            extra += ["isPkChunkingSupported"]
        for k in extra:
            out[k] = job.get(k, 0)
        if job.get("errorMessage"):
            out["errorMessage"] = job["errorMessage"]
    return out


def _new_job(request: Request, body: dict[str, Any], job_type: str) -> dict[str, Any]:
    org = org_of(request)
    now = now_sf()
    v = version(request)
    line = body.get("lineEnding") or "LF"
    delim = body.get("columnDelimiter") or "COMMA"
    if line not in ENDINGS:
        raise _bulk_error(400, "INVALIDJOB", f"InvalidJob : Invalid lineEnding: {line}")
    if delim not in DELIMITERS:
        raise _bulk_error(400, "INVALIDJOB", f"InvalidJob : Invalid columnDelimiter: {delim}")
    if (body.get("contentType") or "CSV") != "CSV":
        raise _bulk_error(400, "INVALIDJOB", "InvalidJob : Only CSV content is supported")
    return {"id": org.ids.new("750"), "createdById": user_of(request), "createdDate": now, "systemModstamp": now,
            "concurrencyMode": "Parallel", "contentType": "CSV", "apiVersion": float(v[1:]), "lineEnding": line,
            "columnDelimiter": delim, "jobType": job_type, "retries": 0, "numberRecordsProcessed": 0,
            "totalProcessingTime": 0}


async def ingest_root(request: Request) -> Response:
    org = org_of(request)
    mgr: BulkManager = org.bulk
    if request.method == "GET":
        jobs = [_job_public(j, False) | {"jobType": "V2Ingest"} for j in mgr.jobs.values()
                if j.get("jobType") == "V2Ingest"]
        return JSONResponse({"done": True, "records": jobs, "nextRecordsUrl": None})
    body = await json_body(request)
    if not isinstance(body, dict):
        raise _bulk_error(400, "INVALIDJOB", "InvalidJob : the request body must be a JSON object")
    operation = body.get("operation")
    if operation not in OPERATIONS:
        raise _bulk_error(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
    obj = org.schema.get(body.get("object") or "")
    if obj is None:
        raise _bulk_error(400, "INVALIDENTITY", f"sObject type '{body.get('object')}' is not supported.")
    ext_name = body.get("externalIdFieldName")
    if operation == "upsert":
        if not ext_name:
            raise _bulk_error(400, "INVALIDJOB", f"InvalidJob : External ID was blank for {obj.name}. An External ID "
                                                 f"must be specified for upsert.")
        ext = obj.field(ext_name)
        if ext is None or not (ext.external_id or ext.id_lookup or ext.name == "Id"):
            raise _bulk_error(400, "INVALIDJOB", f"InvalidJob : Field {ext_name} is not an External ID or indexed "
                                                 f"field for {obj.name}")
        ext_name = ext.name
    job = _new_job(request, body, "V2Ingest")
    job.update(operation=operation, object=obj.name, state="Open", numberRecordsFailed=0,
               apiActiveProcessingTime=0, apexProcessingTime=0,
               contentUrl=f"services/data/{version(request)}/jobs/ingest/{job['id']}/batches")
    if operation == "upsert":
        job["externalIdFieldName"] = ext_name
    else:
        job["externalIdFieldName"] = None
    mgr.save(job)
    return JSONResponse(_job_public(job, False), status_code=200)


async def ingest_job(request: Request) -> Response:
    org = org_of(request)
    mgr: BulkManager = org.bulk
    job = mgr.get(request.path_params["job_id"], "V2Ingest")
    if request.method == "GET":
        return JSONResponse(_job_public(job, True))
    if request.method == "DELETE":
        if job["state"] in ("Open", "UploadComplete", "InProgress"):
            raise _bulk_error(400, "INVALIDJOBSTATE", f"Deleting the job is not allowed in state {job['state']}")
        mgr.delete(job["id"])
        return Response(status_code=204)
    if request.method == "PATCH":
        body = await json_body(request)
        state = body.get("state") if isinstance(body, dict) else None
        if state == "UploadComplete":
            if job["state"] != "Open":
                raise _bulk_error(409, "INVALIDJOBSTATE", f"Job state {job['state']} cannot be changed to UploadComplete")
            job["state"] = "UploadComplete"
            mgr.save(job)
            mgr.queue.put(job["id"])
        elif state == "Aborted":
            if job["state"] not in ("Open", "UploadComplete", "InProgress"):
                raise _bulk_error(409, "INVALIDJOBSTATE", f"Job state {job['state']} cannot be changed to Aborted")
            job["state"] = "Aborted"
            mgr.save(job)
        else:
            raise _bulk_error(400, "INVALIDJOBSTATE", f"Invalid job state: {state}")
        return JSONResponse(_job_public(job, False))
    raise ApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed.")


async def ingest_batches(request: Request) -> Response:
    org = org_of(request)
    mgr: BulkManager = org.bulk
    job = mgr.get(request.path_params["job_id"], "V2Ingest")
    if job["state"] != "Open":
        raise _bulk_error(409, "INVALIDJOBSTATE", f"Data can only be uploaded to an Open job (state: {job['state']})")
    data_file = mgr.dir(job["id"]) / "data.csv"
    if data_file.exists():
        raise _bulk_error(409, "INVALIDJOBSTATE", "Data has already been uploaded for this job")
    size = 0
    tmp = data_file.with_suffix(".part")
    with open(tmp, "wb") as fh:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_UPLOAD:
                fh.close()
                tmp.unlink(missing_ok=True)
                raise _bulk_error(413, "INVALIDJOB", "InvalidJob : The upload exceeds the 150 MB limit")
            fh.write(chunk)
    tmp.replace(data_file)
    return Response(status_code=201)


async def ingest_results(request: Request) -> Response:
    org = org_of(request)
    mgr: BulkManager = org.bulk
    job = mgr.get(request.path_params["job_id"], "V2Ingest")
    kind = request.path_params["kind"]
    names = {"successfulresults": "successfulResults.csv", "failedresults": "failedResults.csv",
             "unprocessedrecords": "unprocessedrecords.csv"}
    fname = names.get(kind.lower())
    if fname is None:
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
    path = mgr.root / job["id"] / fname
    if job["state"] in ("Open", "UploadComplete", "InProgress"):
        if fname == "unprocessedrecords.csv":
            data_file = mgr.root / job["id"] / "data.csv"
            return Response(data_file.read_bytes() if data_file.exists() else b"", media_type="text/csv")
        raise _bulk_error(400, "INVALIDJOBSTATE", "Results are not available until the job is complete")
    if not path.exists():
        if fname == "unprocessedrecords.csv" and (mgr.root / job["id"] / "data.csv").exists():
            return Response((mgr.root / job["id"] / "data.csv").read_bytes(), media_type="text/csv")
        return Response(b"", media_type="text/csv")
    return Response(path.read_bytes(), media_type="text/csv")


# --- query jobs -------------------------------------------------------------------------------------

def _csv_value(f: Any, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and (f is None or f.scale == 0) else repr(value)
    if f is not None and f.type == "datetime" and isinstance(value, str) and value.endswith("+0000"):
        return value[:-5] + "Z"
    return str(value)


async def query_root(request: Request) -> Response:
    org = org_of(request)
    mgr: BulkManager = org.bulk
    if request.method == "GET":
        jobs = [_job_public(j, False) for j in mgr.jobs.values() if j.get("jobType") == "V2Query"]
        return JSONResponse({"done": True, "records": jobs, "nextRecordsUrl": None})
    body = await json_body(request)
    if not isinstance(body, dict) or body.get("operation") not in ("query", "queryAll"):
        raise _bulk_error(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {body.get('operation') if isinstance(body, dict) else None}")
    q = body.get("query") or ""
    runner = QueryRunner(org)
    compiled = runner.compile(q)
    if compiled.q.count:
        raise _bulk_error(400, "INVALIDJOB", "FeatureNotEnabled : Aggregate queries are not supported by Bulk API 2.0")
    if any(p.leaf is not None and p.leaf.type == "base64" for p in compiled.q.select):
        raise _bulk_error(400, "INVALIDJOB", "FeatureNotEnabled : Binary field not supported")
    job = _new_job(request, body, "V2Query")
    job.update(operation=body["operation"], object=compiled.obj.name, state="UploadComplete",
               isPkChunkingSupported=False)
    started = time.monotonic()
    rows = runner.select(compiled, include_deleted=body["operation"] == "queryAll")
    ev = soql.Evaluator(compiled, runner.fetch, runner.type_of)
    delim = DELIMITERS[job["columnDelimiter"]]
    eol = ENDINGS[job["lineEnding"]]
    d = mgr.dir(job["id"])
    header = [".".join(p.parts) for p in compiled.q.select]
    offsets = []
    with open(d / "results.csv", "w", encoding="utf-8", newline="") as fh:
        buf = io.StringIO()
        bw = csv.writer(buf, delimiter=delim, quoting=csv.QUOTE_MINIMAL, lineterminator=eol)
        bw.writerow(header)
        (d / "header.csv").write_text(buf.getvalue(), encoding="utf-8")
        pos = 0
        for rec in rows:
            line = io.StringIO()
            csv.writer(line, delimiter=delim, quoting=csv.QUOTE_MINIMAL, lineterminator=eol).writerow(
                [_csv_value(p.leaf if not p.is_type else None, ev.value(rec, p)) for p in compiled.q.select])
            text = line.getvalue()
            offsets.append(pos)
            fh.write(text)
            pos += len(text.encode("utf-8"))
        offsets.append(pos)
    (d / "offsets.json").write_text(json.dumps(offsets))
    ms = int((time.monotonic() - started) * 1000)
    job.update(numberRecordsProcessed=len(rows), totalProcessingTime=ms)
    mgr.save(job)
    public = _job_public(job, False)
    job["state"] = "JobComplete"  # finished; the creation answer still says UploadComplete
    mgr.save(job)
    return JSONResponse(public)


async def query_job(request: Request) -> Response:
    org = org_of(request)
    mgr: BulkManager = org.bulk
    job = mgr.get(request.path_params["job_id"], "V2Query")
    if request.method == "GET":
        return JSONResponse(_job_public(job, True))
    if request.method == "DELETE":
        mgr.delete(job["id"])
        return Response(status_code=204)
    if request.method == "PATCH":
        body = await json_body(request)
        if not isinstance(body, dict) or body.get("state") != "Aborted":
            raise _bulk_error(400, "INVALIDJOBSTATE", "Only Aborted can be set on a query job")
        if job["state"] == "JobComplete":
            raise _bulk_error(409, "INVALIDJOBSTATE", "The job is already complete")
        job["state"] = "Aborted"
        mgr.save(job)
        return JSONResponse(_job_public(job, False))
    raise ApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed.")


async def query_results(request: Request) -> Response:
    org = org_of(request)
    mgr: BulkManager = org.bulk
    job = mgr.get(request.path_params["job_id"], "V2Query")
    if job["state"] != "JobComplete":
        raise _bulk_error(400, "INVALIDJOBSTATE", "The job is not complete")
    d = mgr.root / job["id"]
    offsets = json.loads((d / "offsets.json").read_text())
    total = len(offsets) - 1
    try:
        max_records = int(request.query_params.get("maxRecords") or 0) or total or 1
        locator = request.query_params.get("locator")
        start = int(base64.b64decode(locator).decode()) if locator else 0
    except (ValueError, UnicodeDecodeError):
        raise _bulk_error(400, "INVALIDLOCATOR", "Invalid locator") from None
    if not 0 <= start <= total:
        raise _bulk_error(400, "INVALIDLOCATOR", "Invalid locator")
    end = min(total, start + max_records)
    with open(d / "results.csv", "rb") as fh:
        fh.seek(offsets[start])
        body = fh.read(offsets[end] - offsets[start])
    header = (d / "header.csv").read_bytes()
    next_loc = base64.b64encode(str(end).encode()).decode() if end < total else "null"
    return Response(header + body, media_type="text/csv",
                    headers={"Sforce-Locator": next_loc, "Sforce-NumberOfRecords": str(end - start)})
