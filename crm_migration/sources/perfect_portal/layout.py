"""The default layout of a Perfect Portal export folder.

Perfect Portal has no public API: a firm's data arrives as a folder of CSV files, one per object,
plus the attachment bodies under ``files/`` and three JSON files that are configuration, not data.
Every file and column name below is the default; a pair's settings may alias any of them
(:class:`crm_migration.sources.base.ExportAliases`).

Values are text as exported. Known quirks of real exports, which the generator reproduces:

- date and time columns mix formats within one column (:data:`DATE_FORMATS`); values without an
  offset are the firm's local time (:data:`SOURCE_TIMEZONE`);
- yes/no properties mix ``Yes/No/true/false/1/0``;
- ``interactions.body_html`` is HTML (tags, entities, ``<br>``), sometimes over several lines;
- owners and assignees are portal users' e-mail addresses (``users.csv``);
- custom client and matter properties come as name/value rows (``*_properties.csv``), one row per
  record and property; they become custom fields on the destination object.
"""

from __future__ import annotations

from crm_migration.sources.base import SourceObjectLayout

# The firm's local time zone: what a value without an offset means (the pair's settings may override).
SOURCE_TIMEZONE = "America/New_York"

# Every date/time format the export uses (strftime patterns), most specific first. The slashed
# formats are month-first (US). ``%z`` values are written with a colon (``-05:00``), which
# Python's strptime accepts.
DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%dT%H:%M:%SZ",  # ISO 8601, UTC
    "%Y-%m-%dT%H:%M:%S%z",  # ISO 8601 with offset, e.g. 2024-03-05T09:15:00-05:00
    "%Y-%m-%d %H:%M:%S",  # naive, the firm's local time
    "%m/%d/%Y %H:%M",  # US, naive local time
    "%m/%d/%Y",  # US date
    "%Y-%m-%d",  # ISO date
    "%d %b %Y",  # e.g. 05 Mar 2024
)
# The subset used by pure date columns (matters.opened_on, tasks.due_date).
DATE_ONLY_FORMATS: tuple[str, ...] = ("%m/%d/%Y", "%Y-%m-%d", "%d %b %Y")

# Allowed values of the export's coded columns, as the portal shows them.
MATTER_STAGES: tuple[str, ...] = ("Intake", "In Progress", "Pending Review", "On Hold", "Closed")
TASK_STATUSES: tuple[str, ...] = ("Open", "Completed")
TASK_PRIORITIES: tuple[str, ...] = ("High", "Normal", "Low")
INTERACTION_CHANNELS: tuple[str, ...] = ("call", "meeting", "email", "sms")
BOOLEAN_VALUES: tuple[str, ...] = ("Yes", "No", "true", "false", "1", "0")

# Custom properties (name/value rows) and their value kinds / picklist values.
CLIENT_PROPERTIES: dict[str, tuple[str, ...] | str] = {
    "Industry Classification": ("Legal", "Accounting", "Consulting", "Architecture", "Engineering"),
    "Client Tier": ("Gold", "Silver", "Bronze"),
    "Portal Enabled": "boolean",
    "Annual Retainer": "decimal",
}
MATTER_PROPERTIES: dict[str, tuple[str, ...] | str] = {
    "Matter Type": ("Litigation", "Advisory", "Transaction", "Compliance", "Audit"),
    "Practice Area": ("Corporate", "Employment", "Tax", "Real Estate", "Intellectual Property"),
    "Billable Hours": "decimal",
}

FILES_DIR = "files"  # documents.file_name is relative to this folder

# Files in the export that are not data: documented and kept as a rebuild reference, never loaded.
NON_DATA_FILES: dict[str, str] = {
    "workflows.json": "Workflow/automation definitions (name, trigger event, conditions, actions): "
    "rebuilt natively in the destination (e.g. Salesforce Flow), not migrated.",
    "integrations.json": "Connected systems (name, type, endpoint URL, auth kind; never secrets): "
    "re-established manually after go-live.",
    "access_settings.json": "Portal roles and permissions: the input to the destination's access plan "
    "(profiles, permission sets), not migrated as data.",
}

LAYOUTS: dict[str, SourceObjectLayout] = {
    layout.name: layout
    for layout in (
        SourceObjectLayout(
            name="users",
            file="users.csv",
            id_column="user_id",
            columns=("user_id", "full_name", "email", "role", "active"),
            description="Portal users; owners and assignees elsewhere are these users' e-mails.",
        ),
        SourceObjectLayout(
            name="clients",
            file="clients.csv",
            id_column="client_id",
            columns=(
                "client_id", "name", "website", "phone", "street", "city", "state", "postal_code",
                "country", "parent_client_id", "owner_email", "created_at", "modified_at",
            ),
            description="Client companies; parent_client_id forms a hierarchy (several levels).",
        ),
        SourceObjectLayout(
            name="client_properties",
            file="client_properties.csv",
            id_column=None,
            columns=("client_id", "property_name", "property_value"),
            description="Custom client properties as name/value rows.",
        ),
        SourceObjectLayout(
            name="contacts",
            file="contacts.csv",
            id_column="contact_id",
            columns=(
                "contact_id", "client_id", "first_name", "last_name", "email", "phone", "title",
                "owner_email", "created_at", "modified_at",
            ),
            description="People at clients.",
        ),
        SourceObjectLayout(
            name="matters",
            file="matters.csv",
            id_column="matter_id",
            columns=(
                "matter_id", "client_id", "primary_contact_id", "name", "description", "stage",
                "opened_on", "hourly_rate", "cost", "invoiced_amount", "owner_email", "created_at",
                "modified_at",
            ),
            description="Matters (engagements/cases) of a client; stage is a per-firm picklist.",
        ),
        SourceObjectLayout(
            name="matter_properties",
            file="matter_properties.csv",
            id_column=None,
            columns=("matter_id", "property_name", "property_value"),
            description="Custom matter properties as name/value rows.",
        ),
        SourceObjectLayout(
            name="documents",
            file="documents.csv",
            id_column="document_id",
            columns=(
                "document_id", "matter_id", "title", "file_name", "file_type", "size_bytes",
                "source_url", "uploaded_by_email", "uploaded_at", "modified_at",
            ),
            description="Documents of a matter; file_name is relative to files/.",
        ),
        SourceObjectLayout(
            name="tasks",
            file="tasks.csv",
            id_column="task_id",
            columns=(
                "task_id", "matter_id", "contact_id", "subject", "description", "due_date", "status",
                "priority", "assigned_to_email", "created_at", "modified_at",
            ),
            description="To-dos on a matter (status Open/Completed).",
        ),
        SourceObjectLayout(
            name="interactions",
            file="interactions.csv",
            id_column="interaction_id",
            columns=(
                "interaction_id", "matter_id", "contact_id", "channel", "subject", "body_html",
                "occurred_at", "logged_by_email", "modified_at",
            ),
            description="Interaction log (calls, meetings, e-mails, SMS); body_html is HTML.",
        ),
    )
}

# Load order of the objects (parents first); property rows travel with their parent object.
OBJECT_ORDER: tuple[str, ...] = tuple(LAYOUTS)
