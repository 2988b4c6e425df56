"""A deterministic, deliberately messy LeadTrac export, with an exact record of its defects.

``generate_export(out_dir, seed=7, scale=1.0)`` writes an export folder in the default layout
(:mod:`.layout`), with the headers a real export has (:data:`.layout.EXPORT_HEADERS`, not the
canonical names), the attachment bodies and call recordings under ``files/``, the non-data JSON
files, and ``_generator_truth.json`` (ignored by the reader, which skips files starting with ``_``):
what the generator broke, record by record, and what the data implies about each date column.

How it streams. Tables are planned, written and dropped one after another (parents first).
Planning a table draws everything random as numpy arrays (a *skeleton*: pool indices, parent
indices, local times, the format of each date value) and builds its short text columns as Arrow
arrays; the date texts, HTML bodies, attendee lists and CSV lines are built ``CHUNK_ROWS`` records
at a time while writing. Once a table is written its columns are dropped: only skeletons and the
few text columns later tables need (ids, company names and domains, e-mail addresses) stay. Peak
memory is therefore about one table, not the export: scale 100 (about 776,000 records, 105 MB of
CSV, 9 s) peaks at about 250 MB RSS, scale 200 at about 290 MB. The output does not depend on
``CHUNK_ROWS`` (a test checks it).

Determinism: everything derives from ``seed`` (numpy ``Generator``s seeded per table, no wall
clock): the same seed and scale give byte-identical files.

Sizes at scale 1.0: about 7,800 records (18 users, 250 companies, 600 contacts, ~850 contact
property rows, 900 leads, ~1,300 lead property rows, 350 deals, ~1,300 stage-history rows, 700
calls, ~130 recordings, 500 e-mails, 250 meetings, 500 notes, 200 attachments), written in about
1.5 s. ``scale`` multiplies the counts (users grow with its square root; small scales are floored
so that every defect fits). The deliberate defects are a fixed set whatever the scale. At very
small scales (0.05) a date column may happen to have no ambiguous value.

Mess that is *not* a defect (nothing should be rejected for it): headers that differ from file to
file; dates in mixed formats per column, slashed dates day-first in some columns and month-first in
others, ambiguous values (``03/04/2024``) in columns whose order other values decide; owner e-mails
in another case; money as ``$12,500.00`` or ``12500``; phones in mixed formats; multi-select values
with ``"; "`` or ``";"``; non-ASCII names (``users.csv`` is cp1252 as Excel writes it,
``companies.csv`` has a UTF-8 BOM, ``leads.csv`` and ``emails.csv`` end records with CRLF while the
HTML bodies contain bare LFs); HTML bodies with entities, ``<br>`` and inline images; semicolon
attendee lists with irregular spacing, some addresses matching no exported contact or lead.

One column, ``leads.next_follow_up_on``, is *undecidable*: its only slashed values are five with
both parts at most 12 and different (``03/04/2024``) and one like ``05/05/2024``, so the data
cannot tell day-first from month-first (it was written month-first). The truth file lists it under
``undecidable_date_columns``, and its five ambiguous values as ``AMBIGUOUS_DATE`` defects; ambiguous
values in the other date columns are not defects (their column's order decides them).

``html_samples[].expected_text`` follows the Perfect Portal generator's documented rule
(:func:`crm_migration.sources.perfect_portal.generator.html_to_text`).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crm_migration.sources.base import ExportAliases
from crm_migration.sources.leadtrac.layout import (
    CALL_DIRECTIONS,
    CALL_OUTCOMES,
    CONTACT_PROPERTIES,
    DAY_FIRST_FORMATS,
    DEAL_STAGES,
    EMAIL_DIRECTIONS,
    EXPORT_HEADERS,
    FILES_DIR,
    LAYOUTS,
    LEAD_PROPERTIES,
    LEAD_SOURCES,
    LEAD_STATUSES,
    MONTH_FIRST_FORMATS,
    SOURCE_TIMEZONE,
)
from crm_migration.sources.perfect_portal.generator import ascii_slug, attachment_body, csv_field, html_to_text

TRUTH_FILE = "_generator_truth.json"
CHUNK_ROWS = 10_000  # records built and written at a time (the output does not depend on it)
FILE_SIZE_LIMIT = 20 * 1024 * 1024  # Zoho CRM's attachment limit
BIG_FILE_SIZE = FILE_SIZE_LIMIT + 1_234_567

BASE_COUNTS = {"companies": 250, "contacts": 600, "leads": 900, "deals": 350, "calls": 700, "emails": 500,
               "meetings": 250, "notes": 500, "attachments": 200}
MIN_COUNTS = {"companies": 30, "contacts": 30, "leads": 60, "deals": 24, "calls": 24, "emails": 20,
              "meetings": 20, "notes": 24, "attachments": 12}
BASE_USERS, MIN_USERS = 18, 12
PROPERTY_RATE = 0.2  # chance that a record has a value for a given custom property

TENANT_DOMAIN = "brightlinehome.com"
UNKNOWN_STATUS = "Callback Scheduled"
UNKNOWN_STAGE = "Financing Review"

_START = int(np.datetime64("2018-01-08T08:00:00", "s").astype(np.int64))
_EXPORT = int(np.datetime64("2024-10-31T17:00:00", "s").astype(np.int64))
_DAY = 86_400

FILE_FORMATS = {  # file -> (encoding, record terminator)
    "users.csv": ("cp1252", "\r\n"),
    "companies.csv": ("utf-8-sig", "\r\n"),
    "leads.csv": ("utf-8", "\r\n"),
    "emails.csv": ("utf-8", "\r\n"),
}
DEFAULT_FORMAT = ("utf-8", "\n")

# Every date column: (date or datetime, the order its slashed values are written in).
# "undecidable": written month-first, but only with values whose both parts are <= 12.
# "iso": the telephony system writes ISO 8601 UTC only (no slashed values, no order).
DATE_COLUMNS: dict[str, tuple[str, str]] = {
    "companies.created_at": ("datetime", "day_first"), "companies.modified_at": ("datetime", "day_first"),
    "contacts.created_at": ("datetime", "day_first"), "contacts.modified_at": ("datetime", "day_first"),
    "leads.next_follow_up_on": ("date", "undecidable"),
    "leads.created_at": ("datetime", "month_first"), "leads.modified_at": ("datetime", "month_first"),
    "deals.expected_close_date": ("date", "month_first"), "deals.stage_entered_at": ("datetime", "month_first"),
    "deals.created_at": ("datetime", "month_first"), "deals.modified_at": ("datetime", "month_first"),
    "deal_stage_history.entered_at": ("datetime", "month_first"),
    "calls.called_at": ("datetime", "day_first"), "calls.modified_at": ("datetime", "day_first"),
    "call_recordings.recorded_at": ("datetime", "iso"),
    "emails.sent_at": ("datetime", "month_first"), "emails.modified_at": ("datetime", "month_first"),
    "meetings.start_at": ("datetime", "day_first"), "meetings.end_at": ("datetime", "day_first"),
    "meetings.created_at": ("datetime", "day_first"), "meetings.modified_at": ("datetime", "day_first"),
    "notes.created_at": ("datetime", "month_first"), "notes.modified_at": ("datetime", "month_first"),
    "attachments.uploaded_at": ("datetime", "day_first"),
}
# Format indices into DAY_FIRST_FORMATS / MONTH_FIRST_FORMATS (same positions) and their weights.
_DATETIME_PICK = ([0, 1, 2, 4, 5, 6], [0.2, 0.1, 0.25, 0.3, 0.08, 0.07])
_DATE_PICK = ([3, 5, 7], [0.45, 0.4, 0.15])
_SLASHED = (4, 5)

# ---------------------------------------------------------------------------------------------
# Pools

USER_NAMES = [
    "Rebecca Hollis", "Derek Vance", "José Ortega", "Zoë Lindqvist", "Marcus Bell", "Anika Sørensen",
    "Patrick O'Malley", "Renée Gauthier", "Kwame Asante", "Laura Kowalski", "Tomás Herrera", "Jenna Fischer",
    "Brandon Cole", "Mei Tanaka", "Sergio Álvarez", "Hannah Brandt", "Victor Nwosu", "Chloë Martin",
]
USER_ROLES = ["Sales Rep", "Sales Rep", "Appointment Setter", "Sales Manager", "Install Coordinator", "Admin"]

FIRST_NAMES = [
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "William",
    "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Christopher", "Karen", "Daniel", "Lisa",
    "Matthew", "Nancy", "Anthony", "Emily", "Mark", "Donna", "Steven", "Michelle", "Kevin", "Amanda", "Brian",
    "Melissa", "Zoë", "José", "Łukasz", "Björn", "Søren", "François", "Chloé", "Siobhán", "Mateo", "Priya", "Wei",
    "Aiko", "Olga", "Małgorzata", "Jürgen", "Renée", "Inés", "Ángel", "Fatima", "Kwame", "Leila", "Omar", "Nguyễn",
]
LAST_NAMES = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Thompson",
    "White", "Harris", "Clark", "Lewis", "Walker", "Hall", "Young", "King", "Wright", "Scott", "Green", "Baker",
    "Adams", "Nelson", "Carter", "Mitchell", "Roberts", "Ångström", "Żółkiewski", "Núñez", "Müller", "Schröder",
    "Østergaard", "Lefèvre", "O'Brien", "García", "Peña", "Wiśniewska", "Dvořák", "Tanaka", "Kim", "Nowak",
    "Kowalczyk", "Okafor", "Haddad", "Cohen", "van der Berg", "De la Cruz", "McAllister", "Yılmaz", "Öztürk",
]
COMPANY_WORDS = [
    "Prairie", "Lakeview", "Summit", "Northgate", "Cedar", "Ironbridge", "Riverbend", "Oakmont", "Bluestem",
    "Keystone", "Heartland", "Foxridge", "Willowbrook", "Stonegate", "Clearwater", "Maple Grove", "Fairhaven",
    "Silver Creek", "Brookside", "Granite",
]
COMPANY_NOUNS = [
    "Property Management", "Homes", "Builders", "Realty", "Apartments", "Senior Living", "Construction",
    "Housing Cooperative", "Development", "Facilities", "Storage", "Schools",
]
COMPANY_SUFFIXES = ["", " LLC", " Inc.", " Co.", " Group", " Partners"]
INDUSTRIES = ["Property Management", "Homebuilder", "General Contractor", "Real Estate", "HOA", "Hospitality",
              "Education", "Senior Living"]
SPECIAL_COMPANIES = [  # (name, domain, city, state, postal code, country, phone): non-ASCII names
    ("Müller & Söhne Dachbau GmbH", "mueller-dachbau.de", "Stuttgart", "BW", "70173", "Germany", "+49 711 5550142"),
    ("Énergie Solaire Québec Inc.", "energiesolaireqc.ca", "Montréal", "QC", "H2Y 1C6", "Canada", "+1 514 555 0142"),
    ("Zoë Ångström Fastigheter AB", "angstromfastigheter.se", "Göteborg", "", "411 05", "Sweden", "+46 31 555 01 42"),
    ("株式会社 山田ソーラー", "yamada-solar.co.jp", "Osaka", "", "530-0001", "Japan", "+81 6-5555-0142"),
]
ADDRESSES = [  # city, state, postal code, area code (US)
    ("Chicago", "IL", "60601", "312"), ("Naperville", "IL", "60540", "630"), ("Aurora", "IL", "60505", "630"),
    ("Joliet", "IL", "60432", "815"), ("Milwaukee", "WI", "53202", "414"), ("Madison", "WI", "53703", "608"),
    ("Indianapolis", "IN", "46204", "317"), ("Fort Wayne", "IN", "46802", "260"), ("Des Moines", "IA", "50309", "515"),
    ("St. Louis", "MO", "63101", "314"), ("Kansas City", "MO", "64105", "816"), ("Columbus", "OH", "43215", "614"),
    ("Dallas", "TX", "75201", "214"), ("Austin", "TX", "78701", "512"), ("Minneapolis", "MN", "55402", "612"),
    ("Grand Rapids", "MI", "49503", "616"),
]
US_SPELLINGS = ["United States", "USA", "US", "United States", "U.S."]
STREETS = ["Main", "Oak", "Maple", "Washington", "Lake", "Hill", "Park", "Pine", "Cedar", "Elm", "Prairie",
           "Madison", "Franklin", "Jefferson", "Ridge", "Meadow", "Sunset", "Highland", "Church", "Mill"]
STREET_TYPES = ["St", "Street", "Ave", "Avenue", "Blvd", "Rd", "Dr", "Ln", "Ct"]
TLDS = [".com", ".com", ".com", ".net", ".org", ".us"]
MAIL_DOMAINS = ["gmail.com", "gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "aol.com",
                "comcast.net", "att.net"]
TITLES = ["Property Manager", "Facilities Director", "Owner", "Maintenance Supervisor", "Office Manager", "CFO",
          "Project Manager", "HOA Board President", "Purchasing Manager", "Regional Manager", "Geschäftsführer",
          "Directrice des opérations", "Asset Manager"]
UTILITIES = ["ComEd", "Ameren Illinois", "Nicor Gas", "We Energies", "Xcel Energy", "Oncor", "AES Indiana", "Evergy"]
PRODUCTS = ["Solar Install", "Roof Replacement", "Battery Storage", "HVAC Upgrade", "Window Package", "Gutter Guards",
            "Roof Repair", "EV Charger"]
PRODUCT_CENTS = [(1_200_000, 4_500_000), (900_000, 3_200_000), (800_000, 1_800_000), (600_000, 1_600_000),
                 (400_000, 2_400_000), (150_000, 500_000), (40_000, 300_000), (120_000, 350_000)]
CALL_SUBJECTS = ["Intro call", "Appointment confirmation", "Follow-up on proposal", "Financing questions",
                 "Install scheduling", "Warranty question", "Callback request", "Site survey reminder"]
EMAIL_TOPICS = ["solar install", "roof replacement", "battery storage", "HVAC upgrade", "window package",
                "gutter guards"]
EMAIL_SUBJECTS = {
    "Sent": ["Your quote from Brightline Home", "Site survey confirmed", "Re: your installation", "Signed agreement"],
    "Received": ["Re: quote", "Question about financing", "Re: site survey", "Ready to move forward"],
}
MEETING_SUBJECTS = ["In-home consultation", "Site survey", "Proposal review", "Contract signing",
                    "Install walkthrough", "Final inspection", "HOA board presentation"]
MEETING_LOCATIONS = ["Customer home", "Brightline showroom – 410 Commerce Dr, Naperville", "Zoom", "Microsoft Teams",
                     "Customer office", "Job site"]
MEETING_DESCRIPTIONS = [
    "Bring shingle samples and the solar brochure.", "Customer wants both spouses present.\nPark on the street.",
    'Review "Option B" (battery + panels), financing at 5.99%.', "Gate code 4411. Dog in the yard, call on arrival.",
    "Walk the roof with the install lead; check the attic vents.", None,
]
EXTERNAL_ATTENDEES = [
    "permits@cityofnaperville.gov", "inspector.ruiz@cookcountyil.gov", "m.garza@sunfinance-partners.com",
    "board@willowbrook-hoa.org", "claims@midwest-mutual-insurance.com", "dana@keller-realty-group.com",
    "j.okoro@prairie-electric-coop.com", "scheduling@greenroof-subcontracting.com", "tom.reyes@lakeshore-lending.com",
    "office@fairhaven-builders-assoc.org", "a.lindholm@solarfinance-direct.com", "estimates@gutterpro-partners.com",
]
NOTE_TITLES = ["Call summary", "Site visit", "Financing", "Follow-up", "HOA approval", "Permit status",
               "Customer concern", "Install notes"]
NOTE_BODIES = [
    "Homeowner asked about net metering; sent the ComEd fact sheet.",
    'Wants a second quote for "Option B" (panels + battery). Follow up Friday.',
    "Roof is 22 years old, recommend replacement before solar.\nCustomer agrees, needs HOA approval first.",
    "Credit application submitted, approval expected in 3-5 business days.",
    "Left voicemail, will try again next week.",
    "Permit filed with the city, reference #2024-11873.\nInspection to be scheduled after install.",
    "Customer upset about the install delay — offered a $250 credit, accepted.",
    "Spoke with both owners, they prefer morning appointments.",
]
ATTACHMENT_NAMES = {
    "pdf": ["Enrollment Agreement – signed.pdf", "Proposal Option B.pdf", "DocuSign Certificate of Completion.pdf",
            "Utility Bill March.pdf", "HOA Approval Letter.pdf", "Permit Application.pdf"],
    "docx": ["Angebot Müller & Söhne.docx", "Scope of Work.docx", "Change Order 2.docx"],
    "xlsx": ["Savings Estimate.xlsx", "Financing Comparison.xlsx"],
    "png": ["Roof photo 3.png", "Electrical panel.png", "Site plan sketch.png"],
    "txt": ["Call transcript.txt", "Install checklist.txt"],
}
ATTACHMENT_TYPES = ["pdf", "docx", "xlsx", "png", "txt"]
CONTENT_TYPES = {"pdf": "application/pdf", "png": "image/png", "txt": "text/plain",
                 "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
_PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

# HTML bodies per direction: literal pieces and column references ({name}).
HTML_TEMPLATES = {
    "Sent": [
        "<p>Hi {first},</p>\n<p>Thanks for your time today. Here is the quote for your {topic}: <b>${amount}</b> "
        "(installation &amp; permits included).</p>\n<p>Best regards,<br>\n{owner}<br>\n"
        '<img src="cid:logo-{id}@brightlinehome.com" alt="Brightline Home" width="120"></p>',
        "<div>Hello {first},<br><br>Your site survey is confirmed for <strong>{date}</strong>.&nbsp;Please make "
        "sure we can access the attic &amp; the electrical panel.</div>\n<div><br></div>\n<div>&mdash; {owner}</div>",
        "<p>Dear {first},</p>\n<p>Attached you&rsquo;ll find the signed agreement (&quot;{topic}&quot;).<br/>"
        "Installation window: {date}.</p>\n<blockquote>&gt; Is the 25-year warranty included?</blockquote>\n"
        "<p>Yes &#x2714; it is.</p>",
    ],
    "Received": [
        "<p>Hi,</p><p>We&#39;d like to move forward with the {topic}. Can you send the contract?</p>"
        '<p>Thanks,<br>{first}</p><p><img src="data:image/png;base64,' + _PIXEL + '" alt=""></p>',
        "<div dir=\"ltr\">Quick question &ndash; does the {topic} quote of ${amount} include the "
        "tax credit?<br>\n<br>\nSent from my iPhone</div>",
    ],
}
_FLAT_TEMPLATES = [(d, t) for d in EMAIL_DIRECTIONS for t in HTML_TEMPLATES[d]]


# ---------------------------------------------------------------------------------------------
# Small helpers


def _rng(seed: int, salt: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, salt]))


def _s(values) -> pa.Array:
    return pa.array(values, pa.string())


def _take(pool, idx) -> pa.Array:
    return (pool if isinstance(pool, pa.Array) else _s(pool)).take(pa.array(np.asarray(idx, dtype=np.int64)))


def _cat(*parts) -> pa.Array:
    """Element-wise concatenation of string arrays and literals (a null anywhere gives null)."""
    parts = [pa.scalar(p, pa.string()) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*parts, pa.scalar("", pa.string()))


def _num(values, width: int = 0) -> pa.Array:
    out = pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())
    return pc.utf8_lpad(out, width, padding="0") if width else out


def _if(mask, a, b) -> pa.Array:
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), a, b)


def _null_where(arr: pa.Array, mask) -> pa.Array:
    return _if(mask, pa.scalar(None, arr.type), arr)


def _choose(rng: np.random.Generator, n: int, weights) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(w), size=n, p=w / w.sum())


def _scatter(groups: np.ndarray, pieces: dict[int, pa.Array]) -> pa.Array:
    """One array from per-group arrays: pieces[g] holds, in order, the values of the rows where groups == g."""
    order = np.argsort(groups, kind="stable")
    combined = pa.concat_arrays([pieces[k] for k in sorted(pieces)])
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return combined.take(pa.array(inverse))


def _money(cents, style) -> pa.Array:
    """Money as text: style 0 ``12500.00``, 1 ``$12,500.00``, 2 ``12500`` (whole dollars)."""
    cents = np.asarray(cents, dtype=np.int64)
    dollars, rest = cents // 100, _num(cents % 100, 2)
    plain = _num(dollars)
    return pc.choose(pa.array(np.asarray(style, dtype=np.int8)), _cat(plain, ".", rest),
                     _cat("$", _thousands(dollars), ".", rest), plain)


def _thousands(values) -> pa.Array:
    """Integers with thousands separators (1,250,000)."""
    v = np.asarray(values, dtype=np.int64)
    # Every group padded to three digits, then the leading zeros and separators dropped.
    groups = [pc.utf8_lpad(_num((v // 1000 ** k) % 1000), 3, padding="0") for k in range(4, -1, -1)]
    padded = _cat(*[part for g in groups for part in (g, ",")][:-1])
    # RE2 has no lookahead: keep the last digit of an all-zero number.
    return pc.replace_substring_regex(padded, r"^[0,]*([0-9])", r"\1")


def _phones(rng: np.random.Generator, n: int, area: pa.Array) -> pa.Array:
    line = _num(rng.integers(100, 200, n), 3)  # 555-0100..555-0199: reserved for fiction
    style = pa.array(_choose(rng, n, [0.35, 0.25, 0.2, 0.2]), pa.int8())
    return pc.choose(style, _cat("(", area, ") 555-0", line), _cat(area, "-555-0", line),
                     _cat("+1 ", area, " 555 0", line), _cat(area, ".555.0", line))


def _case_variant(email: pa.Array) -> pa.Array:
    """first.last@domain.com -> First.Last@Domain.com (what some export screens do to owner e-mails)."""
    return pc.utf8_title(email)


def _unique_emails(local: pa.Array, domain: pa.Array) -> pa.Array:
    """local@domain, the 2nd, 3rd... use of an address getting a number before the @ (no pool name has digits)."""
    email = _cat(local, "@", domain)
    s = pd.Series(pc.utf8_lower(email).to_numpy(zero_copy_only=False))
    k = s.groupby(s, sort=False).cumcount().to_numpy()
    return _if(k > 0, _cat(local, _num(k + 1), "@", domain), email)


def _local_days(secs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(day of month, month) of local times in seconds."""
    t = np.asarray(secs, dtype="datetime64[s]")
    months = t.astype("datetime64[M]")
    return (t.astype("datetime64[D]") - months.astype("datetime64[D]")).astype(np.int64) + 1, months.astype(np.int64) % 12 + 1


def _office(secs) -> np.ndarray:
    """Times moved into 07:00-19:00 of their day: never in a DST gap or overlap."""
    secs = np.asarray(secs, dtype=np.int64)
    return secs - secs % _DAY + np.clip(secs % _DAY, 7 * 3600, 19 * 3600)


def _created(rng: np.random.Generator, n: int, after=None) -> tuple[np.ndarray, np.ndarray]:
    """(created, modified) local seconds in office hours (no DST gap); created after ``after`` when given."""
    lo = np.full(n, _START, dtype=np.int64) if after is None else np.asarray(after, dtype=np.int64)
    span = np.maximum(_EXPORT - lo - 2 * _DAY, _DAY)
    created = lo + (rng.random(n) * 0.9 * span).astype(np.int64)
    created = created - created % _DAY + 7 * 3600 + rng.integers(0, 12 * 3600, n) // 60 * 60
    created = np.minimum(np.maximum(created, lo + _DAY), _EXPORT - _DAY)
    modified = np.minimum(created + (rng.exponential(40, n) * _DAY).astype(np.int64), _EXPORT)
    return created, np.maximum(_office(modified), created)


def _joined(lines: pa.Array) -> bytes:
    """The UTF-8 bytes of all lines, straight from the array's buffers."""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset:lines.offset + len(lines) + 1]
    return lines.buffers()[2].to_pybytes()[offsets[0]:offsets[-1]] if len(lines) else b""


def _csv_lines(columns: list[pa.Array], terminator: str) -> pa.Array:
    """One CSV record per row, quoting only the values that need it (the rule of ``csv_field``)."""
    big = lambda text: pa.scalar(text, pa.large_string())  # noqa: E731
    fields = []
    for col in columns:
        col = col.cast(pa.large_string())
        need = pc.fill_null(pc.match_substring_regex(col, r'[",\r\n]'), False)
        quoted = pc.binary_join_element_wise(big('"'), pc.replace_substring(col, '"', '""'), big('"'), big(""))
        fields.append(pc.fill_null(pc.if_else(need, quoted, col), ""))
    line = pc.binary_join_element_wise(*fields, big(","))
    return pc.binary_join_element_wise(line, big(terminator), big(""))


def _wav_body(seconds: float, pitch: int) -> bytes:
    """A short 8 kHz, 8-bit mono WAV tone: a stand-in for a call recording."""
    n = int(8000 * seconds)
    samples = (128 + 60 * np.sin(np.arange(n) * 2 * np.pi * pitch / 8000)).astype(np.uint8).tobytes()
    head = b"RIFF" + (36 + n).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little")
    head += (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + (8000).to_bytes(4, "little")
    head += (8000).to_bytes(4, "little") + (1).to_bytes(2, "little") + (8).to_bytes(2, "little")
    return head + b"data" + n.to_bytes(4, "little") + samples


# ---------------------------------------------------------------------------------------------
# Dates


@dataclass
class _Dates:
    """One date column's skeleton: local times, the format index of each value, the column's formats."""

    secs: np.ndarray
    fmt: np.ndarray
    formats: tuple[str, ...]

    def text(self, rows: np.ndarray) -> pa.Array:
        secs, fmt = self.secs[rows], self.fmt[rows]
        pieces = {}
        for g in np.unique(fmt):
            f = self.formats[int(g)]
            local = pa.array(secs[fmt == g], pa.timestamp("s"))
            if f.endswith("Z") or f.endswith("%z"):
                zoned = pc.assume_timezone(local, timezone=SOURCE_TIMEZONE, ambiguous="earliest", nonexistent="earliest")
                if f.endswith("Z"):
                    pieces[int(g)] = pc.strftime(zoned.cast(pa.timestamp("s", tz="UTC")), format=f)
                else:
                    text = pc.strftime(zoned, format=f)
                    pieces[int(g)] = pc.replace_substring_regex(text, r"([+-]\d\d)(\d\d)$", r"\1:\2")
            else:
                pieces[int(g)] = pc.strftime(local, format=f)
        return _scatter(fmt, pieces) if len(rows) else pa.array([], pa.string())


def _dates(key: str, secs: np.ndarray, rng: np.random.Generator) -> _Dates:
    """Pick each value's format for a date column, so that the column shows the order DATE_COLUMNS says.

    A decidable column gets at least one deciding value (day > 12) and one ambiguous value; the
    undecidable column gets no slashed value here (the caller picks the few it writes slashed).
    """
    kind, order = DATE_COLUMNS[key]
    n = len(secs)
    formats = DAY_FIRST_FORMATS if order == "day_first" else MONTH_FIRST_FORMATS
    if order == "iso":
        return _Dates(secs, np.zeros(n, dtype=np.int8), formats)
    choices, weights = _DATE_PICK if kind == "date" else _DATETIME_PICK
    fmt = np.asarray(choices, dtype=np.int8)[_choose(rng, n, weights)]
    slash = _SLASHED[1] if kind == "date" else _SLASHED[0]
    day, month = _local_days(secs)
    slashed = np.isin(fmt, _SLASHED)
    if order == "undecidable":  # the caller writes a few chosen values slashed
        fmt[slashed] = 3 if kind == "date" else 2
    else:
        if not (slashed & (day > 12)).any() and (day > 12).any():
            fmt[np.flatnonzero(day > 12)[0]] = slash
        ambiguous = (day <= 12) & (day != month)
        if not (slashed & ambiguous).any() and ambiguous.any():
            fmt[np.flatnonzero(ambiguous)[-1]] = slash
    return _Dates(secs, fmt, formats)


_SLASH_RE = r"^(?P<a>\d{1,2})/(?P<b>\d{1,2})/\d{4}"


def slashed_parts(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(first, second) number of each slashed date value (0 where the value is not a slashed date)."""
    parts = pc.extract_regex(pc.fill_null(values, ""), _SLASH_RE)
    a = pc.fill_null(pc.cast(pc.struct_field(parts, "a"), pa.int64()), 0)
    b = pc.fill_null(pc.cast(pc.struct_field(parts, "b"), pa.int64()), 0)
    return np.asarray(a), np.asarray(b)


# ---------------------------------------------------------------------------------------------
# Tables as plans: build(rows) gives the text columns of any rows; overrides and raw lines are the
# few records set by hand (defects, fixed samples).


@dataclass
class _Plan:
    name: str
    n: int
    build: Callable[[np.ndarray], dict[str, pa.Array]]
    overrides: dict[int, dict[str, str | None]] = field(default_factory=dict)
    raw_lines: dict[int, str] = field(default_factory=dict)
    bad: set[int] = field(default_factory=set)  # rows with a planted defect

    def rows(self, rows: np.ndarray) -> dict[str, pa.Array]:
        cols = self.build(rows)
        hits = np.flatnonzero(np.isin(rows, np.fromiter(self.overrides, dtype=np.int64)))
        for i in hits:  # a handful per table
            for col, value in self.overrides[int(rows[i])].items():
                mask = np.zeros(len(rows), dtype=bool)
                mask[i] = True
                cols[col] = pc.replace_with_mask(cols[col], pa.array(mask), pa.array([value], pa.string()))
        return cols

    def value(self, row: int, col: str) -> str | None:
        return self.rows(np.array([row]))[col][0].as_py()


def _count(name: str, scale: float) -> int:
    return max(MIN_COUNTS[name], int(round(BASE_COUNTS[name] * scale)))


class _Generator:
    def __init__(self, seed: int, scale: float, with_files: bool) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.seed, self.scale, self.with_files = int(seed), float(scale), with_files
        self.n = {k: _count(k, scale) for k in BASE_COUNTS}
        if max(self.n.values()) >= 990_000:
            raise ValueError("scale too large: ids are six digits")
        self.n_users = max(MIN_USERS, int(round(BASE_USERS * math.sqrt(scale))))
        self.plans: dict[str, _Plan] = {}
        self.defects: list[dict] = []

    def defect(self, obj: str, row: int, fld: str | None, code: str, note: str, **extra) -> None:
        plan = self.plans[obj]
        plan.bad.add(int(row))
        sid = plan.value(int(row), LAYOUTS[obj].id_column)
        entry = {"object": obj, "source_id": sid, "source_row": int(row) + 2, "field": fld, "reason_code": code,
                 "note": note}
        if "value" not in extra and fld is not None:
            extra["value"] = plan.value(int(row), fld)
        entry.update(extra)
        self.defects.append(entry)

    def _owners(self, rng: np.random.Generator, n: int, clean=()) -> np.ndarray:
        """Owner (user) index per record; records in ``clean`` get a matched, active owner."""
        idx = rng.choice(self.n_users, size=n, p=self.user_weights)
        clean = np.asarray(list(clean), dtype=np.int64)
        if len(clean):
            idx[clean] = self.good_users[rng.integers(0, len(self.good_users), len(clean))]
        return idx

    @staticmethod
    def _good(n: int, bad) -> np.ndarray:
        mask = np.ones(n, dtype=bool)
        mask[list(bad)] = False
        return np.flatnonzero(mask)

    # -- users -------------------------------------------------------------------------------
    def users(self) -> None:
        rng = _rng(self.seed, 1)
        n = self.n_users
        names = [x.split(" ", 1) for x in USER_NAMES[:n]]
        cp1252 = [(f, la) for f in FIRST_NAMES for la in LAST_NAMES if (f + la).encode("cp1252", "ignore").decode("cp1252") == f + la]
        extra = rng.choice(len(cp1252), size=max(0, n - len(names)), replace=False)
        names += [list(cp1252[int(i)]) for i in extra]
        first, last = _s([f for f, _ in names]), _s([la for _, la in names])
        local = _cat(_s([ascii_slug(f) for f, _ in names]), ".", _s([ascii_slug(la) for _, la in names]))
        self.user_emails = _unique_emails(local, pa.repeat(pa.scalar(TENANT_DOMAIN), n))
        self.user_variants = _case_variant(self.user_emails)
        # The last three users never got a Zoho account; one earlier user has left (inactive in both).
        self.unmatched = list(range(n - 3, n))
        self.inactive = [n - 4]
        self.good_users = np.array([i for i in range(n) if i not in self.unmatched + self.inactive])
        weights = np.ones(n)
        weights[self.unmatched + self.inactive] = 0.6
        self.user_weights = weights / weights.sum()
        role = _take(USER_ROLES, rng.integers(0, len(USER_ROLES), n))
        active = _s(["N" if i in self.inactive else "Y" for i in range(n)])
        ids = _cat("U", _num(np.arange(101, 101 + n)))
        cols = {"user_id": ids, "first_name": first, "last_name": last, "email": self.user_emails, "role": role,
                "active": active}
        self.plans["users"] = _Plan("users", n, lambda rows: {k: v.take(pa.array(rows)) for k, v in cols.items()})

    # -- companies ---------------------------------------------------------------------------
    def companies(self) -> None:
        rng = _rng(self.seed, 2)
        n = self.n["companies"]
        pattern = _choose(rng, n, [0.5, 0.2, 0.3])
        w, noun = rng.integers(0, len(COMPANY_WORDS), n), rng.integers(0, len(COMPANY_NOUNS), n)
        l1, l2 = rng.integers(0, len(LAST_NAMES), n), rng.integers(0, len(LAST_NAMES), n)
        sfx = _take(COMPANY_SUFFIXES, rng.integers(0, len(COMPANY_SUFFIXES), n))
        word, last1, last2, nn = _take(COMPANY_WORDS, w), _take(LAST_NAMES, l1), _take(LAST_NAMES, l2), _take(COMPANY_NOUNS, noun)
        p = pa.array(pattern.astype(np.int8))
        base = pc.choose(p, _cat(word, " ", nn), _cat(last1, " & ", last2), _cat(last1, " ", nn))
        slug_of = lambda pool, idx: _take([ascii_slug(x) for x in pool], idx)  # noqa: E731
        slug = pc.choose(p, _cat(slug_of(COMPANY_WORDS, w), slug_of(COMPANY_NOUNS, noun)),
                         _cat(slug_of(LAST_NAMES, l1), slug_of(LAST_NAMES, l2)),
                         _cat(slug_of(LAST_NAMES, l1), slug_of(COMPANY_NOUNS, noun)))
        addr = rng.integers(0, len(ADDRESSES), n)
        city = _take([a[0] for a in ADDRESSES], addr)
        # Unique names (case-insensitive): a repeated name gets its city, then a number.
        name = _cat(base, sfx)
        key = pd.Series(pc.utf8_lower(name).to_numpy(zero_copy_only=False))
        k = key.groupby(key, sort=False).cumcount().to_numpy()
        name = _if(k > 0, _cat(base, " of ", city, sfx), name)
        key = pd.Series(pc.utf8_lower(name).to_numpy(zero_copy_only=False))
        k2 = key.groupby(key, sort=False).cumcount().to_numpy()
        name = _if(k2 > 0, _cat(base, " of ", city, " ", _num(k2 + 1), sfx), name)
        skey = pd.Series(slug.to_numpy(zero_copy_only=False))
        ks = skey.groupby(skey, sort=False).cumcount().to_numpy()
        domain = _cat(_if(ks > 0, _cat(slug, _num(ks + 1)), slug), _take(TLDS, rng.integers(0, len(TLDS), n)))

        # Hierarchy: ~8% top-level parents, ~10% their children, ~4% grandchildren.
        perm = rng.permutation(n)
        n0, n1, n2 = max(2, round(0.08 * n)), max(2, round(0.10 * n)), max(1, round(0.04 * n))
        lvl0, lvl1, lvl2 = perm[:n0], perm[n0:n0 + n1], perm[n0 + n1:n0 + n1 + n2]
        standalone = perm[n0 + n1 + n2:]
        parent = np.full(n, -1, dtype=np.int64)
        parent[lvl1] = lvl0[rng.integers(0, n0, n1)]
        parent[lvl2] = lvl1[rng.integers(0, n1, n2)]
        picks = rng.choice(standalone, size=8 + len(SPECIAL_COMPANIES), replace=False)
        cycle, blank, dup_groups = picks[:3], int(picks[3]), [picks[4:6], picks[6:8]]
        specials = [int(x) for x in picks[8:]]
        for a, b in zip(cycle, np.roll(cycle, -1)):
            parent[a] = b

        # Specials (non-ASCII names): fixed name, domain, address and phone.
        mask = np.zeros(n, dtype=bool)
        mask[specials] = True
        order = np.argsort(specials)

        def special(arr: pa.Array, pos: int) -> pa.Array:
            return pc.replace_with_mask(arr, pa.array(mask), _s([SPECIAL_COMPANIES[i][pos] or None for i in order]))

        name, domain = special(name, 0), special(domain, 1)
        self.company_names, self.company_domains = name, domain
        ids = _cat("CO-", _num(np.arange(1, n + 1), 6))
        web_style = pa.array(_choose(rng, n, [0.35, 0.3, 0.2, 0.1, 0.05]).astype(np.int8))
        website = pc.choose(web_style, _cat("https://www.", domain), _cat("www.", domain), domain,
                            _cat("http://", domain, "/"), pa.nulls(n, pa.string()))
        area = _take([a[3] for a in ADDRESSES], addr)
        phone = _phones(rng, n, area)
        street = _cat(_num(rng.integers(10, 9800, n)), " ", _take(STREETS, rng.integers(0, len(STREETS), n)), " ",
                      _take(STREET_TYPES, rng.integers(0, len(STREET_TYPES), n)))
        country = _take(US_SPELLINGS, rng.integers(0, len(US_SPELLINGS), n))
        state, postal = _take([a[1] for a in ADDRESSES], addr), _take([a[2] for a in ADDRESSES], addr)
        city, state, postal, country, phone = (special(a, k) for k, a in enumerate((city, state, postal, country, phone), 2))
        website = _if(mask, _cat("https://www.", domain), website)
        industry = _null_where(_take(INDUSTRIES, rng.integers(0, len(INDUSTRIES), n)), rng.random(n) < 0.1)
        revenue = rng.integers(2, 4000, n) * 25_000
        revenue_text = pc.choose(pa.array(_choose(rng, n, [0.4, 0.4, 0.2]).astype(np.int8)),
                                 _cat("$", _thousands(revenue)), _num(revenue), _cat(_num(revenue), ".00"))
        revenue_text = _null_where(revenue_text, rng.random(n) < 0.15)
        employees = rng.integers(3, 2500, n)
        employees_text = _null_where(_if(employees >= 1000, _thousands(employees), _num(employees)), rng.random(n) < 0.2)
        created, modified = _created(rng, n)
        self.company_created = created
        dc, dm = _dates("companies.created_at", created, rng), _dates("companies.modified_at", modified, rng)
        defect_rows = list(cycle) + [blank] + [int(x) for g in dup_groups for x in g]
        owner = self._owners(rng, n, defect_rows)
        parent_id = _if(parent >= 0, ids.take(pa.array(np.maximum(parent, 0))), pa.scalar(None, pa.string()))
        cols = {"company_id": ids, "name": name, "website": website, "industry": industry,
                "annual_revenue": revenue_text, "employee_count": employees_text, "phone": phone, "street": street,
                "city": city, "state": state, "postal_code": postal, "country": country,
                "parent_company_id": parent_id, "owner_email": _take(self.user_emails, owner)}

        def build(rows):
            out = {k: v.take(pa.array(rows)) for k, v in cols.items()}
            out["created_at"], out["modified_at"] = dc.text(rows), dm.text(rows)
            return out

        plan = self.plans["companies"] = _Plan("companies", n, build)
        # Duplicates by name: an exact repeat, and one in capitals.
        (a, b), (c, d) = dup_groups
        plan.overrides[int(b)] = {"name": name[int(a)].as_py()}
        plan.overrides[int(d)] = {"name": name[int(c)].as_py().upper()}
        plan.overrides[blank] = {"name": None}
        cid = lambda i: ids[int(i)].as_py()  # noqa: E731
        for a_ in cycle:
            self.defect("companies", a_, "parent_company_id", "HIERARCHY_CYCLE",
                        "cycle " + " -> ".join(cid(x) for x in list(cycle) + [cycle[0]]))
        self.defect("companies", blank, "name", "REQUIRED_MISSING", "blank company name")
        for g, members in enumerate(dup_groups):
            for m in members:
                self.defect("companies", m, "name", "DUPLICATE_SUSPECTED",
                            f"duplicate group {g + 1}: same company name" + (" (differs in case)" if g else ""),
                            group=[cid(x) for x in members])
        self.company_ids = ids
        self.good_companies = self._good(n, defect_rows)
        self.special_companies = specials

    # -- contacts ----------------------------------------------------------------------------
    def contacts(self) -> None:
        rng = _rng(self.seed, 3)
        n = self.n["contacts"]
        company = self.good_companies[rng.integers(0, len(self.good_companies), n)]
        fi, li = rng.integers(0, len(FIRST_NAMES), n), rng.integers(0, len(LAST_NAMES), n)
        first, last = _take(FIRST_NAMES, fi), _take(LAST_NAMES, li)
        af = _take([ascii_slug(x) for x in FIRST_NAMES], fi)
        al = _take([ascii_slug(x) for x in LAST_NAMES], li)
        style = pa.array(_choose(rng, n, [0.6, 0.25, 0.15]).astype(np.int8))
        local = pc.choose(style, _cat(af, ".", al), _cat(pc.utf8_slice_codeunits(af, 0, 1), al), _cat(af, "_", al))
        email = _unique_emails(local, self.company_domains.take(pa.array(company)))
        ids = _cat("CT-", _num(np.arange(1, n + 1), 6))
        d = rng.choice(n, size=5, replace=False)
        orphans, invalid, blank_last = d[:2], d[2:4], int(d[4])
        area = _take([a[3] for a in ADDRESSES], rng.integers(0, len(ADDRESSES), n))
        phone = _null_where(_phones(rng, n, area), rng.random(n) < 0.1)
        mobile = _null_where(_phones(rng, n, area), rng.random(n) < 0.5)
        title = _null_where(_take(TITLES, rng.integers(0, len(TITLES), n)), rng.random(n) < 0.15)
        created, modified = _created(rng, n, self.company_created[company])
        dc, dm = _dates("contacts.created_at", created, rng), _dates("contacts.modified_at", modified, rng)
        company_id = self.company_ids.take(pa.array(company))
        cols = {"contact_id": ids, "company_id": company_id, "first_name": first, "last_name": last, "email": email,
                "phone": phone, "mobile": mobile, "title": title,
                "owner_email": _take(self.user_emails, self._owners(rng, n, d))}

        def build(rows):
            out = {k: v.take(pa.array(rows)) for k, v in cols.items()}
            out["created_at"], out["modified_at"] = dc.text(rows), dm.text(rows)
            return out

        plan = self.plans["contacts"] = _Plan("contacts", n, build)
        orphan_ids = [f"CO-{990_001 + k:06d}" for k in range(len(orphans))]
        for i, oid in zip(orphans, orphan_ids):
            plan.overrides[int(i)] = {"company_id": oid}
            self.defect("contacts", i, "company_id", "ORPHAN_REFERENCE", f"company {oid} is not in the export")
        for (note, fn), i in zip([("trailing dot", lambda e: e + "."), ("no domain", lambda e: e.split("@")[0] + "@")],
                                 invalid):
            plan.overrides[int(i)] = {"email": fn(email[int(i)].as_py())}
            self.defect("contacts", i, "email", "INVALID_EMAIL", note)
        plan.overrides[blank_last] = {"last_name": None}
        self.defect("contacts", blank_last, "last_name", "REQUIRED_MISSING", "blank last name")
        self.contact_ids, self.contact_emails, self.contact_first = ids, email, first
        self.contact_company, self.contact_created = company, created
        self.good_contacts = self._good(n, d)
        self.contact_last_idx = li
        self._properties("contact_properties", "contact_id", CONTACT_PROPERTIES, ids, self.good_contacts, created, 4)

    # -- leads -------------------------------------------------------------------------------
    def leads(self) -> None:
        rng = _rng(self.seed, 5)
        n = self.n["leads"]
        fi, li = rng.integers(0, len(FIRST_NAMES), n), rng.integers(0, len(LAST_NAMES), n)
        first, last = _take(FIRST_NAMES, fi), _take(LAST_NAMES, li)
        af = _take([ascii_slug(x) for x in FIRST_NAMES], fi)
        al = _take([ascii_slug(x) for x in LAST_NAMES], li)
        style = pa.array(_choose(rng, n, [0.45, 0.3, 0.25]).astype(np.int8))
        local = pc.choose(style, _cat(af, ".", al), _cat(af, al), _cat(pc.utf8_slice_codeunits(af, 0, 1), al))
        email = _unique_emails(local, _take(MAIL_DOMAINS, rng.integers(0, len(MAIL_DOMAINS), n)))
        business = rng.random(n) < 0.25
        company = _if(business, _cat(_take(COMPANY_WORDS, rng.integers(0, len(COMPANY_WORDS), n)), " ",
                                     _take(COMPANY_NOUNS, rng.integers(0, len(COMPANY_NOUNS), n))),
                      _cat(last, " Residence"))
        title = _if(business, _take(TITLES, rng.integers(0, len(TITLES), n)), _null_where(_s(["Homeowner"] * n), rng.random(n) < 0.6))
        area = _take([a[3] for a in ADDRESSES], rng.integers(0, len(ADDRESSES), n))
        phone = _null_where(_phones(rng, n, area), rng.random(n) < 0.05)
        mobile = _null_where(_phones(rng, n, area), rng.random(n) < 0.4)
        status = rng.choice(len(LEAD_STATUSES), n, p=[0.25, 0.2, 0.2, 0.12, 0.08, 0.15])
        source = _take(LEAD_SOURCES, rng.choice(len(LEAD_SOURCES), n, p=[0.25, 0.15, 0.15, 0.15, 0.1, 0.08, 0.07, 0.05]))
        created, modified = _created(rng, n)
        follow = created + rng.integers(2, 45, n) * _DAY
        follow = np.minimum(follow - follow % _DAY, _EXPORT - _EXPORT % _DAY)
        has_follow = (status <= 2) & (rng.random(n) < 0.8)
        dc, dm = _dates("leads.created_at", created, rng), _dates("leads.modified_at", modified, rng)
        df = _dates("leads.next_follow_up_on", follow, rng)
        ids = _cat("LD-", _num(np.arange(1, n + 1), 6))
        d = rng.choice(n, size=15, replace=False)
        # The undecidable column: its only slashed values are five ambiguous ones and one 05/05-like one.
        day, month = _local_days(follow)
        free = has_follow & ~np.isin(np.arange(n), d)
        ambiguous = rng.choice(np.flatnonzero(free & (day <= 12) & (day != month)), size=5, replace=False)
        df.fmt[ambiguous] = _SLASHED[1]
        df.fmt[np.flatnonzero(free & (day == month))[:1]] = _SLASHED[1]
        groups = [d[0:2], d[2:4], d[4:7]]
        invalid, blank_last, blank_company, unknown = d[7:11], int(d[11]), int(d[12]), d[13:15]
        owner = self._owners(rng, n, d)
        owner_email = _if(rng.random(n) < 0.08, self.user_variants.take(pa.array(owner)), self.user_emails.take(pa.array(owner)))
        cols = {"lead_id": ids, "first_name": first, "last_name": last, "company": company, "email": email,
                "phone": phone, "mobile": mobile, "title": title, "status": _take(LEAD_STATUSES, status),
                "lead_source": source, "owner_email": owner_email}

        def build(rows):
            out = {k: v.take(pa.array(rows)) for k, v in cols.items()}
            out["next_follow_up_on"] = _null_where(df.text(rows), ~has_follow[rows])
            out["created_at"], out["modified_at"] = dc.text(rows), dm.text(rows)
            return {c: out[c] for c in LAYOUTS["leads"].columns}

        plan = self.plans["leads"] = _Plan("leads", n, build)
        lid = lambda i: ids[int(i)].as_py()  # noqa: E731
        for g, members in enumerate(groups):
            src = int(members[0])
            e0 = email[src].as_py()
            for k, m in enumerate(members[1:]):
                value = _case_variant(_s([e0]))[0].as_py() if g == 1 else e0
                plan.overrides[int(m)] = {"first_name": first[src].as_py(), "last_name": last[src].as_py(),
                                          "company": company[src].as_py(), "email": value}
            for m in members:
                self.defect("leads", m, "email", "DUPLICATE_SUSPECTED",
                            f"duplicate group {g + 1}: same e-mail" + (" (differs in case)" if g == 1 else ""),
                            group=[lid(x) for x in members])
        bad_patterns = [("missing @", lambda e: e.replace("@", "")), ("two @", lambda e: e.replace("@", "@@")),
                        ("contains a space", lambda e: e.replace("@", " @")),
                        ("no dot in the domain", lambda e: e.rsplit(".", 1)[0])]
        for (note, fn), i in zip(bad_patterns, invalid):
            plan.overrides[int(i)] = {"email": fn(email[int(i)].as_py())}
            self.defect("leads", i, "email", "INVALID_EMAIL", note)
        plan.overrides[blank_last] = {"last_name": None}
        self.defect("leads", blank_last, "last_name", "REQUIRED_MISSING", "blank last name")
        plan.overrides[blank_company] = {"company": None}
        self.defect("leads", blank_company, "company", "REQUIRED_MISSING", "blank company (Zoho requires it on Leads)")
        for i in unknown:
            plan.overrides[int(i)] = {"status": UNKNOWN_STATUS}
            self.defect("leads", i, "status", "UNMAPPED_VALUE", f"status {UNKNOWN_STATUS!r} is not a LeadTrac default")
        self.lead_ids, self.lead_emails, self.lead_first, self.lead_created = ids, email, first, created
        for i in ambiguous:
            self.defect("leads", i, "next_follow_up_on", "AMBIGUOUS_DATE",
                        "reads day-first and month-first, and no value of the column shows which")
        self.lead_last_idx = li
        self.good_leads = self._good(n, list(d) + list(ambiguous))
        self._properties("lead_properties", "lead_id", LEAD_PROPERTIES, ids, self.good_leads, created, 6)

    def _properties(self, name, key, props, parent_ids, good, parent_created, salt) -> None:
        rng = _rng(self.seed, 100 + salt)
        mask = rng.random((len(good), len(props))) < PROPERTY_RATE
        rows, prop = np.nonzero(mask)
        m = len(rows)
        parent = good[rows]
        u = rng.random(m)
        when = _office(np.minimum(parent_created[parent] + (u * 400 * _DAY).astype(np.int64), _EXPORT))
        names = list(props)

        def build(sel):
            p, uu, t = prop[sel], u[sel], when[sel]
            pieces = {}
            for k in np.unique(p):
                kind, x, tt = props[names[int(k)]], uu[p == k], t[p == k]
                if isinstance(kind, tuple):
                    vals = _take(list(kind), (x * len(kind)).astype(int))
                elif isinstance(kind, list):
                    vals = _take(_multi_options(kind), (x * len(_multi_options(kind))).astype(int))
                elif kind == "integer":
                    vals = _num(1 + (x * 40).astype(int))
                elif kind == "decimal":
                    cents = (4_500 + x * 4_000_000).astype(np.int64)
                    vals = _money(cents, (x * 1000).astype(int) % 2)
                elif kind == "date":
                    vals = pc.strftime(pa.array(tt, pa.timestamp("s")), format="%Y-%m-%d")
                elif kind == "datetime":
                    vals = pc.strftime(pa.array(tt, pa.timestamp("s")), format="%Y-%m-%d %H:%M:%S")
                elif names[int(k)] == "Utility Provider":
                    vals = _take(UTILITIES, (x * len(UTILITIES)).astype(int))
                else:
                    vals = _cat("BRT-", _num((x * 90_000).astype(int) + 10_000))
                pieces[int(k)] = vals
            return {key: parent_ids.take(pa.array(parent[sel])), "property_name": _take(names, p),
                    "property_value": _scatter(p, pieces) if len(sel) else pa.array([], pa.string())}

        plan = self.plans[name] = _Plan(name, m, build)
        # Both multi-select spellings occur even at tiny scales.
        multi = next(k for k, kind in enumerate(props.values()) if isinstance(kind, list))
        options = list(props.values())[multi]
        for r, value in zip(np.flatnonzero(prop == multi)[:2], (f"{options[0]}; {options[1]}", ";".join(options[2:5]))):
            plan.overrides[int(r)] = {"property_value": value}

    # -- deals -------------------------------------------------------------------------------
    def deals(self) -> None:
        rng = _rng(self.seed, 7)
        n = self.n["deals"]
        contact = self.good_contacts[rng.integers(0, len(self.good_contacts), n)]
        company = self.contact_company[contact]
        no_contact = rng.random(n) < 0.15
        company = np.where(no_contact, self.good_companies[rng.integers(0, len(self.good_companies), n)], company)
        contact = np.where(no_contact, -1, contact)
        product = rng.integers(0, len(PRODUCTS), n)
        lo = np.array([c[0] for c in PRODUCT_CENTS])[product]
        hi = np.array([c[1] for c in PRODUCT_CENTS])[product]
        cents = (lo + rng.random(n) * (hi - lo)).astype(np.int64) // 100 * 100
        name = _cat(_take(PRODUCTS, product), " – ", _num(rng.integers(10, 9800, n)), " ",
                    _take(STREETS, rng.integers(0, len(STREETS), n)), " ", _take(STREET_TYPES, rng.integers(0, len(STREET_TYPES), n)))
        base = np.maximum(self.company_created[company],
                          np.where(contact >= 0, self.contact_created[np.maximum(contact, 0)], 0))
        created, modified = _created(rng, n, base)
        close = created + rng.integers(20, 150, n) * _DAY
        close = close - close % _DAY
        stage = rng.choice(len(DEAL_STAGES), n, p=[0.12, 0.15, 0.12, 0.16, 0.1, 0.2, 0.15])
        d = rng.choice(n, size=6, replace=False)
        unknown, blank_name, bad_amount, bad_close, orphan = d[:2], int(d[2]), int(d[3]), int(d[4]), int(d[5])
        stage[unknown] = len(DEAL_STAGES)  # the unknown stage, last in the label list
        # Stage history: stages 0..s in order; a lost (or unknown) deal leaves the path after 1-4 stages.
        off_path = stage >= DEAL_STAGES.index("Closed Lost")
        length = np.where(off_path, rng.integers(1, 5, n) + 1, stage + 1)
        start = np.concatenate([[0], np.cumsum(length)[:-1]])
        h_deal = np.repeat(np.arange(n), length)
        pos = np.arange(length.sum()) - np.repeat(start, length)
        h_stage = np.where(off_path[h_deal] & (pos == length[h_deal] - 1), stage[h_deal], pos)
        h_time = created[h_deal] + (pos * (modified - created)[h_deal] // length[h_deal])
        h_time = _office(h_time - h_time % 60)
        entered = h_time[start + length - 1]
        labels = list(DEAL_STAGES) + [UNKNOWN_STAGE]
        ids = _cat("DL-", _num(np.arange(1, n + 1), 6))
        dates = {c: _dates(f"deals.{c}", s, rng) for c, s in (
            ("expected_close_date", close), ("stage_entered_at", entered), ("created_at", created),
            ("modified_at", modified))}
        style = _choose(rng, n, [0.4, 0.4, 0.2])
        cols = {"deal_id": ids, "name": name, "company_id": self.company_ids.take(pa.array(company)),
                "contact_id": _if(contact >= 0, self.contact_ids.take(pa.array(np.maximum(contact, 0))),
                                  pa.scalar(None, pa.string())),
                "amount": _money(cents, style), "stage": _take(labels, stage),
                "owner_email": _take(self.user_emails, self._owners(rng, n, d))}

        def build(rows):
            out = {k: v.take(pa.array(rows)) for k, v in cols.items()}
            out.update({c: dt.text(rows) for c, dt in dates.items()})
            return {c: out[c] for c in LAYOUTS["deals"].columns}

        plan = self.plans["deals"] = _Plan("deals", n, build)
        hist = _dates("deal_stage_history.entered_at", h_time, rng)
        self.plans["deal_stage_history"] = _Plan("deal_stage_history", len(h_deal), lambda rows: {
            "deal_id": ids.take(pa.array(h_deal[rows])), "stage": _take(labels, h_stage[rows]),
            "entered_at": hist.text(rows)})
        for i in unknown:
            self.defect("deals", i, "stage", "UNMAPPED_VALUE", f"stage {UNKNOWN_STAGE!r} is not a known stage")
        plan.overrides[blank_name] = {"name": None}
        self.defect("deals", blank_name, "name", "REQUIRED_MISSING", "blank deal name")
        plan.overrides[bad_amount] = {"amount": "12,5OO"}
        self.defect("deals", bad_amount, "amount", "INVALID_NUMBER", "letter O instead of zero")
        plan.overrides[bad_close] = {"expected_close_date": "TBD"}
        self.defect("deals", bad_close, "expected_close_date", "INVALID_DATE", "not a date")
        plan.overrides[orphan] = {"company_id": "CO-990101"}
        self.defect("deals", orphan, "company_id", "ORPHAN_REFERENCE", "company CO-990101 is not in the export")
        self.deal_ids, self.deal_contact, self.deal_created = ids, contact, created
        self.unknown_stage_deals = [int(x) for x in unknown]
        self.good_deals = self._good(n, d)

    # -- activities --------------------------------------------------------------------------
    def _person(self, rng: np.random.Generator, n: int, lead_share: float):
        """(is_lead, lead index, contact index, created) for n activities on good leads/contacts."""
        is_lead = rng.random(n) < lead_share
        lead = self.good_leads[rng.integers(0, len(self.good_leads), n)]
        contact = self.good_contacts[rng.integers(0, len(self.good_contacts), n)]
        created = np.where(is_lead, self.lead_created[lead], self.contact_created[contact])
        return is_lead, lead, contact, created

    def _links(self, is_lead, lead, contact, rows):
        lead_id = _if(is_lead[rows], self.lead_ids.take(pa.array(lead[rows])), pa.scalar(None, pa.string()))
        contact_id = _if(~is_lead[rows], self.contact_ids.take(pa.array(contact[rows])), pa.scalar(None, pa.string()))
        return lead_id, contact_id

    def _person_emails(self, is_lead, lead, contact, rows):
        return _if(is_lead[rows], self.lead_emails.take(pa.array(lead[rows])), self.contact_emails.take(pa.array(contact[rows])))

    def calls(self) -> None:
        rng = _rng(self.seed, 8)
        n = self.n["calls"]
        is_lead, lead, contact, base = self._person(rng, n, 0.6)
        called, modified = _created(rng, n, base)
        outcome = rng.choice(len(CALL_OUTCOMES), n, p=[0.45, 0.2, 0.25, 0.05, 0.05])
        duration = np.select([outcome == 0, outcome == 1, outcome == 4],
                             [rng.integers(45, 1800, n), rng.integers(15, 60, n), rng.integers(5, 20, n)], 0)
        d = rng.choice(np.arange(1, n), size=3, replace=False)
        dup, unresolved, bad_duration = (int(x) for x in d)
        recorded = (outcome == 0) & (rng.random(n) < 0.4)
        recorded[d] = False
        rec_calls = np.flatnonzero(recorded)
        rec_num = np.cumsum(recorded)
        nums = np.arange(1, n + 1)
        first_of_dup = int(rng.choice(np.setdiff1d(np.arange(dup), d)))
        nums[dup] = nums[first_of_dup]
        ids = _cat("CA-", _num(nums, 6))
        area = _take([a[3] for a in ADDRESSES], rng.integers(0, len(ADDRESSES), n))
        phone = _phones(rng, n, area)
        owner = _take(self.user_emails, self._owners(rng, n, d))
        dc, dm = _dates("calls.called_at", called, rng), _dates("calls.modified_at", modified, rng)
        cols = {"call_id": ids, "subject": _take(CALL_SUBJECTS, rng.integers(0, len(CALL_SUBJECTS), n)),
                "direction": _take(CALL_DIRECTIONS, (rng.random(n) < 0.3).astype(int)), "phone_number": phone,
                "duration_seconds": _num(duration), "outcome": _take(CALL_OUTCOMES, outcome), "owner_email": owner,
                "recording_id": _if(recorded, _cat("REC-", _num(rec_num, 6)), pa.scalar(None, pa.string()))}

        def build(rows):
            out = {k: v.take(pa.array(rows)) for k, v in cols.items()}
            out["lead_id"], out["contact_id"] = self._links(is_lead, lead, contact, rows)
            out["called_at"], out["modified_at"] = dc.text(rows), dm.text(rows)
            return {c: out[c] for c in LAYOUTS["calls"].columns}

        plan = self.plans["calls"] = _Plan("calls", n, build)
        self.defect("calls", dup, "call_id", "DUPLICATE_SOURCE_ID", f"second row with this id; the first is row {first_of_dup + 2}",
                    first_source_row=first_of_dup + 2)
        plan.overrides[unresolved] = {"lead_id": None, "contact_id": None}
        self.defect("calls", unresolved, "lead_id", "LOOKUP_UNRESOLVED", "lead_id and contact_id both blank")
        plan.overrides[bad_duration] = {"duration_seconds": "2m 15s"}
        self.defect("calls", bad_duration, "duration_seconds", "INVALID_NUMBER", "a duration, not a number of seconds")

        # Recordings: short WAV stand-ins (their length is not the call's); ISO UTC times only.
        m = len(rec_calls)
        seconds = 0.2 + (rec_calls % 9) / 10
        self.recording_sizes = (44 + (8000 * seconds).astype(np.int64))
        self.recording_seconds, self.recording_pitch = seconds, 300 + (rec_calls % 7) * 60
        rec_ids = _cat("REC-", _num(np.arange(1, m + 1), 6))
        self.recording_files = _cat("recordings/", rec_ids, ".wav")
        rd = _dates("call_recordings.recorded_at", called[rec_calls], rng)
        self.plans["call_recordings"] = _Plan("call_recordings", m, lambda rows: {
            "recording_id": rec_ids.take(pa.array(rows)), "call_id": ids.take(pa.array(rec_calls[rows])),
            **dict(zip(("lead_id", "contact_id"), self._links(is_lead, lead, contact, rec_calls[rows]))),
            "file_name": self.recording_files.take(pa.array(rows)),
            "content_type": pa.repeat(pa.scalar("audio/wav"), len(rows)),
            "size_bytes": _num(self.recording_sizes[rows]), "recorded_at": rd.text(rows)})

    def emails(self) -> None:
        rng = _rng(self.seed, 9)
        n = self.n["emails"]
        is_lead, lead, contact, base = self._person(rng, n, 0.55)
        sent, modified = _created(rng, n, base)
        direction = (rng.random(n) < 0.35).astype(np.int64)  # 0 Sent, 1 Received
        counts = [len(HTML_TEMPLATES[dname]) for dname in EMAIL_DIRECTIONS]
        variant = (rng.random(n) * np.array(counts)[direction]).astype(np.int64)
        self.email_template = np.where(direction == 0, 0, counts[0]) + variant
        subject_idx = rng.integers(0, 4, n)
        topic = rng.integers(0, len(EMAIL_TOPICS), n)
        amount = rng.integers(4, 60, n) * 1000 + rng.integers(0, 10, n) * 50
        later = sent + rng.integers(3, 30, n) * _DAY
        owner_idx = self._owners(rng, n)
        unresolved = int(rng.integers(1, n))
        owner_idx[unresolved] = self.good_users[0]
        ds, dm = _dates("emails.sent_at", sent, rng), _dates("emails.modified_at", modified, rng)
        ids = _cat("EM-", _num(np.arange(1, n + 1), 6))
        users = self.plans["users"].build(np.arange(self.n_users))

        def build(rows):
            first = _if(is_lead[rows], self.lead_first.take(pa.array(lead[rows])), self.contact_first.take(pa.array(contact[rows])))
            person = self._person_emails(is_lead, lead, contact, rows)
            owner = self.user_emails.take(pa.array(owner_idx[rows]))
            owner_name = _cat(users["first_name"].take(pa.array(owner_idx[rows])), " ",
                              users["last_name"].take(pa.array(owner_idx[rows])))
            values = {"first": _html_escape(first), "owner": _html_escape(owner_name), "topic": _take(EMAIL_TOPICS, topic[rows]),
                      "amount": _thousands(amount[rows]), "id": ids.take(pa.array(rows)),
                      "date": pc.strftime(pa.array(later[rows], pa.timestamp("s")), format="%A, %B %d")}
            tmpl = self.email_template[rows]
            pieces = {}
            for k in np.unique(tmpl):
                sel = np.flatnonzero(tmpl == k)
                pieces[int(k)] = _fill(_FLAT_TEMPLATES[int(k)][1], {c: v.take(pa.array(sel)) for c, v in values.items()})
            received = direction[rows] == 1
            lead_id, contact_id = self._links(is_lead, lead, contact, rows)
            return {"email_id": ids.take(pa.array(rows)),
                    "subject": _if(received, _take(EMAIL_SUBJECTS["Received"], subject_idx[rows]),
                                   _take(EMAIL_SUBJECTS["Sent"], subject_idx[rows])),
                    "body_html": _scatter(tmpl, pieces), "direction": _take(EMAIL_DIRECTIONS, direction[rows]),
                    "from_address": _if(received, person, owner), "to_addresses": _if(received, owner, person),
                    "sent_at": ds.text(rows), "owner_email": owner, "lead_id": lead_id, "contact_id": contact_id,
                    "modified_at": dm.text(rows)}

        plan = self.plans["emails"] = _Plan("emails", n, build)
        plan.overrides[unresolved] = {"lead_id": "LD-990077", "contact_id": None}
        self.defect("emails", unresolved, "lead_id", "LOOKUP_UNRESOLVED", "lead LD-990077 is not in the export")

    def meetings(self) -> None:
        rng = _rng(self.seed, 10)
        n = self.n["meetings"]
        kind = _choose(rng, n, [0.4, 0.3, 0.3])  # 0 lead, 1 contact, 2 deal (and its contact)
        with_contact = self.good_deals[self.deal_contact[self.good_deals] >= 0]
        deal = with_contact[rng.integers(0, len(with_contact), n)]
        is_lead = kind == 0
        lead = self.good_leads[rng.integers(0, len(self.good_leads), n)]
        contact = self.good_contacts[rng.integers(0, len(self.good_contacts), n)]
        contact = np.where(kind == 2, self.deal_contact[deal], contact)
        base = np.where(is_lead, self.lead_created[lead],
                        np.maximum(self.contact_created[contact], np.where(kind == 2, self.deal_created[deal], 0)))
        start, modified = _created(rng, n, base)
        created = start - rng.integers(1, 20, n) * _DAY
        created = np.maximum(created, base + 60)
        created = np.minimum(_office(created), start)
        end = start + np.array([30, 45, 60, 90, 120])[rng.integers(0, 5, n)] * 60
        bad_start = int(rng.integers(0, n))
        ds = _dates("meetings.start_at", start, rng)
        de = _Dates(end, ds.fmt, ds.formats)  # written like the start
        dc, dm = _dates("meetings.created_at", created, rng), _dates("meetings.modified_at", modified, rng)
        # Attendees: the linked person, often the organizer, sometimes another person and an outsider.
        self.att_user = rng.random(n) < 0.5
        self.att_other = rng.random(n) < 0.2
        self.att_external = np.where(rng.random(n) < 0.35, rng.integers(0, len(EXTERNAL_ATTENDEES), n), -1)
        other = self.good_contacts[rng.integers(0, len(self.good_contacts), n)]
        sep = _take(["; ", ";", " ; ", "; "], rng.integers(0, 4, n))
        trailing = rng.random(n) < 0.1
        owner_idx = self._owners(rng, n, [bad_start])
        ids = _cat("AP-", _num(np.arange(1, n + 1), 6))
        subject = _take(MEETING_SUBJECTS, rng.integers(0, len(MEETING_SUBJECTS), n))
        location = _take(MEETING_LOCATIONS, rng.integers(0, len(MEETING_LOCATIONS), n))
        description = _take(MEETING_DESCRIPTIONS, rng.integers(0, len(MEETING_DESCRIPTIONS), n))

        def build(rows):
            r = pa.array(rows)
            owner = self.user_emails.take(pa.array(owner_idx[rows]))
            null = pa.scalar(None, pa.string())
            parts = [self._person_emails(is_lead, lead, contact, rows), _if(self.att_user[rows], owner, null),
                     _if(self.att_other[rows], self.contact_emails.take(pa.array(other[rows])), null),
                     _if(self.att_external[rows] >= 0, _take(EXTERNAL_ATTENDEES, np.maximum(self.att_external[rows], 0)), null)]
            attendees = pc.binary_join_element_wise(*parts, sep.take(r), null_handling="skip")
            attendees = _if(trailing[rows], _cat(attendees, ";"), attendees)
            lead_id, contact_id = self._links(is_lead, lead, contact, rows)
            return {"meeting_id": ids.take(r), "subject": subject.take(r), "start_at": ds.text(rows),
                    "end_at": de.text(rows), "location": location.take(r), "description": description.take(r),
                    "attendees": attendees, "owner_email": owner, "lead_id": lead_id, "contact_id": contact_id,
                    "deal_id": _if(kind[rows] == 2, self.deal_ids.take(pa.array(deal[rows])), null),
                    "created_at": dc.text(rows), "modified_at": dm.text(rows)}

        plan = self.plans["meetings"] = _Plan("meetings", n, build)
        plan.overrides[bad_start] = {"start_at": "31/02/2024 10:00"}
        self.defect("meetings", bad_start, "start_at", "INVALID_DATE", "31 February does not exist")

    def notes(self) -> None:
        rng = _rng(self.seed, 11)
        n = self.n["notes"]
        ptype = _choose(rng, n, [0.45, 0.35, 0.2])  # Lead, Contact, Deal
        lead = self.good_leads[rng.integers(0, len(self.good_leads), n)]
        contact = self.good_contacts[rng.integers(0, len(self.good_contacts), n)]
        deal = self.good_deals[rng.integers(0, len(self.good_deals), n)]
        d = rng.choice(np.arange(1, n - 1), size=3, replace=False)
        malformed, orphan, cascade = (int(x) for x in d)
        ptype[[orphan, cascade]] = 2
        deal[cascade] = self.unknown_stage_deals[0]
        base = np.select([ptype == 0, ptype == 1], [self.lead_created[lead], self.contact_created[contact]],
                         self.deal_created[deal])
        created, modified = _created(rng, n, base)
        pid = pc.choose(pa.array(ptype.astype(np.int8)), self.lead_ids.take(pa.array(lead)),
                        self.contact_ids.take(pa.array(contact)), self.deal_ids.take(pa.array(deal)))
        dc, dm = _dates("notes.created_at", created, rng), _dates("notes.modified_at", modified, rng)
        cols = {"note_id": _cat("NT-", _num(np.arange(1, n + 1), 6)),
                "title": _take(NOTE_TITLES, rng.integers(0, len(NOTE_TITLES), n)),
                "body": _take(NOTE_BODIES, rng.integers(0, len(NOTE_BODIES), n)),
                "parent_type": _take(["Lead", "Contact", "Deal"], ptype), "parent_id": pid,
                "created_by_email": _take(self.user_emails, self._owners(rng, n, d))}

        def build(rows):
            out = {k: v.take(pa.array(rows)) for k, v in cols.items()}
            out["created_at"], out["modified_at"] = dc.text(rows), dm.text(rows)
            return out

        plan = self.plans["notes"] = _Plan("notes", n, build)
        plan.overrides[orphan] = {"parent_id": "DL-990042"}
        self.defect("notes", orphan, "parent_id", "ORPHAN_REFERENCE", "deal DL-990042 is not in the export")
        self.defect("notes", cascade, "parent_id", "PARENT_REJECTED",
                    f"its deal {self.deal_ids[deal[cascade]].as_py()} has an unknown stage (UNMAPPED_VALUE)")
        # One malformed record: an unquoted comma in the title makes one field too many.
        plan.overrides[malformed] = {"title": "Call back re: permit, HOA approval", "body": "Customer will call back."}
        row = plan.rows(np.array([malformed]))
        plan.raw_lines[malformed] = ",".join(
            row[c][0].as_py() if c == "title" else csv_field(row[c][0].as_py()) for c in LAYOUTS["notes"].columns)
        self.defect("notes", malformed, None, "UNPARSEABLE_ROW", "unquoted comma in the title: one field too many",
                    raw=plan.raw_lines[malformed])

    def attachments(self) -> None:
        rng = _rng(self.seed, 12)
        n = self.n["attachments"]
        ptype = _choose(rng, n, [0.4, 0.3, 0.3])
        lead = self.good_leads[rng.integers(0, len(self.good_leads), n)]
        contact = self.good_contacts[rng.integers(0, len(self.good_contacts), n)]
        deal = self.good_deals[rng.integers(0, len(self.good_deals), n)]
        ftype = rng.choice(len(ATTACHMENT_TYPES), n, p=[0.45, 0.2, 0.1, 0.15, 0.1])
        ftype[: len(ATTACHMENT_TYPES)] = np.arange(len(ATTACHMENT_TYPES))  # every type occurs
        pick = (rng.random(n) * np.array([len(ATTACHMENT_NAMES[t]) for t in ATTACHMENT_TYPES])[ftype]).astype(int)
        pick[1] = 0  # the first docx has a non-ASCII name
        flat = [(t, x) for t in ATTACHMENT_TYPES for x in ATTACHMENT_NAMES[t]]
        offsets = np.cumsum([0] + [len(ATTACHMENT_NAMES[t]) for t in ATTACHMENT_TYPES])[:-1]
        name_idx = offsets[ftype] + pick
        big, missing = (int(x) for x in rng.choice(np.arange(len(ATTACHMENT_TYPES), n), size=2, replace=False))
        flat.append(("pdf", "Site Survey Photos (full resolution).pdf"))
        name_idx[big] = len(flat) - 1
        ftype[big] = 0
        size = rng.integers(1_800, 12_000, n)
        size[big] = BIG_FILE_SIZE
        base = np.select([ptype == 0, ptype == 1], [self.lead_created[lead], self.contact_created[contact]],
                         self.deal_created[deal])
        uploaded, _ = _created(rng, n, base)
        ids = _cat("ATT-", _num(np.arange(1, n + 1), 6))
        file_name = _take([x for _, x in flat], name_idx)
        slug = _take([_file_slug(x) for _, x in flat], name_idx)
        export_file = _cat("attachments/", ids, "_", slug)
        yyyymm = pc.strftime(pa.array(uploaded, pa.timestamp("s")), format="%Y/%m")
        storage = _cat("/leadtrac/storage/brightline/", yyyymm, "/", ids, "/", file_name)
        pid = pc.choose(pa.array(ptype.astype(np.int8)), self.lead_ids.take(pa.array(lead)),
                        self.contact_ids.take(pa.array(contact)), self.deal_ids.take(pa.array(deal)))
        du = _dates("attachments.uploaded_at", uploaded, rng)
        cols = {"attachment_id": ids, "parent_type": _take(["Lead", "Contact", "Deal"], ptype), "parent_id": pid,
                "file_name": file_name, "export_file": export_file,
                "content_type": _take([CONTENT_TYPES[t] for t in ATTACHMENT_TYPES], ftype), "size_bytes": _num(size),
                "storage_path": storage, "uploaded_by_email": _take(self.user_emails, self._owners(rng, n, [big, missing]))}
        self.attachment_types, self.attachment_big, self.attachment_missing = ftype, big, missing
        self.plans["attachments"] = _Plan("attachments", n, lambda rows: {
            **{k: v.take(pa.array(rows)) for k, v in cols.items()}, "uploaded_at": du.text(rows)})
        self.defect("attachments", big, "size_bytes", "FILE_TOO_LARGE",
                    f"{BIG_FILE_SIZE} bytes, over Zoho's {FILE_SIZE_LIMIT}-byte attachment limit (sparse file)",
                    export_file=export_file[big].as_py())
        if self.with_files:
            self.defect("attachments", missing, "export_file", "FILE_MISSING", "listed, but not in files/")

    # -- writing -----------------------------------------------------------------------------
    def write(self, out_dir: Path, name: str) -> None:
        plan, layout = self.plans[name], LAYOUTS[name]
        encoding, term = FILE_FORMATS.get(layout.file, DEFAULT_FORMAT)
        header = ",".join(csv_field(EXPORT_HEADERS[name][c]) for c in layout.columns) + term
        with open(out_dir / layout.file, "wb") as f:
            f.write(header.encode("utf-8-sig" if encoding == "utf-8-sig" else encoding))
            enc = "utf-8" if encoding == "utf-8-sig" else encoding
            # Chunks: the output is the same whatever CHUNK_ROWS is.
            for start in range(0, plan.n, CHUNK_ROWS):
                rows = np.arange(start, min(start + CHUNK_ROWS, plan.n))
                cols = plan.rows(rows)
                self.observe(name, rows, cols)
                lines = _csv_lines([cols[c] for c in layout.columns], term)
                raw = {r - start: line for r, line in plan.raw_lines.items() if start <= r < start + len(rows)}
                if raw:
                    mask = np.zeros(len(rows), dtype=bool)
                    mask[list(raw)] = True
                    lines = pc.replace_with_mask(lines, pa.array(mask), pa.array([raw[k] + term for k in sorted(raw)], pa.large_string()))
                data = _joined(lines)
                f.write(data if enc == "utf-8" else data.decode("utf-8").encode(enc))

    def observe(self, name: str, rows: np.ndarray, cols: dict[str, pa.Array]) -> None:
        """Record, from the text as written, what the truth file says about dates, HTML and attendees."""
        for key, (_, order) in DATE_COLUMNS.items():
            obj, col = key.split(".")
            if obj != name:
                continue
            a, b = slashed_parts(cols[col])
            stats = self.date_stats.setdefault(key, {"slashed": 0, "ambiguous": 0, "first_over_12": 0, "second_over_12": 0})
            stats["slashed"] += int((a > 0).sum())
            stats["ambiguous"] += int(((a > 0) & (a <= 12) & (b <= 12) & (a != b)).sum())
            stats["first_over_12"] += int((a > 12).sum())
            stats["second_over_12"] += int((b > 12).sum())
        if name == "emails":
            bad = self.plans["emails"].bad
            for k in range(len(_FLAT_TEMPLATES)):
                if k in self.html_samples:
                    continue
                hits = [i for i in np.flatnonzero(self.email_template[rows] == k) if int(rows[i]) not in bad]
                if hits:
                    value = cols["body_html"][int(hits[0])].as_py()
                    self.html_samples[k] = {"object": "emails", "source_id": cols["email_id"][int(hits[0])].as_py(),
                                            "source_row": int(rows[hits[0]]) + 2, "field": "body_html", "html": value,
                                            "expected_text": html_to_text(value)}
        if name == "meetings":
            self.attendees["matched_contacts_or_leads"] += len(rows) + int(self.att_other[rows].sum())
            self.attendees["users"] += int(self.att_user[rows].sum())
            self.attendees["unmatched"].update(int(x) for x in np.unique(self.att_external[rows]) if x >= 0)

    def write_files(self, out_dir: Path) -> None:
        files = out_dir / FILES_DIR
        (files / "attachments").mkdir(parents=True, exist_ok=True)
        (files / "recordings").mkdir(parents=True, exist_ok=True)
        if not self.with_files:
            return
        plan = self.plans["attachments"]
        for start in range(0, plan.n, CHUNK_ROWS):
            rows = np.arange(start, min(start + CHUNK_ROWS, plan.n))
            cols = plan.rows(rows)
            for i, r in enumerate(rows):  # one loop per file body written
                path = files / cols["export_file"][i].as_py()
                size = int(cols["size_bytes"][i].as_py())
                if r == self.attachment_missing:
                    continue
                if r == self.attachment_big:  # sparse: seek to the end and write one byte
                    with open(path, "wb") as f:
                        f.seek(size - 1)
                        f.write(b"\0")
                    continue
                ftype = ATTACHMENT_TYPES[int(self.attachment_types[r])]
                path.write_bytes(attachment_body(ftype, cols["file_name"][i].as_py(), cols["attachment_id"][i].as_py(), size))
        for i, rel in enumerate(self.recording_files.to_pylist()):
            (files / rel).write_bytes(_wav_body(float(self.recording_seconds[i]), int(self.recording_pitch[i])))

    def run(self, out_dir: Path) -> Path:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        self.date_stats: dict[str, dict[str, int]] = {}
        self.html_samples: dict[int, dict] = {}
        self.attendees = {"matched_contacts_or_leads": 0, "users": 0, "unmatched": set()}
        self.samples: list[dict] = []
        # Plan a table, write it, then drop its columns: only the skeletons and the few arrays
        # other tables use stay in memory.
        for plan_tables in (self.users, self.companies, self.contacts, self.leads, self.deals, self.calls,
                            self.emails, self.meetings, self.notes, self.attachments):
            before = set(self.plans)
            plan_tables()
            new = [name for name in LAYOUTS if name in set(self.plans) - before]
            self.samples += self.non_ascii_samples(new)
            for name in new:
                self.write(out_dir, name)
            if "attachments" in new:
                self.write_files(out_dir)
            for name in new:
                if name != "users":  # the e-mail bodies use the users' names
                    self.plans[name].build = None
        for fname, content in NON_DATA.items():
            _write_json(out_dir / fname, content)
        _write_json(out_dir / "custom_properties.json", _property_definitions())
        _write_json(out_dir / TRUTH_FILE, self.truth_document())
        return out_dir

    def non_ascii_samples(self, names: list[str]) -> list[dict]:
        """A few clean records with non-ASCII names, from the tables just planned."""
        out = []
        non_ascii = np.array([any(ord(ch) > 127 for ch in x) for x in LAST_NAMES])
        for obj in {"contacts", "leads"} & set(names):
            last_idx, good = (self.contact_last_idx, self.good_contacts) if obj == "contacts" else (self.lead_last_idx, self.good_leads)
            plan = self.plans[obj]
            for r in good[non_ascii[last_idx[good]]][:3]:
                out.append({"object": obj, "source_id": plan.value(int(r), LAYOUTS[obj].id_column),
                            "field": "last_name", "value": plan.value(int(r), "last_name")})
        if "companies" in names:
            out += [{"object": "companies", "source_id": self.company_ids[r].as_py(), "field": "name",
                     "value": self.company_names[r].as_py()} for r in self.special_companies[:2]]
        if "users" in names:
            users = self.plans["users"].rows(np.arange(self.n_users))
            for i, first in enumerate(users["first_name"].to_pylist()):
                if any(ord(ch) > 127 for ch in first) and i not in self.unmatched:
                    out.append({"object": "users", "source_id": users["user_id"][i].as_py(), "field": "first_name",
                                "value": first, "note": "users.csv is cp1252-encoded"})
                    break
        return out

    def truth_document(self) -> dict:
        decidable = {k: o for k, (_, o) in DATE_COLUMNS.items() if o in ("day_first", "month_first")}
        return {
            "seed": self.seed, "scale": self.scale, "with_files": self.with_files,
            "counts": {name: plan.n for name, plan in self.plans.items()},
            "timezone": SOURCE_TIMEZONE,
            "file_size_limit": FILE_SIZE_LIMIT,
            "files": {layout.file: dict(zip(("encoding", "record_terminator"), FILE_FORMATS.get(layout.file, DEFAULT_FORMAT)))
                      for layout in LAYOUTS.values()},
            "defects": self.defects,
            "unmatched_owner_emails": [self.user_emails[i].as_py() for i in self.unmatched],
            "inactive_owner_emails": [self.user_emails[i].as_py() for i in self.inactive],
            "non_ascii_samples": self.samples,
            "html_samples": [self.html_samples[k] for k in sorted(self.html_samples)],
            "html_text_rule": "<br> and closing p/div/li/tr/h*/blockquote -> line break; other tags (images "
            "included) removed; entities decoded (&nbsp; -> space); spaces collapsed per line; lines trimmed; "
            "blank lines dropped",
            "date_orders": decidable,
            "undecidable_date_columns": [k for k, (_, o) in DATE_COLUMNS.items() if o == "undecidable"],
            "undecidable_written_order": {k: "month_first" for k, (_, o) in DATE_COLUMNS.items() if o == "undecidable"},
            "iso_only_date_columns": [k for k, (_, o) in DATE_COLUMNS.items() if o == "iso"],
            "date_column_stats": self.date_stats,
            "date_ambiguity_note": "ambiguous slashed values (both parts <= 12, e.g. 03/04/2024) in a column listed "
            "in date_orders are not defects: the column's order decides them",
            "meeting_attendees": {
                "matched_contacts_or_leads": self.attendees["matched_contacts_or_leads"],
                "users": self.attendees["users"],
                "unmatched_emails": sorted(EXTERNAL_ATTENDEES[i] for i in self.attendees["unmatched"]),
            },
            "value_domains": {"leads.status": list(LEAD_STATUSES), "leads.lead_source": list(LEAD_SOURCES),
                              "deals.stage": list(DEAL_STAGES), "calls.outcome": list(CALL_OUTCOMES)},
        }


# ---------------------------------------------------------------------------------------------
# Helpers used by the generator


def _multi_options(options: list[str]) -> list[str]:
    """Every 1-3 option combination, joined with "; " or ";" alternately (both occur in exports)."""
    out = []
    for i, a in enumerate(options):
        out.append(a)
        for j in range(i + 1, len(options)):
            out.append(f"{a}; {options[j]}")
            for k in range(j + 1, len(options)):
                out.append(f"{a};{options[j]};{options[k]}")
    return out


def _file_slug(name: str) -> str:
    """An ASCII file name for the export folder: "Angebot Müller & Söhne.docx" -> "angebot-muller-sohne.docx"."""
    stem, _, ext = name.rpartition(".")
    return "-".join(ascii_slug(w) for w in re.split(r"[^\w]+", stem) if ascii_slug(w)) + "." + ext


def _html_escape(arr: pa.Array) -> pa.Array:
    out = pc.replace_substring(arr, "&", "&amp;")
    out = pc.replace_substring(out, "<", "&lt;")
    return pc.replace_substring(out, ">", "&gt;")


def _fill(template: str, cols: dict[str, pa.Array]) -> pa.Array:
    parts = [cols[p] if i % 2 else p for i, p in enumerate(re.split(r"\{(\w+)\}", template)) if i % 2 or p]
    return _cat(*parts)


def _write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _property_definitions() -> list[dict]:
    out = []
    for obj, props in (("Lead", LEAD_PROPERTIES), ("Contact", CONTACT_PROPERTIES)):
        for name, kind in props.items():
            entry = {"object": obj, "name": name}
            if isinstance(kind, tuple):
                entry.update(kind="picklist", options=list(kind))
            elif isinstance(kind, list):
                entry.update(kind="multi_select", options=kind, separator=";")
            else:
                entry["kind"] = kind
            out.append(entry)
    return out


# The non-data files (configuration LeadTrac exports beside the data; never secrets).
NON_DATA = {
    "workflows.json": [
        {"name": "New web lead follow-up", "trigger": {"event": "lead.created", "where": {"lead_source": "Web Form"}},
         "steps": [{"action": "assign", "rule": "round_robin", "team": "Sales Reps"},
                   {"action": "send_email", "template": "Thanks for your interest"},
                   {"wait": "1 day"}, {"action": "create_task", "subject": "Call new lead", "due_in_hours": 4}]},
        {"name": "Appointment reminder", "trigger": {"event": "meeting.scheduled"},
         "steps": [{"wait_until": "start - 24h"}, {"action": "send_sms", "template": "Appointment tomorrow"}]},
        {"name": "Proposal follow-up", "trigger": {"event": "deal.stage_changed", "to": "Proposal Sent"},
         "steps": [{"wait": "3 days"}, {"action": "create_task", "subject": "Follow up on proposal"},
                   {"wait": "7 days"}, {"action": "send_email", "template": "Still interested?"}]},
        {"name": "Contract signed hand-off", "trigger": {"event": "deal.stage_changed", "to": "Contract Signed"},
         "steps": [{"action": "notify", "to": "role:Install Coordinator"},
                   {"action": "update_field", "object": "lead", "field": "status", "value": "Converted"}]},
        {"name": "Dead lead recycle", "trigger": {"event": "schedule.weekly"},
         "steps": [{"action": "update_field", "where": {"status": "Dead", "modified_before": "180 days"},
                    "field": "status", "value": "New Lead"}]},
    ],
    "automation_rules.json": [
        {"name": "Round-robin web leads", "type": "assignment", "applies_to": "lead",
         "criteria": {"lead_source": ["Web Form", "Facebook Ad", "Google Ads"]}, "assign_to": "team:Sales Reps"},
        {"name": "Territory: Wisconsin", "type": "assignment", "applies_to": "lead", "criteria": {"state": "WI"},
         "assign_to": "user:derek.vance@brightlinehome.com"},
        {"name": "Drip: solar education", "type": "drip_campaign", "applies_to": "lead",
         "criteria": {"Interested In": "contains Solar"}, "emails": 5, "interval_days": 4},
        {"name": "Stale deal alert", "type": "alert", "applies_to": "deal",
         "criteria": {"days_in_stage": {"greater_than": 21}}, "notify": "deal.owner"},
    ],
    "docusign_envelopes.json": [
        {"envelope_id": "5f3c2a9e-1d44-4b8e-9c1a-6e2f0b7d8a11", "subject": "Brightline Home – Enrollment Agreement",
         "status": "completed", "sender": "rebecca.hollis@brightlinehome.com",
         "recipients": [{"role": "Homeowner", "status": "completed"}, {"role": "Co-owner", "status": "completed"}],
         "sent_at": "2024-03-04T15:12:00Z", "completed_at": "2024-03-05T02:40:00Z",
         "documents": ["Enrollment Agreement – signed.pdf", "DocuSign Certificate of Completion.pdf"],
         "related_type": "Deal"},
        {"envelope_id": "9a71be02-77c5-4e0f-a3d2-0c55e9d1f2b4", "subject": "Change Order 2", "status": "voided",
         "sender": "derek.vance@brightlinehome.com", "recipients": [{"role": "Homeowner", "status": "declined"}],
         "sent_at": "2024-06-11T14:03:00Z", "voided_reason": "Scope changed", "documents": ["Change Order 2.docx"],
         "related_type": "Deal"},
        {"envelope_id": "c2d8e4f1-0b3a-4c9d-8e7f-1a2b3c4d5e6f", "subject": "HOA Approval Letter", "status": "sent",
         "sender": "jose.ortega@brightlinehome.com", "recipients": [{"role": "HOA Board", "status": "delivered"}],
         "sent_at": "2024-10-28T16:45:00Z", "documents": ["HOA Approval Letter.pdf"], "related_type": "Contact"},
    ],
    "telephony_config.json": {
        "provider": "LeadTrac Voice (built-in)",
        "numbers": [{"number": "+1 630 555 0100", "label": "Main line", "route_to": "ivr:main"},
                    {"number": "+1 414 555 0150", "label": "Wisconsin office", "route_to": "team:Sales Reps"}],
        "ivr": {"main": {"greeting": "Thanks for calling Brightline Home", "options": {
            "1": "team:Sales Reps", "2": "team:Install Coordinators", "3": "voicemail:service"}}},
        "recording": {"enabled": True, "announce": True, "retention_days": 365, "format": "wav"},
        "click_to_call": True,
        "call_outcomes": list(CALL_OUTCOMES),
    },
}


# ---------------------------------------------------------------------------------------------
# Public entry points


def generate_export(out_dir: Path, *, seed: int = 7, scale: float = 1.0, with_files: bool = True) -> Path:
    """Write a deterministic, deliberately messy LeadTrac export to ``out_dir``; returns it.

    Same seed and scale give byte-identical files. ``with_files=False`` writes no attachment or
    recording bodies (the CSV files still list them). ``_generator_truth.json`` records the counts,
    every deliberate defect and what the data implies about each date column (module docstring).
    """
    return _Generator(seed, scale, with_files).run(Path(out_dir))


def load_truth(export_dir: Path) -> dict:
    """The generator's record of an export it wrote."""
    return json.loads((Path(export_dir) / TRUTH_FILE).read_text(encoding="utf-8"))


def destination_users(export_dir: Path) -> list[dict]:
    """The users a demo destination org should have for this export.

    Every LeadTrac user except the unmatched ones (``Email, FirstName, LastName, IsActive``); the
    inactive owner is there with ``IsActive`` false.
    """
    from crm_migration.sources.leadtrac import SOURCE

    truth = load_truth(export_dir)
    unmatched = {e.casefold() for e in truth["unmatched_owner_emails"]}
    inactive = {e.casefold() for e in truth["inactive_owner_emails"]}
    users = SOURCE.read(Path(export_dir), "users", ExportAliases()).table.to_pylist()
    return [{"Email": u["email"], "FirstName": u["first_name"], "LastName": u["last_name"],
             "IsActive": u["email"].casefold() not in inactive}
            for u in users if u["email"] and u["email"].casefold() not in unmatched]
