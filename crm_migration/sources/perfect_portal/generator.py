"""A deterministic, deliberately messy Perfect Portal export, with an exact record of its defects.

``generate_export(out_dir, seed=7, scale=1.0)`` writes an export folder in the default layout
(:mod:`.layout`): the CSV files, the attachment bodies under ``files/``, ``workflows.json``,
``integrations.json``, ``access_settings.json``, and ``_generator_truth.json`` (ignored by the
reader, which skips files starting with ``_``): what the generator broke, record by record.

Determinism: everything derives from ``seed`` (numpy ``Generator``s seeded per table, no wall
clock), so the same seed and scale give byte-identical files. Columns are built with numpy and
pyarrow compute (vectorised); Python loops run only over the few dozen deliberate defects, the
small sample lists and, with ``with_files=True``, one loop per attachment body written.

Sizes: at scale 1.0 about 5,500 records (25 users, 300 clients, ~800 client property rows, 900
contacts, 450 matters, ~900 matter property rows, 300 documents, 900 tasks, 900 interactions).
``scale`` multiplies the counts (users grow with the square root of the scale; small scales are
floored so that every defect fits); scale 200 is about 1.1 million records. The deliberate defects
are a fixed set whatever the scale.

Mess that is *not* a defect (every normaliser must cope with it, nothing should be rejected for it):
dates in mixed formats within a column (``layout.DATE_FORMATS``; naive values are the firm's local
time, ``layout.SOURCE_TIMEZONE``), yes/no values as ``Yes/No/true/false/1/0``, phones in mixed
formats, websites with and without scheme, "United States"/"USA"/"US", non-ASCII names (one file,
``users.csv``, is cp1252 as exported by Excel on Windows; ``clients.csv`` has a UTF-8 BOM;
``interactions.csv`` ends its records with CRLF while its HTML bodies contain bare LFs), HTML bodies
(tags, entities, ``<br>``, several lines), quoted commas and quotes, blank optional values.

The truth file's ``html_samples[].expected_text`` follows one rule (:func:`html_to_text`): ``<br>``
and the end of ``p``/``div``/``li``/``tr``/headings become line breaks, other tags are removed,
entities are decoded (``&nbsp;`` to a space), spaces are collapsed within each line, lines are
trimmed and blank lines dropped.
"""

from __future__ import annotations

import html as html_lib
import io
import json
import math
import re
import struct
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from crm_migration.sources.base import ExportAliases
from crm_migration.sources.perfect_portal.layout import (
    BOOLEAN_VALUES,
    CLIENT_PROPERTIES,
    DATE_FORMATS,
    DATE_ONLY_FORMATS,
    FILES_DIR,
    LAYOUTS,
    MATTER_PROPERTIES,
    MATTER_STAGES,
    SOURCE_TIMEZONE,
)

TRUTH_FILE = "_generator_truth.json"
FILE_SIZE_LIMIT = 26_214_400  # 25 MB: what the destination's file flow accepts
BIG_FILE_SIZE = FILE_SIZE_LIMIT + 187_213

BASE_COUNTS = {"clients": 300, "contacts": 900, "matters": 450, "documents": 300, "tasks": 900, "interactions": 900}
MIN_COUNTS = {"clients": 24, "contacts": 60, "matters": 30, "documents": 12, "tasks": 30, "interactions": 30}
BASE_USERS = 25
MIN_USERS = 12

FIRM_DOMAIN = "harrowfieldpike.com"
PORTAL_URL = "https://harrowfieldpike.portal.example.com"

# Export "now": the newest timestamp in the data (firm local time). No wall clock anywhere.
_START = int(np.datetime64("2016-01-04T08:00:00", "s").astype(np.int64))
_EXPORT = int(np.datetime64("2024-09-30T18:00:00", "s").astype(np.int64))
_DAY = 86_400

# Per-file encodings and record terminators (the reader must cope with all of them).
FILE_FORMATS = {
    "users.csv": ("cp1252", "\r\n"),
    "clients.csv": ("utf-8-sig", "\r\n"),
    "client_properties.csv": ("utf-8", "\n"),
    "contacts.csv": ("utf-8", "\n"),
    "matters.csv": ("utf-8", "\n"),
    "matter_properties.csv": ("utf-8", "\n"),
    "documents.csv": ("utf-8", "\n"),
    "tasks.csv": ("utf-8", "\n"),
    "interactions.csv": ("utf-8", "\r\n"),
}

# ---------------------------------------------------------------------------------------------
# Pools (small; everything big is drawn from them with numpy indices)

USER_NAMES = [
    "Eleanor Whitfield", "Marcus Pike", "José Núñez", "Zoë Ångström", "Henrik Müller", "Priya Raman",
    "Daniel O'Connor", "Chloé Dubois", "Samuel Okafor", "Grace Lindqvist", "Tomás Ibáñez", "Hannah Becker",
    "Olivia Grant", "Ethan Brooks", "Maya Castillo", "Liam Fitzgerald", "Sofia Rossi", "Noah Adeyemi",
    "Amélie Laurent", "Lucas Schäfer", "Isabel Moreno", "Owen Price", "Freya Nilsson", "Jonah Weiss",
    "Clara Jäger",
]
USER_ROLES = ["Partner", "Associate", "Associate", "Paralegal", "Office Manager", "Billing", "Portal Admin"]

FIRST_NAMES = [
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Christopher", "Karen",
    "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Emily", "Mark", "Margaret", "Zoë", "Łukasz", "José",
    "Björn", "Søren", "François", "Chloé", "Siobhán", "Mateo", "Priya", "Wei", "Aiko", "Hiroshi", "Yuki",
    "Olga", "Agnieszka", "Małgorzata", "Jürgen", "Anaïs", "Renée", "Øystein", "Inés", "Tomás", "Ángel",
    "Nikolai", "Fatima", "Aarav", "Kwame", "Amara", "Liam", "Noah", "Olivia", "Emma", "Ava", "Sophia",
    "Lucas", "Mia", "Ethan", "Harper", "Leila", "Omar", "太郎", "花子",
]
LAST_NAMES = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee",
    "Thompson", "White", "Harris", "Clark", "Lewis", "Walker", "Hall", "Young", "King", "Wright",
    "Ångström", "Żółkiewski", "Núñez", "Müller", "Schröder", "Østergaard", "Lefèvre", "O'Brien", "O'Neill",
    "García", "Peña", "Kowalczyk", "Wiśniewska", "Dvořák", "Nguyễn", "Tanaka", "Suzuki", "Nakamura", "Kim",
    "Park", "Chen", "Wang", "Singh", "Patel", "Okafor", "Mensah", "Haddad", "Cohen", "Rossi", "Bianchi",
    "van der Berg", "De la Cruz", "McAllister", "Fitzgerald", "Johansson", "Lindqvist", "Virtanen", "Novák",
    "Horváth", "Papadopoulos", "Yılmaz", "Öztürk", "Şahin", "山田", "佐藤",
]
_ASCII_OVERRIDES = {"太郎": "taro", "花子": "hanako", "山田": "yamada", "佐藤": "satou"}

COMPANY_WORDS = [
    "Northwind", "Bluewater", "Summit", "Crescent", "Harbor", "Granite", "Meridian", "Evergreen", "Pinnacle",
    "Ironwood", "Silverline", "Redwood", "Lakeshore", "Keystone", "Brightpath", "Oakridge", "Cobalt",
    "Highland", "Riverside", "Sterling", "Beacon", "Westbrook", "Falcon", "Aurora", "Cedar", "Atlas", "Vertex",
    "Copperfield", "Juniper", "Halcyon", "Maplewood", "Trident", "Orchard", "Lighthouse", "Foxglove", "Ember",
]
COMPANY_NOUNS = [
    "Holdings", "Partners", "Group", "Associates", "Capital", "Industries", "Design Studio", "Engineering",
    "Advisors", "Architects", "Consulting", "Logistics", "Properties", "Ventures", "Accountants", "Labs",
]
COMPANY_SUFFIXES = ["", " LLC", " Inc.", " Ltd", " LLP", " Corp.", " PLLC", " Co."]

# Clients every export has (non-ASCII names), with ASCII websites and matching addresses.
SPECIAL_CLIENTS = [
    ("株式会社 山田商事", "yamada-shoji.co.jp", "1-2-3 Marunouchi, Chiyoda-ku", "Tokyo", "", "100-0005", "Japan", "+81 3-5555-0142"),
    ("Müller & Söhne GmbH", "mueller-soehne.de", "Königstraße 12", "Stuttgart", "BW", "70173", "Germany", "+49 711 5550142"),
    ("Zoë Ångström Arkitekter AB", "angstromarkitekter.se", "Götgatan 48", "Stockholm", "", "118 26", "Sweden", "+46 8 555 014 20"),
    ("Łukasz Żółkiewski i Wspólnicy sp.k.", "zolkiewski.pl", "ul. Floriańska 15", "Kraków", "", "31-019", "Poland", "+48 12 555 01 42"),
    ("José Núñez Abogados S.L.", "nunezabogados.es", "Calle de Alcalá 87", "Madrid", "", "28009", "Spain", "+34 915 550 142"),
    ("Café Lumière SARL", "cafelumiere.fr", "14 rue de l'Église", "Lyon", "", "69002", "France", "+33 4 55 50 14 20"),
]

# city, state, postal code, country, phone prefix (US entries: area code; others: full prefix)
ADDRESSES = [
    ("New York", "NY", "10017", "US", "212"), ("Chicago", "IL", "60601", "US", "312"),
    ("Boston", "MA", "02110", "US", "617"), ("Denver", "CO", "80202", "US", "303"),
    ("Austin", "TX", "78701", "US", "512"), ("Seattle", "WA", "98101", "US", "206"),
    ("Atlanta", "GA", "30303", "US", "404"), ("San Francisco", "CA", "94105", "US", "415"),
    ("Philadelphia", "PA", "19103", "US", "215"), ("Miami", "FL", "33131", "US", "305"),
    ("Minneapolis", "MN", "55402", "US", "612"), ("Portland", "OR", "97204", "US", "503"),
    ("Nashville", "TN", "37219", "US", "615"), ("Charlotte", "NC", "28202", "US", "704"),
    ("Hoboken", "NJ", "07030", "US", "201"), ("Stamford", "CT", "06901", "US", "203"),
    ("London", "", "EC2V 7HH", "United Kingdom", "+44 20 7946 0"),
    ("Toronto", "ON", "M5H 2N2", "Canada", "+1 416 555 0"),
    ("Zürich", "ZH", "8001", "Switzerland", "+41 44 555 0"),
    ("München", "BY", "80331", "Germany", "+49 89 5550"),
]
US_COUNTRY_SPELLINGS = ["United States", "USA", "US", "United States"]
STREET_NAMES = [
    "Main", "Oak", "Maple", "Washington", "Lake", "Hill", "Park", "Pine", "Cedar", "Elm", "Market", "Madison",
    "Franklin", "Jefferson", "Broad", "Water", "State", "Congress", "Union", "Harbor",
]
STREET_TYPES = ["St", "Street", "Ave", "Avenue", "Blvd", "Rd", "Way", "Plaza"]
TLDS = [".com", ".com", ".com", ".net", ".io", ".co", ".law"]

TITLES = [
    "Managing Partner", "General Counsel", "Chief Financial Officer", "Office Manager", "Director of Operations",
    "Controller", "Head of Legal", "HR Manager", "Project Architect", "Senior Engineer", "Owner", "CEO",
    "Paralegal", "Accounts Payable", "VP, Finance", "Procurement Lead", "Geschäftsführer", "Directora Jurídica",
    "代表取締役", "Principal", "Company Secretary", "Finance Director",
]

MATTER_TOPICS = [
    "Series B financing", "Lease renewal – Fifth Avenue office", "Trademark registration", "Wrongful termination claim",
    "Annual statutory audit", "GDPR compliance review", "Shareholder agreement", "Construction defect claim",
    "Tax residency advice", "Patent licensing deal", "Acquisition of regional distributor", "Employee handbook update",
    "Sales tax nexus review", "Zoning variance application", "Supplier contract dispute", "Estate planning",
    "Structural inspection – warehouse", "SOC 2 readiness", "Non-compete enforcement", "Office build-out design",
    "Transfer pricing study", "Joint venture formation", "Insurance coverage dispute", "Data breach response",
]
MATTER_DESCRIPTIONS = [
    "Engagement per signed letter; fixed fee for phase 1.",
    'Client asked for a "capped fee" quote, see e-mail of 3 March.',
    "Scope: review, redline and negotiate; weekly status call.",
    "Opposing counsel: Baker, Lin & Ortiz LLP. Mediation scheduled.",
    "Hourly, billed monthly; retainer applied to the final invoice.",
    "Follow-up from last year's engagement (see matter notes).",
    "Über-urgent: board meeting next week — prepare summary.",
    "Includes site visits at the client's premises, travel billable.",
]
UNKNOWN_STAGES = ["Waiting on Client", "Archived", "Awaiting Signature"]
STAGE_WEIGHTS = [0.15, 0.35, 0.15, 0.1, 0.25]

DOC_TYPES = ["pdf", "docx", "xlsx", "png", "txt"]
DOC_TYPE_WEIGHTS = [0.4, 0.25, 0.12, 0.1, 0.13]
DOC_TITLES = {
    "pdf": ["Engagement Letter", "Signed Settlement Agreement", "Court Filing – Motion to Dismiss", "Invoice Summary",
            "Certificate of Incorporation", "Audit Opinion"],
    "docx": ["Draft Shareholder Agreement", "Memo – Tax Position", "Board Resolution", "Statement of Work",
             "Vertrag – Müller & Söhne (Entwurf)"],
    "xlsx": ["Billing Summary Q3", "Damages Calculation", "Cap Table", "Fee Estimate"],
    "png": ["Site Photo", "Signature Scan", "Floor Plan Sketch"],
    "txt": ["Call Notes", "Portal Export Log", "Meeting Minutes"],
}

TASK_SUBJECTS = [
    "Draft engagement letter", "File motion to dismiss", "Send invoice reminder", "Collect signed documents",
    "Prepare board minutes", "Review lease terms", "Schedule client call", "Update conflict check",
    "Request missing bank statements", "Finalize audit workpapers", "Submit trademark filing", "Circulate redline",
    "Book site visit", "Chase overdue retainer", "Prepare fee estimate",
]
TASK_DESCRIPTIONS = [
    "See matter notes for background.", "Client prefers e-mail; cc the office manager.",
    'Use the "standard" template, version 3.', "Deadline is firm — court date set.",
    "Coordinate with accounting before sending.",
]

INTERACTION_SUBJECTS = {
    "call": ["Call re: fee estimate", "Status call", "Follow-up call", "Intake call", "Call about invoice"],
    "meeting": ["Kick-off meeting", "Quarterly review", "Board prep meeting", "Site meeting", "Closing meeting"],
    "email": ["Documents for review", "Re: engagement letter", "Invoice attached", "Next steps", "Re: draft agreement"],
    "sms": ["Appointment reminder", "Signature needed", "Call me back", "Running late"],
}
CHANNELS = ["call", "meeting", "email", "sms"]
CHANNEL_WEIGHTS = [0.35, 0.2, 0.35, 0.1]
HTML_TOPICS = ["settlement", "lease renewal", "audit timetable", "fee estimate", "board resolution", "trademark filing",
               "signing & closing", "due-diligence list"]

# HTML body templates: literal pieces and column references ({name}); per channel.
HTML_TEMPLATES = {
    "call": [
        "<p>Spoke with {first} about the {topic}.</p><p>Agreed next steps:<br>1. Send draft by {date}<br>"
        "2. Confirm fees &amp; retainer</p>",
        "<p><b>Call summary</b>: {first} asked whether the {topic} could be expedited. Quoted &lt;2 weeks.</p>",
    ],
    "meeting": [
        "<div>Meeting notes &ndash; {topic}</div>\n<ul>\n<li>Attendees: {first} {last}, {owner}</li>\n"
        "<li>Budget: &euro;{amount}</li>\n<li>Next meeting: {date}</li>\n</ul>",
    ],
    "email": [
        "<p>Hi {first},</p>\n<p>Please find attached the &quot;{topic}&quot; documents for your review.</p>\n"
        "<p>Kind regards,<br>\n{owner}</p>",
        "<p>Thanks {first} &mdash; noted.</p><blockquote>&gt; Can we move the {topic} to {date}?</blockquote>",
    ],
    "sms": ["<span>Reminder: {topic} on {date}. Reply&nbsp;STOP to opt out.</span>"],
}


# ---------------------------------------------------------------------------------------------
# Small helpers


def ascii_slug(text: str) -> str:
    """Lower-case ASCII letters and digits of a name (for e-mail local parts, websites, file names)."""
    if text in _ASCII_OVERRIDES:
        return _ASCII_OVERRIDES[text]
    special = {"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "æ": "ae", "Æ": "AE", "ı": "i", "đ": "d"}
    text = "".join(special.get(ch, ch) for ch in text)
    text = unicodedata.normalize("NFKD", text)
    return re.sub(r"[^a-z0-9]", "", "".join(ch for ch in text if not unicodedata.combining(ch)).lower())


def html_to_text(body: str) -> str:
    """The text an HTML body is expected to reduce to (the rule the truth file's samples follow)."""
    s = re.sub(r"(?i)<br\s*/?>", "\n", body)
    s = re.sub(r"(?i)</(p|div|li|tr|h[1-6]|blockquote)\s*>", "\n", s)
    s = re.sub(r"<[^>]+>", "", s)
    s = html_lib.unescape(s).replace("\xa0", " ")
    lines = (" ".join(line.split()) for line in s.splitlines())
    return "\n".join(line for line in lines if line)


def _rng(seed: int, salt: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, salt]))


def _s(values) -> pa.Array:
    return pa.array(values, pa.string())


def _take(pool: list[str], idx: np.ndarray) -> pa.Array:
    return _s(pool).take(pa.array(np.asarray(idx, dtype=np.int64)))


def _cat(*parts) -> pa.Array:
    """Element-wise concatenation of string arrays and literals (a null anywhere gives null)."""
    typ = next((p.type for p in parts if not isinstance(p, str)), pa.string())
    parts = [pa.scalar(p, typ) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*parts, pa.scalar("", typ))


def _num(values: np.ndarray, width: int = 0) -> pa.Array:
    out = pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())
    return pc.utf8_lpad(out, width, padding="0") if width else out


def _ids(prefix: str, nums: np.ndarray) -> pa.Array:
    return _cat(prefix, _num(nums, 6))


def _set(arr: pa.Array, positions, values) -> pa.Array:
    """arr with the values at the given positions replaced (a None value makes a null)."""
    if len(positions) == 0:
        return arr
    order = np.argsort(np.asarray(positions))
    pos = np.asarray(positions)[order]
    vals = [values[i] for i in order]
    mask = np.zeros(len(arr), dtype=bool)
    mask[pos] = True
    return pc.replace_with_mask(arr, pa.array(mask), pa.array(vals, arr.type))


def _null_where(arr: pa.Array, mask: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(mask), pa.scalar(None, arr.type), arr)


def _scatter(groups: np.ndarray, pieces: dict[int, pa.Array]) -> pa.Array:
    """Assemble one array from per-group arrays: pieces[g] holds, in order, the values of rows where groups == g."""
    order = np.argsort(groups, kind="stable")
    keys = sorted(pieces)
    combined = pa.concat_arrays([pieces[k] for k in keys]) if keys else pa.array([], pa.string())
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return combined.take(pa.array(inverse))


def _choose_groups(rng: np.random.Generator, n: int, weights) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(w), size=n, p=w / w.sum())


def _money(cents: np.ndarray, rng: np.random.Generator | None = None) -> pa.Array:
    """Decimal strings with two decimals; with rng, some whole amounts lose their decimals ("250")."""
    cents = np.asarray(cents, dtype=np.int64)
    text = _cat(_num(cents // 100), ".", _num(cents % 100, 2))
    if rng is not None:
        whole = (cents % 100 == 0) & (rng.random(len(cents)) < 0.5)
        text = pc.if_else(pa.array(whole), _num(cents // 100), text)
    return text


def _quarter_hours(q: np.ndarray) -> pa.Array:
    q = np.asarray(q, dtype=np.int64)
    frac = np.array(["", ".25", ".5", ".75"])[q % 4]
    return _cat(_num(q // 4), pa.array(frac, pa.string()))


def _times(local_secs: np.ndarray, rng: np.random.Generator, date_only: bool = False) -> pa.Array:
    """Local times formatted in a mix of the export's formats (DATE_FORMATS)."""
    secs = np.asarray(local_secs, dtype=np.int64)
    if date_only:
        formats = list(DATE_ONLY_FORMATS)
        weights = [0.35, 0.5, 0.15]
    else:
        formats = list(DATE_FORMATS)
        weights = [0.25, 0.1, 0.3, 0.15, 0.08, 0.07, 0.05]
    groups = _choose_groups(rng, len(secs), weights)
    pieces = {}
    for g, fmt in enumerate(formats):
        sel = secs[groups == g]
        if not len(sel):
            continue
        local = pa.array(sel, pa.timestamp("s"))
        if fmt.endswith("Z"):
            zoned = pc.assume_timezone(local, timezone=SOURCE_TIMEZONE, ambiguous="earliest", nonexistent="earliest")
            pieces[g] = pc.strftime(zoned.cast(pa.timestamp("s", tz="UTC")), format=fmt)
        elif fmt.endswith("%z"):
            zoned = pc.assume_timezone(local, timezone=SOURCE_TIMEZONE, ambiguous="earliest", nonexistent="earliest")
            text = pc.strftime(zoned, format=fmt)
            pieces[g] = pc.replace_substring_regex(text, r"([+-]\d\d)(\d\d)$", r"\1:\2")
        else:
            pieces[g] = pc.strftime(local, format=fmt)
    return _scatter(groups, pieces)


def _created_modified(rng: np.random.Generator, n: int, after: np.ndarray | None = None):
    """(created, modified) local seconds; created after ``after`` (a parent's creation) when given."""
    lo = np.full(n, _START, dtype=np.int64) if after is None else np.asarray(after, dtype=np.int64)
    span = np.maximum(_EXPORT - lo - 2 * _DAY, _DAY)
    created = lo + (rng.random(n) * 0.9 * span).astype(np.int64)
    # Office hours mostly: squeeze the time of day into 07:00-20:00 local.
    tod = created % _DAY
    created = created - tod + 7 * 3600 + (tod * 13 // 24) // 60 * 60 + rng.integers(0, 60, n)
    created = np.minimum(np.maximum(created, lo + 60), _EXPORT - 60)
    modified = np.minimum(created + (rng.exponential(60, n) * _DAY).astype(np.int64), _EXPORT)
    return created, modified


# ---------------------------------------------------------------------------------------------
# Writing


def _array_bytes(arr: pa.Array) -> memoryview:
    """The concatenated values of a string array without nulls (no copy)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    large = pa.types.is_large_string(arr.type)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64 if large else np.int32)
    offsets = offsets[arr.offset : arr.offset + len(arr) + 1]
    data = arr.buffers()[2]
    if data is None:
        return memoryview(b"")
    return memoryview(data)[int(offsets[0]) : int(offsets[-1])]


def csv_field(value: str | None) -> str:
    """One value as a CSV field, quoted only when needed (the rule :func:`_csv_lines` applies)."""
    if value is None:
        return ""
    if re.search(r'[",\r\n]', value):
        return '"' + value.replace('"', '""') + '"'
    return value


def _csv_lines(columns: list[pa.Array], terminator: str) -> pa.Array:
    """One CSV record per row (with its terminator), quoting only the values that need it."""
    fields = []
    for col in columns:
        col = col.cast(pa.large_string())
        need = pc.fill_null(pc.match_substring_regex(col, r'[",\r\n]'), False)
        quoted = _cat('"', pc.replace_substring(col, '"', '""'), '"')
        fields.append(pc.fill_null(pc.if_else(need, quoted, col), ""))
    line = pc.binary_join_element_wise(*fields, pa.scalar(",", pa.large_string()))
    return _cat(line, terminator)


@dataclass
class _Table:
    name: str
    columns: dict[str, pa.Array]
    replace_lines: dict[int, str] = field(default_factory=dict)  # row index -> raw record text

    @property
    def num_rows(self) -> int:
        return len(next(iter(self.columns.values())))


def _write_csv(path: Path, table: _Table) -> None:
    encoding, term = FILE_FORMATS[path.name]
    layout = LAYOUTS[table.name]
    assert tuple(table.columns) == layout.columns, (table.name, tuple(table.columns))
    lines = _csv_lines([table.columns[c] for c in layout.columns], term)
    if table.replace_lines:
        parts, prev = [], 0
        for idx in sorted(table.replace_lines):
            parts += [lines.slice(prev, idx - prev), pa.array([table.replace_lines[idx] + term], pa.large_string())]
            prev = idx + 1
        parts.append(lines.slice(prev))
        lines = pa.concat_arrays(parts)
    header = (",".join(layout.columns) + term).encode("ascii")
    body = _array_bytes(lines)
    with open(path, "wb") as f:
        if encoding == "utf-8-sig":
            f.write(b"\xef\xbb\xbf")
        if encoding == "cp1252":
            f.write(header)
            f.write(bytes(body).decode("utf-8").encode("cp1252"))
        else:
            f.write(header)
            f.write(body)


# ---------------------------------------------------------------------------------------------
# Attachment bodies (exactly size_bytes long, valid files of their type)

_LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit. Sed do eiusmod tempor incididunt ut labore et "
    "dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris. "
)


def _pad_text(n: int) -> bytes:
    reps = n // len(_LOREM) + 1
    return (_LOREM * reps).encode("ascii")[:n]


def _txt_body(title: str, doc_id: str, size: int) -> bytes:
    head = f"{title}\nDocument {doc_id}\n\n".encode("utf-8")
    return head + _pad_text(size - len(head))


def _pdf_body(title: str, doc_id: str, size: int) -> bytes:
    safe = ascii_slug(title) or "document"
    stream = f"BT /F1 14 Tf 72 720 Td ({safe} {doc_id}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]

    def build(pad: int, tail: int = 0) -> bytes:
        out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        if pad == 1:  # a comment line is at least two bytes; one byte of padding is a blank line
            out += b"\n"
        elif pad > 1:
            out += b"%" + b"x" * (pad - 2) + b"\n"
        offsets = []
        for i, body in enumerate(objects, start=1):
            offsets.append(len(out))
            out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
        for off in offsets:
            out += b"%010d 00000 n \n" % off
        # Whitespace inside the trailer dictionary does not move the xref table.
        out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, b" " * tail, xref)
        return bytes(out)

    # Padding before the objects moves the xref offset, whose digit count can jump past a size;
    # pad as far as fits, then make up the rest inside the trailer.
    pad = max(0, size - len(build(0)))
    while pad and len(build(pad)) > size:
        pad -= 1
    body = build(pad, size - len(build(pad)))
    assert len(body) == size, (len(body), size)
    return body


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_body(title: str, doc_id: str, size: int) -> bytes:
    w = h = 8
    raw = b"".join(b"\x00" + b"".join(bytes([(x * 32) % 256, (y * 32) % 256, 160]) for x in range(w)) for y in range(h))
    head = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    idat = _png_chunk(b"IDAT", zlib.compress(raw, 9))
    iend = _png_chunk(b"IEND", b"")
    fixed = len(head) + len(idat) + len(iend) + 12 + len(b"Comment\x00")
    text = (f"{doc_id} ".encode("ascii") + _pad_text(size))[: size - fixed]
    return head + _png_chunk(b"tEXt", b"Comment\x00" + text) + idat + iend


_DOCX_FILES = {
    "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
    "_rels/.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
    "word/document.xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>',
}
_XLSX_FILES = {
    "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
    "_rels/.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
    "xl/worksheets/sheet1.xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>{text}</t></is></c></row></sheetData></worksheet>',
}


def _zip_body(parts: dict[str, str], text: str, size: int) -> bytes:
    def build(comment: bytes) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, content in parts.items():
                info = zipfile.ZipInfo(name, date_time=(2024, 1, 2, 9, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, content.replace("{text}", html_lib.escape(text)).encode("utf-8"))
            zf.comment = comment
        return buf.getvalue()

    base = build(b"")
    body = build(_pad_text(size - len(base)))
    assert len(body) == size
    return body


def attachment_body(file_type: str, title: str, doc_id: str, size: int) -> bytes:
    """A small valid file of the type, exactly ``size`` bytes long."""
    if file_type == "pdf":
        return _pdf_body(title, doc_id, size)
    if file_type == "png":
        return _png_body(title, doc_id, size)
    if file_type == "docx":
        return _zip_body(_DOCX_FILES, f"{title} ({doc_id})", size)
    if file_type == "xlsx":
        return _zip_body(_XLSX_FILES, f"{title} ({doc_id})", size)
    return _txt_body(title, doc_id, size)


# ---------------------------------------------------------------------------------------------
# The generator


def _count(name: str, scale: float) -> int:
    return max(MIN_COUNTS[name], int(round(BASE_COUNTS[name] * scale)))


class _Truth:
    def __init__(self) -> None:
        self.defects: list[dict] = []

    def add(self, obj: str, source_id: str | None, fld: str | None, code: str, note: str, **extra) -> None:
        entry = {"object": obj, "source_id": source_id, "field": fld, "reason_code": code, "note": note}
        entry.update(extra)
        self.defects.append(entry)


class _Generator:
    def __init__(self, seed: int, scale: float, with_files: bool) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.seed, self.scale, self.with_files = int(seed), float(scale), with_files
        self.truth = _Truth()
        self.n = {k: _count(k, scale) for k in BASE_COUNTS}
        self.n_users = max(MIN_USERS, int(round(BASE_USERS * math.sqrt(scale))))
        if max(self.n.values()) >= 990_000:
            raise ValueError("scale too large: ids are six digits")
        self.tables: dict[str, _Table] = {}

    # -- users -------------------------------------------------------------------------------
    def users(self) -> None:
        rng = _rng(self.seed, 1)
        n = self.n_users
        names = list(USER_NAMES[:n])
        if n > len(names):  # more users at large scales: cp1252-safe names from the pools
            firsts = [f for f in FIRST_NAMES if _cp1252_ok(f)]
            lasts = [x for x in LAST_NAMES if _cp1252_ok(x)]
            fi = rng.integers(0, len(firsts), n - len(names))
            li = rng.integers(0, len(lasts), n - len(names))
            names += [f"{firsts[a]} {lasts[b]}" for a, b in zip(fi, li)]  # users: a few hundred at most
        locals_ = []
        seen: dict[str, int] = {}
        for full in names:
            first, last = full.split(" ", 1)
            local = f"{ascii_slug(first)}.{ascii_slug(last)}"
            k = seen.get(local, 0)
            seen[local] = k + 1
            locals_.append(local if k == 0 else f"{local}{k + 1}")
        emails = [f"{loc}@{FIRM_DOMAIN}" for loc in locals_]
        roles = [USER_ROLES[0] if i < 2 else USER_ROLES[int(r)] for i, r in enumerate(rng.integers(0, len(USER_ROLES), n))]
        # The last three users never got a destination account; one earlier user has left (inactive).
        self.unmatched = list(range(n - 3, n))
        self.inactive = [n - 4]
        active = ["false" if i in self.inactive else "true" for i in range(n)]
        self.user_emails = emails
        good = np.array([i for i in range(n) if i not in self.unmatched and i not in self.inactive])
        self.good_users = good
        weights = np.ones(n)
        weights[self.unmatched] = 0.6
        weights[self.inactive] = 0.8
        self.user_weights = weights / weights.sum()
        self.tables["users"] = _Table(
            "users",
            {
                "user_id": _ids("U-", np.arange(1, n + 1)),
                "full_name": _s(names),
                "email": _s(emails),
                "role": _s(roles),
                "active": _s(active),
            },
        )

    def _owners(self, rng: np.random.Generator, n: int, clean_rows=()) -> pa.Array:
        idx = rng.choice(self.n_users, size=n, p=self.user_weights)
        clean_rows = np.asarray(list(clean_rows), dtype=np.int64)
        if len(clean_rows):  # defective records are owned by matched, active users only
            idx[clean_rows] = self.good_users[rng.integers(0, len(self.good_users), len(clean_rows))]
        return _take(self.user_emails, idx)

    # -- clients -----------------------------------------------------------------------------
    def clients(self) -> None:
        rng = _rng(self.seed, 2)
        n = self.n["clients"]
        pattern = _choose_groups(rng, n, [0.4, 0.35, 0.25])
        w1 = rng.integers(0, len(COMPANY_WORDS), n)
        nn = rng.integers(0, len(COMPANY_NOUNS), n)
        sx = rng.integers(0, len(COMPANY_SUFFIXES), n)
        s1 = rng.integers(0, len(LAST_NAMES), n)
        s2 = rng.integers(0, len(LAST_NAMES), n)
        noun, suffix = _take(COMPANY_NOUNS, nn), _take(COMPANY_SUFFIXES, sx)
        word, last1, last2 = _take(COMPANY_WORDS, w1), _take(LAST_NAMES, s1), _take(LAST_NAMES, s2)
        names_by = {
            0: _cat(word, " ", noun, suffix),
            1: _cat(last1, " & ", last2, suffix),
            2: _cat(last1, " ", noun, suffix),
        }
        slug_words = _s([ascii_slug(w) for w in COMPANY_WORDS])
        slug_nouns = _s([ascii_slug(w) for w in COMPANY_NOUNS])
        slug_lasts = _s([ascii_slug(w) for w in LAST_NAMES])
        sw, sn = slug_words.take(pa.array(w1)), slug_nouns.take(pa.array(nn))
        sl1, sl2 = slug_lasts.take(pa.array(s1)), slug_lasts.take(pa.array(s2))
        slugs_by = {0: _cat(sw, sn), 1: _cat(sl1, sl2), 2: _cat(sl1, sn)}
        name = pc.choose(pa.array(pattern, pa.int8()), names_by[0], names_by[1], names_by[2])
        slug = pc.choose(pa.array(pattern, pa.int8()), slugs_by[0], slugs_by[1], slugs_by[2])

        addr = rng.choice(len(ADDRESSES), size=n, p=_address_weights())
        city = _take([a[0] for a in ADDRESSES], addr)
        state = _take([a[1] for a in ADDRESSES], addr)
        postal = _take([a[2] for a in ADDRESSES], addr)
        is_us = np.array([a[3] == "US" for a in ADDRESSES])[addr]
        country = pc.if_else(
            pa.array(is_us),
            _take(US_COUNTRY_SPELLINGS, rng.integers(0, len(US_COUNTRY_SPELLINGS), n)),
            _take([a[3] for a in ADDRESSES], addr),
        )
        # Unique names (case-insensitive): a repeated name gets its city, then a number.
        name = _dedupe(name, [city])
        slug = _dedupe(slug, [], sep="")
        tld = _take(TLDS, rng.integers(0, len(TLDS), n))
        domain = _cat(slug, tld)
        web_fmt = _choose_groups(rng, n, [0.35, 0.3, 0.2, 0.1, 0.05])
        website = pc.choose(
            pa.array(web_fmt, pa.int8()),
            _cat("https://www.", domain), _cat("www.", domain), domain, _cat("http://", domain, "/"),
            pa.nulls(n, pa.string()),
        )
        street = _cat(
            _num(rng.integers(1, 9800, n)), " ", _take(STREET_NAMES, rng.integers(0, len(STREET_NAMES), n)), " ",
            _take(STREET_TYPES, rng.integers(0, len(STREET_TYPES), n)),
        )
        suite = rng.random(n) < 0.25
        street = pc.if_else(pa.array(suite), _cat(street, ", Suite ", _num(rng.integers(100, 2400, n))), street)
        phone = _phones(rng, addr, is_us)

        # Hierarchy: ~8% top-level parents, ~10% their children, ~4% grandchildren.
        perm = rng.permutation(n)
        n0, n1, n2 = max(2, round(0.08 * n)), max(2, round(0.10 * n)), max(1, round(0.04 * n))
        lvl0, lvl1, lvl2 = perm[:n0], perm[n0 : n0 + n1], perm[n0 + n1 : n0 + n1 + n2]
        standalone = np.sort(perm[n0 + n1 + n2 :])
        parent = np.full(n, -1, dtype=np.int64)
        parent[lvl1] = lvl0[rng.integers(0, n0, n1)]
        parent[lvl2] = lvl1[rng.integers(0, n1, n2)]

        # Defects (from standalone clients, which are nobody's parent): a 3-cycle and a blank name.
        picks = rng.choice(standalone, size=4 + len(SPECIAL_CLIENTS), replace=False)
        cycle, blank, specials = picks[:3], int(picks[3]), picks[4:]
        for a, b in zip(cycle, np.roll(cycle, -1)):
            parent[a] = b
        ids = _ids("CL-", np.arange(1, n + 1))
        parent_id = pc.if_else(pa.array(parent >= 0), ids.take(pa.array(np.maximum(parent, 0))), pa.scalar(None, pa.string()))

        # Special (non-ASCII) clients: fixed name, website, address, phone.
        sp = list(specials)
        name = _set(name, sp, [c[0] for c in SPECIAL_CLIENTS])
        website = _set(website, sp, ["https://www." + c[1] for c in SPECIAL_CLIENTS])
        street = _set(street, sp, [c[2] for c in SPECIAL_CLIENTS])
        city = _set(city, sp, [c[3] for c in SPECIAL_CLIENTS])
        state = _set(state, sp, [c[4] or None for c in SPECIAL_CLIENTS])
        postal = _set(postal, sp, [c[5] for c in SPECIAL_CLIENTS])
        country = _set(country, sp, [c[6] for c in SPECIAL_CLIENTS])
        phone = _set(phone, sp, [c[7] for c in SPECIAL_CLIENTS])
        domain = _set(domain, sp, [c[1] for c in SPECIAL_CLIENTS])
        name = _set(name, [blank], [None])

        created, modified = _created_modified(rng, n)
        defect_rows = list(cycle) + [blank]
        cid = lambda i: ids[int(i)].as_py()  # noqa: E731
        for i, a in enumerate(cycle):
            b = cycle[(i + 1) % 3]
            self.truth.add("clients", cid(a), "parent_client_id", "HIERARCHY_CYCLE",
                           f"cycle {' -> '.join(cid(x) for x in list(cycle) + [cycle[0]])}",
                           source_row=int(a) + 2, value=cid(b))
        self.truth.add("clients", cid(blank), "name", "REQUIRED_MISSING", "blank client name", source_row=blank + 2, value=None)

        self.client_ids = ids
        self.client_domain = domain
        self.client_created = created
        bad = np.zeros(n, dtype=bool)
        bad[defect_rows] = True
        self.good_clients = np.flatnonzero(~bad)
        self.special_clients = [int(x) for x in specials]
        self.tables["clients"] = _Table(
            "clients",
            {
                "client_id": ids, "name": name, "website": website, "phone": phone, "street": street, "city": city,
                "state": _null_where(state, np.asarray(pc.equal(state, "").fill_null(False))), "postal_code": postal,
                "country": country, "parent_client_id": parent_id,
                "owner_email": self._owners(rng, n, defect_rows),
                "created_at": _times(created, rng), "modified_at": _times(modified, rng),
            },
        )

        # Custom client properties: good clients only, each property with probability 2/3.
        rngp = _rng(self.seed, 3)
        mask = rngp.random((len(self.good_clients), len(CLIENT_PROPERTIES))) < 0.667
        rows, props = np.nonzero(mask)
        m = len(rows)
        prop_names = list(CLIENT_PROPERTIES)
        values = {
            0: _take(list(CLIENT_PROPERTIES["Industry Classification"]), rngp.integers(0, 5, (props == 0).sum())),
            1: _take(list(CLIENT_PROPERTIES["Client Tier"]), rngp.choice(3, (props == 1).sum(), p=[0.2, 0.35, 0.45])),
            2: _take(list(BOOLEAN_VALUES), rngp.integers(0, len(BOOLEAN_VALUES), (props == 2).sum())),
            3: _money(rngp.integers(24, 600, (props == 3).sum()) * 50_000 // 2, rngp),
        }
        self.tables["client_properties"] = _Table(
            "client_properties",
            {
                "client_id": ids.take(pa.array(self.good_clients[rows])),
                "property_name": _take(prop_names, props),
                "property_value": _scatter(props, {k: v for k, v in values.items() if len(v)}),
            },
        )
        assert m == self.tables["client_properties"].num_rows

    # -- contacts ----------------------------------------------------------------------------
    def contacts(self) -> None:
        rng = _rng(self.seed, 4)
        n = self.n["contacts"]
        fi = rng.integers(0, len(FIRST_NAMES), n)
        li = rng.integers(0, len(LAST_NAMES), n)
        first, last = _take(FIRST_NAMES, fi), _take(LAST_NAMES, li)
        client = self.good_clients[rng.integers(0, len(self.good_clients), n)]
        domain = self.client_domain.take(pa.array(client))
        af = _s([ascii_slug(x) for x in FIRST_NAMES]).take(pa.array(fi))
        al = _s([ascii_slug(x) for x in LAST_NAMES]).take(pa.array(li))
        style = _choose_groups(rng, n, [0.6, 0.25, 0.15])
        local = pc.choose(pa.array(style, pa.int8()), _cat(af, ".", al), _cat(pc.utf8_slice_codeunits(af, 0, 1), al), _cat(af, "_", al))
        # Unique e-mail addresses (case-insensitive): a repeated local part gets a number.
        email = _dedupe(_cat(local, "@", domain), [], sep="", number_before="@")
        ids = _ids("CT-", np.arange(1, n + 1))
        title = _take(TITLES, rng.integers(0, len(TITLES), n))
        title = _null_where(title, rng.random(n) < 0.1)
        addr_like = rng.choice(len(ADDRESSES), size=n, p=_address_weights())
        phone = _phones(rng, addr_like, np.array([a[3] == "US" for a in ADDRESSES])[addr_like])
        phone = _null_where(phone, rng.random(n) < 0.12)

        # Defects: 4 duplicate groups (3 pairs, 1 triple), 4 invalid e-mails, 2 orphans,
        # 1 blank last name, 1 over-long title.
        d = rng.choice(n, size=17, replace=False)
        groups = [d[0:2], d[2:4], d[4:6], d[6:9]]
        invalid, orphans, blank_last, long_title = d[9:13], d[13:15], int(d[15]), int(d[16])
        blank_email = (rng.random(n) < 0.03)
        blank_email[d] = False
        email = _null_where(email, blank_email)

        get = lambda arr, i: arr[int(i)].as_py()  # noqa: E731
        upd_first, upd_last, upd_email = {}, {}, {}
        for g, members in enumerate(groups):
            src = int(members[0])
            f0, l0, e0 = get(first, src), get(last, src), get(email, src)
            for k, m in enumerate(members[1:]):
                upd_first[int(m)], upd_last[int(m)] = f0, l0
                upd_email[int(m)] = _case_variant(e0) if (g == 1 and k == 0) else e0
        bad_patterns = [
            ("missing @", lambda e: e.replace("@", "")),
            ("two @", lambda e: e.replace("@", "@@")),
            ("contains a space", lambda e: e.replace("@", " @", 1) if "." not in e.split("@")[0] else e.replace(".", " ", 1)),
            ("trailing dot", lambda e: e + "."),
        ]
        invalid_notes = {}
        for (note, fn), i in zip(bad_patterns, invalid):
            upd_email[int(i)] = fn(get(email, i))
            invalid_notes[int(i)] = note
        pos = sorted(upd_first)
        first = _set(first, pos, [upd_first[p] for p in pos])
        last = _set(last, pos, [upd_last[p] for p in pos])
        pos = sorted(upd_email)
        email = _set(email, pos, [upd_email[p] for p in pos])
        last = _set(last, [blank_last], [None])
        long_value = _long_title()
        title = _set(title, [long_title], [long_value])
        client_id = self.client_ids.take(pa.array(client))
        orphan_ids = [f"CL-{990_001 + k:06d}" for k in range(len(orphans))]
        client_id = _set(client_id, list(orphans), orphan_ids)

        cid = lambda i: ids[int(i)].as_py()  # noqa: E731
        for g, members in enumerate(groups):
            member_ids = [cid(m) for m in members]
            for m in members:
                self.truth.add("contacts", cid(m), "email", "DUPLICATE_SUSPECTED",
                               f"duplicate group {g + 1}: same first name, last name and e-mail"
                               + (" (e-mail differs in case)" if g == 1 else ""),
                               source_row=int(m) + 2, group=member_ids, value=get(email, m))
        for i in invalid:
            self.truth.add("contacts", cid(i), "email", "INVALID_EMAIL", invalid_notes[int(i)],
                           source_row=int(i) + 2, value=get(email, i))
        for i, oid in zip(orphans, orphan_ids):
            self.truth.add("contacts", cid(i), "client_id", "ORPHAN_REFERENCE", f"client {oid} is not in the export",
                           source_row=int(i) + 2, value=oid)
        self.truth.add("contacts", cid(blank_last), "last_name", "REQUIRED_MISSING", "blank last name",
                       source_row=blank_last + 2, value=None)
        self.truth.add("contacts", cid(long_title), "title", "VALUE_TRUNCATED",
                       f"title is {len(long_value)} characters (Salesforce Contact.Title holds 128)",
                       source_row=long_title + 2, value=long_value)

        created, modified = _created_modified(rng, n, self.client_created[client])
        self.contact_ids = ids
        self.contact_client = client
        self.contact_created = created
        bad = np.zeros(n, dtype=bool)
        bad[d] = True
        self.good_contacts = np.flatnonzero(~bad)
        self.non_ascii_contacts = _first_non_ascii(last, bad, 3)
        self.tables["contacts"] = _Table(
            "contacts",
            {
                "contact_id": ids, "client_id": client_id, "first_name": first, "last_name": last, "email": email,
                "phone": phone, "title": title, "owner_email": self._owners(rng, n, d),
                "created_at": _times(created, rng), "modified_at": _times(modified, rng),
            },
        )

    # -- matters -----------------------------------------------------------------------------
    def matters(self) -> None:
        rng = _rng(self.seed, 5)
        n = self.n["matters"]
        contact = self.good_contacts[rng.integers(0, len(self.good_contacts), n)]
        client = self.contact_client[contact]
        no_contact = rng.random(n) < 0.08
        client = np.where(no_contact, self.good_clients[rng.integers(0, len(self.good_clients), n)], client)
        contact = np.where(no_contact, -1, contact)
        ids = _ids("MT-", np.arange(1, n + 1))
        contact_id = pc.if_else(pa.array(contact >= 0), self.contact_ids.take(pa.array(np.maximum(contact, 0))),
                                pa.scalar(None, pa.string()))
        created, modified = _created_modified(rng, n, self.client_created[client])
        year = (created // (365.2425 * _DAY) + 1970).astype(np.int64)
        name = _cat(_take(MATTER_TOPICS, rng.integers(0, len(MATTER_TOPICS), n)), " (", _num(year), ")")
        description = _take(MATTER_DESCRIPTIONS, rng.integers(0, len(MATTER_DESCRIPTIONS), n))
        description = _null_where(description, rng.random(n) < 0.2)
        stage = _take(list(MATTER_STAGES), rng.choice(len(MATTER_STAGES), n, p=STAGE_WEIGHTS))
        opened = created - created % _DAY + rng.integers(0, 3, n) * _DAY
        rates = np.array([175, 225, 250, 295, 325, 350, 395, 450, 495, 550]) * 100
        hourly = _money(rates[rng.integers(0, len(rates), n)], rng)
        cost_c = rng.integers(5_000, 8_000_000, n)
        cost = _null_where(_money(cost_c, rng), rng.random(n) < 0.1)
        invoiced = _null_where(_money((cost_c * rng.uniform(0.6, 1.4, n)).astype(np.int64)), rng.random(n) < 0.2)

        d = rng.choice(n, size=4, replace=False)
        unknown, bad_cost = d[:3], int(d[3])
        stage = _set(stage, list(unknown), UNKNOWN_STAGES[: len(unknown)])
        cost = _set(cost, [bad_cost], ["12,50O"])
        mid = lambda i: ids[int(i)].as_py()  # noqa: E731
        for i, value in zip(unknown, UNKNOWN_STAGES):
            self.truth.add("matters", mid(i), "stage", "UNMAPPED_VALUE", f"stage {value!r} is not a known stage",
                           source_row=int(i) + 2, value=value)
        self.truth.add("matters", mid(bad_cost), "cost", "INVALID_NUMBER", "letter O instead of zero, comma decimal",
                       source_row=bad_cost + 2, value="12,50O")

        self.matter_ids = ids
        self.matter_contact = contact
        self.matter_created = created
        self.unknown_stage_matters = [int(x) for x in unknown]
        bad = np.zeros(n, dtype=bool)
        bad[d] = True
        self.good_matters = np.flatnonzero(~bad)
        self.tables["matters"] = _Table(
            "matters",
            {
                "matter_id": ids, "client_id": self.client_ids.take(pa.array(client)), "primary_contact_id": contact_id,
                "name": name, "description": description, "stage": stage, "opened_on": _times(opened, rng, date_only=True),
                "hourly_rate": hourly, "cost": cost, "invoiced_amount": invoiced,
                "owner_email": self._owners(rng, n, d), "created_at": _times(created, rng),
                "modified_at": _times(modified, rng),
            },
        )

        rngp = _rng(self.seed, 6)
        mask = rngp.random((len(self.good_matters), len(MATTER_PROPERTIES))) < 0.667
        rows, props = np.nonzero(mask)
        values = {
            0: _take(list(MATTER_PROPERTIES["Matter Type"]), rngp.integers(0, 5, (props == 0).sum())),
            1: _take(list(MATTER_PROPERTIES["Practice Area"]), rngp.integers(0, 5, (props == 1).sum())),
            2: _quarter_hours(rngp.integers(1, 1600, (props == 2).sum())),
        }
        self.tables["matter_properties"] = _Table(
            "matter_properties",
            {
                "matter_id": ids.take(pa.array(self.good_matters[rows])),
                "property_name": _take(list(MATTER_PROPERTIES), props),
                "property_value": _scatter(props, {k: v for k, v in values.items() if len(v)}),
            },
        )

    # -- documents ---------------------------------------------------------------------------
    def documents(self) -> None:
        rng = _rng(self.seed, 7)
        n = self.n["documents"]
        matter = self.good_matters[rng.integers(0, len(self.good_matters), n)]
        ftype = rng.choice(len(DOC_TYPES), n, p=DOC_TYPE_WEIGHTS)
        ftype[: len(DOC_TYPES)] = np.arange(len(DOC_TYPES))  # every type occurs, even at tiny scales
        ids = _ids("DOC-", np.arange(1, n + 1))
        titles, slugs = {}, {}
        for g, t in enumerate(DOC_TYPES):
            sel = int((ftype == g).sum())
            pick = rng.integers(0, len(DOC_TITLES[t]), sel)
            titles[g] = _take(DOC_TITLES[t], pick)
            slugs[g] = _take([_file_slug(x) for x in DOC_TITLES[t]], pick)
        title = _scatter(ftype, {g: v for g, v in titles.items() if len(v)})
        slug = _scatter(ftype, {g: v for g, v in slugs.items() if len(v)})
        ext = _take(DOC_TYPES, ftype)
        size = rng.integers(1_800, 12_000, n)
        created, modified = _created_modified(rng, n, self.matter_created[matter])

        d = rng.choice(np.arange(len(DOC_TYPES), n), size=2, replace=False)
        big, missing = int(d[0]), int(d[1])
        title = _set(title, [big], ["Discovery Production Vol. 3 (scanned)"])
        slug = _set(slug, [big], ["discovery-production-vol-3-scanned"])
        ext = _set(ext, [big], ["pdf"])
        size[big] = BIG_FILE_SIZE
        file_name = _cat(ids, "_", slug, ".", ext)
        did = lambda i: ids[int(i)].as_py()  # noqa: E731
        self.truth.add("documents", did(big), "size_bytes", "FILE_TOO_LARGE",
                       f"{BIG_FILE_SIZE} bytes, over the {FILE_SIZE_LIMIT}-byte limit (sparse file)",
                       source_row=big + 2, value=str(BIG_FILE_SIZE), file_name=file_name[big].as_py())
        if self.with_files:
            self.truth.add("documents", did(missing), "file_name", "FILE_MISSING", "listed, but not in files/",
                           source_row=missing + 2, value=file_name[missing].as_py())
        self.doc_big, self.doc_missing = big, missing
        self.tables["documents"] = _Table(
            "documents",
            {
                "document_id": ids, "matter_id": self.matter_ids.take(pa.array(matter)), "title": title,
                "file_name": file_name, "file_type": ext, "size_bytes": _num(size),
                "source_url": _cat(PORTAL_URL, "/matters/", self.matter_ids.take(pa.array(matter)), "/documents/", ids),
                "uploaded_by_email": self._owners(rng, n, d), "uploaded_at": _times(created, rng),
                "modified_at": _times(modified, rng),
            },
        )

    # -- tasks -------------------------------------------------------------------------------
    def tasks(self) -> None:
        rng = _rng(self.seed, 8)
        n = self.n["tasks"]
        matter = self.good_matters[rng.integers(0, len(self.good_matters), n)]
        d = rng.choice(np.arange(1, n), size=6, replace=False)
        orphans, bad_dates, dup, cascade = d[:2], d[2:4], int(d[4]), int(d[5])
        matter[cascade] = self.unknown_stage_matters[0]
        mcontact = self.matter_contact[matter]
        with_contact = (rng.random(n) < 0.5) & (mcontact >= 0)
        with_contact[orphans] = False
        contact_id = pc.if_else(pa.array(with_contact), self.contact_ids.take(pa.array(np.maximum(mcontact, 0))),
                                pa.scalar(None, pa.string()))
        nums = np.arange(1, n + 1)
        good_first = np.setdiff1d(np.arange(0, dup), d)
        first_of_dup = int(good_first[rng.integers(0, len(good_first))])
        nums[dup] = nums[first_of_dup]
        ids = _ids("TK-", nums)
        matter_id = self.matter_ids.take(pa.array(matter))
        orphan_ids = [f"MT-{990_001 + k:06d}" for k in range(len(orphans))]
        matter_id = _set(matter_id, list(orphans), orphan_ids)
        created, modified = _created_modified(rng, n, self.matter_created[matter])
        due = created - created % _DAY + rng.integers(1, 60, n) * _DAY
        due_s = _times(due, rng, date_only=True)
        bad_values = ["31/31/2024", "next Tuesday"]
        due_s = _set(due_s, list(bad_dates), bad_values)
        status = _take(["Open", "Completed"], (rng.random(n) < 0.55).astype(np.int64))
        priority = _take(["High", "Normal", "Low"], rng.choice(3, n, p=[0.2, 0.6, 0.2]))
        priority = _null_where(priority, rng.random(n) < 0.15)
        description = _null_where(_take(TASK_DESCRIPTIONS, rng.integers(0, len(TASK_DESCRIPTIONS), n)), rng.random(n) < 0.5)

        tid = lambda i: ids[int(i)].as_py()  # noqa: E731
        for i, oid in zip(orphans, orphan_ids):
            self.truth.add("tasks", tid(i), "matter_id", "ORPHAN_REFERENCE", f"matter {oid} is not in the export",
                           source_row=int(i) + 2, value=oid)
        for i, v in zip(bad_dates, bad_values):
            self.truth.add("tasks", tid(i), "due_date", "INVALID_DATE", "not a date in any accepted format",
                           source_row=int(i) + 2, value=v)
        self.truth.add("tasks", tid(dup), "task_id", "DUPLICATE_SOURCE_ID",
                       f"second row with this id; the first is row {first_of_dup + 2}",
                       source_row=dup + 2, value=tid(dup), first_source_row=first_of_dup + 2)
        self.truth.add("tasks", tid(cascade), "matter_id", "PARENT_REJECTED",
                       f"its matter {self.matter_ids[matter[cascade]].as_py()} has an unknown stage (UNMAPPED_VALUE)",
                       source_row=cascade + 2, value=self.matter_ids[matter[cascade]].as_py())
        self.tables["tasks"] = _Table(
            "tasks",
            {
                "task_id": ids, "matter_id": matter_id, "contact_id": contact_id,
                "subject": _take(TASK_SUBJECTS, rng.integers(0, len(TASK_SUBJECTS), n)), "description": description,
                "due_date": due_s, "status": status, "priority": priority,
                "assigned_to_email": self._owners(rng, n, d), "created_at": _times(created, rng),
                "modified_at": _times(modified, rng),
            },
        )

    # -- interactions ------------------------------------------------------------------------
    def interactions(self) -> None:
        rng = _rng(self.seed, 9)
        n = self.n["interactions"]
        matter = self.good_matters[rng.integers(0, len(self.good_matters), n)]
        mode = _choose_groups(rng, n, [0.65, 0.2, 0.15])  # 0 both, 1 matter only, 2 contact only
        contact = np.where(mode == 0, self.matter_contact[matter], -1)
        solo = self.good_contacts[rng.integers(0, len(self.good_contacts), n)]
        contact = np.where(mode == 2, solo, contact)
        has_matter = mode != 2
        ids = _ids("IL-", np.arange(1, n + 1))
        matter_id = pc.if_else(pa.array(has_matter), self.matter_ids.take(pa.array(matter)), pa.scalar(None, pa.string()))
        contact_id = pc.if_else(pa.array(contact >= 0), self.contact_ids.take(pa.array(np.maximum(contact, 0))),
                                pa.scalar(None, pa.string()))
        base = np.where(has_matter, self.matter_created[matter], self.contact_created[np.maximum(contact, 0)])
        occurred, modified = _created_modified(rng, n, base)
        channel = rng.choice(len(CHANNELS), n, p=CHANNEL_WEIGHTS)

        # Names for the bodies: the contact's, else a random good contact's.
        who = np.where(contact >= 0, contact, solo)
        contacts = self.tables["contacts"].columns
        first = pc.fill_null(contacts["first_name"].take(pa.array(who)), "there")
        last = pc.fill_null(contacts["last_name"].take(pa.array(who)), "")
        d = rng.choice(np.arange(5, n - 1), size=3, replace=False)
        unresolved, malformed = d[:2], int(d[2])
        owner_idx = rng.choice(self.n_users, size=n, p=self.user_weights)
        owner_idx[d] = self.good_users[rng.integers(0, len(self.good_users), len(d))]
        logged_by = _take(self.user_emails, owner_idx)
        owner_name = _take(self.tables["users"].columns["full_name"].to_pylist(), owner_idx)
        topic = _take(HTML_TOPICS, rng.integers(0, len(HTML_TOPICS), n))
        date_txt = pc.strftime(pa.array(occurred + rng.integers(2, 30, n) * _DAY, pa.timestamp("s")), format="%b %d")
        amount = _cat(_num(rng.integers(1, 90, n)), ",", _num(rng.integers(0, 10, n) * 100, 3))
        cols = {"first": first, "last": last, "owner": owner_name, "topic": topic, "date": date_txt, "amount": amount}
        esc = {k: _html_escape(v) for k, v in cols.items()}

        # Template per row: (channel, variant) -> one flat template index.
        flat = [(c, t) for c, ch in enumerate(CHANNELS) for t in HTML_TEMPLATES[ch]]
        variant = np.zeros(n, dtype=np.int64)
        for c, ch in enumerate(CHANNELS):
            sel = channel == c
            variant[sel] = rng.integers(0, len(HTML_TEMPLATES[ch]), int(sel.sum()))
        offsets = np.cumsum([0] + [len(HTML_TEMPLATES[ch]) for ch in CHANNELS])[:-1]
        tmpl = offsets[channel] + variant
        pieces = {}
        for k, (_, template) in enumerate(flat):
            sel = np.flatnonzero(tmpl == k)
            if len(sel):
                pieces[k] = _fill_template(template, {key: arr.take(pa.array(sel)) for key, arr in esc.items()})
        body = _scatter(tmpl, pieces)
        subj_pieces = {}
        for c, ch in enumerate(CHANNELS):
            cnt = int((channel == c).sum())
            if cnt:
                subj_pieces[c] = _take(INTERACTION_SUBJECTS[ch], rng.integers(0, len(INTERACTION_SUBJECTS[ch]), cnt))
        subject = _scatter(channel, subj_pieces)

        matter_id = _set(matter_id, list(unresolved), [None, "MT-990009"])
        contact_id = _set(contact_id, list(unresolved), [None, "CT-990009"])
        iid = lambda i: ids[int(i)].as_py()  # noqa: E731
        self.truth.add("interactions", iid(unresolved[0]), "matter_id", "LOOKUP_UNRESOLVED",
                       "matter_id and contact_id both blank", source_row=int(unresolved[0]) + 2, value=None)
        self.truth.add("interactions", iid(unresolved[1]), "matter_id", "LOOKUP_UNRESOLVED",
                       "matter_id MT-990009 and contact_id CT-990009 are not in the export",
                       source_row=int(unresolved[1]) + 2, value="MT-990009")

        table = _Table(
            "interactions",
            {
                "interaction_id": ids, "matter_id": matter_id, "contact_id": contact_id,
                "channel": _take(CHANNELS, channel), "subject": subject, "body_html": body,
                "occurred_at": _times(occurred, rng), "logged_by_email": logged_by,
                "modified_at": _times(modified, rng),
            },
        )
        # One malformed record: the subject has an unquoted comma, so the row has one field too many.
        row = {k: v[malformed].as_py() for k, v in table.columns.items()}
        row["subject"] = "Call re: fees, retainer and scope"
        raw = ",".join(v if k == "subject" else csv_field(v) for k, v in row.items())
        table.replace_lines[malformed] = raw
        self.truth.add("interactions", iid(malformed), None, "UNPARSEABLE_ROW",
                       "unquoted comma in subject: one field too many", source_row=malformed + 2, raw=raw)
        self.tables["interactions"] = table

        # HTML samples: the first clean row of each template.
        bad = set(int(x) for x in d)
        self.html_samples = []
        for k in range(len(flat)):
            rows = [int(r) for r in np.flatnonzero(tmpl == k)[:5] if int(r) not in bad]
            if rows:
                value = body[rows[0]].as_py()
                self.html_samples.append({"object": "interactions", "source_id": iid(rows[0]), "field": "body_html",
                                          "source_row": rows[0] + 2, "html": value, "expected_text": html_to_text(value)})

    # -- everything --------------------------------------------------------------------------
    def run(self, out_dir: Path) -> Path:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        self.users()
        self.clients()
        self.contacts()
        self.matters()
        self.documents()
        self.tasks()
        self.interactions()
        for name, table in self.tables.items():
            _write_csv(out_dir / LAYOUTS[name].file, table)
        self.write_files(out_dir)
        _write_json(out_dir / "workflows.json", WORKFLOWS)
        _write_json(out_dir / "integrations.json", INTEGRATIONS)
        _write_json(out_dir / "access_settings.json", ACCESS_SETTINGS)
        _write_json(out_dir / TRUTH_FILE, self.truth_document())
        return out_dir

    def write_files(self, out_dir: Path) -> None:
        files = out_dir / FILES_DIR
        files.mkdir(exist_ok=True)
        if not self.with_files:
            return
        cols = self.tables["documents"].columns
        names = cols["file_name"].to_pylist()
        types = cols["file_type"].to_pylist()
        titles = cols["title"].to_pylist()
        ids = cols["document_id"].to_pylist()
        sizes = [int(s) for s in cols["size_bytes"].to_pylist()]
        for i, (fname, ftype, title, did, size) in enumerate(zip(names, types, titles, ids, sizes)):
            path = files / fname
            if i == self.doc_missing:
                continue
            if i == self.doc_big:  # sparse: seek to the end and write one byte, no disk used
                with open(path, "wb") as f:
                    f.seek(size - 1)
                    f.write(b"\0")
                continue
            path.write_bytes(attachment_body(ftype, title, did, size))

    def truth_document(self) -> dict:
        users = self.tables["users"].columns
        samples = []
        for i in self.non_ascii_contacts:
            samples.append({"object": "contacts", "source_id": self.contact_ids[i].as_py(), "field": "last_name",
                            "value": self.tables["contacts"].columns["last_name"][i].as_py()})
        cl = self.tables["clients"].columns
        for i in self.special_clients[:3]:
            samples.append({"object": "clients", "source_id": cl["client_id"][i].as_py(), "field": "name",
                            "value": cl["name"][i].as_py()})
        for i, full in enumerate(users["full_name"].to_pylist()):
            if any(ord(ch) > 127 for ch in full) and i not in self.unmatched:
                samples.append({"object": "users", "source_id": users["user_id"][i].as_py(), "field": "full_name",
                                "value": full, "note": "users.csv is cp1252-encoded"})
                break
        return {
            "seed": self.seed,
            "scale": self.scale,
            "with_files": self.with_files,
            "counts": {name: t.num_rows for name, t in self.tables.items()},
            "timezone": SOURCE_TIMEZONE,
            "files": {name: {"encoding": enc, "record_terminator": term} for name, (enc, term) in FILE_FORMATS.items()},
            "defects": self.truth.defects,
            "unmatched_owner_emails": [self.user_emails[i] for i in self.unmatched],
            "inactive_owner_emails": [self.user_emails[i] for i in self.inactive],
            "non_ascii_samples": samples,
            "html_samples": self.html_samples,
            "html_text_rule": "<br> and closing p/div/li/tr/h*/blockquote -> line break; other tags removed; "
            "entities decoded (&nbsp; -> space); spaces collapsed per line; lines trimmed; blank lines dropped",
        }


# ---------------------------------------------------------------------------------------------
# Helpers used by the generator


def _cp1252_ok(text: str) -> bool:
    try:
        text.encode("cp1252")
        return True
    except UnicodeEncodeError:
        return False


def _address_weights() -> np.ndarray:
    w = np.array([3.0 if a[3] == "US" else 1.0 for a in ADDRESSES])
    return w / w.sum()


def _phones(rng: np.random.Generator, addr: np.ndarray, is_us: np.ndarray) -> pa.Array:
    n = len(addr)
    prefix = _take([a[4] for a in ADDRESSES], addr)
    line = _num(rng.integers(100, 200, n), 3)  # 555-0100..555-0199: reserved for fiction
    fmt = _choose_groups(rng, n, [0.3, 0.25, 0.2, 0.15, 0.1])
    us = pc.choose(
        pa.array(fmt, pa.int8()),
        _cat("(", prefix, ") 555-0", line),
        _cat(prefix, "-555-0", line),
        _cat("+1 ", prefix, " 555 0", line),
        _cat(prefix, ".555.0", line),
        _cat("(", prefix, ") 555-0", line, " x", _num(rng.integers(100, 400, n))),
    )
    intl = _cat(prefix, line)
    return pc.if_else(pa.array(is_us), us, intl)


def _dedupe(values: pa.Array, extra: list[pa.Array], sep: str = " ", number_before: str | None = None) -> pa.Array:
    """Make values unique case-insensitively: the 2nd, 3rd... occurrence gets a suffix.

    With ``extra`` (e.g. the city), the suffix is first `` (City)``; any value still repeated gets
    a number. With ``number_before``, the number goes before that character (e-mail local parts).
    """
    import pandas as pd

    def repeats(arr: pa.Array) -> np.ndarray:
        s = pd.Series(pc.utf8_lower(arr).to_numpy(zero_copy_only=False))
        return s.groupby(s, sort=False).cumcount().to_numpy()

    k = repeats(values)
    if not k.any():
        return values
    if extra:
        values = pc.if_else(pa.array(k > 0), _cat(values, " (", extra[0], ")"), values)
        k = repeats(values)
    for _ in range(3):
        if not k.any():
            break
        num = _num(k + 1)
        if number_before:
            parts = pc.split_pattern(values, number_before, max_splits=1)
            head = pc.list_element(parts, 0)
            tail = pc.list_element(parts, 1)
            numbered = _cat(head, num, number_before, tail)
        else:
            numbered = _cat(values, sep, num)
        values = pc.if_else(pa.array(k > 0), numbered, values)
        k = repeats(values)
    assert not k.any()
    return values


def _case_variant(email: str) -> str:
    local, _, domain = email.partition("@")
    return ".".join(p[:1].upper() + p[1:] for p in local.split(".")) + "@" + domain.capitalize()


def _long_title() -> str:
    text = ("Senior Vice President, Global Head of Legal Operations, Compliance, Risk Management and "
            "Strategic Partnerships for Europe, the Middle East, Africa and the Asia-Pacific Region, "
            "Interim Chief Administrative Officer")
    return (text + " " + text)[:200]


def _first_non_ascii(arr: pa.Array, bad: np.ndarray, k: int) -> list[int]:
    mask = np.asarray(pc.fill_null(pc.match_substring_regex(arr, r"[^\x00-\x7f]"), False)) & ~bad
    return [int(i) for i in np.flatnonzero(mask)[:k]]


def _file_slug(title: str) -> str:
    text = unicodedata.normalize("NFKD", title)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def _html_escape(arr: pa.Array) -> pa.Array:
    out = pc.replace_substring(arr, "&", "&amp;")
    out = pc.replace_substring(out, "<", "&lt;")
    return pc.replace_substring(out, ">", "&gt;")


def _fill_template(template: str, cols: dict[str, pa.Array]) -> pa.Array:
    parts = []
    for i, piece in enumerate(re.split(r"\{(\w+)\}", template)):
        if i % 2:
            parts.append(cols[piece])
        elif piece:
            parts.append(piece)
    return _cat(*parts)


def _write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# The non-data files (configuration the portal exports beside the data)

WORKFLOWS = [
    {"name": "New matter intake", "trigger_event": "matter.created",
     "conditions": [{"field": "stage", "operator": "equals", "value": "Intake"}],
     "actions": [{"type": "create_task", "subject": "Run conflict check", "assign_to": "matter.owner", "due_in_days": 2},
                 {"type": "send_email", "template": "Welcome to the client portal", "to": "matter.primary_contact"}]},
    {"name": "Engagement letter reminder", "trigger_event": "task.overdue",
     "conditions": [{"field": "subject", "operator": "contains", "value": "engagement letter"}],
     "actions": [{"type": "send_email", "template": "Engagement letter overdue", "to": "task.assigned_to"}]},
    {"name": "Document uploaded notification", "trigger_event": "document.uploaded",
     "conditions": [{"field": "matter.stage", "operator": "in", "value": ["In Progress", "Pending Review"]}],
     "actions": [{"type": "notify", "channel": "portal", "to": "matter.owner"},
                 {"type": "send_sms", "template": "New document available", "to": "matter.primary_contact"}]},
    {"name": "Review before close", "trigger_event": "matter.stage_changed",
     "conditions": [{"field": "stage", "operator": "equals", "value": "Pending Review"}],
     "actions": [{"type": "create_task", "subject": "Partner review", "assign_to": "role:Partner", "due_in_days": 5}]},
    {"name": "Invoice overdue escalation", "trigger_event": "schedule.daily",
     "conditions": [{"field": "invoiced_amount", "operator": "greater_than", "value": 0},
                    {"field": "days_since_invoice", "operator": "greater_than", "value": 45}],
     "actions": [{"type": "notify", "channel": "email", "to": "role:Billing"},
                 {"type": "update_field", "field": "Client Tier", "value": "Bronze"}]},
    {"name": "Close matter housekeeping", "trigger_event": "matter.stage_changed",
     "conditions": [{"field": "stage", "operator": "equals", "value": "Closed"}],
     "actions": [{"type": "close_open_tasks"}, {"type": "archive_documents", "after_days": 365}]},
    {"name": "Portal access for gold clients", "trigger_event": "client.updated",
     "conditions": [{"field": "Client Tier", "operator": "equals", "value": "Gold"}],
     "actions": [{"type": "update_field", "field": "Portal Enabled", "value": "Yes"}]},
]

INTEGRATIONS = [
    {"name": "TimeBill Pro", "type": "billing", "endpoint_url": "https://api.timebill.example.com/v2",
     "auth_kind": "oauth2_client_credentials", "direction": "outbound", "objects": ["matters", "tasks"],
     "notes": "Pushes hourly rates and invoiced amounts nightly."},
    {"name": "DocuVault", "type": "document_management", "endpoint_url": "https://dms.docuvault.example.com/api",
     "auth_kind": "api_key", "direction": "bidirectional", "objects": ["documents"],
     "notes": "Documents are mirrored into matter workspaces."},
    {"name": "SignRight", "type": "e_signature", "endpoint_url": "https://sign.signright.example.com/webhooks/portal",
     "auth_kind": "hmac_webhook_signature", "direction": "inbound", "objects": ["documents", "tasks"],
     "notes": "Completed envelopes close the related signature task."},
    {"name": "Office calendar", "type": "calendar", "endpoint_url": "https://calendar.example.com/ews/exchange.asmx",
     "auth_kind": "oauth2_authorization_code", "direction": "outbound", "objects": ["tasks", "interactions"],
     "notes": "Meetings and due dates appear in the owner's calendar."},
]

ACCESS_SETTINGS = {
    "roles": [
        {"name": "Partner", "permissions": ["matters:read", "matters:write", "matters:delete", "billing:read",
                                            "billing:write", "documents:read", "documents:write", "users:manage"]},
        {"name": "Associate", "permissions": ["matters:read", "matters:write", "documents:read", "documents:write",
                                              "billing:read"]},
        {"name": "Paralegal", "permissions": ["matters:read", "documents:read", "documents:write", "tasks:write"]},
        {"name": "Office Manager", "permissions": ["clients:read", "clients:write", "tasks:write", "users:read"]},
        {"name": "Billing", "permissions": ["billing:read", "billing:write", "matters:read"]},
        {"name": "Portal Admin", "permissions": ["*"]},
        {"name": "Client Portal User", "external": True,
         "permissions": ["own_matters:read", "own_documents:read", "own_documents:upload", "messages:write"]},
    ],
    "sharing": {"matters": "owner_and_role_hierarchy", "documents": "inherit_from_matter", "clients": "all_internal"},
    "session": {"idle_timeout_minutes": 30, "mfa_required_for": ["Partner", "Portal Admin", "Billing"]},
}


# ---------------------------------------------------------------------------------------------
# Public entry points


def generate_export(out_dir: Path, *, seed: int = 7, scale: float = 1.0, with_files: bool = True) -> Path:
    """Write a deterministic, deliberately messy Perfect Portal export to ``out_dir``; returns it.

    Same seed and scale give byte-identical CSV and JSON files. ``with_files=False`` writes no
    attachment bodies (``documents.csv`` still lists them). ``_generator_truth.json`` records the
    counts and every deliberate defect (see the module docstring).
    """
    return _Generator(seed, scale, with_files).run(Path(out_dir))


def load_truth(export_dir: Path) -> dict:
    """The generator's record of an export it wrote."""
    return json.loads((Path(export_dir) / TRUTH_FILE).read_text(encoding="utf-8"))


def destination_users(export_dir: Path) -> list[dict]:
    """The users a demo destination org should have for this export.

    Every portal user except the unmatched ones (``Email, FirstName, LastName, IsActive``); the
    inactive owner is there with ``IsActive`` false.
    """
    from crm_migration.sources.export_folder import read_export_object

    truth = load_truth(export_dir)
    unmatched = {e.casefold() for e in truth["unmatched_owner_emails"]}
    inactive = {e.casefold() for e in truth["inactive_owner_emails"]}
    users = read_export_object(Path(export_dir), LAYOUTS["users"], ExportAliases()).table
    out = []
    for full, email in zip(users.column("full_name").to_pylist(), users.column("email").to_pylist()):
        if email is None or email.casefold() in unmatched:
            continue
        first, _, last = (full or "").strip().partition(" ")
        out.append({"Email": email, "FirstName": first, "LastName": last or first,
                    "IsActive": email.casefold() not in inactive})
    return out
