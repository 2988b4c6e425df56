"""A deterministic, deliberately messy Lead Perfection export, with an exact record of its defects.

``generate_export(out_dir, seed=7, scale=1.0, with_files=True)`` writes an export folder in the
default layout (:mod:`.layout`): the CSV files, the attachment bodies under ``files/``, the images
notes show inline under ``images/``, ``workflows.json``, ``slot_availability.json`` and
``_generator_truth.json`` (ignored by the reader, which skips files starting with ``_``): what the
generator broke, record by record, with the reason code the pipeline is expected to give it.

How it stays fast, small and deterministic:

- *Plans, then chunks.* Each object is first *planned*: every random choice for every row is
  drawn up front as small numpy integer arrays (pool indices, seconds, format choices) from a
  generator seeded with ``(seed, object)``. The text is then *built* from the plan and written
  ``CHUNK_ROWS`` rows at a time, so the strings of a table are never all in memory (scale 100 is
  some 400,000 records) and the output does not depend on the chunk size. Parents keep only what
  children need (ids are their row numbers, creation times, which rows are clean).
- *Vectorised.* Columns are built with numpy and pyarrow compute; Python loops run over the few
  dozen planted defects, the reps, the attachments (each body is built to be hashed for
  ``attachments.sha256``, and written only with files) and the image files of photo notes.
- *No wall clock:* the newest timestamp is ``_EXPORT``; same seed and scale, byte-identical files.

Sizes at scale 1.0: about 4,100 records (30 reps, 13 territories, 9 custom-field definitions,
250 companies, 700 contacts, 1,200 prospects, 400 jobs, 900 appointments, 250 attachments,
400 notes). ``scale`` multiplies the counts (reps grow with its square root; territories and the
dictionary are fixed; small scales are floored so that every defect fits). The planted defects are
a fixed set whatever the scale, and a defective record is never the parent of another record.

Mess that is *not* a defect (nothing should be rejected for it): mixed date formats in one column
(``layout.DATE_FORMATS``, month-first, some without leading zeros), phones in five formats,
amounts with and without ``$`` and thousands separators, ZIP+4 zip codes, addresses with quoted
commas, multi-line appointment notes, non-ASCII names (``sales_reps.csv`` is cp1252 as Excel on
Windows writes it, ``companies.csv`` has a UTF-8 BOM, ``notes.csv`` ends records with CRLF while its
HTML bodies hold bare LFs), trade-specific lead sources, future appointments without a result,
contacts without a company (homeowners: the 'Unassigned Account'), child locations whose primary
contact works at the parent company.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from crm_migration.sources.base import ExportAliases
from crm_migration.sources.lead_perfection.layout import (
    APPOINTMENT_RESULTS,
    DATE_FORMATS,
    DATE_ONLY_FORMATS,
    FILES_DIR,
    IMAGES_DIR,
    JOB_STAGES,
    LAYOUTS,
    LEAD_SOURCES,
    MATERIAL_TYPES,
    PARENT_TYPES,
    PERMIT_STATUSES,
    PROSPECT_STATUSES,
    SOURCE_TIMEZONE,
    TRADE_CUSTOM_FIELDS,
    TRADES,
)

# The export-writing and file-body helpers are shared with the Perfect Portal generator.
from crm_migration.sources.perfect_portal.generator import (
    _array_bytes,
    _cat,
    _csv_lines,
    _fill_template,
    _num,
    _rng,
    _s,
    _scatter,
    _set,
    _take,
    ascii_slug,
    attachment_body,
    csv_field,
    html_to_text,
)

TRUTH_FILE = "_generator_truth.json"
FILE_SIZE_LIMIT = 26_214_400  # 25 MB: what Salesforce's file flow accepts
BIG_FILE_SIZE = FILE_SIZE_LIMIT + 311_117
CHUNK_ROWS = 50_000  # rows built and written at a time

BASE_COUNTS = {"companies": 250, "contacts": 700, "prospects": 1200, "jobs": 400, "appointments": 900,
               "attachments": 250, "notes": 400}
MIN_COUNTS = {"companies": 40, "contacts": 60, "prospects": 60, "jobs": 30, "appointments": 40,
              "attachments": 15, "notes": 24}
BASE_REPS, MIN_REPS = 30, 12
ID_PREFIX = {"companies": "CO-", "contacts": "CT-", "prospects": "PR-", "jobs": "JB-", "appointments": "AP-",
             "attachments": "AT-", "notes": "NT-"}

CONTRACTOR_DOMAIN = "harborlinehome.com"
_DAY = 86_400
_START = int(np.datetime64("2017-01-03T08:00:00", "s").astype(np.int64))
_EXPORT = int(np.datetime64("2024-09-30T18:00:00", "s").astype(np.int64))  # the export's "now" (local time)

# Per-file encodings and record terminators (the reader must cope with all of them).
FILE_FORMATS = {
    "sales_reps.csv": ("cp1252", "\r\n"),
    "territories.csv": ("utf-8", "\n"),
    "custom_fields.csv": ("utf-8", "\n"),
    "companies.csv": ("utf-8-sig", "\r\n"),
    "contacts.csv": ("utf-8", "\n"),
    "prospects.csv": ("utf-8", "\n"),
    "jobs.csv": ("utf-8", "\n"),
    "appointments.csv": ("utf-8", "\n"),
    "attachments.csv": ("utf-8", "\n"),
    "notes.csv": ("utf-8", "\r\n"),
}

# ---------------------------------------------------------------------------------------------
# Pools

REP_NAMES = [
    "Mike DeLuca", "Sandra Whitaker", "José Ramírez", "Kevin O'Brien", "Zoë Carrington", "Tom Brennan",
    "Renée Thibodeau", "Dave Kowalski", "Bjørn Halvorsen", "Lisa Marchetti", "Chris Nguyen", "Siobhán Murphy",
    "Paul Fitzgerald", "Amanda Silva", "Greg Lambert", "François Gagnon", "Jenna Rossi", "Brian McAllister",
    "Nadia Haddad", "Steve Pereira", "Karen Doucette", "Luis Medeiros", "Erin Sullivan", "Matt Chen",
    "Joanna Nowak", "Dan Pelletier", "Rachel Goldberg", "Ray Costa", "Heather Boyle", "Tony Russo",
]
AVAILABILITY = ["Mon-Fri 8-5", "Mon-Fri 9-6", "Tue-Sat 9-5", "Mon-Thu 10-7, Sat 9-1", "Evenings & weekends",
                "Mon, Wed, Fri 8-4", "Mon-Sat 7-3"]

FIRST_NAMES = [
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "William",
    "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Christopher", "Karen", "Daniel",
    "Nancy", "Matthew", "Lisa", "Anthony", "Margaret", "Mark", "Betty", "Paul", "Sandra", "Steven", "Ashley",
    "Kevin", "Kimberly", "Brian", "Donna", "Sean", "Maureen", "Patrick", "Colleen", "Zoë", "José", "Ana", "João",
    "Conceição", "François", "Hélène", "Siobhán", "Łukasz", "Małgorzata", "Jürgen", "Renée", "Ngọc", "Minh",
    "Wei", "Priya", "Fatima", "Kwame", "Inés", "Ángel",
]
LAST_NAMES = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor", "Thomas",
    "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark", "Lewis", "Walker", "Sullivan", "Murphy",
    "O'Brien", "Kelly", "McCarthy", "Doherty", "Fitzgerald", "Flanagan", "Costa", "Silva", "Pereira", "Medeiros",
    "Santos", "Rossi", "Russo", "Marchetti", "DeLuca", "Nowak", "Kowalski", "Wiśniewski", "Pelletier",
    "Thibodeau", "Gagnon", "Bouchard", "Lefèvre", "Nguyễn", "Trần", "Chen", "Wang", "Patel", "Haddad",
    "Goldberg", "Cohen", "Müller", "Schröder", "Østergaard", "García", "Peña", "Núñez", "Ramírez",
]
FREE_DOMAINS = ["gmail.com", "yahoo.com", "comcast.net", "verizon.net", "aol.com", "hotmail.com", "icloud.com",
                "outlook.com", "charter.net"]

COMPANY_WORDS = [
    "Harborview", "Summit", "Granite State", "Bayside", "Beacon Hill", "Riverbend", "Oak Ridge", "Pinecrest",
    "Lakeside", "Mill Pond", "Stonegate", "Briarwood", "Cedar Point", "Heritage", "Colonial", "Seaside",
    "Meadowbrook", "Old Colony", "Pilgrim", "Minuteman", "Patriot", "Commonwealth", "Bay State", "Nor'easter",
    "Cape Ann", "Merrimack", "Pioneer Valley", "Quaboag", "Wachusett", "Monadnock", "Narragansett", "Blackstone",
    "Charles River", "Mystic", "Neponset", "Nashoba",
]
COMPANY_NOUNS = [
    "Property Management", "Condominium Association", "Builders", "Realty", "Apartments", "Housing Authority",
    "Facilities Group", "Homes", "Construction", "Development", "Senior Living", "Management Co", "Properties",
    "Real Estate Trust", "Capital Partners", "Rentals", "Village HOA", "Estates", "Commons", "Parish",
]
COMPANY_SUFFIXES = ["", "", "", " LLC", " Inc.", " Corp."]
TLDS = [".com", ".com", ".net", ".org"]

# (city, state, zip, area code) inside a territory's range, and outside every range.
ADDRESSES = [
    ("Springfield", "MA", "01103", "413"), ("Holyoke", "MA", "01040", "413"), ("Westfield", "MA", "01085", "413"),
    ("Chicopee", "MA", "01013", "413"), ("Pittsfield", "MA", "01201", "413"),
    ("Great Barrington", "MA", "01230", "413"), ("Worcester", "MA", "01608", "508"),
    ("Shrewsbury", "MA", "01545", "508"), ("Auburn", "MA", "01501", "508"), ("Framingham", "MA", "01702", "508"),
    ("Marlborough", "MA", "01752", "508"), ("Acton", "MA", "01720", "978"), ("Lowell", "MA", "01852", "978"),
    ("Andover", "MA", "01810", "978"), ("Haverhill", "MA", "01830", "978"), ("Salem", "MA", "01970", "978"),
    ("Gloucester", "MA", "01930", "978"), ("Beverly", "MA", "01915", "978"), ("Boston", "MA", "02110", "617"),
    ("Cambridge", "MA", "02139", "617"), ("Quincy", "MA", "02169", "617"), ("Dorchester", "MA", "02124", "617"),
    ("Brockton", "MA", "02301", "508"), ("Plymouth", "MA", "02360", "508"), ("Kingston", "MA", "02364", "781"),
    ("Newton", "MA", "02458", "617"), ("Waltham", "MA", "02451", "781"), ("Brookline", "MA", "02445", "617"),
    ("Falmouth", "MA", "02540", "508"), ("Hyannis", "MA", "02601", "508"), ("Chatham", "MA", "02633", "508"),
    ("Providence", "RI", "02903", "401"), ("Warwick", "RI", "02886", "401"), ("Newport", "RI", "02840", "401"),
    ("Manchester", "NH", "03101", "603"), ("Nashua", "NH", "03060", "603"), ("Concord", "NH", "03301", "603"),
    ("Hartford", "CT", "06103", "860"), ("West Hartford", "CT", "06107", "860"), ("Enfield", "CT", "06082", "860"),
]
OUT_OF_AREA = [("Fitchburg", "MA", "01420", "978"), ("Burlington", "VT", "05401", "802"),
               ("Albany", "NY", "12203", "518")]
TERRITORIES = [
    ("T-01", "Pioneer Valley", "01000", "01199"), ("T-02", "Berkshires", "01200", "01299"),
    ("T-03", "Worcester County", "01500", "01699"), ("T-04", "MetroWest", "01700", "01799"),
    ("T-05", "Merrimack Valley", "01800", "01899"), ("T-06", "North Shore", "01900", "01999"),
    ("T-07", "Boston Metro", "02100", "02299"), ("T-08", "South Shore", "02300", "02399"),
    ("T-09", "Newton & Waltham", "02400", "02499"), ("T-10", "Cape Cod & Islands", "02500", "02699"),
    ("T-11", "Rhode Island", "02800", "02999"), ("T-12", "Southern New Hampshire", "03000", "03399"),
    ("T-13", "Greater Hartford", "06000", "06199"),
]
STREETS = [
    "Main St", "Elm St", "Maple Ave", "Washington St", "Pleasant St", "High St", "Park Ave", "Oak St",
    "Chestnut St", "Summer St", "Pine St", "School St", "Church St", "Prospect St", "Spring St", "Water St",
    "Central St", "Union St", "Highland Ave", "Beacon St",
]

CREWS = ["Crew A – Mike D.", "Crew B – Luis M.", "Northshore Install Team", "Ortiz Roofing (sub)",
         "Crew 3 – Window Pros", "Siding Crew – Pat K.", "Bouchard & Sons (sub)"]
# Materials per trade (indices into MATERIAL_TYPES), padded to one width.
_TRADE_MATERIALS = np.array([[0, 1, 2, 3, 4], [0, 5, 1, 0, 5], [6, 7, 6, 7, 6], [2, 1, 8, 2, 1]])
WINDOW_WIDTHS = ["23.5", "27.75", "29.5", "31.5", "35.5", "36", "47.75", "59.5", "71.5"]
WINDOW_HEIGHTS = ["35.5", "41.25", "47.5", "53.25", "59.5", "62", "71.5"]
STATUS_WEIGHTS = [0.12, 0.18, 0.14, 0.12, 0.16, 0.16, 0.12]
SOURCE_WEIGHTS = [0.22, 0.1, 0.04, 0.18, 0.1, 0.1, 0.06, 0.07, 0.08, 0.05]
STAGE_WEIGHTS = [0.1, 0.18, 0.12, 0.08, 0.1, 0.12, 0.18, 0.12]
INSTALL_STAGES = ("Install Scheduled", "Installed", "Completed")
RESULT_WEIGHTS = [0.25, 0.22, 0.15, 0.1, 0.1, 0.1, 0.08]
UNKNOWN_STATUS = "Rehash"
UNKNOWN_STAGE = "On Hold - Financing"
SLOTS = [("AM1", 9), ("AM2", 11), ("PM1", 13), ("PM2", 15), ("EVE", 18)]
APPT_NOTES = [
    "Wants quote for 12 windows, both spouses home.",
    "Husband not home - one leg, reset for Sat.",
    'Customer said "call after 5pm".',
    "Dog in yard, use side door.\nBring siding samples.",
    "Financing discussed: 12 mo same as cash.",
    "Already has 2 other quotes, price shopping.",
    "Señora Muñoz prefers a Spanish-speaking rep.",
    "Roof leak over garage; inspect flashing, gutters.",
    "Bay window + 2 doubles, rot on sill.",
    "Left door hanger, nobody home.",
]

DOC_TYPES = ["pdf", "png", "docx", "xlsx", "txt"]
DOC_WEIGHTS = [0.4, 0.3, 0.1, 0.1, 0.1]
DOC_TITLES = {
    "pdf": ["Estimate", "Signed Contract", "Permit Application", "Lien Waiver", "Financing Approval"],
    "png": ["Site Photo", "Before Photo", "After Photo", "Damage Photo"],
    "docx": ["Scope of Work", "Change Order"],
    "xlsx": ["Measurement Sheet", "Material Order"],
    "txt": ["Call Notes", "Gate Code and Directions"],
}
MIME = {"pdf": "application/pdf", "png": "image/png", "txt": "text/plain",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}

NOTE_SUBJECTS = ["Measure", "Site visit", "Photos", "Call log", "Signed contract", "Install notes"]
# Note bodies per template (literal pieces and {column} references); 1 and 4 embed an image
# (data: URI), 2 shows two image files of the export.
NOTE_TEMPLATES = [
    "<p>Customer asked about <b>{material}</b> windows.</p><p>Measured {count} openings:<br>{meas}</p>",
    "<div>Site visit &ndash; permit {permit}</div>\n<ul>\n<li>Quoted: {amount}</li>\n"
    "<li>Next step: call back {date}</li>\n</ul>\n<p><img src=\"{datauri}\" alt=\"sketch\" width=\"240\"></p>",
    "<p>Photos from the walk-through:</p>\n<p><img src=\"{img1}\" width=\"320\"><br>\n"
    "<img src=\"{img2}\" width=\"320\"></p>\n<p>Rot under the sill &amp; trim &mdash; add to scope.</p>",
    "<p>Left voicemail. Customer prefers calls after 5&nbsp;pm.</p>",
    "<p>Signed contract received &#10003;</p>\n<p><img src=\"{datauri}\" alt=\"signature\"></p>",
    "<p>Señora Muñoz wants {crew} to use the side entrance &ndash; dog in the yard.</p>\n<p>Install on {date}.</p>",
]
NOTE_WEIGHTS = [0.25, 0.15, 0.15, 0.2, 0.1, 0.15]
DATA_IMAGE_TEMPLATES = (1, 4)
FILE_IMAGE_TEMPLATE = 2

# Generator formats: (strftime pattern, drop leading zeros of the US month/day/hour).
_GEN_FORMATS = [(DATE_FORMATS[0], False), (DATE_FORMATS[0], True), *((f, False) for f in DATE_FORMATS[1:])]
_GEN_WEIGHTS = [0.28, 0.14, 0.16, 0.1, 0.14, 0.13, 0.05]
_GEN_DATE_FORMATS = [(DATE_ONLY_FORMATS[0], False), (DATE_ONLY_FORMATS[0], True), (DATE_ONLY_FORMATS[1], False),
                     (DATE_ONLY_FORMATS[2], False)]
_GEN_DATE_WEIGHTS = [0.4, 0.2, 0.15, 0.25]


# ---------------------------------------------------------------------------------------------
# Small helpers


def _ids(prefix: str, rows: np.ndarray) -> pa.Array:
    return _cat(prefix, _num(np.asarray(rows) + 1, 6))


def _id(prefix: str, row: int) -> str:
    return f"{prefix}{row + 1:06d}"


def _where(mask: np.ndarray, a, b) -> pa.Array:
    """a where mask, else b (arrays or scalars; None gives null)."""
    a, b = (x if isinstance(x, pa.Array) else pa.scalar(x, pa.string()) for x in (a, b))
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), a, b)


def _occurrence(keys: np.ndarray) -> np.ndarray:
    """For each row, how many earlier rows have the same key (rows of an (n, k) integer array)."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    _, group = np.unique(keys, axis=0, return_inverse=True)
    group = group.reshape(-1)
    order = np.argsort(group, kind="stable")
    sorted_groups = group[order]
    start = np.r_[True, sorted_groups[1:] != sorted_groups[:-1]]
    pos = np.arange(len(group))
    run_start = np.maximum.accumulate(np.where(start, pos, 0))
    out = np.empty(len(group), dtype=np.int64)
    out[order] = pos - run_start
    return out


def _slug_ids(pool: list[str]) -> tuple[np.ndarray, list[str]]:
    """Each pool entry's ASCII slug as a small integer (entries with the same slug share it)."""
    slugs = [ascii_slug(x) for x in pool]
    ids = {s: i for i, s in enumerate(dict.fromkeys(slugs))}
    return np.array([ids[s] for s in slugs]), slugs


_FIRST_SLUG_ID, _FIRST_SLUGS = _slug_ids(FIRST_NAMES)
_LAST_SLUG_ID, _LAST_SLUGS = _slug_ids(LAST_NAMES)


def _unpad_us(text: pa.Array, with_time: bool) -> pa.Array:
    if with_time:
        return pc.replace_substring_regex(text, r"^0?(\d+)/0?(\d+)/(\d{4}) 0?(\d+):", r"\1/\2/\3 \4:")
    return pc.replace_substring_regex(text, r"^0?(\d+)/0?(\d+)/", r"\1/\2/")


def _format_times(secs: np.ndarray, fmt: np.ndarray, date_only: bool = False) -> pa.Array:
    """Local times (seconds, naive) written in the row's chosen format of the export's formats."""
    formats = _GEN_DATE_FORMATS if date_only else _GEN_FORMATS
    secs, fmt = np.asarray(secs, dtype=np.int64), np.asarray(fmt)
    pieces = {}
    for k, (pattern, unpad) in enumerate(formats):
        sel = secs[fmt == k]
        if len(sel):
            text = pc.strftime(pa.array(sel, pa.timestamp("s")), format=pattern)
            pieces[k] = _unpad_us(text, not date_only) if unpad else text
    return _scatter(fmt, pieces)


def _draw_formats(rng: np.random.Generator, n: int, date_only: bool = False, with_time: bool = False) -> np.ndarray:
    """Each row's format; ``with_time``: never the date-only one (an appointment's start keeps its time)."""
    w = np.asarray(_GEN_DATE_WEIGHTS if date_only else _GEN_WEIGHTS, dtype=float)
    if with_time:
        w[-1] = 0  # DATE_FORMATS ends with the date-only format
    return rng.choice(len(w), size=n, p=w / w.sum()).astype(np.int8)


def _office_hours(rng: np.random.Generator, lo: np.ndarray) -> np.ndarray:
    """Random local times between lo and the export, moved into 07:00-19:59 (never near a DST change)."""
    lo = np.asarray(lo, dtype=np.int64)
    span = np.maximum(_EXPORT - lo - _DAY, _DAY)
    t = lo + (rng.random(len(lo)) * span).astype(np.int64)
    day = t - t % _DAY
    return day + 7 * 3600 + rng.integers(0, 13 * 3600, len(lo))


def _modified(rng: np.random.Generator, created: np.ndarray) -> np.ndarray:
    """Some time after created, also in office hours: a naive local time at night could fall into the
    hour a DST change skips, which the pipeline rightly refuses to read."""
    t = np.minimum(created + (rng.exponential(40, len(created)) * _DAY).astype(np.int64), _EXPORT)
    snapped = t - t % _DAY + 7 * 3600 + (t % _DAY) % (13 * 3600)
    return np.minimum(np.maximum(snapped, created), _EXPORT)


def _phones(area: pa.Array, line: np.ndarray, fmt: np.ndarray) -> pa.Array:
    ln = _num(line, 2)
    return pc.choose(
        pa.array(np.asarray(fmt, dtype=np.int8)),
        _cat("(", area, ") 555-01", ln), _cat(area, "-555-01", ln), _cat(area, ".555.01", ln),
        _cat("+1 ", area, " 555 01", ln), _cat(area, "55501", ln),
    )


def _dollars(dollars: np.ndarray, fmt: np.ndarray) -> pa.Array:
    """Whole-dollar amounts as $12,450.00 / 12450.00 / 12450 (the row's choice)."""
    d = np.asarray(dollars, dtype=np.int64)
    plain = _num(d)
    grouped = _where(d >= 1000, _cat(_num(d // 1000), ",", _num(d % 1000, 3)), plain)
    return pc.choose(pa.array(np.asarray(fmt, dtype=np.int8)), _cat("$", grouped, ".00"), _cat(plain, ".00"), plain)


def _case_variant(email: str) -> str:
    local, _, domain = email.partition("@")
    return ".".join(p[:1].upper() + p[1:] for p in local.split(".")) + "@" + domain.capitalize()


def _file_slug(title: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", title).strip("_")


def _zeros_sha256(size: int) -> str:
    digest, block = hashlib.sha256(), bytes(1 << 20)
    for _ in range(size // len(block)):
        digest.update(block)
    digest.update(bytes(size % len(block)))
    return digest.hexdigest()


def _write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


@dataclass
class _Plan:
    """One object, ready to write: its row count, a builder of any rows' columns, and the defects' edits."""

    name: str
    n: int
    build: Callable[[np.ndarray], dict[str, pa.Array]]
    overrides: dict[str, dict[int, str | None]] = field(default_factory=dict)  # column -> row -> value
    raw_lines: dict[int, str] = field(default_factory=dict)  # row -> raw record text (unparseable rows)

    def columns(self, rows: np.ndarray) -> dict[str, pa.Array]:
        cols = self.build(rows)
        lo, hi = int(rows[0]), int(rows[-1]) + 1  # rows are consecutive
        for col, edits in self.overrides.items():
            at = sorted(r for r in edits if lo <= r < hi)
            if at:
                cols[col] = _set(cols[col], [r - lo for r in at], [edits[r] for r in at])
        return cols

    def row(self, r: int) -> dict[str, str | None]:
        return {k: v[0].as_py() for k, v in self.columns(np.array([r])).items()}

    def override(self, r: int, **values) -> None:
        for col, value in values.items():
            self.overrides.setdefault(col, {})[r] = value


def _write_plan(out_dir: Path, plan: _Plan) -> None:
    layout = LAYOUTS[plan.name]
    encoding, term = FILE_FORMATS[layout.file]
    with open(out_dir / layout.file, "wb") as f:
        if encoding == "utf-8-sig":
            f.write(b"\xef\xbb\xbf")
        f.write((",".join(layout.columns) + term).encode("ascii"))
        for lo in range(0, plan.n, CHUNK_ROWS):
            rows = np.arange(lo, min(plan.n, lo + CHUNK_ROWS))
            cols = plan.columns(rows)
            assert tuple(cols) == layout.columns, (plan.name, tuple(cols))
            lines = _csv_lines([cols[c] for c in layout.columns], term)
            raws = {r - lo: raw for r, raw in plan.raw_lines.items() if lo <= r < lo + len(rows)}
            if raws:
                lines = _set(lines, list(raws), [raw + term for raw in raws.values()])
            body = _array_bytes(lines)
            f.write(bytes(body).decode("utf-8").encode("cp1252") if encoding == "cp1252" else body)


# ---------------------------------------------------------------------------------------------
# The generator


class _Generator:
    def __init__(self, seed: int, scale: float, with_files: bool) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.seed, self.scale, self.with_files = int(seed), float(scale), with_files
        self.n = {k: max(MIN_COUNTS[k], int(round(v * scale))) for k, v in BASE_COUNTS.items()}
        self.n_reps = max(MIN_REPS, int(round(BASE_REPS * math.sqrt(scale))))
        if max(self.n.values()) >= 990_000:
            raise ValueError("scale too large: ids are six digits")
        self.defects: list[dict] = []
        self.counts: dict[str, int] = {}
        self.samples: list[dict] = []  # non-ASCII values, noted while planning (plans are released once written)
        self.html_samples: list[dict] = []
        self.files_dir: Path | None = None  # set while attachments are written with their bodies
        self.images_dir: Path | None = None

    def defect(self, obj: str, row: int, fld: str | None, code: str, note: str, value=None, **extra) -> None:
        entry = {"object": obj, "source_id": _id(ID_PREFIX[obj], row), "source_row": row + 2, "field": fld,
                 "reason_code": code, "note": note, "value": value}
        entry.update(extra)
        self.defects.append(entry)

    def _owners(self, rng: np.random.Generator, n: int, clean_rows=()) -> np.ndarray:
        idx = rng.choice(self.n_reps, size=n, p=self.rep_weights)
        clean = np.asarray(list(clean_rows), dtype=np.int64)
        if len(clean):  # defective records are owned by matched, active reps only
            idx[clean] = self.good_reps[rng.integers(0, len(self.good_reps), len(clean))]
        return idx

    def _rep_emails(self, idx: np.ndarray) -> pa.Array:
        return self.rep_email.take(pa.array(np.asarray(idx, dtype=np.int64)))

    # -- sales reps and territories -------------------------------------------------------------
    def sales_reps(self) -> _Plan:
        rng = _rng(self.seed, 1)
        n, n_t = self.n_reps, len(TERRITORIES)
        names = list(REP_NAMES[:n])
        if n > len(names):  # large scales: more reps from the pools
            cp1252 = [(f, l) for f in FIRST_NAMES for l in LAST_NAMES if _cp1252_ok(f + l)]
            names += [" ".join(cp1252[int(k)]) for k in rng.choice(len(cp1252), size=n - len(names), replace=False)]
        first = [x.split(" ", 1)[0] for x in names]
        last = [x.split(" ", 1)[1] for x in names]
        emails, seen = [], {}
        for f, l in zip(first, last):  # a few dozen reps
            local = f"{ascii_slug(f)[:1]}{ascii_slug(l)}"
            seen[local] = seen.get(local, 0) + 1
            emails.append(f"{local}{seen[local] if seen[local] > 1 else ''}@{CONTRACTOR_DOMAIN}")
        # The last three reps never got a destination user; the one before them has left (inactive).
        self.unmatched, self.inactive = [n - 3, n - 2, n - 1], [n - 4]
        self.good_reps = np.array([i for i in range(n) if i not in self.unmatched + self.inactive])
        weights = np.ones(n)
        weights[self.unmatched], weights[self.inactive] = 0.6, 0.8
        self.rep_weights = weights / weights.sum()
        territory = np.arange(n) % n_t
        territory[1] = -1  # the inside-sales coordinator covers no territory
        self.rep_territory = territory
        self.rep_email = _s(emails)
        active = np.where(np.isin(np.arange(n), self.inactive), "N", np.where(rng.random(n) < 0.7, "Y", "Yes")).tolist()
        cols = {
            "rep_id": _s([f"SR-{i + 1:03d}" for i in range(n)]), "first_name": _s(first), "last_name": _s(last),
            "email": self.rep_email,
            "phone": _phones(_take([a[3] for a in ADDRESSES], rng.integers(0, len(ADDRESSES), n)),
                             rng.integers(0, 100, n), rng.integers(0, 5, n)),
            "territory_id": _where(territory >= 0, _take([t[0] for t in TERRITORIES], np.maximum(territory, 0)), None),
            "availability": _take(AVAILABILITY, rng.integers(0, len(AVAILABILITY), n)),
            "active": _s(active),
            "modified_at": _format_times(_office_hours(rng, np.full(n, _EXPORT - 400 * _DAY)), _draw_formats(rng, n)),
        }
        for i in self.unmatched:
            self.defects.append({"object": "sales_reps", "source_id": f"SR-{i + 1:03d}", "source_row": i + 2,
                                 "field": "email", "reason_code": "NO_MATCH_IN_DESTINATION",
                                 "note": "no destination user has this e-mail (update-only object)", "value": emails[i]})
        i = next(i for i in self.good_reps if not first[i].isascii())
        self.samples.append({"object": "sales_reps", "source_id": f"SR-{i + 1:03d}", "field": "first_name",
                             "value": first[i], "note": "sales_reps.csv is cp1252-encoded"})
        return _Plan("sales_reps", n, lambda rows: {k: v.take(pa.array(rows)) for k, v in cols.items()})

    def territories(self) -> _Plan:
        rng = _rng(self.seed, 2)
        n = len(TERRITORIES)
        reps = []
        for t in range(n):  # the territory's first active, matched rep; else any such rep
            own = [int(i) for i in self.good_reps if self.rep_territory[i] == t]
            reps.append(own[0] if own else int(self.good_reps[t % len(self.good_reps)]))
        cols = {
            "territory_id": _s([t[0] for t in TERRITORIES]), "name": _s([t[1] for t in TERRITORIES]),
            "zip_from": _s([t[2] for t in TERRITORIES]), "zip_to": _s([t[3] for t in TERRITORIES]),
            "rep_email": self._rep_emails(np.array(reps)),
            "modified_at": _format_times(_office_hours(rng, np.full(n, _EXPORT - 700 * _DAY)), _draw_formats(rng, n)),
        }
        return _Plan("territories", n, lambda rows: {k: v.take(pa.array(rows)) for k, v in cols.items()})

    def custom_fields(self) -> _Plan:
        f = TRADE_CUSTOM_FIELDS
        cols = {
            "field_id": _s([f"CF-{i + 1:02d}" for i in range(len(f))]), "object": _s([x[0] for x in f]),
            "field_key": _s([x[1] for x in f]), "label": _s([x[2] for x in f]), "field_type": _s([x[3] for x in f]),
            "picklist_values": _s([";".join(x[4]) or None for x in f]), "description": _s([x[5] for x in f]),
        }
        return _Plan("custom_fields", len(f), lambda rows: {k: v.take(pa.array(rows)) for k, v in cols.items()})

    # -- companies (planned before contacts, written after: the primary contact is a contact) --------
    def plan_companies(self) -> _Plan:
        rng = _rng(self.seed, 3)
        n = self.n["companies"]
        n_w, n_l, n_n = len(COMPANY_WORDS), len(LAST_NAMES), len(COMPANY_NOUNS)
        base = (n_w + n_l) * n_n
        if n > base * (1 + len(ADDRESSES)):
            raise ValueError("scale too large for unique company names")
        # Unique names: distinct (word or surname, noun) pairs; past the pairs, " of <town>" too.
        combo = rng.permutation(base)[np.arange(n) % base]
        self.c_word = combo < n_w * n_n
        self.c_head = np.where(self.c_word, combo // n_n, (combo - n_w * n_n) // n_n)
        self.c_noun = combo % n_n
        self.c_town = np.arange(n) // base  # 0: none
        self.c_suffix = rng.integers(0, len(COMPANY_SUFFIXES), n)
        self.c_tld = rng.integers(0, len(TLDS), n)

        perm = rng.permutation(n)
        n0, n1, n2 = max(2, round(0.05 * n)), max(3, round(0.12 * n)), max(1, round(0.03 * n))
        lvl0, lvl1, lvl2 = perm[:n0], perm[n0:n0 + n1], perm[n0 + n1:n0 + n1 + n2]
        standalone = np.sort(perm[n0 + n1 + n2:])
        parent = np.full(n, -1, dtype=np.int64)
        parent[lvl1] = lvl0[rng.integers(0, n0, n1)]
        parent[lvl2] = lvl1[rng.integers(0, n1, n2)]
        root = np.arange(n)
        root[lvl1] = parent[lvl1]
        root[lvl2] = root[parent[lvl2]]

        # Defects, all on standalone companies (nobody's parent): a 3-cycle, a blank name, three
        # groups of duplicate names (2, 2 and 3 records), three zips outside every territory.
        picks = rng.choice(standalone, size=14, replace=False)
        cycle, blank = picks[:3], int(picks[3])
        groups = [[picks[4], picks[7]], [picks[5], picks[8]], [picks[6], picks[9], picks[10]]]
        no_territory = picks[11:14]
        parent[cycle] = np.roll(cycle, -1)
        addr = rng.integers(0, len(ADDRESSES), n)
        addr[no_territory] = len(ADDRESSES) + np.arange(len(OUT_OF_AREA))
        self.c_addr = addr
        self.c_parent, self.c_root = parent, root
        self.c_location = (parent >= 0) & ~np.isin(np.arange(n), cycle)
        loc = np.flatnonzero(self.c_location)
        self.c_loc_ordinal = np.zeros(n, dtype=np.int64)  # a second location of a company in one town: "#2"
        self.c_loc_ordinal[loc] = _occurrence(np.stack([root[loc], addr[loc]], axis=1))
        self.c_street = rng.integers(1, 1400, n), rng.integers(0, len(STREETS), n), rng.random(n) < 0.15
        self.c_zip4 = np.where(rng.random(n) < 0.2, rng.integers(1000, 9999, n), -1)
        self.c_phone = rng.integers(0, 100, n), rng.integers(0, 5, n)
        created = _office_hours(rng, np.full(n, _START))
        for lvl in (lvl1, lvl2):  # a location opens after its parent company
            created[lvl] = np.minimum(np.maximum(created[lvl], created[parent[lvl]] + 30 * _DAY), _EXPORT - _DAY)
        self.c_created, self.c_modified = created, _modified(rng, created)
        self.c_fmt = _draw_formats(rng, n), _draw_formats(rng, n)
        self.c_owner = self._owners(rng, n, picks)
        bad = np.zeros(n, dtype=bool)
        bad[picks] = True
        self.c_good = np.flatnonzero(~bad)
        self.c_primary = np.full(n, -1, dtype=np.int64)  # filled once contacts are planned
        self.c_levels = (lvl1, lvl2)

        plan = _Plan("companies", n, self._build_companies)
        ids = lambda i: _id("CO-", int(i))  # noqa: E731
        for i, a in enumerate(cycle):
            b = cycle[(i + 1) % 3]
            self.defect("companies", int(a), "parent_company_id", "HIERARCHY_CYCLE",
                        f"cycle {' -> '.join(ids(x) for x in [*cycle, cycle[0]])}", value=ids(b))
        plan.override(blank, name=None)
        self.defect("companies", blank, "name", "REQUIRED_MISSING", "blank company name")
        variants = [lambda s: s, lambda s: s.upper(), lambda s: s + "  "]
        for g, members in enumerate(groups):
            name = plan.row(int(members[0]))["name"]
            values = [name] + [variants[g](name) if k == len(members) - 2 else name for k in range(len(members) - 1)]
            for m, v in zip(members[1:], values[1:]):
                plan.override(int(m), name=v)
            for m, v in zip(members, values):
                self.defect("companies", int(m), "name", "DUPLICATE_SUSPECTED",
                            f"duplicate group {g + 1}: same company name"
                            + (" (differs in case)" if g == 1 else " (trailing spaces)" if g == 2 else ""),
                            value=v, group=[ids(x) for x in members])
        for i, k in zip(no_territory, range(len(OUT_OF_AREA))):
            z = plan.row(int(i))["zip_code"]
            self.defect("companies", int(i), "zip_code", "LOOKUP_UNRESOLVED",
                        f"zip {z} ({OUT_OF_AREA[k][0]}, {OUT_OF_AREA[k][1]}) is in no territory's range", value=z)
        good = self.c_good[~self.c_location[self.c_good]][:2000]
        names = self._company_base(good)[0].to_pylist()
        for r in [int(good[i]) for i, v in enumerate(names) if not v.isascii()][:2]:
            self.samples.append({"object": "companies", "source_id": _id("CO-", r), "field": "name",
                                 "value": plan.row(r)["name"]})
        return plan

    def _company_base(self, rows: np.ndarray) -> tuple[pa.Array, pa.Array]:
        """(name without suffix, domain) of the given companies' own name combination."""
        word = self.c_word[rows]
        head_i = self.c_head[rows]
        head = _where(word, _take(COMPANY_WORDS, np.where(word, head_i, 0)), _take(LAST_NAMES, np.where(word, 0, head_i)))
        head_slug = _where(word, _take([ascii_slug(w) for w in COMPANY_WORDS], np.where(word, head_i, 0)),
                           _take(_LAST_SLUGS, np.where(word, 0, head_i)))
        noun = _take(COMPANY_NOUNS, self.c_noun[rows])
        town = self.c_town[rows]
        towns = [a[0] for a in ADDRESSES]
        town_txt = _where(town > 0, _cat(" of ", _take(towns, np.maximum(town - 1, 0))), "")
        town_slug = _where(town > 0, _take([ascii_slug(t) for t in towns], np.maximum(town - 1, 0)), "")
        name = _cat(head, " ", noun, town_txt)
        domain = _cat(head_slug, _take([ascii_slug(x) for x in COMPANY_NOUNS], self.c_noun[rows]), town_slug,
                      _take(TLDS, self.c_tld[rows]))
        return name, domain

    def company_domain(self, rows: np.ndarray) -> pa.Array:
        return self._company_base(self.c_root[rows])[1]  # locations share their company's domain

    def _build_companies(self, rows: np.ndarray) -> dict[str, pa.Array]:
        all_addr = ADDRESSES + OUT_OF_AREA
        addr = self.c_addr[rows]
        city = _take([a[0] for a in all_addr], addr)
        own, _ = self._company_base(rows)
        root_name, _ = self._company_base(self.c_root[rows])
        k = self.c_loc_ordinal[rows]
        location = _cat(root_name, " – ", city, _where(k > 0, _cat(" #", _num(k + 1)), ""))
        name = _where(self.c_location[rows], location, _cat(own, _take(COMPANY_SUFFIXES, self.c_suffix[rows])))
        num, street_i, unit = (x[rows] for x in self.c_street)
        street = _cat(_num(num), " ", _take(STREETS, street_i))
        street = _where(unit, _cat(street, ", Suite ", _num(num % 40 + 100)), street)
        zip5 = _take([a[2] for a in all_addr], addr)
        z4 = self.c_zip4[rows]
        parent = self.c_parent[rows]
        primary = self.c_primary[rows]
        return {
            "company_id": _ids("CO-", rows), "name": name,
            "parent_company_id": _where(parent >= 0, _ids("CO-", np.maximum(parent, 0)), None),
            "street": street, "city": city, "state": _take([a[1] for a in all_addr], addr),
            "zip_code": _where(z4 >= 0, _cat(zip5, "-", _num(np.maximum(z4, 0), 4)), zip5),
            "phone": _phones(_take([a[3] for a in all_addr], addr), self.c_phone[0][rows], self.c_phone[1][rows]),
            "primary_contact_id": _where(primary >= 0, _ids("CT-", np.maximum(primary, 0)), None),
            "owner_email": self._rep_emails(self.c_owner[rows]),
            "created_at": _format_times(self.c_created[rows], self.c_fmt[0][rows]),
            "modified_at": _format_times(self.c_modified[rows], self.c_fmt[1][rows]),
        }

    # -- contacts -----------------------------------------------------------------------------------
    def plan_contacts(self) -> _Plan:
        rng = _rng(self.seed, 4)
        n = self.n["contacts"]
        d = rng.choice(n, size=4, replace=False)
        orphans, invalid = d[:2], d[2:]
        self.t_first, self.t_last = rng.integers(0, len(FIRST_NAMES), n), rng.integers(0, len(LAST_NAMES), n)
        has_company = rng.random(n) >= 0.3
        has_company[orphans] = True
        company = np.where(has_company, self.c_good[rng.integers(0, len(self.c_good), n)], -1)
        self.t_company = company
        self.t_email = self._email_plan(rng, n, self.t_first, self.t_last, company, present=rng.random(n) >= 0.05,
                                        force=d)
        self.t_phone = rng.integers(0, len(ADDRESSES), n), rng.integers(0, 100, n), rng.integers(0, 5, n)
        self.t_phone_blank = rng.random(n) < 0.08
        after = np.where(company >= 0, self.c_created[np.maximum(company, 0)], _START)
        self.t_created = _office_hours(rng, after)
        self.t_modified = _modified(rng, self.t_created)
        self.t_fmt = _draw_formats(rng, n), _draw_formats(rng, n)
        self.t_owner = self._owners(rng, n, d)
        bad = np.zeros(n, dtype=bool)
        bad[d] = True
        self.t_good = np.flatnonzero(~bad)

        plan = _Plan("contacts", n, self._build_contacts)
        for k, i in enumerate(orphans):
            missing = f"CO-{990_001 + k:06d}"
            plan.override(int(i), company_id=missing)
            self.defect("contacts", int(i), "company_id", "ORPHAN_REFERENCE", f"company {missing} is not in the export",
                        value=missing)
        for (note, fn), i in zip([("missing @", lambda e: e.replace("@", "")), ("two @", lambda e: e.replace("@", "@@"))],
                                 invalid):
            value = fn(plan.row(int(i))["email"])
            plan.override(int(i), email=value)
            self.defect("contacts", int(i), "email", "INVALID_EMAIL", note, value=value)

        # Primary contacts: a company's first clean contact; a location without one of its own takes
        # its parent's (a contact of another account: a non-direct AccountContactRelation).
        with_company = self.t_good[company[self.t_good] >= 0]
        uniq, first = np.unique(company[with_company], return_index=True)
        self.c_primary[uniq] = with_company[first]
        self.c_primary_inherited = np.zeros(len(self.c_primary), dtype=bool)
        for lvl in self.c_levels:
            take = lvl[self.c_primary[lvl] < 0]
            self.c_primary[take] = self.c_primary[self.c_parent[take]]
            self.c_primary_inherited[take] = self.c_primary[take] >= 0
        self.primary_contacts = {"companies_with_one": int((self.c_primary >= 0).sum()),
                                 "of_the_parent_company": int(self.c_primary_inherited.sum())}
        for r in [int(i) for i in self.t_good if not LAST_NAMES[self.t_last[i]].isascii()][:3]:
            self.samples.append({"object": "contacts", "source_id": _id("CT-", r), "field": "last_name",
                                 "value": plan.row(r)["last_name"]})
        return plan

    def _email_plan(self, rng, n, first, last, company, present, force) -> dict:
        """E-mail choices: style, number, domain; unique by construction (a repeat gets a number)."""
        style = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])  # first.last, flast, firstlast<nn>
        nn = np.where(style == 2, rng.integers(10, 100, n), 0)
        free = rng.integers(0, len(FREE_DOMAINS), n)
        present = present.copy()
        present[force] = True
        f_id = _FIRST_SLUG_ID[first]
        initial = np.array([ord(s[0]) for s in _FIRST_SLUGS])[first]
        domain_key = -1 - free
        if (company >= 0).any():  # prospects have no company (and are planned once companies are released)
            domain_key = np.where(company >= 0, self.c_root[np.maximum(company, 0)], domain_key)
        keys = np.stack([style, np.where(style == 1, initial, f_id), _LAST_SLUG_ID[last], nn, domain_key], axis=1)
        return {"style": style, "nn": nn, "free": free, "present": present, "ordinal": _occurrence(keys),
                "company": company}

    def _emails(self, plan: dict, first: np.ndarray, last: np.ndarray, rows: np.ndarray) -> pa.Array:
        f = _take(_FIRST_SLUGS, first[rows])
        lst = _take(_LAST_SLUGS, last[rows])
        style, nn, k = plan["style"][rows], plan["nn"][rows], plan["ordinal"][rows]
        local = pc.choose(pa.array(style.astype(np.int8)), _cat(f, ".", lst), _cat(pc.utf8_slice_codeunits(f, 0, 1), lst),
                          _cat(f, lst, _num(nn)))
        local = _where(k > 0, _cat(local, _num(k + 1)), local)
        company = plan["company"][rows]
        domain = _take(FREE_DOMAINS, plan["free"][rows])
        if (company >= 0).any():
            domain = _where(company >= 0, self.company_domain(np.maximum(company, 0)), domain)
        return _where(plan["present"][rows], _cat(local, "@", domain), None)

    def _build_contacts(self, rows: np.ndarray) -> dict[str, pa.Array]:
        company = self.t_company[rows]
        area, line, fmt = (x[rows] for x in self.t_phone)
        phone = _phones(_take([a[3] for a in ADDRESSES], area), line, fmt)
        return {
            "contact_id": _ids("CT-", rows),
            "company_id": _where(company >= 0, _ids("CO-", np.maximum(company, 0)), None),
            "first_name": _take(FIRST_NAMES, self.t_first[rows]), "last_name": _take(LAST_NAMES, self.t_last[rows]),
            "email": self._emails(self.t_email, self.t_first, self.t_last, rows),
            "phone": _where(~self.t_phone_blank[rows], phone, None),
            "owner_email": self._rep_emails(self.t_owner[rows]),
            "created_at": _format_times(self.t_created[rows], self.t_fmt[0][rows]),
            "modified_at": _format_times(self.t_modified[rows], self.t_fmt[1][rows]),
        }

    # -- prospects ----------------------------------------------------------------------------------
    def plan_prospects(self) -> _Plan:
        rng = _rng(self.seed, 15)
        n = self.n["prospects"]
        d = rng.choice(n, size=13, replace=False)
        groups = [d[0:2], d[2:4], d[4:7]]
        invalid, blank_last, unknown, unparseable = d[7:10], int(d[10]), int(d[11]), int(d[12])
        self.p_first, self.p_last = rng.integers(0, len(FIRST_NAMES), n), rng.integers(0, len(LAST_NAMES), n)
        no_company = np.full(n, -1)
        self.p_email = self._email_plan(rng, n, self.p_first, self.p_last, no_company, present=rng.random(n) >= 0.1,
                                        force=d)
        self.p_company = np.where(rng.random(n) < 0.12, rng.integers(0, len(COMPANY_WORDS) * len(COMPANY_NOUNS), n), -1)
        self.p_phone = rng.integers(0, 100, n), rng.integers(0, 5, n)
        self.p_addr = rng.integers(0, len(ADDRESSES), n)
        self.p_street = rng.integers(1, 900, n), rng.integers(0, len(STREETS), n)
        self.p_zip4 = np.where(rng.random(n) < 0.1, rng.integers(1000, 9999, n), -1)
        self.p_status = rng.choice(len(PROSPECT_STATUSES), size=n, p=STATUS_WEIGHTS)
        src = np.asarray(SOURCE_WEIGHTS)
        self.p_source = np.where(rng.random(n) < 0.04, -1, rng.choice(len(LEAD_SOURCES), size=n, p=src / src.sum()))
        self.p_created = _office_hours(rng, np.full(n, _START))
        self.p_modified = _modified(rng, self.p_created)
        self.p_fmt = _draw_formats(rng, n), _draw_formats(rng, n)
        self.p_owner = self._owners(rng, n, d)
        self.p_custom = {
            "window_count": np.where(rng.random(n) < 0.6, rng.integers(1, 25, n), -1),
            "material_type": np.where(rng.random(n) < 0.7, rng.integers(0, len(MATERIAL_TYPES), n), -1),
            "permit_status": np.where(rng.random(n) < 0.5, rng.integers(0, len(PERMIT_STATUSES), n), -1),
            "measurements": np.where(rng.random(n) < 0.45, rng.integers(1, 3, n), 0),
            "w": rng.integers(0, len(WINDOW_WIDTHS), (2, n)), "h": rng.integers(0, len(WINDOW_HEIGHTS), (2, n)),
            "x": rng.integers(1, 5, (2, n)),
        }
        bad = np.zeros(n, dtype=bool)
        bad[d] = True
        self.p_good = np.flatnonzero(~bad)

        plan = _Plan("prospects", n, self._build_prospects)
        pid = lambda i: _id("PR-", int(i))  # noqa: E731
        copied = ("first_name", "last_name", "email", "phone", "street", "city", "state", "zip")
        for g, members in enumerate(groups):
            src = plan.row(int(members[0]))
            for k, m in enumerate(members[1:]):
                values = {c: src[c] for c in copied}
                if g == 1:
                    values["email"] = _case_variant(values["email"])
                plan.override(int(m), **values)
            for m in members:
                self.defect("prospects", int(m), "email", "DUPLICATE_SUSPECTED",
                            f"duplicate group {g + 1}: same e-mail and phone"
                            + (" (e-mail differs in case)" if g == 1 else ""),
                            value=plan.row(int(m))["email"], group=[pid(x) for x in members], keys=["email", "phone"])
        bad_patterns = [
            ("trailing dot", lambda e: e + "."),
            ("contains a space", lambda e: e.replace(".", " ", 1) if "." in e.split("@")[0] else e.replace("@", " @", 1)),
            ("no top-level domain", lambda e: e.rsplit(".", 1)[0]),
        ]
        for (note, fn), i in zip(bad_patterns, invalid):
            value = fn(plan.row(int(i))["email"])
            plan.override(int(i), email=value)
            self.defect("prospects", int(i), "email", "INVALID_EMAIL", note, value=value)
        plan.override(blank_last, last_name=None)
        self.defect("prospects", blank_last, "last_name", "REQUIRED_MISSING", "blank last name")
        plan.override(unknown, status=UNKNOWN_STATUS)
        self.defect("prospects", unknown, "status", "UNMAPPED_VALUE",
                    f"status {UNKNOWN_STATUS!r} is not one of the known statuses", value=UNKNOWN_STATUS)
        row = plan.row(unparseable)
        row["street"] = f"{row['street'].split(',')[0]}, Apt 2"
        raw = ",".join(v if k == "street" else csv_field(v) for k, v in row.items())
        plan.raw_lines[unparseable] = raw
        self.defect("prospects", unparseable, None, "UNPARSEABLE_ROW",
                    "unquoted comma in street: one field too many", raw=raw)
        for r in [int(i) for i in self.p_good if not FIRST_NAMES[self.p_first[i]].isascii()][:2]:
            self.samples.append({"object": "prospects", "source_id": _id("PR-", r), "field": "first_name",
                                 "value": plan.row(r)["first_name"]})
        return plan

    def _build_prospects(self, rows: np.ndarray) -> dict[str, pa.Array]:
        addr = self.p_addr[rows]
        company = self.p_company[rows]
        n_n = len(COMPANY_NOUNS)
        company_name = _cat(_take(COMPANY_WORDS, np.maximum(company, 0) // n_n), " ",
                            _take(COMPANY_NOUNS, np.maximum(company, 0) % n_n))
        num, street_i = (x[rows] for x in self.p_street)
        zip5 = _take([a[2] for a in ADDRESSES], addr)
        z4 = self.p_zip4[rows]
        status = _take(list(PROSPECT_STATUSES), self.p_status[rows])
        source = self.p_source[rows]
        c = self.p_custom
        count, material, permit, parts = (c[k][rows] for k in ("window_count", "material_type", "permit_status",
                                                               "measurements"))
        one = [_cat(_take(WINDOW_WIDTHS, c["w"][j][rows]), "x", _take(WINDOW_HEIGHTS, c["h"][j][rows]),
                    _where(c["x"][j][rows] > 1, _cat(" (x", _num(c["x"][j][rows]), ")"), "")) for j in (0, 1)]
        meas = _where(parts == 2, _cat(one[0], "; ", one[1]), one[0])
        return {
            "prospect_id": _ids("PR-", rows), "first_name": _take(FIRST_NAMES, self.p_first[rows]),
            "last_name": _take(LAST_NAMES, self.p_last[rows]),
            "company": _where(company >= 0, company_name, None),
            "email": self._emails(self.p_email, self.p_first, self.p_last, rows),
            "phone": _phones(_take([a[3] for a in ADDRESSES], addr), self.p_phone[0][rows], self.p_phone[1][rows]),
            "street": _cat(_num(num), " ", _take(STREETS, street_i)),
            "city": _take([a[0] for a in ADDRESSES], addr), "state": _take([a[1] for a in ADDRESSES], addr),
            "zip": _where(z4 >= 0, _cat(zip5, "-", _num(np.maximum(z4, 0), 4)), zip5),
            "status": status,
            "lead_source": _where(source >= 0, _take(list(LEAD_SOURCES), np.maximum(source, 0)), None),
            "created_date": _format_times(self.p_created[rows], self.p_fmt[0][rows]),
            "rep_email": self._rep_emails(self.p_owner[rows]),
            "window_count": _where(count > 0, _num(np.maximum(count, 0)), None),
            "material_type": _where(material >= 0, _take(list(MATERIAL_TYPES), np.maximum(material, 0)), None),
            "permit_status": _where(permit >= 0, _take(list(PERMIT_STATUSES), np.maximum(permit, 0)), None),
            "measurements": _where(parts > 0, meas, None),
            "modified_at": _format_times(self.p_modified[rows], self.p_fmt[1][rows]),
        }

    # -- jobs ---------------------------------------------------------------------------------------
    def plan_jobs(self) -> _Plan:
        rng = _rng(self.seed, 6)
        n = self.n["jobs"]
        d = rng.choice(n, size=3, replace=False)
        unknown, orphan, bad_width = (int(x) for x in d)
        mode = rng.choice(3, size=n, p=[0.3, 0.45, 0.25])  # company only, contact only, both
        mode[orphan] = 0
        trade = rng.choice(len(TRADES), size=n, p=[0.45, 0.25, 0.2, 0.1])
        trade[bad_width] = 0
        with_company = self.t_good[self.t_company[self.t_good] >= 0]
        contact = np.where(mode == 1, self.t_good[rng.integers(0, len(self.t_good), n)],
                           with_company[rng.integers(0, len(with_company), n)])
        contact = np.where(mode == 0, -1, contact)
        company = np.where(mode == 0, self.c_good[rng.integers(0, len(self.c_good), n)],
                           np.where(mode == 2, self.t_company[np.maximum(contact, 0)], -1))
        self.j_company, self.j_contact, self.j_trade = company, contact, trade
        self.j_material = _TRADE_MATERIALS[trade, rng.integers(0, 5, n)]
        windows = trade == 0
        self.j_count = np.where(windows, rng.integers(1, 25, n), -1)
        self.j_size = np.where(windows, rng.integers(0, len(WINDOW_WIDTHS), n), -1), rng.integers(0, len(WINDOW_HEIGHTS), n)
        price = np.select([windows, trade == 1, trade == 2], [np.maximum(self.j_count, 1) * rng.integers(110, 230, n) * 5,
                          rng.integers(1600, 7000, n) * 5, rng.integers(1800, 5600, n) * 5], rng.integers(500, 1400, n) * 5)
        self.j_amount, self.j_amount_fmt = price, rng.integers(0, 3, n)
        self.j_stage = rng.choice(len(JOB_STAGES), size=n, p=STAGE_WEIGHTS)
        permit = rng.choice(len(PERMIT_STATUSES), size=n, p=[0.3, 0.25, 0.4, 0.05])
        self.j_permit = np.where(rng.random(n) < 0.85, permit, -1)
        self.j_crew = rng.integers(0, len(CREWS), n)
        self.j_site = rng.integers(0, len(ADDRESSES), n), rng.integers(1, 900, n), rng.integers(0, len(STREETS), n)
        after = np.maximum(np.where(company >= 0, self.c_created[np.maximum(company, 0)], _START),
                           np.where(contact >= 0, self.t_created[np.maximum(contact, 0)], _START))
        self.j_created = _office_hours(rng, after)
        close = self.j_created + rng.integers(5, 90, n) * _DAY
        self.j_close, self.j_install = close, close + rng.integers(14, 60, n) * _DAY
        self.j_modified = _modified(rng, self.j_created)
        self.j_fmt = [_draw_formats(rng, n), _draw_formats(rng, n), _draw_formats(rng, n, True),
                      _draw_formats(rng, n, True)]
        self.j_owner = self._owners(rng, n, d)
        bad = np.zeros(n, dtype=bool)
        bad[d] = True
        self.j_good = np.flatnonzero(~bad)

        plan = _Plan("jobs", n, self._build_jobs)
        plan.override(unknown, stage=UNKNOWN_STAGE)
        self.defect("jobs", unknown, "stage", "UNMAPPED_VALUE", f"stage {UNKNOWN_STAGE!r} is not a known stage",
                    value=UNKNOWN_STAGE)
        plan.override(orphan, company_id="CO-990101")
        self.defect("jobs", orphan, "company_id", "ORPHAN_REFERENCE", "company CO-990101 is not in the export",
                    value="CO-990101")
        plan.override(bad_width, window_width_in="35 1/2")
        self.defect("jobs", bad_width, "window_width_in", "INVALID_NUMBER", "a fraction where inches are decimal",
                    value="35 1/2")
        return plan

    def _build_jobs(self, rows: np.ndarray) -> dict[str, pa.Array]:
        company, contact, trade = self.j_company[rows], self.j_contact[rows], self.j_trade[rows]
        count = self.j_count[rows]
        addr, num, street_i = (x[rows] for x in self.j_site)
        label = _where(trade == 0, _cat("Windows (", _num(np.maximum(count, 0)), ")"), _take(list(TRADES), trade))
        name = _cat(label, " – ", _num(num), " ", _take(STREETS, street_i), ", ", _take([a[0] for a in ADDRESSES], addr))
        stage = self.j_stage[rows]
        installing = np.isin(stage, [JOB_STAGES.index(s) for s in INSTALL_STAGES])
        width, height = self.j_size[0][rows], self.j_size[1][rows]
        permit = self.j_permit[rows]
        return {
            "job_id": _ids("JB-", rows), "job_name": name,
            "company_id": _where(company >= 0, _ids("CO-", np.maximum(company, 0)), None),
            "contact_id": _where(contact >= 0, _ids("CT-", np.maximum(contact, 0)), None),
            "amount": _dollars(self.j_amount[rows], self.j_amount_fmt[rows]),
            "stage": _take(list(JOB_STAGES), stage),
            "close_date": _format_times(self.j_close[rows], self.j_fmt[2][rows], date_only=True),
            "material_type": _take(list(MATERIAL_TYPES), self.j_material[rows]),
            "window_count": _where(count > 0, _num(np.maximum(count, 0)), None),
            "window_width_in": _where(width >= 0, _take(WINDOW_WIDTHS, np.maximum(width, 0)), None),
            "window_height_in": _where(width >= 0, _take(WINDOW_HEIGHTS, height), None),
            "permit_status": _where(permit >= 0, _take(list(PERMIT_STATUSES), np.maximum(permit, 0)), None),
            "crew_name": _where(installing, _take(CREWS, self.j_crew[rows]), None),
            "install_date": _where(installing, _format_times(self.j_install[rows], self.j_fmt[3][rows], True), None),
            "rep_email": self._rep_emails(self.j_owner[rows]),
            "created_at": _format_times(self.j_created[rows], self.j_fmt[0][rows]),
            "modified_at": _format_times(self.j_modified[rows], self.j_fmt[1][rows]),
        }

    # -- appointments -------------------------------------------------------------------------------
    def plan_appointments(self) -> _Plan:
        rng = _rng(self.seed, 7)
        n = self.n["appointments"]
        d = rng.choice(np.arange(1, n), size=6, replace=False)
        neither, missing_prospect, missing_contact, dup, bad_date = d[:2], int(d[2]), int(d[3]), int(d[4]), int(d[5])
        is_prospect = rng.random(n) < 0.7
        is_prospect[missing_prospect], is_prospect[missing_contact] = True, False
        prospect = self.p_good[rng.integers(0, len(self.p_good), n)]
        contact = self.t_good[rng.integers(0, len(self.t_good), n)]
        self.a_prospect = np.where(is_prospect, prospect, -1)
        self.a_contact = np.where(is_prospect, -1, contact)
        after = np.where(is_prospect, self.p_created[prospect], self.t_created[contact])
        day = after - after % _DAY + rng.integers(1, 46, n) * _DAY
        day = np.minimum(day, _EXPORT - _EXPORT % _DAY + 45 * _DAY)  # some are still to come
        slot = rng.integers(0, len(SLOTS), n)
        self.a_start = day + np.array([h for _, h in SLOTS])[slot] * 3600
        self.a_end = self.a_start + rng.choice([90, 120, 150], size=n) * 60
        self.a_slot = slot
        self.a_result = np.where(self.a_start > _EXPORT, -1, np.where(
            rng.random(n) < 0.05, -1, rng.choice(len(APPOINTMENT_RESULTS), size=n, p=RESULT_WEIGHTS)))
        self.a_notes = np.where(rng.random(n) < 0.5, rng.integers(0, len(APPT_NOTES), n), -1)
        self.a_owner = self._owners(rng, n, d)
        territory = self.rep_territory[self.a_owner]
        self.a_territory = np.where(territory >= 0, territory, rng.integers(0, len(TERRITORIES), n))
        self.a_modified = np.minimum(np.maximum(self.a_start - 3 * _DAY, after + 3600)
                                     + (rng.exponential(5, n) * _DAY).astype(np.int64), _EXPORT)
        self.a_fmt = _draw_formats(rng, n, with_time=True), _draw_formats(rng, n, with_time=True), _draw_formats(rng, n)

        plan = _Plan("appointments", n, self._build_appointments)
        for i in neither:
            plan.override(int(i), prospect_id=None, contact_id=None)
            self.defect("appointments", int(i), "contact_id", "LOOKUP_UNRESOLVED",
                        "neither contact_id nor prospect_id is set")
        plan.override(missing_prospect, prospect_id="PR-990001")
        self.defect("appointments", missing_prospect, "prospect_id", "LOOKUP_UNRESOLVED",
                    "prospect PR-990001 is not in the export", value="PR-990001")
        plan.override(missing_contact, contact_id="CT-990002")
        self.defect("appointments", missing_contact, "contact_id", "LOOKUP_UNRESOLVED",
                    "contact CT-990002 is not in the export", value="CT-990002")
        earlier = np.setdiff1d(np.arange(0, dup), d)
        first = int(earlier[rng.integers(0, len(earlier))])
        plan.override(dup, appointment_id=_id("AP-", first))
        self.defects.append({"object": "appointments", "source_id": _id("AP-", first), "source_row": dup + 2,
                             "field": "appointment_id", "reason_code": "DUPLICATE_SOURCE_ID",
                             "note": f"second row with this id; the first is row {first + 2}",
                             "value": _id("AP-", first), "first_source_row": first + 2})
        plan.override(bad_date, start_time="02/30/2024 10:00 AM")
        self.defect("appointments", bad_date, "start_time", "INVALID_DATE", "February 30th", value="02/30/2024 10:00 AM")
        return plan

    def _build_appointments(self, rows: np.ndarray) -> dict[str, pa.Array]:
        prospect, contact = self.a_prospect[rows], self.a_contact[rows]
        result, notes = self.a_result[rows], self.a_notes[rows]
        return {
            "appointment_id": _ids("AP-", rows),
            "prospect_id": _where(prospect >= 0, _ids("PR-", np.maximum(prospect, 0)), None),
            "contact_id": _where(contact >= 0, _ids("CT-", np.maximum(contact, 0)), None),
            "start_time": _format_times(self.a_start[rows], self.a_fmt[0][rows]),
            "end_time": _format_times(self.a_end[rows], self.a_fmt[1][rows]),
            "rep_email": self._rep_emails(self.a_owner[rows]),
            "result": _where(result >= 0, _take(list(APPOINTMENT_RESULTS), np.maximum(result, 0)), None),
            "notes": _where(notes >= 0, _take(APPT_NOTES, np.maximum(notes, 0)), None),
            "slot_id": _cat(_take([s for s, _ in SLOTS], self.a_slot[rows]), "-",
                            _take([t[0] for t in TERRITORIES], self.a_territory[rows])),
            "modified_at": _format_times(self.a_modified[rows], self.a_fmt[2][rows]),
        }

    # -- attachments and notes: children of a prospect, a contact or a job ---------------------------
    def _parents(self, rng: np.random.Generator, n: int, weights) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(parent type 0/1/2, parent row, parent creation time) over clean prospects, contacts, jobs."""
        kind = rng.choice(3, size=n, p=weights)
        goods = (self.p_good, self.t_good, self.j_good)
        created = (self.p_created, self.t_created, self.j_created)
        row = np.zeros(n, dtype=np.int64)
        at = np.zeros(n, dtype=np.int64)
        for k in range(3):
            sel = kind == k
            row[sel] = goods[k][rng.integers(0, len(goods[k]), int(sel.sum()))]
            at[sel] = created[k][row[sel]]
        return kind, row, at

    @staticmethod
    def _parent_ids(kind: np.ndarray, row: np.ndarray) -> pa.Array:
        return pc.choose(pa.array(kind.astype(np.int8)), _ids("PR-", row), _ids("CT-", row), _ids("JB-", row))

    def plan_attachments(self) -> _Plan:
        rng = _rng(self.seed, 8)
        n = self.n["attachments"]
        self.f_kind, self.f_parent, after = self._parents(rng, n, [0.4, 0.2, 0.4])
        ftype = rng.choice(len(DOC_TYPES), size=n, p=DOC_WEIGHTS)
        ftype[: len(DOC_TYPES)] = np.arange(len(DOC_TYPES))  # every type occurs, even at tiny scales
        self.f_type = ftype
        self.f_title = rng.integers(0, 100, n) % np.array([len(DOC_TITLES[t]) for t in DOC_TYPES])[ftype]
        self.f_size = rng.integers(1_800, 12_000, n)
        self.f_uploaded = _office_hours(rng, after)
        self.f_fmt = _draw_formats(rng, n)
        self.f_owner = self._owners(rng, n)
        big, missing = (int(x) for x in rng.choice(np.arange(len(DOC_TYPES), n), size=2, replace=False))
        self.f_type[big], self.f_size[big] = 0, BIG_FILE_SIZE
        self.f_big, self.f_missing = big, missing
        self.defect("attachments", big, "size_bytes", "FILE_TOO_LARGE",
                    f"{BIG_FILE_SIZE} bytes, over the {FILE_SIZE_LIMIT}-byte limit (sparse file of zeros)",
                    value=str(BIG_FILE_SIZE), file_name=self._file_names(np.array([big]))[0].as_py())
        if self.with_files:
            self.defect("attachments", missing, "file_name", "FILE_MISSING", "listed, but not in files/",
                        value=self._file_names(np.array([missing]))[0].as_py())
        return _Plan("attachments", n, self._build_attachments)

    def _file_names(self, rows: np.ndarray) -> pa.Array:
        titles = [_file_slug(t) for ty in DOC_TYPES for t in DOC_TITLES[ty]]
        offsets = np.cumsum([0] + [len(DOC_TITLES[ty]) for ty in DOC_TYPES])[:-1]
        ftype = self.f_type[rows]
        title = _where(rows == self.f_big, "Roof_Drone_Survey_Full_Resolution",
                       _take(titles, offsets[ftype] + self.f_title[rows]))
        return _cat(_ids("AT-", rows), "_", title, ".", _take(DOC_TYPES, ftype))

    def _build_attachments(self, rows: np.ndarray) -> dict[str, pa.Array]:
        ftype = self.f_type[rows]
        names = self._file_names(rows)
        digests = []
        for r, fname in zip(rows.tolist(), names.to_pylist()):  # one body per file: hashed, and written with files
            size = int(self.f_size[r])
            if r == self.f_big:  # zeros; written sparse (run), it costs no disk
                digests.append(_zeros_sha256(size))
                continue
            kind = DOC_TYPES[int(self.f_type[r])]
            body = attachment_body(kind, DOC_TITLES[kind][int(self.f_title[r])], _id("AT-", r), size)
            digests.append(hashlib.sha256(body).hexdigest())
            if self.files_dir is not None and r != self.f_missing:
                (self.files_dir / fname).write_bytes(body)
        return {
            "attachment_id": _ids("AT-", rows), "parent_type": _take(list(PARENT_TYPES), self.f_kind[rows]),
            "parent_id": self._parent_ids(self.f_kind[rows], self.f_parent[rows]), "file_name": names,
            "content_type": _take([MIME[t] for t in DOC_TYPES], ftype), "size_bytes": _num(self.f_size[rows]),
            "sha256": _s(digests), "uploaded_by_email": self._rep_emails(self.f_owner[rows]),
            "uploaded_at": _format_times(self.f_uploaded[rows], self.f_fmt[rows]),
        }

    def plan_notes(self) -> _Plan:
        rng = _rng(self.seed, 9)
        n = self.n["notes"]
        self.nt_kind, self.nt_parent, after = self._parents(rng, n, [0.5, 0.2, 0.3])
        w = np.asarray(NOTE_WEIGHTS)
        tmpl = rng.choice(len(NOTE_TEMPLATES), size=n, p=w / w.sum())
        tmpl[: len(NOTE_TEMPLATES)] = np.arange(len(NOTE_TEMPLATES))  # every template occurs
        self.nt_tmpl = tmpl
        self.nt_vals = {
            "material": rng.integers(0, 5, n), "count": rng.integers(1, 25, n), "w": rng.integers(0, len(WINDOW_WIDTHS), n),
            "h": rng.integers(0, len(WINDOW_HEIGHTS), n), "permit": rng.integers(0, len(PERMIT_STATUSES), n),
            "amount": rng.integers(300, 7000, n) * 5, "days": rng.integers(2, 30, n),
            "crew": rng.integers(0, len(CREWS), n),
            "image": rng.integers(0, len(_DATA_IMAGES), n),
        }
        self.nt_created = _office_hours(rng, after)
        self.nt_modified = _modified(rng, self.nt_created)
        self.nt_fmt = _draw_formats(rng, n), _draw_formats(rng, n)
        self.nt_owner = self._owners(rng, n)
        plan = _Plan("notes", n, self._build_notes)
        photo_notes = int((tmpl == FILE_IMAGE_TEMPLATE).sum())
        self.inline_images = {"notes_with_data_images": int(np.isin(tmpl, DATA_IMAGE_TEMPLATES).sum()),
                              "notes_with_image_files": photo_notes, "image_files": 2 * photo_notes,
                              "folder": IMAGES_DIR, "written": self.with_files}
        for k in range(len(NOTE_TEMPLATES)):  # the first note of each template
            r = int(np.flatnonzero(tmpl == k)[0])
            body = plan.row(r)["body_html"]
            images = []
            if k in DATA_IMAGE_TEMPLATES:
                uri, image = _DATA_IMAGES[int(self.nt_vals["image"][r])]
                images.append({"kind": "data", "src": uri, "size": len(image), "sha256": hashlib.sha256(image).hexdigest()})
            if k == FILE_IMAGE_TEMPLATE:
                for j in (1, 2):
                    image = _note_image(r, j)
                    images.append({"kind": "file", "src": f"{IMAGES_DIR}/{_id('NT-', r)}_{j}.png", "size": len(image),
                                   "sha256": hashlib.sha256(image).hexdigest(), "written": self.with_files})
            self.html_samples.append({"object": "notes", "source_id": _id("NT-", r), "source_row": r + 2,
                                      "field": "body_html", "html": body, "expected_text": html_to_text(body),
                                      "images": images})
        return plan

    def _build_notes(self, rows: np.ndarray) -> dict[str, pa.Array]:
        v = {k: a[rows] for k, a in self.nt_vals.items()}
        ids = _ids("NT-", rows)
        date = pc.strftime(pa.array(self.nt_created[rows] + v["days"] * _DAY, pa.timestamp("s")), format="%b %d")
        cols = {
            "material": _take(list(MATERIAL_TYPES), v["material"]), "count": _num(v["count"]),
            "meas": _cat(_take(WINDOW_WIDTHS, v["w"]), " x ", _take(WINDOW_HEIGHTS, v["h"]), " in"),
            "permit": pc.utf8_lower(_take(list(PERMIT_STATUSES), v["permit"])),
            "amount": _dollars(v["amount"], np.zeros(len(rows))), "date": date,
            "crew": _take(CREWS, v["crew"]).cast(pa.string()),
            "datauri": _take([uri for uri, _ in _DATA_IMAGES], v["image"]),
            "img1": _cat(IMAGES_DIR + "/", ids, "_1.png"), "img2": _cat(IMAGES_DIR + "/", ids, "_2.png"),
        }
        cols["crew"] = pc.replace_substring(pc.replace_substring(cols["crew"], "&", "&amp;"), "–", "&ndash;")
        tmpl = self.nt_tmpl[rows]
        pieces = {}
        for k, template in enumerate(NOTE_TEMPLATES):
            sel = np.flatnonzero(tmpl == k)
            if len(sel):
                filled = _fill_template(template, {c: a.take(pa.array(sel)) for c, a in cols.items()})
                pieces[k] = filled if isinstance(filled, pa.Array) else pa.repeat(filled, len(sel))  # no placeholders
        if self.images_dir is not None:
            for r in rows[tmpl == FILE_IMAGE_TEMPLATE].tolist():  # two image files per photo note
                for k in (1, 2):
                    (self.images_dir / f"{_id('NT-', r)}_{k}.png").write_bytes(_note_image(r, k))
        return {
            "note_id": ids, "parent_type": _take(list(PARENT_TYPES), self.nt_kind[rows]),
            "parent_id": self._parent_ids(self.nt_kind[rows], self.nt_parent[rows]),
            "subject": _take(NOTE_SUBJECTS, tmpl), "body_html": _scatter(tmpl, pieces),
            "author_email": self._rep_emails(self.nt_owner[rows]),
            "created_at": _format_times(self.nt_created[rows], self.nt_fmt[0][rows]),
            "modified_at": _format_times(self.nt_modified[rows], self.nt_fmt[1][rows]),
        }

    # -- everything ---------------------------------------------------------------------------------
    def run(self, out_dir: Path) -> Path:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / FILES_DIR).mkdir(exist_ok=True)
        (out_dir / IMAGES_DIR).mkdir(exist_ok=True)
        if self.with_files:
            self.files_dir, self.images_dir = out_dir / FILES_DIR, out_dir / IMAGES_DIR
        for plan in (self.sales_reps(), self.territories(), self.custom_fields()):
            self.write(out_dir, plan)
        companies = self.plan_companies()
        contacts = self.plan_contacts()  # fills the companies' primary contacts
        self.write(out_dir, companies)
        self.write(out_dir, contacts, release=("c_", "t_"))
        self.write(out_dir, self.plan_prospects(), release=("p_",))
        self.write(out_dir, self.plan_jobs(), release=("j_",))
        self.write(out_dir, self.plan_appointments(), release=("a_",))
        self.write(out_dir, self.plan_attachments())
        if self.files_dir is not None:  # the big file: sparse, it costs no disk
            with open(self.files_dir / self._file_names(np.array([self.f_big]))[0].as_py(), "wb") as f:
                f.seek(BIG_FILE_SIZE - 1)
                f.write(b"\0")
        self._release("f_")
        self.write(out_dir, self.plan_notes(), release=("nt_",))
        _write_json(out_dir / "workflows.json", WORKFLOWS)
        _write_json(out_dir / "slot_availability.json", slot_availability())
        _write_json(out_dir / TRUTH_FILE, self.truth_document())
        return out_dir

    # What children still need of a written object's plan (the rest is dropped: scale 100 stays small).
    _KEEP = {"c_": {"c_created", "c_good"}, "t_": {"t_created", "t_good", "t_company"},
             "p_": {"p_created", "p_good"}, "j_": {"j_created", "j_good"}}

    def write(self, out_dir: Path, plan: _Plan, release: tuple[str, ...] = ()) -> None:
        _write_plan(out_dir, plan)
        self.counts[plan.name] = plan.n
        for prefix in release:
            self._release(prefix)

    def _release(self, prefix: str) -> None:
        for name in [k for k in vars(self) if k.startswith(prefix) and k not in self._KEEP.get(prefix, ())]:
            delattr(self, name)

    def truth_document(self) -> dict:
        rep_emails = self.rep_email.to_pylist()
        return {
            "seed": self.seed,
            "scale": self.scale,
            "with_files": self.with_files,
            "counts": dict(self.counts),
            "timezone": SOURCE_TIMEZONE,
            "files": {name: {"encoding": enc, "record_terminator": term} for name, (enc, term) in FILE_FORMATS.items()},
            "defects": self.defects,
            "unmatched_owner_emails": [rep_emails[i] for i in self.unmatched],
            "inactive_owner_emails": [rep_emails[i] for i in self.inactive],
            "non_ascii_samples": self.samples,
            "html_samples": self.html_samples,
            "html_text_rule": "<br> and closing p/div/li/tr/h*/blockquote -> line break; other tags (img included) "
            "removed; entities decoded (&nbsp; -> space); spaces collapsed per line; lines trimmed; blank lines dropped",
            "inline_images": self.inline_images,
            "primary_contacts": self.primary_contacts,
        }


# ---------------------------------------------------------------------------------------------
# Inline images, encodings


def _note_image(row: int, k: int) -> bytes:
    """The k-th image file of a photo note (deterministic from the note's row)."""
    return attachment_body("png", "photo", f"{_id('NT-', row)}_{k}", 700 + (row * 37 + k * 101) % 1800)


def _data_image(name: str, size: int) -> tuple[str, bytes]:
    body = attachment_body("png", name, name, size)
    return "data:image/png;base64," + base64.b64encode(body).decode("ascii"), body


# Images pasted into notes (a sketch, a signature, a logo): the same few recur, as in real exports.
_DATA_IMAGES = [_data_image("sketch", 420), _data_image("signature", 380), _data_image("logo", 512)]


def _cp1252_ok(text: str) -> bool:
    try:
        text.encode("cp1252")
        return True
    except UnicodeEncodeError:
        return False


# ---------------------------------------------------------------------------------------------
# The non-data files (configuration exported beside the data)

WORKFLOWS = [
    {"name": "Appointment confirmation text", "trigger_event": "appointment.created",
     "conditions": [{"field": "start_time", "operator": "more_than_hours_ahead", "value": 24}],
     "actions": [{"type": "send_sms", "template": "Your estimate is confirmed for {start_time}", "to": "appointment.who",
                  "when": "24h before start"}]},
    {"name": "Assign new prospect to territory rep", "trigger_event": "prospect.created",
     "conditions": [{"field": "zip", "operator": "in_territory", "value": "any"}],
     "actions": [{"type": "update_field", "field": "rep_email", "value": "territory.rep_email"}]},
    {"name": "Sold appointment creates job", "trigger_event": "appointment.result_changed",
     "conditions": [{"field": "result", "operator": "equals", "value": "Sold"}],
     "actions": [{"type": "create_record", "object": "job", "values": {"stage": "Contract Signed"}},
                 {"type": "update_field", "object": "prospect", "field": "status", "value": "Sold"}]},
    {"name": "Permit approved schedules install", "trigger_event": "job.updated",
     "conditions": [{"field": "permit_status", "operator": "changed_to", "value": "Approved"}],
     "actions": [{"type": "update_field", "field": "stage", "value": "Install Scheduled"},
                 {"type": "notify", "channel": "email", "to": "job.crew_name"}]},
    {"name": "Rehash no-sale after 30 days", "trigger_event": "schedule.daily",
     "conditions": [{"field": "status", "operator": "equals", "value": "No Sale"},
                    {"field": "days_since_last_appointment", "operator": "greater_than", "value": 30}],
     "actions": [{"type": "create_call_task", "assign_to": "prospect.rep_email", "subject": "Rehash call"}]},
    {"name": "Review request after install", "trigger_event": "job.stage_changed",
     "conditions": [{"field": "stage", "operator": "equals", "value": "Completed"}],
     "actions": [{"type": "send_email", "template": "How did we do?", "to": "job.contact", "delay_days": 3}]},
]


def slot_availability() -> dict:
    """The time-slot model behind appointments.slot_id (``<slot code>-<territory id>``)."""
    slots = [{"slot_code": code, "start": f"{h:02d}:00", "end": f"{h + 2:02d}:00"} for code, h in SLOTS]
    territories = []
    for i, (tid, name, _, _) in enumerate(TERRITORIES):
        weekday = {code: 1 + (i + j) % 3 for j, (code, _) in enumerate(SLOTS)}
        territories.append({"territory_id": tid, "name": name, "weekday_capacity": weekday,
                            "saturday_capacity": {"AM1": 1, "AM2": 1 + i % 2}, "closed": ["Sun"]})
    return {
        "model": "Fixed daily slots per territory; each slot takes up to its capacity of appointments. "
        "An appointment's slot_id is '<slot code>-<territory id>'.",
        "slots": slots,
        "territories": territories,
        "blackout_dates": ["2024-07-04", "2024-09-02", "2024-11-28", "2024-12-25"],
        "rules": {"lead_time_hours": 24, "max_appointments_per_rep_per_day": 3, "evening_slot_days": ["Tue", "Thu"]},
    }


# ---------------------------------------------------------------------------------------------
# Public entry points


def generate_export(out_dir: Path, *, seed: int = 7, scale: float = 1.0, with_files: bool = True) -> Path:
    """Write a deterministic, deliberately messy Lead Perfection export to ``out_dir``; returns it.

    Same seed and scale give byte-identical files. ``with_files=False`` writes no attachment bodies
    and no note images (``attachments.csv`` still lists them, with their sizes and hashes).
    ``_generator_truth.json`` records the counts and every planted defect (see the module docstring).
    """
    return _Generator(seed, scale, with_files).run(Path(out_dir))


def load_truth(export_dir: Path) -> dict:
    """The generator's record of an export it wrote."""
    return json.loads((Path(export_dir) / TRUTH_FILE).read_text(encoding="utf-8"))


def destination_users(export_dir: Path) -> list[dict]:
    """The users a demo destination org should have for this export.

    Every sales rep except the unmatched ones (``Email, FirstName, LastName, IsActive``); the
    inactive rep is there with ``IsActive`` false.
    """
    from crm_migration.sources.export_folder import read_export_object

    truth = load_truth(export_dir)
    unmatched = {e.casefold() for e in truth["unmatched_owner_emails"]}
    inactive = {e.casefold() for e in truth["inactive_owner_emails"]}
    reps = read_export_object(Path(export_dir), LAYOUTS["sales_reps"], ExportAliases()).table
    out = []
    for first, last, email in zip(*(reps.column(c).to_pylist() for c in ("first_name", "last_name", "email"))):
        if email is None or email.casefold() in unmatched:
            continue
        out.append({"Email": email, "FirstName": first or "", "LastName": last or first or email,
                    "IsActive": email.casefold() not in inactive})
    return out
