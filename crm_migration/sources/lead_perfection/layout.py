"""The default layout of a Lead Perfection export folder.

Lead Perfection (CRM for home-improvement contractors: windows, siding, roofing, doors) has no
public API: an installation's data arrives as a folder of CSV files, one per object, plus the
attachment bodies under ``files/``, the images that notes show inline under ``images/``, a
dictionary of the installation's trade-specific custom fields (``custom_fields.csv``) and two JSON
files that are configuration, not data (:data:`NON_DATA_FILES`). Every file and column name below
is the default; a pair's settings may alias any of them
(:class:`crm_migration.sources.base.ExportAliases`).

Values are text as exported. Known quirks of real exports, which the generator reproduces:

- date and time columns mix formats within one column (:data:`DATE_FORMATS`), all month-first (US)
  and all in the contractor's local time without an offset (:data:`SOURCE_TIMEZONE`); some US
  values drop the leading zeros (``3/5/2024 2:30 PM``), date-only columns use
  :data:`DATE_ONLY_FORMATS` (including two-digit years);
- owners are sales reps' e-mail addresses (``sales_reps.csv``); a rep may have left (inactive) or
  never have been given a destination user;
- an appointment points at a contact *or* a prospect (``contact_id``/``prospect_id``, one set);
  attachments and notes point at a prospect, a contact or a job through ``parent_type`` (one of
  :data:`PARENT_TYPES`) and ``parent_id``;
- zip codes are text: leading zeros matter, companies sometimes carry ZIP+4 (``01608-2104``);
  territories cover zip ranges (``zip_from``..``zip_to``, 5-digit text, compared as text);
- trade-specific custom fields are plain columns of ``prospects.csv`` and ``jobs.csv``; their
  original labels, types and picklist values are in ``custom_fields.csv`` (:data:`TRADE_CUSTOM_FIELDS`);
- amounts mix ``$12,450.00``, ``12450.00`` and ``12450``; measurements are inches as decimals;
- ``notes.body_html`` is HTML over several lines, with inline images either embedded
  (``<img src="data:image/png;base64,...">``) or pointing at a file of the export
  (``<img src="images/NT-000012_1.png">``);
- ``appointments.slot_id`` names a slot of the time-slot model (``slot_availability.json``), which
  has no destination equivalent and is not migrated.
"""

from __future__ import annotations

from crm_migration.sources.base import SourceObjectLayout

# The contractor's local time zone: what a value without an offset means (the pair's settings may override).
SOURCE_TIMEZONE = "America/New_York"

# Every date/time format the export uses (strftime patterns), most specific first. All are naive
# local time and month-first. strptime also accepts the unpadded US values (3/5/2024 2:30 PM).
DATE_FORMATS: tuple[str, ...] = (
    "%m/%d/%Y %I:%M %p",  # the desktop client's export: 03/05/2024 02:30 PM
    "%m/%d/%Y %H:%M",  # 03/05/2024 14:30
    "%b %d, %Y %I:%M %p",  # Mar 05, 2024 02:30 PM (reports exported to CSV)
    "%Y-%m-%d %H:%M:%S",  # database extracts
    "%Y-%m-%dT%H:%M:%S",  # ISO 8601 without offset (web module)
    "%m/%d/%Y",  # a date only, where a time is expected (old records)
)
# Pure date columns (jobs.close_date, jobs.install_date).
DATE_ONLY_FORMATS: tuple[str, ...] = ("%m/%d/%Y", "%m/%d/%y", "%Y-%m-%d")

# Allowed values of the export's coded columns, as Lead Perfection shows them.
PROSPECT_STATUSES: tuple[str, ...] = ("New", "Contacted", "Appt Set", "Issued", "Sold", "No Sale", "Dead")
# Lead sources: the first ones have a Salesforce default twin (Web, Phone Inquiry, Purchased List);
# the trade-specific ones become custom LeadSource values.
STANDARD_LEAD_SOURCES: tuple[str, ...] = ("Website", "Phone Inquiry", "Purchased List")
TRADE_LEAD_SOURCES: tuple[str, ...] = (
    "Referral", "Door Knocker", "Home Show", "Yard Sign", "Canvassing", "Direct Mail", "TV/Radio",
)
LEAD_SOURCES: tuple[str, ...] = STANDARD_LEAD_SOURCES + TRADE_LEAD_SOURCES
# The commercial stage of a job (estimate to installation).
JOB_STAGES: tuple[str, ...] = (
    "Estimate Scheduled", "Estimate Given", "Contract Signed", "Permit Pending", "Install Scheduled",
    "Installed", "Completed", "Lost",
)
APPOINTMENT_RESULTS: tuple[str, ...] = (
    "Sold", "No Sale", "Demo - No Sale", "One Leg", "Reset", "Not Home", "Cancelled",
)
TRADES: tuple[str, ...] = ("Windows", "Siding", "Roofing", "Entry Doors")
MATERIAL_TYPES: tuple[str, ...] = (
    "Vinyl", "Wood", "Fiberglass", "Aluminum", "Composite", "Fiber Cement", "Asphalt Shingle", "Metal", "Steel",
)
PERMIT_STATUSES: tuple[str, ...] = ("Not Required", "Applied", "Approved", "Denied")
PARENT_TYPES: tuple[str, ...] = ("prospect", "contact", "job")  # attachments/notes.parent_type
BOOLEAN_VALUES: tuple[str, ...] = ("Y", "N", "Yes", "No")  # sales_reps.active

# The trade-specific custom fields: (object, field key = column name, original label, type,
# picklist values, description). custom_fields.csv carries the same, so the labels survive for audit.
TRADE_CUSTOM_FIELDS: tuple[tuple[str, str, str, str, tuple[str, ...], str], ...] = (
    ("prospects", "window_count", "# of Windows", "Number", (), "Openings the homeowner asked about"),
    ("prospects", "material_type", "Material Pref.", "Picklist", MATERIAL_TYPES, "Preferred material"),
    ("prospects", "permit_status", "Permit Status", "Picklist", PERMIT_STATUSES, "Town permit, if known"),
    ("prospects", "measurements", "Rough Measurements (in.)", "Text", (),
     "Width x height in inches per opening, as the canvasser wrote them"),
    ("jobs", "material_type", "Material", "Picklist", MATERIAL_TYPES, "Material installed"),
    ("jobs", "window_count", "Window Qty", "Number", (), "Windows on the contract"),
    ("jobs", "window_width_in", "Window Width (in.)", "Decimal", (), "Typical opening width, inches"),
    ("jobs", "window_height_in", "Window Height (in.)", "Decimal", (), "Typical opening height, inches"),
    ("jobs", "permit_status", "Permit", "Picklist", PERMIT_STATUSES, "Building permit status"),
)

FILES_DIR = "files"  # attachments.file_name is relative to this folder
IMAGES_DIR = "images"  # notes' <img src="images/..."> point into this folder

# Files in the export that are not data: documented and kept as a rebuild reference, never loaded.
NON_DATA_FILES: dict[str, str] = {
    "workflows.json": "Automations (name, trigger, conditions, actions: appointment confirmations, lead "
    "assignment by zip, sold-to-job, permit follow-ups): rebuilt in Salesforce Flow, not migrated.",
    "slot_availability.json": "The time-slot model (slot templates, capacity per territory and weekday, "
    "blackout dates) behind appointments.slot_id: rebuilt in a scheduling tool, not migrated.",
}

LAYOUTS: dict[str, SourceObjectLayout] = {
    layout.name: layout
    for layout in (
        SourceObjectLayout(
            name="sales_reps",
            file="sales_reps.csv",
            id_column="rep_id",
            columns=(
                "rep_id", "first_name", "last_name", "email", "phone", "territory_id", "availability", "active",
                "modified_at",
            ),
            description="Sales reps; owners elsewhere are these reps' e-mails. active is Y/N/Yes/No.",
        ),
        SourceObjectLayout(
            name="territories",
            file="territories.csv",
            id_column="territory_id",
            columns=("territory_id", "name", "zip_from", "zip_to", "rep_email", "modified_at"),
            description="Coverage areas as zip ranges (5-digit text, inclusive), each with its assigned rep.",
        ),
        SourceObjectLayout(
            name="custom_fields",
            file="custom_fields.csv",
            id_column="field_id",
            columns=("field_id", "object", "field_key", "label", "field_type", "picklist_values", "description"),
            description="Dictionary of the trade-specific custom fields (picklist values separated by ';').",
        ),
        SourceObjectLayout(
            name="companies",
            file="companies.csv",
            id_column="company_id",
            columns=(
                "company_id", "name", "parent_company_id", "street", "city", "state", "zip_code", "phone",
                "primary_contact_id", "owner_email", "created_at", "modified_at",
            ),
            description="Commercial customers; multi-location companies share a parent (parent_company_id).",
        ),
        SourceObjectLayout(
            name="contacts",
            file="contacts.csv",
            id_column="contact_id",
            columns=(
                "contact_id", "company_id", "first_name", "last_name", "email", "phone", "owner_email",
                "created_at", "modified_at",
            ),
            description="People; homeowners have no company_id.",
        ),
        SourceObjectLayout(
            name="prospects",
            file="prospects.csv",
            id_column="prospect_id",
            columns=(
                "prospect_id", "first_name", "last_name", "company", "email", "phone", "street", "city", "state",
                "zip", "status", "lead_source", "created_date", "rep_email", "window_count", "material_type",
                "permit_status", "measurements", "modified_at",
            ),
            description="Leads; created_date is the original creation time; the last four columns are custom fields.",
        ),
        SourceObjectLayout(
            name="jobs",
            file="jobs.csv",
            id_column="job_id",
            columns=(
                "job_id", "job_name", "company_id", "contact_id", "amount", "stage", "close_date", "material_type",
                "window_count", "window_width_in", "window_height_in", "permit_status", "crew_name",
                "install_date", "rep_email", "created_at", "modified_at",
            ),
            description="Estimate-to-installation jobs of a company and/or a contact.",
        ),
        SourceObjectLayout(
            name="appointments",
            file="appointments.csv",
            id_column="appointment_id",
            columns=(
                "appointment_id", "prospect_id", "contact_id", "start_time", "end_time", "rep_email", "result",
                "notes", "slot_id", "modified_at",
            ),
            description="Sales appointments with a prospect or a contact; slot_id is not migrated.",
        ),
        SourceObjectLayout(
            name="attachments",
            file="attachments.csv",
            id_column="attachment_id",
            columns=(
                "attachment_id", "parent_type", "parent_id", "file_name", "content_type", "size_bytes", "sha256",
                "uploaded_by_email", "uploaded_at",
            ),
            description="Files of a prospect, contact or job; file_name is relative to files/, sha256 its content hash.",
        ),
        SourceObjectLayout(
            name="notes",
            file="notes.csv",
            id_column="note_id",
            columns=(
                "note_id", "parent_type", "parent_id", "subject", "body_html", "author_email", "created_at",
                "modified_at",
            ),
            description="Notes of a prospect, contact or job; body_html is HTML with inline images.",
        ),
    )
}

# Load order of the objects (parents first).
OBJECT_ORDER: tuple[str, ...] = tuple(LAYOUTS)
