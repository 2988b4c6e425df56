"""Bulk Write: a zipped CSV uploaded to the file-upload server (``POST /crm/v8/upload`` with headers
``feature: bulk-write`` and ``X-CRM-ORG: <zgid>``), a job (``POST /crm/bulk/v8/write``) that maps CSV
columns to fields (lookups and the owner ``find_by`` id, or a unique field), its status
(``GET /crm/bulk/v8/write/{id}``: ADDED, IN PROGRESS, COMPLETED) and its result file: a zip with one
CSV of the first three uploaded columns plus STATUS (ADDED, UPDATED, SKIPPED), RECORD_ID and ERRORS
(``CODE-field``). Rows go through the same write engine as the records API. At most
``bulk_write_max_records`` (25,000) rows a file; jobs run one at a time on a worker thread, and a job
interrupted by a restart runs again from the start (its upserts are idempotent).
"""

from __future__ import annotations

import csv
import io
import queue
import threading
import time
import zipfile
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from crm_migration.sandbox.zoho import engine
from crm_migration.sandbox.zoho.api import crm_of, json_body, user_of
from crm_migration.sandbox.zoho.crm import Crm, now_iso
from crm_migration.sandbox.zoho.errors import ApiError, RecordError, invalid
from crm_migration.sandbox.zoho.files import multipart_files

MAX_FILE_BYTES = 25 * 1024 * 1024
CHUNK = 500


def _read_csv(data: bytes) -> list[list[str]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = [n for n in zf.namelist() if n.lower().endswith(".csv")]
        if len(names) != 1:
            raise ValueError("the zip must hold exactly one CSV file")
        text = zf.read(names[0]).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


async def upload(request: Request) -> Response:
    crm = crm_of(request)
    if request.headers.get("feature") != "bulk-write":
        return JSONResponse({"code": "NOT_SUPPORTED_FEATURE", "details": {"created_time": now_iso()},
                             "message": "Feature is not supported", "status": "error"}, status_code=400)
    if request.headers.get("x-crm-org") != crm.zgid:
        return JSONResponse({"code": "INVALID_ORG", "details": {"header": "X-CRM-ORG"},
                             "message": "the X-CRM-ORG header does not name this org", "status": "error"}, status_code=400)
    parts = [p for p in await multipart_files(request) if p[0] == "file"]
    if len(parts) != 1:
        raise ApiError(400, "MANDATORY_NOT_FOUND", "required field not found", {"api_name": "file"})
    data = parts[0][2]
    if len(data) > MAX_FILE_BYTES:
        return JSONResponse({"code": "FILE_TOO_LARGE", "details": {"maximum_size": MAX_FILE_BYTES},
                             "message": "File size too large to process", "status": "error"}, status_code=400)
    try:
        rows = _read_csv(data)
    except (zipfile.BadZipFile, ValueError, UnicodeDecodeError):
        return JSONResponse({"code": "INVALID_FILE_FORMAT", "details": {"created_time": now_iso()},
                             "message": "invalid file format. only zip format is supported", "status": "error"},
                            status_code=400)
    limit = int(crm.config["bulk_write_max_records"])
    if len(rows) - 1 > limit:
        return JSONResponse({"code": "LIMIT_EXCEEDED", "details": {"maximum_records": limit},
                             "message": f"the file has more than {limit} records", "status": "error"}, status_code=400)
    file_id = crm.new_id()
    (crm.bulk_dir / f"{file_id}.upload.zip").write_bytes(data)
    crm.store.kv_put("bulk_files", file_id, {"name": parts[0][1] or "file.zip", "rows": len(rows) - 1})
    crm.persist_counter()
    return JSONResponse({"status": "success", "code": "FILE_UPLOAD_SUCCESS", "message": "file uploaded.",
                         "details": {"file_id": file_id, "created_time": now_iso()}})


def _bad(api_name: str, message: str = "invalid data") -> ApiError:
    return ApiError(400, "INVALID_DATA", message, {"api_name": api_name})


async def create_job(request: Request) -> Response:
    crm = crm_of(request)
    body = await json_body(request)
    operation = body.get("operation")
    if operation not in ("insert", "update", "upsert"):
        raise _bad("operation")
    resources = body.get("resource")
    if not isinstance(resources, list) or not resources:
        raise ApiError(400, "MANDATORY_NOT_FOUND", "required field not found", {"api_name": "resource"})
    files = crm.store.kv_all("bulk_files")
    for res in resources:
        module = crm.schema.get(((res or {}).get("module") or {}).get("api_name"))
        if module is None:
            raise _bad("module", "the module name given seems to be invalid")
        if not module.bulk_write:
            raise ApiError(400, "NOT_SUPPORTED", f"bulk write is not supported for {module.api_name}", {"api_name": "module"})
        if res.get("file_id") not in files:
            raise _bad("file_id", "the file id given seems to be invalid")
        find_by = res.get("find_by")
        if operation != "insert":
            usable = {"id", *module.dedupe, *(f.api_name for f in module.unique_fields())}
            if not find_by:
                raise ApiError(400, "MANDATORY_NOT_FOUND", "required field not found", {"api_name": "find_by"})
            if find_by not in usable:
                raise _bad("find_by", "the find_by field must be id or a unique field")
        for fm in res.get("field_mappings") or []:
            name = fm.get("api_name")
            if name not in ("$se_module", "id") and (name not in module.fields or module.fields[name].read_only):
                raise _bad("field_mappings", f"invalid field {name}")
            if not isinstance(fm.get("index"), int) and not fm.get("default_value"):
                raise _bad("field_mappings", f"an index or a default value is needed for {name}")
    job_id = crm.new_id()
    crm.persist_counter()
    job = {"id": job_id, "status": "ADDED", "operation": operation, "created_time": now_iso(),
           "created_by": {"id": user_of(request), "name": crm.user_ref(user_of(request))["name"]},
           "character_encoding": body.get("character_encoding") or "UTF-8", "callback": body.get("callback"),
           "ignore_empty": bool(body.get("ignore_empty")), "resource": resources, "user_id": user_of(request),
           "base_url": str(request.base_url).rstrip("/")}
    crm.store.kv_put("bulk_jobs", job_id, job)
    request.app.state.bulk.submit(job_id)
    return JSONResponse({"status": "success", "code": "SUCCESS", "message": "success",
                         "details": {"id": job_id, "created_by": job["created_by"]}}, status_code=201)


async def job_details(request: Request) -> Response:
    crm = crm_of(request)
    job = crm.store.kv_all("bulk_jobs").get(request.path_params["job_id"])
    if job is None:
        raise ApiError(400, "INVALID_DATA", "the job id given seems to be invalid", {"id": request.path_params["job_id"]})
    return JSONResponse(public(job))


def public(job: dict[str, Any]) -> dict[str, Any]:
    out = {k: job[k] for k in ("id", "status", "operation", "created_time", "created_by", "character_encoding", "callback")}
    out["resource"] = [{"status": r.get("status", job["status"]), "type": "data", "module": r["module"],
                        "field_mappings": r.get("field_mappings") or [], "find_by": r.get("find_by"),
                        "file": r.get("file_summary"), "code": r.get("code")} for r in job["resource"]]
    if job["status"] == "COMPLETED":
        out["result"] = {"download_url": job["download_url"]}
    return out


async def download(request: Request) -> Response:
    crm = crm_of(request)
    job_id = request.path_params["job_id"]
    path = crm.bulk_dir / f"{job_id}.result.zip"
    if request.path_params["zgid"] != crm.zgid or not path.exists():
        raise ApiError(404, "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one")
    return Response(path.read_bytes(), media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{job_id}.zip"'})


class BulkWorker:
    """Runs queued jobs one at a time; jobs not COMPLETED at start-up are queued again."""

    def __init__(self, crm: Crm) -> None:
        self.crm = crm
        self.queue: queue.Queue[str | None] = queue.Queue()
        self.thread = threading.Thread(target=self._loop, name="zoho-bulk-write", daemon=True)
        self.thread.start()
        for job_id, job in sorted(crm.store.kv_all("bulk_jobs").items()):
            if job["status"] != "COMPLETED":
                self.submit(job_id)

    def submit(self, job_id: str) -> None:
        self.queue.put(job_id)

    def stop(self) -> None:
        self.queue.put(None)
        self.thread.join(5)

    def _loop(self) -> None:
        while (job_id := self.queue.get()) is not None:
            try:
                self.run(job_id)
            except Exception as exc:  # noqa: BLE001 - a broken job must not stop the worker
                job = self.crm.store.kv_all("bulk_jobs").get(job_id)
                if job:
                    job.update(status="FAILED", error=f"{type(exc).__name__}: {exc}")
                    self.crm.store.kv_put("bulk_jobs", job_id, job)

    def run(self, job_id: str) -> None:
        crm = self.crm
        job = crm.store.kv_all("bulk_jobs")[job_id]
        job["status"] = "IN PROGRESS"
        crm.store.kv_put("bulk_jobs", job_id, job)
        delay = int(crm.config["bulk_write_delay_ms"]) / 1000
        if delay:
            time.sleep(delay)
        results = []
        for res in job["resource"]:
            module = crm.schema.get(res["module"]["api_name"])
            rows = _read_csv((crm.bulk_dir / f"{res['file_id']}.upload.zip").read_bytes())
            header, data = rows[0], rows[1:]
            bodies, errors = self._bodies(module, res, data, job["ignore_empty"], job["operation"])
            outcomes: list[engine.Outcome | None] = [None] * len(data)
            todo = [i for i in range(len(data)) if errors[i] is None]
            for start in range(0, len(todo), CHUNK):
                idx = todo[start:start + CHUNK]
                done = engine.write(crm, module, [bodies[i] for i in idx], job["operation"], job["user_id"],
                                    ([] if res["find_by"] == "id" else [res["find_by"]]) if job["operation"] == "upsert" else None,
                                    csv=True)
                for i, o in zip(idx, done):
                    outcomes[i] = o
            counts = {"ADDED": 0, "UPDATED": 0, "SKIPPED": 0}
            out_rows = []
            for i, row in enumerate(data):
                o = outcomes[i] or engine.Outcome(error=errors[i])
                status = "SKIPPED" if o.error else "ADDED" if o.action == "insert" else "UPDATED"
                counts[status] += 1
                out_rows.append(row[:3] + [status, o.id or "", o.error.as_bulk() if o.error else ""])
            res["file_summary"] = {"status": "COMPLETED", "name": crm.store.kv_all("bulk_files")[res["file_id"]]["name"],
                                   "added_count": counts["ADDED"], "skipped_count": counts["SKIPPED"],
                                   "updated_count": counts["UPDATED"], "total_count": len(data)}
            res["status"] = "COMPLETED"
            res["code"] = "COMPLETED"
            results.append((f"{module.api_name}-{job_id}.csv", header[:3] + ["STATUS", "RECORD_ID", "ERRORS"], out_rows))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, header, out_rows in results:
                text = io.StringIO()
                writer = csv.writer(text, lineterminator="\n")
                writer.writerow(header)
                writer.writerows(out_rows)
                zf.writestr(name, text.getvalue())
        (crm.bulk_dir / f"{job_id}.result.zip").write_bytes(buffer.getvalue())
        job["status"] = "COMPLETED"
        job["download_url"] = f"{job['base_url']}/v2/crm/{crm.zgid}/bulk-write/{job_id}/{job_id}.zip"
        crm.store.kv_put("bulk_jobs", job_id, job)

    def _bodies(self, module, res: dict[str, Any], data: list[list[str]], ignore_empty: bool, operation: str):
        """Each CSV row as a record body (lookups resolved by their find_by), or the row's error."""
        crm = self.crm
        bodies, errors = [], []
        mappings = res.get("field_mappings") or []
        for row in data:
            body: dict[str, Any] = {}
            error = None
            for fm in mappings:
                name, index = fm["api_name"], fm.get("index")
                cell = row[index] if isinstance(index, int) and index < len(row) else ""
                if cell == "" and fm.get("default_value"):
                    cell = str(fm["default_value"].get("value", ""))
                if cell == "":
                    if not ignore_empty:
                        body[name] = None
                    continue
                f = module.fields.get(name)
                find_by = fm.get("find_by")
                if f is not None and f.data_type in ("lookup", "ownerlookup") and find_by not in (None, "id"):
                    cell = self._resolve(f, find_by, cell, fm.get("module"))
                    if cell is None:
                        error = invalid(name, "the related record was not found")
                        break
                body[name] = cell
            if error is None and operation == "update":
                key = body.get(res["find_by"])
                found = [key] if res["find_by"] == "id" and key else crm.store.find(module.api_name, res["find_by"], key)
                if found and crm.store.module_of(found[0]) == module.api_name:
                    body["id"] = found[0]
                else:
                    error = RecordError("RESOURCE_NOT_FOUND", "the record to update was not found", res["find_by"])
            bodies.append(body)
            errors.append(error)
        return bodies, errors

    def _resolve(self, f, find_by: str, value: str, module_name: str | None) -> str | None:
        crm = self.crm
        if f.data_type == "ownerlookup":
            found = crm.store.find("users", "email" if find_by == "email" else find_by, value)
        else:
            target = crm.schema.get(module_name or f.lookup)
            found = crm.store.find(target.api_name, find_by, value) if target else []
        return found[0] if found else None
