"""The one catalogue of reason codes for the whole project.

Every record that does not load as-is carries one of these codes: rejects (the record did not
move), flags (it moved, but someone should look) and skips (deliberately not moved). Reports show
the one-line meaning beside the code; a destination's own error code and message are kept beside
the code it maps to, never parsed again downstream.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Severity(str, Enum):
    REJECT = "reject"  # the record is not loaded
    FLAG = "flag"  # the record is loaded; the issue is reported
    SKIP = "skip"  # the record is deliberately not loaded


@dataclass(frozen=True)
class Reason:
    code: str
    severity: Severity
    meaning: str


_CATALOGUE = [
    # Source data (normalized / mapped stages)
    Reason("REQUIRED_MISSING", Severity.REJECT, "A field the mapping requires is blank in the source."),
    Reason("DUPLICATE_SOURCE_ID", Severity.REJECT, "The source id appears more than once in the export; only the first row is used."),
    Reason("INVALID_DATE", Severity.REJECT, "A date or time value matches none of the accepted formats."),
    Reason("AMBIGUOUS_DATE", Severity.FLAG, "A date reads both day-first and month-first and its column does not show which; the field is left blank and the value reported."),
    Reason("INVALID_NUMBER", Severity.REJECT, "A numeric field holds a value that is not a number."),
    Reason("INVALID_BOOLEAN", Severity.REJECT, "A yes/no field holds a value that is neither."),
    Reason("INVALID_EMAIL", Severity.FLAG, "An e-mail address is malformed; the field is left blank and the value kept in the report."),
    Reason("DUPLICATE_SUSPECTED", Severity.FLAG, "Looks like another record (same duplicate keys); loaded, flagged for review, never merged."),
    Reason("UNMAPPED_VALUE", Severity.REJECT, "A picklist value has no entry in the mapping's value map."),
    Reason("UNMAPPED_VALUE_DEFAULTED", Severity.FLAG, "A picklist value has no entry in the value map; the mapping's default was used."),
    Reason("VALUE_TRUNCATED", Severity.FLAG, "A text value was longer than the destination field and was truncated."),
    Reason("ORPHAN_REFERENCE", Severity.REJECT, "A lookup points at a parent record that is not in the export."),
    Reason("LOOKUP_UNRESOLVED", Severity.FLAG, "A lookup's parent is not in the export; the record is loaded with the lookup blank and flagged for manual assignment."),
    Reason("PARENT_REJECTED", Severity.REJECT, "The parent this record must link to was rejected or failed to load."),
    Reason("HIERARCHY_CYCLE", Severity.REJECT, "The record is part of a parent/child cycle in a hierarchy."),
    Reason("OWNER_UNRESOLVED", Severity.REJECT, "No active destination user matches the owner's e-mail and no fallback owner is set."),
    Reason("OWNER_FALLBACK", Severity.FLAG, "No active destination user matches the owner's e-mail; the fallback owner was used."),
    Reason("FILE_MISSING", Severity.REJECT, "The attachment file named in the export is not in the export folder."),
    Reason("FILE_TOO_LARGE", Severity.REJECT, "The attachment is larger than the destination accepts in this flow."),
    Reason("FILE_LINKED", Severity.FLAG, "The file is over the destination's limit or not in the export; a link to where it is kept was loaded instead."),
    Reason("UNPARSEABLE_ROW", Severity.REJECT, "The export row could not be parsed (wrong number of columns, bad quoting)."),
    # Destination answers (loaded stage), mapped from each destination's own error codes
    Reason("DEST_REQUIRED_FIELD", Severity.REJECT, "The destination says a required field is missing."),
    Reason("DEST_INVALID_VALUE", Severity.REJECT, "The destination refused a field value (type, format or picklist)."),
    Reason("DEST_VALUE_TOO_LONG", Severity.REJECT, "The destination refused a value longer than its field."),
    Reason("DEST_INVALID_REFERENCE", Severity.REJECT, "The destination refused a lookup to a record it does not have."),
    Reason("DEST_DUPLICATE", Severity.REJECT, "The destination found a duplicate (external id or duplicate rule)."),
    Reason("DEST_INACTIVE_OWNER", Severity.REJECT, "The destination refused the owner: the user is inactive or cannot own records."),
    Reason("DEST_PERMISSION", Severity.REJECT, "The destination refused the operation for lack of permission or field access."),
    Reason("DEST_FILE_TOO_LARGE", Severity.REJECT, "The destination refused the file for its size."),
    Reason("DEST_LIMIT_EXCEEDED", Severity.REJECT, "The destination's API or storage limit was reached."),
    Reason("DEST_NOT_FOUND", Severity.REJECT, "The destination record to change or delete does not exist."),
    Reason("DEST_TRANSIENT_EXHAUSTED", Severity.REJECT, "The destination kept failing transiently after every retry."),
    Reason("DEST_UNKNOWN", Severity.REJECT, "The destination refused the record with an error this project does not classify."),
    # Reconciliation
    Reason("FIELD_MISMATCH", Severity.REJECT, "The value read back from the destination differs from the mapped value."),
    Reason("MISSING_IN_DESTINATION", Severity.REJECT, "A record reported as loaded could not be read back by its external id."),
    # Skips
    Reason("OTHER_MAPPING", Severity.SKIP, "The record is moved by another mapping of the same source object (calls as phone calls, other tasks as tasks)."),
    Reason("NOTHING_TO_MIGRATE", Severity.SKIP, "The record has nothing this mapping moves (a company without a primary contact, say)."),
    Reason("NOT_IN_SAMPLE", Severity.SKIP, "The record is outside this sample run's slice."),
    Reason("NO_MATCH_IN_DESTINATION", Severity.SKIP, "An update-only object (users, say): no destination record has this record's key, so nothing is written; create or invite it first."),
    Reason("UNCHANGED_SINCE_WATERMARK", Severity.SKIP, "The record has not changed since the last run's watermark (delta run)."),
]

REASONS: dict[str, Reason] = {r.code: r for r in _CATALOGUE}


def reason(code: str) -> Reason:
    """The catalogue entry for a code; an unknown code is a programming error."""
    try:
        return REASONS[code]
    except KeyError:
        raise KeyError(f"unknown reason code {code!r}; add it to crm_migration/reasons.py") from None


def severity(code: str) -> Severity:
    return reason(code).severity
