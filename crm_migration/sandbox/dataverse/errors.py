"""Dataverse-shaped errors: ``{"error": {"code": "0x8004...", "message": "..."}}`` with the HTTP status
Dataverse uses for the same failure. The codes are the platform's hexadecimal error codes."""

from __future__ import annotations

NOT_FOUND = "0x80040217"  # ObjectDoesNotExist (a record, or an entity in the metadata)
KEY_NOT_FOUND = "0x80060891"  # no record with these alternate key values
DUPLICATE_RECORD = "0x80040237"  # Cannot insert duplicate key (primary key, If-None-Match)
DUPLICATE_KEY = "0x80060892"  # DuplicateRecordEntityKey (alternate key)
REQUIRED = "0x80040200"  # a required column is missing
INVALID_ARGUMENT = "0x80040203"
VALIDATION = "0x80044331"  # length / range / option set validation
PAYLOAD = "0x80048d19"  # the JSON payload does not fit the entity type
QUERY = "0x80060888"  # unknown property or segment in a URL / query option
DISABLED_USER = "0x80040225"  # the owner is disabled
PRIVILEGE = "0x80040220"
ATTACHMENT_TOO_LARGE = "0x80043e09"
VERSION_MISMATCH = "0x80060882"
METADATA_EXISTS = "0x80047013"
UNEXPECTED = "0x80040216"
TOO_MANY_REQUESTS = "0x80072322"
TOO_MANY_CONCURRENT = "0x80072326"
BATCH_TOO_LARGE = "0x8006088a"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def payload(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}


def not_found(entity: str, rid: str) -> ApiError:
    return ApiError(404, NOT_FOUND, f"{entity} With Id = {rid} Does Not Exist")


def payload_error(entity_set: str, detail: str) -> ApiError:
    return ApiError(400, PAYLOAD, f"Error identified in Payload provided by the user for Entity :'{entity_set}'. {detail}")


def query_error(message: str, status: int = 400) -> ApiError:
    return ApiError(status, QUERY, message)
