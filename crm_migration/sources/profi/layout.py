"""The default layout of a Profi export folder.

Profi (a platform for coaches and course creators) has no public bulk API: a practice's data
arrives as a folder of CSV files, one per object, the uploaded files under ``files/``, and four
JSON files that are configuration, not data (:data:`NON_DATA_FILES`). Every file and column name
below is the default; a pair's settings may alias any of them
(:class:`crm_migration.sources.base.ExportAliases`).

The object graph is flat: clients are people (``company_name`` is mostly blank), staff are the
practice's coaches, admins and assistants, and everything is owned by a staff member's e-mail.
Values are text as exported. Known quirks of real exports, which the generator reproduces:

- date and time columns mix formats within one column (:data:`DATE_FORMATS`, day first); values
  without an offset are the practice's local time (:data:`SOURCE_TIMEZONE`);
- yes/no custom fields mix ``Yes/No/yes/no/TRUE/FALSE/1/0``;
- ``sessions.notes`` is sometimes HTML (tags, entities, several lines), sometimes plain text;
- the package-to-session link breaks in the export: some sessions have a blank ``package_id``
  although they belong to a package. Most still carry ``client_id`` + ``course_id`` + a date within
  the enrollment period, or the ``package_name`` text; some cannot be linked at all. The reader
  rebuilds what it can (:data:`DERIVED_COLUMNS`, :mod:`.links`);
- notes and attachments point at their parent with ``parent_type`` (client/session/course) +
  ``parent_id`` (a polymorphic lookup: ``type_column: parent_type``);
- session recordings may live outside the export: such an attachment row has a blank
  ``file_name`` and only a ``file_url``; some recordings exceed what a CRM accepts as a file;
- a session with several clients has one ``session_participants`` row per client; the reader
  adds each participant's session fields (``session_*``) so that one Event per client can be loaded.
"""

from __future__ import annotations

from crm_migration.sources.base import SourceObjectLayout

# The practice's local time zone: what a value without an offset means (the pair's settings may override).
SOURCE_TIMEZONE = "Europe/Berlin"

# Every date/time format the export uses (strftime patterns), most specific first. Slashed and
# dotted dates are day-first. ``%z`` values are written with a colon (``+01:00``).
DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%dT%H:%M:%SZ",  # ISO 8601, UTC
    "%Y-%m-%dT%H:%M:%S%z",  # ISO 8601 with offset
    "%Y-%m-%d %H:%M:%S",  # naive local time
    "%d.%m.%Y %H:%M",  # German, naive local time
    "%d/%m/%Y %H:%M",  # UK, naive local time
    "%Y-%m-%d",  # ISO date
    "%d.%m.%Y",  # German date
    "%d/%m/%Y",  # UK date
)
# Session start/end never lose their time of day: they use the first five formats only.
SESSION_TIME_FORMATS: tuple[str, ...] = DATE_FORMATS[:5]
# Pure date columns (birthday, course start, invoice dates, package validity).
DATE_ONLY_FORMATS: tuple[str, ...] = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y")
# The formats a pair's settings should list for naive values (ISO with an offset is always accepted).
NAIVE_DATE_FORMATS: tuple[str, ...] = DATE_FORMATS[2:]

# Value domains of the coded columns, as Profi writes them.
STAFF_ROLES: tuple[str, ...] = ("coach", "admin", "assistant")
CLIENT_STATUSES: tuple[str, ...] = ("active", "paused", "alumni", "prospect")
PREFERRED_CHANNELS: tuple[str, ...] = ("Email", "Phone", "WhatsApp", "Telegram", "Video call")
BOOLEAN_VALUES: tuple[str, ...] = ("Yes", "No", "yes", "no", "TRUE", "FALSE", "1", "0")
COURSE_STATUSES: tuple[str, ...] = ("draft", "published", "archived")
PACKAGE_STATUSES: tuple[str, ...] = ("active", "completed", "cancelled", "frozen", "expired")
SESSION_STATUSES: tuple[str, ...] = ("scheduled", "completed", "cancelled", "no_show")
ATTENDANCE_VALUES: tuple[str, ...] = ("invited", "attended", "no_show", "cancelled")
INVOICE_STATUSES: tuple[str, ...] = ("Paid", "Open", "Overdue", "Void")
CURRENCIES: tuple[str, ...] = ("EUR", "GBP", "USD")
RELATIONSHIP_TYPES: tuple[str, ...] = ("primary", "secondary", "trial")
PARENT_TYPES: tuple[str, ...] = ("client", "session", "course")

# The client custom fields (Profi "custom fields"; their definitions are also in custom_fields.json).
CLIENT_CUSTOM_FIELDS: dict[str, tuple[str, ...] | str] = {
    "cf_goals": "text",
    "cf_preferred_channel": PREFERRED_CHANNELS,
    "cf_birthday": "date",
    "cf_marketing_opt_in": "boolean",
}

FILES_DIR = "files"  # attachments.file_name is relative to this folder

# Files in the export that are not data: documented and kept as a rebuild reference, never loaded.
NON_DATA_FILES: dict[str, str] = {
    "automations.json": "Automation rules (trigger, conditions, actions): rebuilt natively in the destination "
    "(e.g. Salesforce Flow), not migrated.",
    "drip_content.json": "Drip-content rules of courses (which module unlocks when): rebuilt in the destination's "
    "learning or marketing tool, not migrated.",
    "email_sequences.json": "E-mail sequences (trigger, steps with delay and template): rebuilt as flows or "
    "marketing journeys, not migrated.",
    "custom_fields.json": "Definitions of the client custom fields (label, export column, type, options): "
    "the input to the destination's field-creation checklist, not data.",
}

LAYOUTS: dict[str, SourceObjectLayout] = {
    layout.name: layout
    for layout in (
        SourceObjectLayout(
            name="staff",
            file="staff.csv",
            id_column="staff_id",
            columns=("staff_id", "email", "first_name", "last_name", "role", "active", "phone", "created_at"),
            description="Coaches, admins and assistants; owners elsewhere are these people's e-mails.",
        ),
        SourceObjectLayout(
            name="clients",
            file="clients.csv",
            id_column="client_id",
            columns=(
                "client_id", "first_name", "last_name", "email", "phone", "company_name", "coach_email", "status",
                "cf_goals", "cf_preferred_channel", "cf_birthday", "cf_marketing_opt_in", "created_at",
                "modified_at",
            ),
            description="Clients (people); coach_email is the owner, cf_* are the practice's custom fields.",
        ),
        SourceObjectLayout(
            name="courses",
            file="courses.csv",
            id_column="course_id",
            columns=(
                "course_id", "title", "description", "status", "price", "currency", "capacity",
                "enrollment_count", "start_date", "coach_email", "created_at", "modified_at",
            ),
            description="Courses and programmes; enrollment_count counts the packages that name the course.",
        ),
        SourceObjectLayout(
            name="packages",
            file="packages.csv",
            id_column="package_id",
            columns=(
                "package_id", "client_id", "course_id", "package_name", "status", "enrolled_at", "valid_until",
                "sessions_included", "modified_at",
            ),
            description="Packages / enrollments: a client in a course for a period (enrolled_at..valid_until).",
        ),
        SourceObjectLayout(
            name="sessions",
            file="sessions.csv",
            id_column="session_id",
            columns=(
                "session_id", "title", "coach_email", "client_id", "course_id", "package_id", "package_name",
                "start_at", "end_at", "status", "location", "notes", "created_at", "modified_at",
            ),
            description="Coaching sessions; client_id is the booking client (all clients: session_participants); "
            "location is a place or a video link; notes are text or HTML.",
        ),
        SourceObjectLayout(
            name="session_participants",
            file="session_participants.csv",
            id_column="participant_id",
            columns=("participant_id", "session_id", "client_id", "attendance", "added_at"),
            description="One row per client of a session (several for group sessions).",
        ),
        SourceObjectLayout(
            name="invoices",
            file="invoices.csv",
            id_column="invoice_id",
            columns=(
                "invoice_id", "invoice_number", "client_id", "course_id", "amount", "currency", "issued_on",
                "due_on", "status", "modified_at",
            ),
            description="Billing: invoices of a client, optionally for a course.",
        ),
        SourceObjectLayout(
            name="notes",
            file="notes.csv",
            id_column="note_id",
            columns=(
                "note_id", "parent_type", "parent_id", "title", "body", "author_email", "created_at",
                "modified_at",
            ),
            description="Notes on a client, session or course (parent_type + parent_id); body is plain text.",
        ),
        SourceObjectLayout(
            name="attachments",
            file="attachments.csv",
            id_column="attachment_id",
            columns=(
                "attachment_id", "parent_type", "parent_id", "file_name", "content_type", "size_bytes", "sha256",
                "file_url", "uploaded_by_email", "uploaded_at",
            ),
            description="Files on a client, session or course; file_name is relative to files/ and blank for "
            "recordings stored outside the export (file_url only).",
        ),
        SourceObjectLayout(
            name="coach_assignments",
            file="coach_assignments.csv",
            id_column="assignment_id",
            columns=("assignment_id", "coach_email", "client_id", "relationship_type", "assigned_at", "modified_at"),
            description="Coach-client relationships (primary, secondary, trial).",
        ),
    )
}

# Session columns the reader copies onto each participant row (package_id_rebuilt: see DERIVED_COLUMNS).
SESSION_FIELDS: tuple[str, ...] = (
    "title", "coach_email", "start_at", "end_at", "status", "location", "notes", "course_id", "package_id_rebuilt",
    "client_id", "modified_at",
)

# Columns the reader adds to what the file holds (see :mod:`.links`).
DERIVED_COLUMNS: dict[str, dict[str, str]] = {
    "sessions": {
        "package_id_rebuilt": "package_id as exported, else the one package of the booking client whose course "
        "(course_id, else package_name) matches and whose period holds the session's date; blank if none or several",
        "package_link": "how package_id_rebuilt was found: export, client_course_date, package_name, or none",
    },
    "session_participants": {
        **{f"session_{c}": f"the session's {c} (for one Event per client)" for c in SESSION_FIELDS},
        "event_id": "one Event per client: the session's id for its booking client (notes and files on the session "
        "land on that Event), the participant's id for every other client",
    },
}

# Load order of the objects (parents first).
OBJECT_ORDER: tuple[str, ...] = (
    "staff", "clients", "courses", "packages", "sessions", "session_participants", "invoices", "notes",
    "attachments", "coach_assignments",
)
