"""Salesforce-shaped errors.

Two kinds: :class:`ApiError` fails a whole HTTP request and is answered as
``[{"message", "errorCode", "fields"?}]`` with its status; :class:`RecordError` fails one record
of a DML call and becomes ``{"statusCode", "message", "fields"}`` in a per-record answer (or
``CODE:message:fields --`` in a Bulk API 2.0 failedResults row).
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None,
                 headers: dict[str, str] | None = None, body: Any = None) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.headers = headers or {}
        self.body = body

    def payload(self) -> Any:
        if self.body is not None:
            return self.body
        item: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.fields is not None:
            item["fields"] = self.fields
        return [item]


class RecordError(Exception):
    def __init__(self, code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.fields = fields or []

    def as_json(self) -> dict[str, Any]:
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}

    def as_bulk(self) -> str:
        return f"{self.code}:{self.message}:{','.join(self.fields)} --"


class RequestDecodeError(Exception):
    """A value that cannot be deserialized for its field's type.

    The REST API fails the whole request (400 JSON_PARSER_ERROR); Bulk API 2.0 fails the row.
    """

    def __init__(self, field: str, label: str, value: Any, type_name: str) -> None:
        super().__init__(f"{field}: {value!r}")
        self.field = field
        self.label = label
        self.value = value
        self.type_name = type_name

    def api_error(self) -> ApiError:
        return ApiError(
            400, "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of {self.type_name} from VALUE_STRING value "
            f"{self.value} or request may be missing a required field",
        )

    def record_error(self) -> RecordError:
        return RecordError(
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            f"{self.label}: value not of required type: {self.value}", [self.field],
        )


def invalid_session() -> ApiError:
    return ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")


def not_found(message: str = "The requested resource does not exist") -> ApiError:
    return ApiError(404, "NOT_FOUND", message)


def malformed_id(value: str, label: str = "Record ID") -> ApiError:
    return ApiError(400, "MALFORMED_ID", f"{label}: id value of incorrect type: {value}")
