"""Zoho-shaped errors.

:class:`ApiError` fails a whole request: ``{"code", "details", "message", "status": "error"}`` with its
HTTP status. :class:`RecordError` fails one record of a write: the same object inside ``data``, with
``details.json_path`` pointing at the record (``$.data[3].Last_Name``), or ``CODE-field`` in a Bulk Write
result file's ERRORS column.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.details = details or {}
        self.headers = headers or {}

    def payload(self) -> dict[str, Any]:
        return {"code": self.code, "details": self.details, "message": self.message, "status": "error"}


class RecordError(Exception):
    def __init__(self, code: str, message: str, api_name: str | None = None, **details: Any) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.api_name = code, message, api_name
        self.details = details

    def as_json(self, index: int | None = None) -> dict[str, Any]:
        details = dict(self.details)
        if self.api_name:
            details["api_name"] = self.api_name
            if index is not None:
                details["json_path"] = f"$.data[{index}].{self.api_name}"
        return {"code": self.code, "details": details, "message": self.message, "status": "error"}

    def as_bulk(self) -> str:
        return f"{self.code}-{self.api_name}" if self.api_name else self.code


def invalid_token() -> ApiError:
    return ApiError(401, "INVALID_TOKEN", "invalid oauth token")


def invalid_module(name: str) -> ApiError:
    return ApiError(400, "INVALID_MODULE", "the module name given seems to be invalid", {"resource_path_index": 0})


def not_found() -> ApiError:
    return ApiError(404, "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one")


def missing_param(name: str) -> ApiError:
    return ApiError(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param": name})


def invalid_request(message: str, **details: Any) -> ApiError:
    return ApiError(400, "INVALID_DATA", message, details)


def mandatory(api_name: str) -> RecordError:
    return RecordError("MANDATORY_NOT_FOUND", "required field not found", api_name)


def invalid(api_name: str, message: str = "invalid data", **details: Any) -> RecordError:
    return RecordError("INVALID_DATA", message, api_name, **details)
