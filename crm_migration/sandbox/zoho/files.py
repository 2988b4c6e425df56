"""Attachments of a record (``/crm/v8/{module}/{id}/Attachments``): upload (multipart ``file``), list,
download, delete; and the multipart parser the file endpoints share (python-multipart is not a
dependency). An attachment over ``max_attachment_bytes`` (20 MB, as in Zoho) is refused with
FILE_SIZE_MORE_THAN_ALLOWED_SIZE. Bytes live under ``files/``; the metadata is a record of the
internal ``attachments`` store module.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from crm_migration.sandbox.zoho.api import crm_of, missing_param, module_of, no_content, user_of
from crm_migration.sandbox.zoho.crm import now_iso
from crm_migration.sandbox.zoho.errors import ApiError

STORE_MODULE = "attachments"
FIELDS = ["id", "File_Name", "Size", "Parent_Id", "$se_module", "Owner", "Created_Time", "Modified_Time",
          "Created_By", "Modified_By", "$file_id", "$type", "$editable", "$link_url"]


async def multipart_files(request: Request) -> list[tuple[str, str | None, bytes]]:
    """(name, filename, content) of every part of a multipart/form-data body."""
    ctype = request.headers.get("content-type", "")
    m = re.search(r'boundary="?([^";]+)"?', ctype)
    if not ctype.startswith("multipart/form-data") or not m:
        raise ApiError(400, "INVALID_DATA", "the request must be multipart/form-data", {})
    body = await request.body()
    parts = []
    for chunk in body.split(b"--" + m.group(1).encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, content = chunk.partition(b"\r\n\r\n")
        headers = head.decode("utf-8", "replace")
        name = re.search(r'name="([^"]*)"', headers)
        filename = re.search(r'filename\*?="?([^";\r\n]*)"?', headers)
        parts.append((name.group(1) if name else "", filename.group(1) if filename else None,
                      content[:-2] if content.endswith(b"\r\n") else content))
    return parts


def _parent(request: Request) -> tuple[Any, str]:
    module = module_of(request)
    rid = request.path_params["rid"]
    if crm_of(request).store.module_of(rid) != module.api_name:
        raise ApiError(400, "INVALID_DATA", "the related id given seems to be invalid", {"id": rid})
    return module, rid


def _render(crm, rec: dict[str, Any], names: list[str]) -> dict[str, Any]:
    out = {}
    for name in names:
        value = rec.get(name)
        if name in ("Owner", "Created_By", "Modified_By"):
            value = crm.user_ref(value)
        elif name == "Parent_Id":
            parent = crm.store.get(value) or {}
            module = crm.schema.get(rec["$se_module"])
            value = {"name": parent.get(module.display_field()) if module else None, "id": value}
        out[name] = value
    out["id"] = rec["id"]
    return out


async def attachments(request: Request) -> Response:
    crm = crm_of(request)
    module, rid = _parent(request)
    if request.method == "POST":
        parts = [p for p in await multipart_files(request) if p[0] == "file"]
        if len(parts) != 1:
            raise ApiError(400, "MANDATORY_NOT_FOUND", "required field not found", {"api_name": "file"})
        _, filename, content = parts[0]
        limit = int(crm.config["max_attachment_bytes"])
        if len(content) > limit:
            raise ApiError(400, "FILE_SIZE_MORE_THAN_ALLOWED_SIZE", "file size should not exceed the allowed size",
                           {"maximum_size": limit, "given_size": len(content)})
        att_id = crm.new_id()
        (crm.files_dir / att_id).write_bytes(content)
        me, now = user_of(request), now_iso()
        rec = {"id": att_id, "File_Name": filename or "file", "Size": str(len(content)), "Parent_Id": rid,
               "$se_module": module.api_name, "Owner": me, "Created_By": me, "Modified_By": me, "Created_Time": now,
               "Modified_Time": now, "$file_id": secrets.token_hex(20), "$type": "Attachment",
               "$editable": True, "$link_url": None}
        with crm.store.lock:
            crm.store.put(STORE_MODULE, rec)
            crm.store.flush()
            crm.persist_counter()
        crm.stats.add_writes(created=1)
        return JSONResponse({"data": [{"code": "SUCCESS", "details": {
            "Modified_Time": now, "Modified_By": crm.user_ref(me), "Created_Time": now, "id": att_id,
            "Created_By": crm.user_ref(me)}, "message": "attachment uploaded successfully", "status": "success"}]})
    if request.method == "DELETE":
        ids = [i for i in request.query_params.get("ids", "").split(",") if i]
        if not ids:
            raise missing_param("ids")
        return JSONResponse({"data": [_delete(crm, rid, i) for i in ids]})
    fields = request.query_params.get("fields")
    if not fields:
        raise missing_param("fields")
    names = [n.strip() for n in fields.split(",") if n.strip()]
    rows = sorted((crm.store.get(i) for i in crm.store.find(STORE_MODULE, "Parent_Id", rid)), key=lambda r: int(r["id"]))
    page = int(request.query_params.get("page", 1))
    per_page = min(int(request.query_params.get("per_page", 200)), 200)
    chunk = rows[(page - 1) * per_page:page * per_page]
    if not chunk:
        return no_content()
    return JSONResponse({"data": [_render(crm, r, names) for r in chunk],
                         "info": {"per_page": per_page, "count": len(chunk), "page": page,
                                  "more_records": page * per_page < len(rows)}})


def _delete(crm, parent_id: str, att_id: str) -> dict[str, Any]:
    rec = crm.store.get(att_id)
    if rec is None or crm.store.module_of(att_id) != STORE_MODULE or rec["Parent_Id"] != parent_id:
        return {"code": "INVALID_DATA", "details": {"id": att_id}, "message": "the related id given seems to be invalid",
                "status": "error"}
    with crm.store.lock:
        crm.store.remove(att_id)
        crm.store.flush()
    (crm.files_dir / att_id).unlink(missing_ok=True)
    crm.stats.add_writes(deleted=1)
    return {"code": "SUCCESS", "details": {"id": att_id}, "message": "record deleted", "status": "success"}


async def attachment(request: Request) -> Response:
    crm = crm_of(request)
    _, rid = _parent(request)
    att_id = request.path_params["att_id"]
    if request.method == "DELETE":
        answer = _delete(crm, rid, att_id)
        return JSONResponse({"data": [answer]}, status_code=200 if answer["status"] == "success" else 400)
    rec = crm.store.get(att_id)
    if rec is None or crm.store.module_of(att_id) != STORE_MODULE or rec["Parent_Id"] != rid:
        raise ApiError(400, "INVALID_DATA", "the related id given seems to be invalid", {"id": att_id})
    name = rec["File_Name"].replace('"', "")
    return Response((crm.files_dir / att_id).read_bytes(), media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
