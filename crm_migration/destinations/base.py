"""The one small interface every destination CRM implements, and the types it speaks in.

The asset factory, the ledger, the reconciliation and the reports use only what is here, so that
none of them ever names a CRM. Each destination module maps its API's errors to the exception
hierarchy below and its per-record errors to reason codes from `crm_migration.reasons`, keeping the
CRM's own code and message beside them.

Values cross this interface in one canonical form per field kind (see `FieldSchema.kind`):
text as str, integers and decimals as numbers, booleans as bool, dates as `YYYY-MM-DD`, datetimes
as ISO 8601 UTC (`2024-03-05T10:22:00Z`), multi-select values as the sorted options joined by
`;`. A destination converts to and from its wire format.

Destination ids are opaque strings that identify a record *and its object* across the whole
destination: a polymorphic lookup (a task's "regarding" record, a note's parent) then needs nothing
but the id. Salesforce ids carry their object in the key prefix; a destination whose ids do not
(Zoho, Dataverse) encodes the object in the id it returns (`Contacts/4876876000000231001`) and
accepts the same form in every lookup and owner field, and returns it on read-back.

Most objects are keyed by an external-id field the schema plan creates. An object that cannot carry
one (a note, an attachment, an invitee) is keyed by its destination id, which the ledger's
cross-reference remembers: `upsert` keyed by the object's id field (the field of kind `id`) updates
the rows that have an id and creates the rows that do not, and `read_back` by a reference field
finds a parent's existing children, so that an interrupted create can be recognised on re-run.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

import pandas as pd

FieldKind = Literal[
    "id", "text", "textarea", "email", "phone", "url", "picklist", "multipicklist", "reference",
    "boolean", "integer", "decimal", "date", "datetime", "base64",
]

# The column of a files table holding the URL of a file kept elsewhere (see Destination.upload_files).
FILE_LINK = "file_link"

# The columns of every per-record outcome table a destination returns.
OUTCOME_COLUMNS = ["external_id", "destination_id", "action", "reason_code", "dest_code", "dest_message"]
Action = Literal["created", "updated", "unchanged", "failed", "deleted"]


@dataclass(frozen=True)
class FieldSchema:
    name: str
    kind: FieldKind
    label: str = ""
    length: int | None = None
    required: bool = False
    createable: bool = True
    updateable: bool = True
    external_id: bool = False
    unique: bool = False
    picklist_values: tuple[str, ...] = ()
    restricted: bool = False
    reference_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class ObjectSchema:
    name: str
    fields: dict[str, FieldSchema]

    @property
    def id_field(self) -> str:
        """The field holding the destination id (kind `id`)."""
        return next(n for n, f in self.fields.items() if f.kind == "id")

    def to_dict(self) -> dict:
        return {"name": self.name, "fields": {n: vars(f) | {"picklist_values": list(f.picklist_values), "reference_to": list(f.reference_to)} for n, f in self.fields.items()}}

    @classmethod
    def from_dict(cls, d: dict) -> ObjectSchema:
        return cls(d["name"], {n: FieldSchema(**{**f, "picklist_values": tuple(f["picklist_values"]), "reference_to": tuple(f["reference_to"])}) for n, f in d["fields"].items()})


@dataclass(frozen=True)
class PlannedField:
    """A custom field the destination lacks."""

    object: str
    name: str
    type: str
    label: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    external_id: bool = False
    unique: bool = False
    values: tuple[str, ...] = ()
    reference_to: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class PlannedObject:
    """A custom object the destination lacks."""

    name: str
    label: str
    plural_label: str
    name_field: str = "Text"
    name_field_label: str = "Name"


@dataclass(frozen=True)
class PlannedValues:
    """Picklist values an existing field lacks."""

    object: str
    field: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class SchemaPlan:
    """What the destination must gain before records load, applied in this order: objects, fields, values."""

    objects: tuple[PlannedObject, ...] = ()
    fields: tuple[PlannedField, ...] = ()
    values: tuple[PlannedValues, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.objects and not self.fields and not self.values


# --- errors ------------------------------------------------------------------------------------


class DestinationError(Exception):
    """Anything a destination raises; never carries a secret."""


class AuthenticationError(DestinationError):
    """Credentials were refused or the session expired; re-authenticating may help once."""


class ThrottledError(DestinationError):
    def __init__(self, message: str, wait_seconds: float | None = None):
        super().__init__(message)
        self.wait_seconds = wait_seconds


class TransientError(DestinationError):
    """5xx, dropped connection, timeout: safe to retry, because every write is keyed by external id."""

    def __init__(self, message: str, wait_seconds: float | None = None):
        super().__init__(message)
        self.wait_seconds = wait_seconds


class PermanentError(DestinationError):
    """The request itself is wrong; retrying will not help."""

    def __init__(self, message: str, reason_code: str = "DEST_UNKNOWN", dest_code: str | None = None):
        super().__init__(message)
        self.reason_code = reason_code
        self.dest_code = dest_code


T = TypeVar("T")


@dataclass
class RetryPolicy:
    """Retries live here and nowhere else: throttling and transient failures back off, honouring the
    wait the server asked for; an expired session re-authenticates once per attempt."""

    attempts: int = 8
    base_delay: float = 0.2
    max_delay: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    retried: int = 0

    def run(self, call: Callable[[], T], reauthenticate: Callable[[], None]) -> T:
        for attempt in range(1, self.attempts + 1):
            try:
                return call()
            except AuthenticationError:
                if attempt == self.attempts:
                    raise
                reauthenticate()
            except (ThrottledError, TransientError) as e:
                if attempt == self.attempts:
                    raise
                backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
                self.sleep(max(e.wait_seconds or 0.0, backoff))
            self.retried += 1
        raise AssertionError("unreachable")


def outcomes(rows: list[dict] | pd.DataFrame) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=OUTCOME_COLUMNS)
    return df.astype({c: "string" for c in OUTCOME_COLUMNS})


class Destination(ABC):
    """A destination CRM, as the pipeline uses it."""

    name: str
    max_file_bytes: int

    @abstractmethod
    def describe(self, objects: list[str]) -> dict[str, ObjectSchema]:
        """Fields of each object: kind, length, required, writability, picklist values, references.
        An object the destination does not have is left out of the answer (the schema plan creates it)."""

    @abstractmethod
    def users(self) -> pd.DataFrame:
        """Columns id, email, active, name: the users who can own records."""

    @abstractmethod
    def upsert(self, obj: str, external_id_field: str, records: pd.DataFrame) -> pd.DataFrame:
        """Create or update by external id (records' lookups already hold destination ids); one outcome per record.

        Keyed by the object's id field instead, a row with an id updates that record and a row with a
        blank id creates one; the outcome's `external_id` is then the row's position in `records` (as text)."""

    @abstractmethod
    def read_back(self, obj: str, external_id_field: str, external_ids: list[str], fields: list[str]) -> pd.DataFrame:
        """Current values in canonical form: columns external_id, destination_id and the fields.

        The key may be the external-id field, the object's id field, or a reference field (every child
        of the given parents); `external_id` holds the key value each row matched, and a key may match
        several rows, or none."""

    @abstractmethod
    def delete(self, obj: str, ids: list[str]) -> pd.DataFrame:
        """Delete by destination id; one outcome per id."""

    @abstractmethod
    def upload_files(self, obj: str, external_id_field: str, files: pd.DataFrame, path_column: str) -> pd.DataFrame:
        """Upload one file per record (with its fields and parent link); one outcome per file.

        A row without a path but with a `file_link` URL is a link to a file kept elsewhere (too big for
        the destination): a destination that has link records creates one, another answers a failure."""

    @abstractmethod
    def apply_schema_plan(self, plan: SchemaPlan) -> list[str]:
        """Create the planned fields and values where the API allows it; returns what was applied."""
