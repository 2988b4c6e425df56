"""The default layout of a LeadTrac export folder, and the default aliases of its real headers.

LeadTrac has no public API: a tenant's data arrives as a folder of CSV files, one per object
(:data:`LAYOUTS`), the attachment bodies and call recordings under ``files/`` (:data:`FILES_DIR`),
and a few JSON files that are configuration, not data (:data:`NON_DATA_FILES`).

**Column names.** Every object's *canonical* columns are snake_case (``email``, ``created_at``).
The export itself names columns inconsistently from file to file, because each LeadTrac module has
its own export screen: the e-mail column is ``E-mail Address`` in ``leads.csv`` and ``Email`` in
``contacts.csv``; the creation time is ``created_on`` in ``leads.csv``, ``CreatedDate`` in
``contacts.csv`` and ``companies.csv``, ``Created On`` in ``deals.csv``. :data:`EXPORT_HEADERS`
lists, per object, the header each canonical column has in a default export, and
:data:`DEFAULT_ALIASES` is the part of it the generic reader needs (headers that differ from the
canonical name beyond case and surrounding spaces). The source's ``read`` starts from these
defaults and lays the pair's own aliases (``export:`` in ``pair.yaml``) over them, column by
column (:func:`with_default_aliases`), so a pair's settings only name what differs in *their*
export. The reader always tries the canonical name as well, so an export that already uses the
canonical names reads without any alias.

**Dates.** Date and time columns mix formats within one column (ISO 8601 with ``Z`` or an offset,
naive ``YYYY-MM-DD HH:MM:SS``, slashed dates with or without a time, month names). Slashed dates are
day-first (``23/04/2024``) in some columns and month-first (``04/23/2024 02:30 PM``) in others: the
export screens follow the locale of whoever configured them. Which one a column uses is not fixed
here; it follows from the data (a value whose first part is over 12 is day-first). Values such as
``03/04/2024`` are ambiguous on their own and are read in their column's order; in a column where
*every* slashed value is ambiguous the order cannot be decided, and those values are reported
(``AMBIGUOUS_DATE``), not guessed. Values without an offset are the tenant's local time
(:data:`SOURCE_TIMEZONE`). :data:`DAY_FIRST_FORMATS` and :data:`MONTH_FIRST_FORMATS` are every
pattern the export uses; :data:`DATE_FORMATS` is the list a pair's ``date_formats`` should hold
(both orders of ``%d/%m/%Y``, which the normalize stage narrows per column from the data).

**Other known quirks**, all reproduced by the generator: owner columns hold the user's e-mail,
sometimes in another case; ``emails.body_html`` is HTML (entities, ``<br>``, inline ``<img>``
references, several lines); ``meetings.attendees`` is a semicolon list of e-mail addresses with
irregular spacing; money columns mix ``$12,500.00`` and ``12500``; custom properties of leads and
contacts come as name/value rows (``*_custom_properties.csv``) whose kinds are described in
``custom_properties.json`` (:data:`LEAD_PROPERTIES`, :data:`CONTACT_PROPERTIES`); multi-select
values are ``;``-separated (``Solar; Roofing``); notes and attachments point at their parent with a
type (``Lead``/``Contact``/``Deal``) and an id; each deal's stage history (one row per stage
entered) is in ``deal_stage_history.csv``.
"""

from __future__ import annotations

from crm_migration.sources.base import ExportAliases, SourceObjectLayout

# The tenant's local time zone: what a value without an offset means (the pair's settings may override).
SOURCE_TIMEZONE = "America/Chicago"

# strptime patterns of the export's date/time values. The first four are the same in every
# column; the slashed and month-name ones depend on the column's order.
_COMMON_FORMATS: tuple[str, ...] = (
    "%Y-%m-%dT%H:%M:%SZ",  # ISO 8601, UTC
    "%Y-%m-%dT%H:%M:%S%z",  # ISO 8601 with offset (written -05:00)
    "%Y-%m-%d %H:%M:%S",  # naive local time
    "%Y-%m-%d",
)
DAY_FIRST_FORMATS: tuple[str, ...] = _COMMON_FORMATS + ("%d/%m/%Y %H:%M", "%d/%m/%Y", "%d %b %Y %H:%M", "%d %b %Y")
MONTH_FIRST_FORMATS: tuple[str, ...] = _COMMON_FORMATS + ("%m/%d/%Y %I:%M %p", "%m/%d/%Y", "%b %d, %Y %I:%M %p", "%b %d, %Y")
# Every naive pattern, for the pair's ``date_formats``: both orders of ``%d/%m/%Y``, so that the
# normalize stage decides each column's order from its data (the ISO forms it parses itself).
DATE_FORMATS: tuple[str, ...] = tuple(dict.fromkeys(DAY_FIRST_FORMATS[2:] + MONTH_FIRST_FORMATS[2:]))

# Value domains of the coded columns, as LeadTrac shows them.
LEAD_STATUSES: tuple[str, ...] = ("New Lead", "Contacted", "In Progress", "Qualified", "Converted", "Dead")
LEAD_SOURCES: tuple[str, ...] = (
    "Web Form", "Facebook Ad", "Google Ads", "Referral", "Home Show", "Door Knock", "Direct Mail", "Partner",
)
DEAL_STAGES: tuple[str, ...] = (
    "New Opportunity", "Appointment Set", "Site Survey", "Proposal Sent", "Negotiation", "Contract Signed",
    "Closed Lost",
)
CALL_OUTCOMES: tuple[str, ...] = ("Connected", "Left Voicemail", "No Answer", "Busy", "Wrong Number")
CALL_DIRECTIONS: tuple[str, ...] = ("Outbound", "Inbound")
EMAIL_DIRECTIONS: tuple[str, ...] = ("Sent", "Received")
PARENT_TYPES: tuple[str, ...] = ("Lead", "Contact", "Deal")  # notes.parent_type, attachments.parent_type
USER_ACTIVE_VALUES: tuple[str, ...] = ("Y", "N")

# Custom properties (name/value rows) and their kinds: text, integer, decimal, date, datetime,
# or the options of a picklist (tuple) / multi-select picklist (list, values joined with "; ").
LEAD_PROPERTIES: dict[str, str | tuple[str, ...] | list[str]] = {
    "Utility Provider": "text",
    "Roof Age (years)": "integer",
    "Monthly Electric Bill": "decimal",
    "Site Survey Date": "date",
    "Last Portal Login": "datetime",
    "Home Ownership": ("Owner", "Renter", "Landlord"),
    "Interested In": ["Solar", "Roofing", "Battery Storage", "HVAC", "Windows", "Gutters"],
}
CONTACT_PROPERTIES: dict[str, str | tuple[str, ...] | list[str]] = {
    "Referral Code": "text",
    "Household Size": "integer",
    "Lifetime Value": "decimal",
    "Customer Since": "date",
    "Last Service Visit": "datetime",
    "Preferred Contact Time": ("Morning", "Afternoon", "Evening"),
    "Services Purchased": ["Solar", "Roofing", "Battery Storage", "HVAC", "Windows", "Gutters"],
}

FILES_DIR = "files"  # attachments.export_file and call_recordings.file_name are relative to this folder

# Files in the export that are not data: documented and kept as a rebuild reference, never loaded.
NON_DATA_FILES: dict[str, str] = {
    "workflows.json": "Lead workflows (name, trigger, steps with waits and actions): rebuilt natively in Zoho "
    "(Workflow Rules / Blueprint), not migrated.",
    "automation_rules.json": "Automation rules (assignment, round-robin, drip e-mail, status triggers): rebuilt "
    "as Zoho Assignment Rules, Workflow Rules or Cadences.",
    "docusign_envelopes.json": "DocuSign envelope records (envelope id, status, recipients, related record, "
    "document names): no Zoho equivalent; the signed documents themselves are in attachments.csv.",
    "telephony_config.json": "Telephony configuration (numbers, call routing, IVR, recording retention; never "
    "credentials): re-established in Zoho PhoneBridge or the telephony provider.",
    "custom_properties.json": "Definitions of the custom properties of leads and contacts (name, kind, options): "
    "the input to the schema plan's custom fields, not data.",
}

LAYOUTS: dict[str, SourceObjectLayout] = {
    layout.name: layout
    for layout in (
        SourceObjectLayout(
            name="users",
            file="users.csv",
            id_column="user_id",
            columns=("user_id", "first_name", "last_name", "email", "role", "active"),
            description="LeadTrac users; owner columns elsewhere hold these users' e-mails. active is Y/N.",
        ),
        SourceObjectLayout(
            name="companies",
            file="companies.csv",
            id_column="company_id",
            columns=(
                "company_id", "name", "website", "industry", "annual_revenue", "employee_count", "phone", "street",
                "city", "state", "postal_code", "country", "parent_company_id", "owner_email", "created_at",
                "modified_at",
            ),
            description="Companies (commercial customers); parent_company_id forms a hierarchy.",
        ),
        SourceObjectLayout(
            name="contacts",
            file="contacts.csv",
            id_column="contact_id",
            columns=(
                "contact_id", "company_id", "first_name", "last_name", "email", "phone", "mobile", "title",
                "owner_email", "created_at", "modified_at",
            ),
            description="People, usually at a company.",
        ),
        SourceObjectLayout(
            name="contact_properties",
            file="contact_custom_properties.csv",
            id_column=None,
            columns=("contact_id", "property_name", "property_value"),
            description="Custom contact properties as name/value rows (kinds in custom_properties.json).",
        ),
        SourceObjectLayout(
            name="leads",
            file="leads.csv",
            id_column="lead_id",
            columns=(
                "lead_id", "first_name", "last_name", "company", "email", "phone", "mobile", "title", "status",
                "lead_source", "owner_email", "next_follow_up_on", "created_at", "modified_at",
            ),
            description="Leads (homeowners and businesses); status and lead_source are LeadTrac picklists.",
        ),
        SourceObjectLayout(
            name="lead_properties",
            file="lead_custom_properties.csv",
            id_column=None,
            columns=("lead_id", "property_name", "property_value"),
            description="Custom lead properties as name/value rows (kinds in custom_properties.json).",
        ),
        SourceObjectLayout(
            name="deals",
            file="deals.csv",
            id_column="deal_id",
            columns=(
                "deal_id", "name", "company_id", "contact_id", "amount", "expected_close_date", "stage",
                "stage_entered_at", "owner_email", "created_at", "modified_at",
            ),
            description="Deals; stage is a LeadTrac picklist, stage_entered_at when the deal entered it.",
        ),
        SourceObjectLayout(
            name="deal_stage_history",
            file="deal_stage_history.csv",
            id_column=None,
            columns=("deal_id", "stage", "entered_at"),
            description="One row per stage a deal entered, in order (pivot: stage -> its entry time).",
        ),
        SourceObjectLayout(
            name="calls",
            file="calls.csv",
            id_column="call_id",
            columns=(
                "call_id", "subject", "direction", "phone_number", "duration_seconds", "outcome", "called_at",
                "owner_email", "lead_id", "contact_id", "recording_id", "modified_at",
            ),
            description="Telephony call log; each call is linked to a lead or a contact.",
        ),
        SourceObjectLayout(
            name="call_recordings",
            file="call_recordings.csv",
            id_column="recording_id",
            columns=(
                "recording_id", "call_id", "lead_id", "contact_id", "file_name", "content_type", "size_bytes",
                "recorded_at",
            ),
            description="Call recordings; file_name is relative to files/. Parent: the call's lead or contact.",
        ),
        SourceObjectLayout(
            name="emails",
            file="emails.csv",
            id_column="email_id",
            columns=(
                "email_id", "subject", "body_html", "direction", "from_address", "to_addresses", "sent_at",
                "owner_email", "lead_id", "contact_id", "modified_at",
            ),
            description="E-mail activity; body_html is HTML.",
        ),
        SourceObjectLayout(
            name="meetings",
            file="meetings.csv",
            id_column="meeting_id",
            columns=(
                "meeting_id", "subject", "start_at", "end_at", "location", "description", "attendees",
                "owner_email", "lead_id", "contact_id", "deal_id", "created_at", "modified_at",
            ),
            description="Meetings/appointments; attendees is a semicolon list of e-mail addresses.",
        ),
        SourceObjectLayout(
            name="notes",
            file="notes.csv",
            id_column="note_id",
            columns=(
                "note_id", "title", "body", "parent_type", "parent_id", "created_by_email", "created_at",
                "modified_at",
            ),
            description="Notes on a lead, contact or deal (parent_type + parent_id).",
        ),
        SourceObjectLayout(
            name="attachments",
            file="attachments.csv",
            id_column="attachment_id",
            columns=(
                "attachment_id", "parent_type", "parent_id", "file_name", "export_file", "content_type",
                "size_bytes", "storage_path", "uploaded_by_email", "uploaded_at",
            ),
            description="Documents on a lead, contact or deal; export_file is relative to files/, "
            "storage_path is where LeadTrac kept it.",
        ),
    )
}

# The header each canonical column has in a default LeadTrac export (canonical -> header).
EXPORT_HEADERS: dict[str, dict[str, str]] = {
    "users": {"user_id": "UserID", "first_name": "First Name", "last_name": "Last Name", "email": "Email",
              "role": "Role", "active": "Active"},
    "companies": {
        "company_id": "Company ID", "name": "Company Name", "website": "Website", "industry": "Industry",
        "annual_revenue": "Annual Revenue", "employee_count": "No. of Employees", "phone": "Main Phone",
        "street": "Street", "city": "City", "state": "State/Province", "postal_code": "Zip/Postal Code",
        "country": "Country", "parent_company_id": "Parent Company ID", "owner_email": "Account Owner",
        "created_at": "CreatedDate", "modified_at": "LastModifiedDate",
    },
    "contacts": {
        "contact_id": "contact_id", "company_id": "company_id", "first_name": "first_name", "last_name": "last_name",
        "email": "Email", "phone": "phone", "mobile": "mobile", "title": "title", "owner_email": "owner",
        "created_at": "CreatedDate", "modified_at": "ModifiedDate",
    },
    "contact_properties": {"contact_id": "ContactID", "property_name": "Custom Field", "property_value": "Field Value"},
    "leads": {
        "lead_id": "LeadID", "first_name": "FirstName", "last_name": "LastName", "company": "Company",
        "email": "E-mail Address", "phone": "Phone #", "mobile": "Cell", "title": "Job Title", "status": "Lead Status",
        "lead_source": "Lead Source", "owner_email": "Assigned To", "next_follow_up_on": "Next Follow-Up",
        "created_at": "created_on", "modified_at": "modified_on",
    },
    "lead_properties": {"lead_id": "Lead ID", "property_name": "Property", "property_value": "Value"},
    "deals": {
        "deal_id": "Deal ID", "name": "Deal Name", "company_id": "Company ID", "contact_id": "Primary Contact ID",
        "amount": "Amount ($)", "expected_close_date": "Expected Close", "stage": "Stage",
        "stage_entered_at": "Stage Entered", "owner_email": "Deal Owner", "created_at": "Created On",
        "modified_at": "Modified On",
    },
    "deal_stage_history": {"deal_id": "Deal ID", "stage": "Stage", "entered_at": "Entered Stage On"},
    "calls": {
        "call_id": "CallID", "subject": "Subject", "direction": "Direction", "phone_number": "Phone Number",
        "duration_seconds": "Duration (sec)", "outcome": "Call Outcome", "called_at": "Call Date",
        "owner_email": "User Email", "lead_id": "Lead ID", "contact_id": "Contact ID", "recording_id": "Recording ID",
        "modified_at": "Last Modified",
    },
    "call_recordings": {
        "recording_id": "Recording ID", "call_id": "Call ID", "lead_id": "Lead ID", "contact_id": "Contact ID",
        "file_name": "Recording File", "content_type": "MIME Type", "size_bytes": "Bytes", "recorded_at": "Recorded At",
    },
    "emails": {
        "email_id": "Email ID", "subject": "Subject", "body_html": "Body", "direction": "Direction",
        "from_address": "From", "to_addresses": "To", "sent_at": "Sent/Received", "owner_email": "Owner",
        "lead_id": "Lead", "contact_id": "Contact", "modified_at": "Modified",
    },
    "meetings": {
        "meeting_id": "Appointment ID", "subject": "Title", "start_at": "Start", "end_at": "End",
        "location": "Location", "description": "Description", "attendees": "Attendees",
        "owner_email": "Organizer Email", "lead_id": "Lead ID", "contact_id": "Contact ID", "deal_id": "Deal ID",
        "created_at": "Created", "modified_at": "Modified",
    },
    "notes": {
        "note_id": "NoteID", "title": "Note Title", "body": "Note", "parent_type": "Related To Type",
        "parent_id": "Related To ID", "created_by_email": "Created By", "created_at": "created_on",
        "modified_at": "updated_on",
    },
    "attachments": {
        "attachment_id": "Attachment ID", "parent_type": "Parent Type", "parent_id": "Parent ID",
        "file_name": "File Name", "export_file": "Export File", "content_type": "Content Type",
        "size_bytes": "Size (bytes)", "storage_path": "Storage Path", "uploaded_by_email": "Uploaded By",
        "uploaded_at": "Uploaded On",
    },
}

# What the reader must be told: the headers that differ from the canonical name (beyond case and
# surrounding spaces, which the reader ignores). File names are the layout's own.
DEFAULT_ALIASES = ExportAliases(
    files={},
    columns={
        obj: aliased
        for obj, headers in EXPORT_HEADERS.items()
        if (aliased := {c: h for c, h in headers.items() if h.strip().casefold() != c})
    },
)


def with_default_aliases(aliases: ExportAliases | None) -> ExportAliases:
    """The pair's aliases laid over :data:`DEFAULT_ALIASES` (the pair's wins, column by column)."""
    aliases = aliases or ExportAliases()
    columns = {obj: dict(cols) for obj, cols in DEFAULT_ALIASES.columns.items()}
    for obj, cols in aliases.columns.items():
        columns.setdefault(obj, {}).update(cols)
    return ExportAliases(files={**DEFAULT_ALIASES.files, **aliases.files}, columns=columns)


# Load order of the objects (parents first); property and history rows travel with their parent.
OBJECT_ORDER: tuple[str, ...] = tuple(LAYOUTS)
