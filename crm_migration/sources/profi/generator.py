"""A deterministic, deliberately messy Profi export, with an exact record of its defects.

``generate_export(out_dir, seed=7, scale=1.0, with_files=True)`` writes an export folder in the
default layout (:mod:`.layout`): the CSV files, the attachment bodies under ``files/``, the four
non-data JSON files (automations, drip content, e-mail sequences, custom field definitions) and
``_generator_truth.json`` (ignored by the reader, which skips files starting with ``_``): what the
generator broke, record by record, with the reason code the pipeline is expected to give it.

How it is built, and why it streams: every table is first drawn as a *skeleton* of numbers (pool
indices, parent indices, times in local seconds), all at once per table from a numpy generator
seeded by (seed, table). Children draw their parents from the skeletons, so references stay
consistent. The text is then formatted and written in chunks of :data:`CHUNK` rows, each chunk
with its own generator seeded by (seed, table, chunk number): memory holds numbers for every
record but text for one chunk only, and the same seed and scale give byte-identical files. Python
loops run only over the handful of deliberate defects, the small staff list and, one per file,
the attachment bodies.

Sizes: at scale 1.0 about 6,000 records (14 staff, 500 clients, 20 courses, 600 packages, 1,200
sessions, ~1,450 participants, 700 invoices, 400 notes, 200 attachments, ~600 coach
assignments). ``scale`` multiplies the counts (staff grow with its square root; small scales are
floored so that every defect fits). The deliberate defects are a fixed set whatever the scale.

Mess that is *not* a defect (nothing should be rejected for it): mixed date formats within a
column (``layout.DATE_FORMATS``, day first; naive values are local time in
``layout.SOURCE_TIMEZONE``), yes/no values in several spellings, phones in several formats, HTML
and plain-text session notes, quoted commas, quotes and line breaks, blank optional values,
non-ASCII names, a UTF-8 BOM on ``clients.csv``, CRLF records in ``sessions.csv`` whose notes hold
bare LFs. The truth file also lists the sessions whose package link broke (``package_links``, with
the package the reader should rebuild, or none): the reader handles them, no reason code applies.

Files: the big recording and the recordings kept outside the export (blank ``file_name``) are
expected as ``FILE_LINKED`` (loaded as a link to ``file_url``, reported), which assumes the
mapping names ``file_url`` as the file's link column.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crm_migration.sources.base import ExportAliases
from crm_migration.sources.perfect_portal.generator import ascii_slug, attachment_body, csv_field, html_to_text
from crm_migration.sources.profi.layout import (
    ATTENDANCE_VALUES,
    BOOLEAN_VALUES,
    CLIENT_STATUSES,
    COURSE_STATUSES,
    CURRENCIES,
    DATE_FORMATS,
    DATE_ONLY_FORMATS,
    FILES_DIR,
    INVOICE_STATUSES,
    LAYOUTS,
    PACKAGE_STATUSES,
    PREFERRED_CHANNELS,
    RELATIONSHIP_TYPES,
    SESSION_STATUSES,
    SESSION_TIME_FORMATS,
    SOURCE_TIMEZONE,
)

TRUTH_FILE = "_generator_truth.json"
FILE_SIZE_LIMIT = 26_214_400  # 25 MB: what Salesforce Files accept through the API in this flow
BIG_FILE_SIZE = FILE_SIZE_LIMIT + 1_234_567
CHUNK = 20_000  # rows formatted and written at a time

BASE_COUNTS = {"clients": 500, "courses": 20, "packages": 600, "sessions": 1200, "invoices": 700, "notes": 400,
               "attachments": 200}
MIN_COUNTS = {"clients": 40, "courses": 8, "packages": 40, "sessions": 80, "invoices": 30, "notes": 30,
              "attachments": 24}
MAX_ROWS = 900_000  # ids have six digits; 990001+ are the planted orphans

PRACTICE_DOMAIN = "lumencoaching.example.com"
FILES_URL = "https://files.profi.example.com"
MEET_URL = "https://meet.profi.example.com/r/"
VIDEO_HOST = "https://video.example.com/profi/recordings/"

_DAY = 86_400
_START = int(np.datetime64("2019-01-07T08:00:00", "s").astype(np.int64))  # local time, as naive seconds
_EXPORT = int(np.datetime64("2025-03-28T17:00:00", "s").astype(np.int64))  # the newest moment in the data

FILE_FORMATS = {"clients.csv": ("utf-8-sig", "\r\n"), "sessions.csv": ("utf-8", "\r\n")}  # others: UTF-8, LF
_SALT = {name: i + 1 for i, name in enumerate(LAYOUTS)}

# ---------------------------------------------------------------------------------------------
# Pools

# (first, last, role); index 7 has left (inactive), 8 and 9 never got a destination user.
STAFF = [
    ("Anna", "Schreiber", "coach"), ("Lukas", "Brandt", "coach"), ("Sofía", "Marín", "coach"),
    ("James", "Whitaker", "coach"), ("Zoë", "Lindqvist", "coach"), ("Mehmet", "Yılmaz", "coach"),
    ("Claire", "Dubois", "coach"), ("Jonas", "Weiß", "coach"), ("Priya", "Raman", "coach"),
    ("Tomasz", "Wójcik", "coach"), ("Helena", "Król", "admin"), ("Mark", "Fischer", "admin"),
    ("Lea", "Hoffmann", "assistant"), ("Björn", "Ekström", "assistant"),
]
INACTIVE_STAFF = [7]
UNMATCHED_STAFF = [8, 9]

FIRST_NAMES = [
    "Anna", "Maria", "Julia", "Laura", "Sarah", "Lena", "Katharina", "Sophie", "Emma", "Hannah", "Lisa", "Jana",
    "Thomas", "Michael", "Daniel", "Stefan", "Andreas", "Markus", "Florian", "Sebastian", "Tobias", "David",
    "Oliver", "Emily", "Charlotte", "Olivia", "George", "Harry", "Jack", "Amelia", "Isabella", "Lucas",
    "Zoë", "Jürgen", "Jörg", "Günther", "Małgorzata", "Łukasz", "Søren", "Björn", "Anaïs", "Chloé", "Renée",
    "François", "Inés", "Tomás", "Ángel", "Siobhán", "Dorothée", "Aylin", "Emre", "Mateo", "Priya", "Wei",
    "Yuki", "Fatima", "Kwame", "Nikolai", "Olga", "Leila",
]
LAST_NAMES = [
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
    "Koch", "Richter", "Klein", "Wolf", "Neumann", "Schwarz", "Zimmermann", "Krüger", "Hartmann", "Lange",
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas", "Roberts", "Walker",
    "Ångström", "Żółkiewski", "Nowak", "Wiśniewska", "Dvořák", "Núñez", "García", "Peña", "Lefèvre",
    "Østergaard", "O'Brien", "Öztürk", "Yılmaz", "Nguyễn", "Papadopoulos", "van der Berg", "De la Cruz",
    "Kowalczyk", "Horváth", "Rossi", "Bianchi", "Tanaka", "Kim", "Chen", "Singh", "Okafor", "Haddad",
    "Cohen", "Johansson", "Virtanen",
]
EMAIL_DOMAINS = ["gmail.com", "outlook.com", "gmx.de", "web.de", "icloud.com", "yahoo.co.uk", "proton.me", "t-online.de"]
EMAIL_DOMAIN_WEIGHTS = [0.3, 0.15, 0.15, 0.12, 0.1, 0.08, 0.05, 0.05]
PHONE_PREFIXES = ["+49 151 ", "0151 ", "+49 (0)30 ", "+44 7700 ", "+43 664 ", "+41 79 ", "0049 170 ", "+1 415 555 "]
COMPANIES = [
    "Brightwater GmbH", "Nordlicht Consulting", "Kranich & Partner", "Helix Health AG", "Bluebird Studio Ltd",
    "Fernweh Reisen GmbH", "Atelier Lumière", "Oakridge Capital", "Zeitgeist Media", "Grünwald Logistik",
]
GOALS = [
    "Step into a leadership role within 12 months",
    "Find a career that fits my values",
    'Stop saying "yes" to everything, set boundaries',
    "Prepare for the promotion conversation, negotiate salary",
    "Mehr Gelassenheit im Alltag, weniger Stress",
    "Launch my own practice\nand get the first 10 clients",
    "Better work-life balance after parental leave",
    "Speak confidently at the board meeting",
    "Rebuild energy after burnout",
    "Delegate more; grow the team lead",
]
COURSE_TOPICS = [
    "Executive Presence", "Leadership Foundations", "Career Transition Lab", "Mindful Productivity",
    "Confident Public Speaking", "Burnout Recovery", "Führung & Präsenz", "Negotiation for Founders",
    "Resilience Bootcamp", "Team Coaching Essentials", "Work–Life Integration", "Strategic Thinking",
    "Emotional Intelligence at Work", "First-Time Manager", "Pitch Perfect", "Sales Mindset", "Time Mastery",
    "Purpose & Values", "Stress-Free Leadership", "Coaching Skills for Managers",
]
NON_ASCII_COURSE = COURSE_TOPICS.index("Führung & Präsenz")
COURSE_DESCRIPTIONS = [
    "Six weeks, one live session a week, workbook included.",
    'Our signature programme: "lead without burning out".',
    "Self-paced modules plus 1:1 coaching sessions.",
    "Kleingruppe (max. 8), Präsenz in Berlin, Zertifikat am Ende.",
    "For new managers, in the first 100 days of the role.",
    "Intensive format: two full days, then monthly check-ins.",
]
PRICES_EUR = [290, 490, 690, 990, 1490, 1990, 2490]
PACKAGE_SIZES = [4, 6, 8, 10, 12]
SESSION_FEES_EUR = [90, 120, 150, 180, 250]

SESSION_TITLES = ["Coaching session", "Check-in", "Goal review", "Module debrief", "Progress review", "Deep-dive session"]
STANDALONE_TITLES = ["Discovery call", "Chemistry call", "Single session", "Follow-up call"]
GROUP_TITLES = ["Group coaching", "Mastermind circle", "Workshop"]
PLACES = [
    "Praxis Berlin-Mitte, Raum 2", "Café Einstein, Unter den Linden", "Client's office", "Phone",
    "WeWork Sony Center, Room 4.12", "Walk & talk, Tiergarten",
]
TOPICS = [
    "delegation", "boundaries with the team", "the promotion conversation", "a morning routine",
    "salary negotiation", "public-speaking nerves", "Q3 priorities", "work & family balance",
    "feedback culture", "imposter feelings",
]
WINS = ["said no to an extra project", "gave the quarterly talk", "slept 7 hours all week", "asked for the raise",
        "delegated the weekly report", "kept Friday afternoons free"]
HOMEWORK = ["journal 5 minutes a day", "draft the pitch & send it to me", "block two focus hours daily",
            "list three things to delegate", "prepare one question for the CEO"]
# Session notes: HTML (0-2), plain text (3-4), blank (5).
NOTE_TEMPLATES = [
    "<p>Session focus: <b>{topic}</b></p>\n<ul>\n<li>Win: {win}</li>\n<li>Homework: {homework}</li>\n</ul>",
    "<p>Great energy from {first} today &ndash; we worked on {topic}.</p><p>Next time:<br>{homework}</p>",
    "<div>Check-in &amp; review</div><div>{first} reports: &quot;{win}&quot;</div>",
    "Worked on {topic}. Homework: {homework}",
    "{first} reflected on {topic}.\nNext step: {homework}",
    None,
]
NOTE_TEMPLATE_WEIGHTS = [0.15, 0.15, 0.1, 0.25, 0.1, 0.25]
HTML_TEMPLATES = 3

NOTE_TITLES = {
    "client": ["Intake notes", "Background", "Billing preference", "Goals update", "Referral source"],
    "session": ["Session notes", "Follow-up", "Homework check", "Observations"],
    "course": ["Cohort feedback", "Curriculum change", "Room booking"],
}
NOTE_BODIES = [
    "Prefers morning sessions (before 9:00).",
    'Mentioned "burnout" twice; follow up gently.',
    "Rechnung per Überweisung, nicht PayPal.\nBitte Rechnungsadresse prüfen.",
    "Referred by a former client; discount of 10% agreed.",
    "Wants to focus on leadership, not on the job search.",
    "Participants asked for the slides in advance, and a recording.",
    "Zoë will cover the module on 12 May — swap with week 4.",
]
PARENT_KIND_WEIGHTS = [0.55, 0.35, 0.1]  # client, session, course

# Attachments: (kind, parent type, extensions, name slugs, size range)
ATTACHMENT_KINDS = [
    ("recording", "session", ["mp4", "m4a"], ["session-recording", "audio-notes"], (20_000, 60_000)),
    ("material", "course", ["pdf", "docx"], ["module-1-workbook", "course-syllabus", "reading-list", "values-worksheet"],
     (1_800, 12_000)),
    ("document", "client", ["pdf", "png", "txt", "docx"], ["intake-form", "coaching-agreement", "assessment-results",
                                                            "goal-worksheet", "signed-consent"], (1_800, 12_000)),
]
ATTACHMENT_KIND_WEIGHTS = [0.35, 0.2, 0.45]
FIRST_FILES = [(0, "mp4"), (0, "m4a"), (1, "pdf"), (1, "docx"), (2, "pdf"), (2, "png"), (2, "txt"), (2, "docx")]
CONTENT_TYPES = {
    "pdf": "application/pdf", "png": "image/png", "txt": "text/plain", "mp4": "video/mp4", "m4a": "audio/mp4",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}

# Sessions whose package_id is blank in the export: (what the reader can rebuild from, how the row
# is broken, course_id kept, package_name mode (0 blank, 1 as the package, 2 other case and
# spacing, 3 a name no package has), dated after the package's period).
BROKEN_LINKS = [
    ("client_course_date", "no package_id", True, 1, False),
    ("client_course_date", "no package_id", True, 1, False),
    ("client_course_date", "no package_id, no package_name", True, 0, False),
    ("client_course_date", "no package_id, no package_name", True, 0, False),
    ("package_name", "only package_name", False, 1, False),
    ("package_name", "only package_name", False, 1, False),
    ("package_name", "only package_name, other case and spacing", False, 2, False),
    ("none", "no package_id, course_id or package_name", False, 0, False),
    ("none", "session after the package's period", True, 0, True),
    ("none", "package_name matches no package", False, 3, False),
]
UNKNOWN_PACKAGE_STATUSES = ["transferred", "On Hold (legacy)"]
UNKNOWN_INVOICE_STATUS = "Partially paid"
UNKNOWN_RELATIONSHIP = "mentor"
UNKNOWN_PACKAGE_NAME = "Legacy bundle (2019 pricing)"

# ---------------------------------------------------------------------------------------------
# Column helpers (vectorised)


def _rng(seed: int, *salt: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *salt]))


def _s(values) -> pa.Array:
    return pa.array(values, pa.string())


def _take(pool: list[str], idx) -> pa.Array:
    return _s(pool).take(pa.array(np.asarray(idx, dtype=np.int64)))


def _cat(*parts) -> pa.Array:
    """Element-wise concatenation of string arrays and literals (a null anywhere gives null)."""
    typ = next((p.type for p in parts if not isinstance(p, str)), pa.string())
    parts = [pa.scalar(p, typ) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*parts, pa.scalar("", typ))


def _num(values, width: int = 0) -> pa.Array:
    out = pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())
    return pc.utf8_lpad(out, width, padding="0") if width else out


def _ids(prefix: str, idx) -> pa.Array:
    """Ids for 0-based indices; a negative index gives null."""
    idx = np.asarray(idx, dtype=np.int64)
    return _null_where(_cat(prefix, _num(np.maximum(idx, 0) + 1, 6)), idx < 0)


def _id(prefix: str, i: int) -> str:
    return f"{prefix}{int(i) + 1:06d}"


def _null_where(arr: pa.Array, mask) -> pa.Array:
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), pa.scalar(None, arr.type), arr)


def _set(arr: pa.Array, values: dict[int, str | None]) -> pa.Array:
    """arr with the values at the given positions replaced (None makes a null)."""
    pos = sorted(values)
    mask = np.zeros(len(arr), dtype=bool)
    mask[pos] = True
    return pc.replace_with_mask(arr, pa.array(mask), pa.array([values[p] for p in pos], arr.type))


def _times(secs, rng: np.random.Generator, formats: tuple[str, ...]) -> pa.Array:
    """Local times (naive seconds) written in a mix of the export's formats."""
    secs = np.asarray(secs, dtype=np.int64)
    weights = {len(DATE_FORMATS): [0.2, 0.1, 0.35, 0.15, 0.1, 0.04, 0.03, 0.03],
               len(SESSION_TIME_FORMATS): [0.2, 0.15, 0.35, 0.2, 0.1],
               len(DATE_ONLY_FORMATS): [0.5, 0.3, 0.2]}[len(formats)]
    groups = rng.choice(len(formats), size=len(secs), p=weights)
    # Each format only formats its own rows (time-zone conversion is the costly part).
    pieces = []
    for g, fmt in enumerate(formats):
        local = pa.array(secs[groups == g], pa.timestamp("s"))
        if fmt.endswith("Z") or fmt.endswith("%z"):
            zoned = pc.assume_timezone(local, timezone=SOURCE_TIMEZONE, ambiguous="earliest", nonexistent="earliest")
        if fmt.endswith("Z"):
            pieces.append(pc.strftime(zoned.cast(pa.timestamp("s", tz="UTC")), format=fmt))
        elif fmt.endswith("%z"):
            pieces.append(pc.replace_substring_regex(pc.strftime(zoned, format=fmt), r"([+-]\d\d)(\d\d)$", r"\1:\2"))
        else:
            pieces.append(pc.strftime(local, format=fmt))
    order = np.argsort(groups, kind="stable")
    position = np.empty_like(order)
    position[order] = np.arange(len(order))
    return pa.concat_arrays(pieces).take(pa.array(position))


def _money(cents, rng: np.random.Generator) -> pa.Array:
    """Amounts as exported: "990", "990.00" or, from 1,000 on, sometimes "1,490.00"."""
    cents = np.asarray(cents, dtype=np.int64)
    units, frac = cents // 100, _num(cents % 100, 2)
    plain = _cat(_num(units), ".", frac)
    grouped = _cat(_num(units // 1000), ",", _num(units % 1000, 3), ".", frac)
    style = rng.integers(0, 3, len(cents))
    out = pc.if_else(pa.array((style == 0) & (cents % 100 == 0)), _num(units), plain)
    return pc.if_else(pa.array((style == 1) & (units >= 1000)), grouped, out)


def _office(day_secs, rng: np.random.Generator) -> np.ndarray:
    """A moment between 08:00 and 19:59 local on the given days (never near a DST change at 02:00-03:00)."""
    day_secs = np.asarray(day_secs, dtype=np.int64)
    return day_secs - day_secs % _DAY + 8 * 3600 + rng.integers(0, 12 * 3600, len(day_secs))


def _between(rng: np.random.Generator, lo, hi) -> np.ndarray:
    lo, hi = np.asarray(lo, dtype=np.int64), np.asarray(hi, dtype=np.int64)
    return lo + (rng.random(len(lo)) * np.maximum(hi - lo, 0)).astype(np.int64)


def _later(rng: np.random.Generator, t, days) -> np.ndarray:
    """Whole days after ``t`` plus up to three hours: from office hours that never reaches 02:00-03:59.

    Naive local times in that window can fall into a DST gap or overlap, which a parser must refuse.
    """
    t = np.asarray(t, dtype=np.int64)
    return t + np.asarray(days, dtype=np.int64) * _DAY + rng.integers(0, 3 * 3600, len(t))


def _modified(rng: np.random.Generator, created) -> np.ndarray:
    created = np.asarray(created, dtype=np.int64)
    return np.maximum(np.minimum(_later(rng, created, rng.exponential(40, len(created))), _EXPORT), created)


def _fill_template(template: str, cols: dict[str, pa.Array]) -> pa.Array:
    import re

    parts = [cols[p] if i % 2 else p for i, p in enumerate(re.split(r"\{(\w+)\}", template)) if p]
    return _cat(*parts)


def _html_escape(arr: pa.Array) -> pa.Array:
    out = pc.replace_substring(arr, "&", "&amp;")
    return pc.replace_substring(pc.replace_substring(out, "<", "&lt;"), ">", "&gt;")


def _csv_lines(columns: list[pa.Array], terminator: str) -> pa.Array:
    """One CSV record per row (with its terminator), quoting only the values that need it."""
    fields = []
    for col in columns:
        col = col.cast(pa.large_string())
        need = pc.fill_null(pc.match_substring_regex(col, r'[",\r\n]'), False)
        fields.append(pc.fill_null(pc.if_else(need, _cat('"', pc.replace_substring(col, '"', '""'), '"'), col), ""))
    return _cat(pc.binary_join_element_wise(*fields, pa.scalar(",", pa.large_string())), terminator)


def _joined(lines: pa.Array) -> bytes:
    lines = lines.cast(pa.large_string())
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset : lines.offset + len(lines) + 1]
    return memoryview(lines.buffers()[2])[int(offsets[0]) : int(offsets[-1])].tobytes()


def _mp4_body(brand: bytes, size: int) -> bytes:
    """A minimal ISO media file (ftyp box, then a free box filling up to ``size``)."""
    ftyp = b"ftyp" + brand + b"\x00\x00\x02\x00" + brand + b"mp41"
    ftyp = (len(ftyp) + 4).to_bytes(4, "big") + ftyp
    free = size - len(ftyp)
    return ftyp + free.to_bytes(4, "big") + b"free" + bytes(free - 8)


def _body(ext: str, name: str, att_id: str, size: int) -> bytes:
    if ext == "mp4":
        return _mp4_body(b"isom", size)
    if ext == "m4a":
        return _mp4_body(b"M4A ", size)
    return attachment_body(ext, name.replace("-", " ").title(), att_id, size)


def _zeros_sha256(size: int) -> str:
    digest, block = hashlib.sha256(), bytes(1 << 20)
    for _ in range(size >> 20):
        digest.update(block)
    digest.update(bytes(size & ((1 << 20) - 1)))
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# The truth file

_FILL = object()  # filled from the written data when the row's chunk is formatted


class _Truth:
    def __init__(self) -> None:
        self.defects: list[dict] = []
        self._pending: list[tuple[str, int, dict]] = []

    def add(self, obj: str, row: int, fld: str | None, code: str, note: str, *, value=_FILL, **extra) -> dict:
        entry = {"object": obj, "source_id": _FILL, "source_row": int(row) + 2, "field": fld, "reason_code": code,
                 "note": note, "value": value, **extra}
        self.defects.append(entry)
        self._pending.append((obj, int(row), entry))
        return entry

    def fill(self, obj: str, lo: int, hi: int, cols: dict[str, pa.Array], id_column: str, raws: dict[int, str]) -> None:
        for o, row, entry in self._pending:
            if o != obj or not lo <= row < hi:
                continue
            entry["source_id"] = cols[id_column][row - lo].as_py()
            if row - lo in raws:
                entry["raw"], entry["value"] = raws[row - lo], None
            elif entry["value"] is _FILL:
                entry["value"] = cols[entry["field"]][row - lo].as_py()


# ---------------------------------------------------------------------------------------------
# The generator


def _count(name: str, scale: float) -> int:
    return max(MIN_COUNTS[name], int(round(BASE_COUNTS[name] * scale)))


class _Generator:
    def __init__(self, seed: int, scale: float, with_files: bool) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.seed, self.scale, self.with_files = int(seed), float(scale), bool(with_files)
        self.n = {k: _count(k, scale) for k in BASE_COUNTS}
        if 2 * max(self.n.values()) > MAX_ROWS:  # participants: about 1.2 rows a session
            raise ValueError("scale too large: ids have six digits")
        self.truth = _Truth()
        self.over: dict[str, dict[str, dict[int, str | None]]] = defaultdict(lambda: defaultdict(dict))
        self.raw: dict[str, dict[int, object]] = defaultdict(dict)
        self.counts: dict[str, int] = {}
        self.package_links: list[dict] = []
        self.html_samples: list[dict] = []

    def rng(self, name: str, *more: int) -> np.random.Generator:
        return _rng(self.seed, _SALT[name], *more)

    # -- staff -------------------------------------------------------------------------------
    def staff(self) -> None:
        n = max(len(STAFF), int(round(len(STAFF) * math.sqrt(self.scale))))
        rng = self.rng("staff")
        people = list(STAFF)
        firsts, lasts = rng.integers(0, len(FIRST_NAMES), n), rng.integers(0, len(LAST_NAMES), n)
        people += [(FIRST_NAMES[firsts[i]], LAST_NAMES[lasts[i]], "coach") for i in range(len(STAFF), n)]
        emails, seen = [], defaultdict(int)
        for first, last, _ in people:  # a few hundred people at most
            local = f"{ascii_slug(first)}.{ascii_slug(last)}"
            seen[local] += 1
            emails.append(f"{local}{seen[local] if seen[local] > 1 else ''}@{PRACTICE_DOMAIN}")
        self.staff_people, self.staff_emails = people, emails
        self.coaches = np.array([i for i, p in enumerate(people) if p[2] == "coach"])
        bad = set(INACTIVE_STAFF) | set(UNMATCHED_STAFF)
        self.good_coaches = np.array([i for i in self.coaches if i not in bad])
        self.good_staff = np.array([i for i in range(n) if i not in bad])
        w = np.array([0.6 if i in UNMATCHED_STAFF else 0.8 if i in INACTIVE_STAFF else 1.0 for i in self.coaches])
        self.coach_weights = w / w.sum()
        self.counts["staff"] = n

    def coach(self, rng: np.random.Generator, n: int, clean=()) -> np.ndarray:
        """Coach (staff index) per row; the clean rows (defects) get a matched, active coach."""
        idx = self.coaches[rng.choice(len(self.coaches), size=n, p=self.coach_weights)]
        clean = np.asarray(list(clean), dtype=np.int64)
        if len(clean):
            idx[clean] = self.good_coaches[rng.integers(0, len(self.good_coaches), len(clean))]
        return idx

    def emails_of(self, idx) -> pa.Array:
        return _take(self.staff_emails, idx)

    def build_staff(self, lo: int, hi: int, rng: np.random.Generator) -> dict[str, pa.Array]:
        people = self.staff_people[lo:hi]
        n = len(people)
        active = ["false" if i in INACTIVE_STAFF else "true" for i in range(lo, hi)]
        created = _office(_between(rng, np.full(n, _START), np.full(n, _START + 400 * _DAY)), rng)
        return {
            "staff_id": _ids("ST-", np.arange(lo, hi)), "email": _s(self.staff_emails[lo:hi]),
            "first_name": _s([p[0] for p in people]), "last_name": _s([p[1] for p in people]),
            "role": _s([p[2] for p in people]), "active": _s(active),
            "phone": _cat("+49 30 ", _num(rng.integers(1_000_000, 9_999_999, n))),
            "created_at": _times(created, rng, DATE_FORMATS),
        }

    # -- clients -----------------------------------------------------------------------------
    def clients(self) -> None:
        n, rng = self.n["clients"], self.rng("clients")
        fi, li = rng.integers(0, len(FIRST_NAMES), n), rng.integers(0, len(LAST_NAMES), n)
        di = rng.choice(len(EMAIL_DOMAINS), n, p=EMAIL_DOMAIN_WEIGHTS)
        style = rng.integers(0, 3, n)
        d = rng.choice(n, size=11, replace=False)
        pairs, invalid, blank_last, bad_day, bad_bool = [(d[0], d[1]), (d[2], d[3])], d[4:8], d[8], d[9], d[10]
        second = np.zeros(n, dtype=bool)
        for a, b in pairs:  # the same person signed up twice: same name and e-mail
            fi[b], li[b], di[b], style[b] = fi[a], li[a], di[a], style[a]
            second[b] = True
        # A repeated address gets a number; only the planted duplicates share one.
        _, sf = np.unique([ascii_slug(x) for x in FIRST_NAMES], return_inverse=True)
        _, sl = np.unique([ascii_slug(x) for x in LAST_NAMES], return_inverse=True)
        key = ((sf[fi] * len(LAST_NAMES) + sl[li]) * 3 + style) * len(EMAIL_DOMAINS) + di
        number = np.zeros(n, dtype=np.int64)
        number[~second] = pd.Series(key[~second]).groupby(key[~second]).cumcount().to_numpy()
        for a, b in pairs:
            number[b] = number[a]
        case_variant = np.zeros(n, dtype=bool)
        case_variant[pairs[1][1]] = True
        bad_kind = np.zeros(n, dtype=np.int8)
        bad_kind[invalid] = np.arange(1, 5)
        no_email = rng.random(n) < 0.04
        no_email[d] = False

        created = _office(_between(rng, np.full(n, _START), np.full(n, _EXPORT - 90 * _DAY)), rng)
        self.c_first, self.c_last, self.c_domain, self.c_style, self.c_number = fi, li, di, style, number
        self.c_case, self.c_bad, self.c_no_email, self.c_created = case_variant, bad_kind, no_email, created
        self.c_coach = self.coach(rng, n, d)
        good = np.ones(n, dtype=bool)
        good[d] = False
        self.good_clients = np.flatnonzero(good)

        cid = lambda i: _id("CL-", i)  # noqa: E731
        for g, (a, b) in enumerate(pairs):
            for m in (a, b):
                self.truth.add("clients", m, "email", "DUPLICATE_SUSPECTED",
                               f"duplicate group {g + 1}: the same client twice (same e-mail"
                               + (", differing in case)" if g == 1 else ")"), group=[cid(a), cid(b)])
        notes = ["missing @", "two @", "contains a space", "trailing dot"]
        for i, note in zip(invalid, notes):
            self.truth.add("clients", i, "email", "INVALID_EMAIL", note)
        self.over["clients"]["last_name"][int(blank_last)] = None
        self.truth.add("clients", blank_last, "last_name", "REQUIRED_MISSING", "blank last name", value=None)
        self.over["clients"]["cf_birthday"][int(bad_day)] = "30.02.1987"
        self.truth.add("clients", bad_day, "cf_birthday", "INVALID_DATE", "30 February does not exist")
        self.over["clients"]["cf_marketing_opt_in"][int(bad_bool)] = "maybe"
        self.truth.add("clients", bad_bool, "cf_marketing_opt_in", "INVALID_BOOLEAN", "neither yes nor no")
        self.counts["clients"] = n

    def client_emails(self, lo: int, hi: int) -> pa.Array:
        sl = slice(lo, hi)
        first = _take([ascii_slug(x) for x in FIRST_NAMES], self.c_first[sl])
        last = _take([ascii_slug(x) for x in LAST_NAMES], self.c_last[sl])
        local = pc.choose(pa.array(self.c_style[sl], pa.int8()), _cat(first, ".", last), _cat(first, "_", last),
                          _cat(first, last))
        number = self.c_number[sl]
        suffix = pc.if_else(pa.array(number > 0), _num(number + 1), pa.scalar("", pa.string()))
        email = _cat(local, suffix, "@", _take(EMAIL_DOMAINS, self.c_domain[sl]))
        email = pc.if_else(pa.array(self.c_case[sl]), pc.utf8_title(email), email)
        bad = self.c_bad[sl]
        variants = [email, pc.replace_substring(email, "@", ""), pc.replace_substring(email, "@", "@@"),
                    pc.replace_substring(email, "@", " @"), _cat(email, ".")]
        return _null_where(pc.choose(pa.array(bad, pa.int8()), *variants), self.c_no_email[sl])

    def build_clients(self, lo: int, hi: int, rng: np.random.Generator) -> dict[str, pa.Array]:
        n, sl = hi - lo, slice(lo, hi)
        phone = _cat(_take(PHONE_PREFIXES, rng.integers(0, len(PHONE_PREFIXES), n)),
                     _num(rng.integers(1_000_000, 9_999_999, n)))
        birthday = _between(rng, np.full(n, int(np.datetime64("1955-01-01", "s").astype(np.int64))),
                            np.full(n, int(np.datetime64("2004-12-31", "s").astype(np.int64))))
        return {
            "client_id": _ids("CL-", np.arange(lo, hi)),
            "first_name": _take(FIRST_NAMES, self.c_first[sl]), "last_name": _take(LAST_NAMES, self.c_last[sl]),
            "email": self.client_emails(lo, hi), "phone": _null_where(phone, rng.random(n) < 0.15),
            "company_name": _null_where(_take(COMPANIES, rng.integers(0, len(COMPANIES), n)), rng.random(n) > 0.12),
            "coach_email": self.emails_of(self.c_coach[sl]),
            "status": _take(list(CLIENT_STATUSES), rng.choice(len(CLIENT_STATUSES), n, p=[0.55, 0.1, 0.25, 0.1])),
            "cf_goals": _null_where(_take(GOALS, rng.integers(0, len(GOALS), n)), rng.random(n) < 0.3),
            "cf_preferred_channel": _null_where(_take(list(PREFERRED_CHANNELS), rng.integers(0, len(PREFERRED_CHANNELS), n)),
                                                rng.random(n) < 0.2),
            "cf_birthday": _null_where(_times(birthday, rng, DATE_ONLY_FORMATS), rng.random(n) < 0.4),
            "cf_marketing_opt_in": _null_where(_take(list(BOOLEAN_VALUES), rng.integers(0, len(BOOLEAN_VALUES), n)),
                                               rng.random(n) < 0.15),
            "created_at": _times(self.c_created[sl], rng, DATE_FORMATS),
            "modified_at": _times(_modified(rng, self.c_created[sl]), rng, DATE_FORMATS),
        }

    # -- courses -----------------------------------------------------------------------------
    def courses(self) -> None:
        m, rng = self.n["courses"], self.rng("courses")
        self.k_created = _office(_between(rng, np.full(m, _START), np.full(m, _EXPORT - 200 * _DAY)), rng)
        self.k_price = np.array(PRICES_EUR)[rng.integers(0, len(PRICES_EUR), m)] * 100
        self.k_currency = np.where(rng.random(m) < 0.85, 0, rng.integers(1, 3, m))
        self.k_titles = [COURSE_TOPICS[i % len(COURSE_TOPICS)] + (f" – Cohort {i // len(COURSE_TOPICS) + 1}"
                                                                  if i >= len(COURSE_TOPICS) else "") for i in range(m)]
        blank = int(rng.choice([i for i in range(m) if i != NON_ASCII_COURSE]))
        self.k_coach = self.coach(rng, m, [blank])
        self.good_courses = np.array([i for i in range(m) if i != blank])
        self.blank_course = blank
        self.over["courses"]["title"][blank] = None
        self.truth.add("courses", blank, "title", "REQUIRED_MISSING", "blank course title", value=None)
        self.counts["courses"] = m

    def build_courses(self, lo: int, hi: int, rng: np.random.Generator) -> dict[str, pa.Array]:
        n, sl = hi - lo, slice(lo, hi)
        capacity = _null_where(_num(rng.integers(6, 31, n)), rng.random(n) < 0.3)  # blank: self-paced
        start = _office(self.k_created[sl] + rng.integers(14, 120, n) * _DAY, rng)
        exported_course = np.where(self.p_course_exported >= 0, self.p_course_exported, len(self.k_titles))
        enrolled = np.bincount(exported_course, minlength=len(self.k_titles) + 1)[lo:hi]
        return {
            "course_id": _ids("CO-", np.arange(lo, hi)), "title": _s(self.k_titles[lo:hi]),
            "description": _null_where(_take(COURSE_DESCRIPTIONS, rng.integers(0, len(COURSE_DESCRIPTIONS), n)),
                                       rng.random(n) < 0.15),
            "status": _take(list(COURSE_STATUSES), rng.choice(3, n, p=[0.1, 0.7, 0.2])),
            "price": _money(self.k_price[sl], rng), "currency": _take(list(CURRENCIES), self.k_currency[sl]),
            "capacity": capacity, "enrollment_count": _num(enrolled),
            "start_date": _times(start, rng, DATE_ONLY_FORMATS), "coach_email": self.emails_of(self.k_coach[sl]),
            "created_at": _times(self.k_created[sl], rng, DATE_FORMATS),
            "modified_at": _times(_modified(rng, self.k_created[sl]), rng, DATE_FORMATS),
        }

    # -- packages (enrollments) --------------------------------------------------------------
    def packages(self) -> None:
        p, rng = self.n["packages"], self.rng("packages")
        gc, gk = self.good_clients, self.good_courses
        if p > len(gc) * len(gk):
            raise ValueError("more packages than client/course pairs")
        pair = rng.choice(len(gc) * len(gk), size=p, replace=False)  # at most one package per client and course
        client, course = gc[pair // len(gk)], gk[pair % len(gk)]
        lo = np.maximum(self.c_created[client], self.k_created[course]) + _DAY
        enrolled = _office(_between(rng, lo, np.full(p, _EXPORT - 30 * _DAY)), rng)
        until_day = (enrolled // _DAY + rng.integers(90, 400, p)) * _DAY
        running = until_day > _EXPORT
        # PACKAGE_STATUSES indices: a running package is active, frozen or cancelled; an ended one
        # completed, expired or cancelled.
        status = np.where(running, rng.choice([0, 3, 2], p, p=[0.85, 0.1, 0.05]), rng.choice([1, 4, 2], p, p=[0.6, 0.3, 0.1]))
        d = rng.choice(p, size=4, replace=False)
        unknown, orphan, cascade = d[:2], int(d[2]), int(d[3])
        course[cascade] = self.blank_course
        self.p_client, self.p_course, self.p_enrolled, self.p_until, self.p_status = client, course, enrolled, until_day, status
        self.p_size = np.array(PACKAGE_SIZES)[rng.integers(0, len(PACKAGE_SIZES), p)]
        self.p_course_exported = course.copy()
        self.p_course_exported[orphan] = -1
        good = np.ones(p, dtype=bool)
        good[d] = False
        self.good_packages = np.flatnonzero(good)

        for i, value in zip(unknown, UNKNOWN_PACKAGE_STATUSES):
            self.over["packages"]["status"][int(i)] = value
            self.truth.add("packages", i, "status", "UNMAPPED_VALUE", f"status {value!r} is not a known package status")
        self.over["packages"]["course_id"][orphan] = "CO-990001"
        self.truth.add("packages", orphan, "course_id", "ORPHAN_REFERENCE", "course CO-990001 is not in the export")
        self.truth.add("packages", cascade, "course_id", "PARENT_REJECTED",
                       f"its course {_id('CO-', self.blank_course)} has a blank title (REQUIRED_MISSING)")
        self.counts["packages"] = p

    def package_names(self, idx) -> pa.Array:
        titles = _take(self.k_titles, self.p_course[idx])
        return _cat(titles, " · ", _num(self.p_size[idx]), " sessions")

    def build_packages(self, lo: int, hi: int, rng: np.random.Generator) -> dict[str, pa.Array]:
        sl = slice(lo, hi)
        return {
            "package_id": _ids("PK-", np.arange(lo, hi)), "client_id": _ids("CL-", self.p_client[sl]),
            "course_id": _ids("CO-", self.p_course[sl]), "package_name": self.package_names(np.arange(lo, hi)),
            "status": _take(list(PACKAGE_STATUSES), self.p_status[sl]), "enrolled_at": _times(self.p_enrolled[sl], rng, DATE_FORMATS),
            "valid_until": _times(self.p_until[sl], rng, DATE_ONLY_FORMATS), "sessions_included": _num(self.p_size[sl]),
            "modified_at": _times(_modified(rng, self.p_enrolled[sl]), rng, DATE_FORMATS),
        }

    # -- sessions and participants -----------------------------------------------------------
    def sessions(self) -> None:
        s, rng = self.n["sessions"], self.rng("sessions")
        in_package = rng.random(s) < 0.85
        in_package[:2] = [True, False]
        pkg = np.where(in_package, self.good_packages[rng.integers(0, len(self.good_packages), s)], -1)
        solo_client = self.good_clients[rng.integers(0, len(self.good_clients), s)]
        client = np.where(in_package, self.p_client[np.maximum(pkg, 0)], solo_client)
        first_day = np.where(in_package, self.p_enrolled[np.maximum(pkg, 0)] // _DAY + 1, self.c_created[client] // _DAY + 1)
        last_day = np.where(in_package, self.p_until[np.maximum(pkg, 0)] // _DAY - 1, _EXPORT // _DAY + 45)
        day = first_day + (rng.random(s) * (last_day - first_day + 1)).astype(np.int64)
        start = day * _DAY + 8 * 3600 + rng.integers(0, 24, s) * 1800  # 08:00..19:30 on the half hour
        extras = np.where(rng.random(s) < 0.1, rng.integers(1, 4, s), 0)
        extras[:2] = 0
        coach = np.where(rng.random(s) < 0.8, self.c_coach[client], self.coach(rng, s))

        # Broken package links: what the reader should rebuild, and how each row is broken.
        candidates = np.flatnonzero(in_package & (extras == 0))
        expired = candidates[self.p_until[pkg[candidates]] < _EXPORT - 60 * _DAY]
        if not len(expired) or len(candidates) < len(BROKEN_LINKS) + 2:
            raise ValueError("too few package sessions for the planted defects; use a larger scale")
        outside = int(rng.choice(expired))
        rest = [int(x) for x in rng.choice(np.setdiff1d(candidates, [outside]), size=len(BROKEN_LINKS), replace=False)]
        invalid_date = rest.pop()
        rows = [outside if after_period else rest.pop() for _, _, _, _, after_period in BROKEN_LINKS]
        self.s_pkg_exported = pkg.copy()
        self.s_course_exported = np.where(in_package, self.p_course[np.maximum(pkg, 0)], -1)
        self.s_name_mode = np.where(in_package, 1, 0)  # 0 blank, 1 the package's name, 2 messy, 3 unknown
        for row, (method, how, keep_course, name_mode, after_period) in zip(rows, BROKEN_LINKS):
            self.s_pkg_exported[row] = -1
            if not keep_course:
                self.s_course_exported[row] = -1
            self.s_name_mode[row] = name_mode
            if after_period:  # logged after the package expired: no package holds its date
                start[row] = self.p_until[pkg[row]] + rng.integers(10, 40) * _DAY + start[row] % _DAY
            self.package_links.append({"object": "sessions", "source_id": _id("SE-", row), "source_row": row + 2,
                                       "method": method, "note": how,
                                       "expected_package_id": _id("PK-", pkg[row]) if method != "none" else None,
                                       "true_package_id": _id("PK-", pkg[row])})
        coach[invalid_date] = self.good_coaches[0]
        self.over["sessions"]["start_at"][invalid_date] = "30.02.2024 10:00"
        self.truth.add("sessions", invalid_date, "start_at", "INVALID_DATE", "30 February does not exist")

        status = np.where(start > _EXPORT, 0, rng.choice([1, 2, 3], s, p=[0.82, 0.1, 0.08]))  # SESSION_STATUSES
        created = np.minimum(np.maximum(start - rng.integers(1, 30, s) * _DAY, self.c_created[client] + 3600), _EXPORT - 3600)
        created = np.minimum(created, start - 3600)
        self.s_client, self.s_start, self.s_extras = client, start, extras
        self.s_status, self.s_coach, self.s_created, self.s_pkg = status, coach, created, pkg
        self.s_duration = np.array([30, 45, 60, 90])[rng.integers(0, 4, s)] * 60
        good = np.ones(s, dtype=bool)
        good[invalid_date] = False
        self.good_sessions, self.invalid_session = np.flatnonzero(good), invalid_date
        self.counts["sessions"] = s

    def build_sessions(self, lo: int, hi: int, rng: np.random.Generator) -> dict[str, pa.Array]:
        n, sl, idx = hi - lo, slice(lo, hi), np.arange(lo, hi)
        ids = _ids("SE-", idx)
        group, pkg = self.s_extras[sl] > 0, self.s_pkg[sl]
        title = pc.choose(pa.array(np.where(group, 2, np.where(pkg >= 0, 0, 1)), pa.int8()),
                          _take(SESSION_TITLES, rng.integers(0, len(SESSION_TITLES), n)),
                          _take(STANDALONE_TITLES, rng.integers(0, len(STANDALONE_TITLES), n)),
                          _take(GROUP_TITLES, rng.integers(0, len(GROUP_TITLES), n)))
        name = self.package_names(np.maximum(pkg, 0))
        mode = self.s_name_mode[sl]
        package_name = pc.choose(pa.array(mode, pa.int8()), pa.nulls(n, pa.string()), name,
                                 _cat("  ", pc.utf8_lower(name), " "), pa.repeat(pa.scalar(UNKNOWN_PACKAGE_NAME), n))
        where = rng.choice(3, n, p=[0.6, 0.3, 0.1])
        location = pc.choose(pa.array(where, pa.int8()), _cat(MEET_URL, pc.utf8_lower(ids)),
                             _take(PLACES, rng.integers(0, len(PLACES), n)), pa.nulls(n, pa.string()))
        notes = self.session_notes(lo, hi, rng)
        start = self.s_start[sl]
        return {
            "session_id": ids, "title": title, "coach_email": self.emails_of(self.s_coach[sl]),
            "client_id": _ids("CL-", self.s_client[sl]), "course_id": _ids("CO-", self.s_course_exported[sl]),
            "package_id": _ids("PK-", self.s_pkg_exported[sl]), "package_name": package_name,
            "start_at": _times(start, rng, SESSION_TIME_FORMATS),
            "end_at": _times(start + self.s_duration[sl], rng, SESSION_TIME_FORMATS),
            "status": _take(list(SESSION_STATUSES), self.s_status[sl]),
            "location": location, "notes": notes,
            "created_at": _times(self.s_created[sl], rng, DATE_FORMATS),
            "modified_at": _times(np.maximum(_modified(rng, np.minimum(start, _EXPORT)), self.s_created[sl]), rng, DATE_FORMATS),
        }

    def session_notes(self, lo: int, hi: int, rng: np.random.Generator) -> pa.Array:
        n = hi - lo
        tmpl = rng.choice(len(NOTE_TEMPLATES), n, p=NOTE_TEMPLATE_WEIGHTS)
        if lo == 0:
            tmpl[: len(NOTE_TEMPLATES)] = np.arange(len(NOTE_TEMPLATES))[:n]  # every kind occurs
        cols = {"first": _take(FIRST_NAMES, self.c_first[self.s_client[lo:hi]]),
                "topic": _take(TOPICS, rng.integers(0, len(TOPICS), n)),
                "win": _take(WINS, rng.integers(0, len(WINS), n)),
                "homework": _take(HOMEWORK, rng.integers(0, len(HOMEWORK), n))}
        escaped = {k: _html_escape(v) for k, v in cols.items()}
        filled = [pa.nulls(n, pa.string()) if t is None else _fill_template(t, escaped if k < HTML_TEMPLATES else cols)
                  for k, t in enumerate(NOTE_TEMPLATES)]
        notes = pc.choose(pa.array(tmpl, pa.int8()), *filled)
        if lo == 0:  # the first clean row of each HTML template is a sample
            for k in range(HTML_TEMPLATES):
                row = next(int(r) for r in np.flatnonzero(tmpl == k) if int(r) != self.invalid_session)
                html = notes[row].as_py()
                self.html_samples.append({"object": "sessions", "source_id": _id("SE-", row), "field": "notes",
                                          "source_row": row + 2, "html": html, "expected_text": html_to_text(html)})
        return notes

    def participants(self) -> None:
        rng = self.rng("session_participants")
        counts = 1 + self.s_extras
        session = np.repeat(np.arange(len(counts)), counts)
        first_row = np.concatenate([[0], np.cumsum(counts)[:-1]])
        booking = np.zeros(len(session), dtype=bool)
        booking[first_row] = True
        # Other clients of a group session: distinct, and never the booking client.
        gc = self.good_clients
        rank = np.arange(len(session)) - np.repeat(first_row, counts)
        step = rng.integers(1, max(2, len(gc) // 4), len(counts))[session]
        other = gc[(np.searchsorted(gc, self.s_client[session]) + rank * step) % len(gc)]
        self.sp_session, self.sp_client = session, np.where(booking, self.s_client[session], other)
        orphan = int(rng.choice(np.flatnonzero(~booking)))
        self.over["session_participants"]["client_id"][orphan] = "CL-990001"
        self.truth.add("session_participants", orphan, "client_id", "ORPHAN_REFERENCE", "client CL-990001 is not in the export")
        cascade = int(first_row[self.invalid_session])
        self.truth.add("session_participants", cascade, "session_id", "PARENT_REJECTED",
                       f"its session {_id('SE-', self.invalid_session)} has an invalid start (INVALID_DATE)")
        self.counts["session_participants"] = len(session)

    def build_session_participants(self, lo: int, hi: int, rng: np.random.Generator) -> dict[str, pa.Array]:
        n, session = hi - lo, self.sp_session[lo:hi]
        status = self.s_status[session]  # scheduled, completed, cancelled, no_show
        completed = np.where(rng.random(n) < 0.93, 1, 2)
        attendance = np.choose(status, [0, completed, 3, 2])
        added = np.minimum(self.s_created[session] + rng.integers(0, 3 * 3600, n), _EXPORT)
        return {
            "participant_id": _ids("SP-", np.arange(lo, hi)), "session_id": _ids("SE-", session),
            "client_id": _ids("CL-", self.sp_client[lo:hi]),
            "attendance": _take(list(ATTENDANCE_VALUES), attendance),
            "added_at": _times(added, rng, DATE_FORMATS),
        }

    # -- invoices ----------------------------------------------------------------------------
    def invoices(self) -> None:
        k, rng = self.n["invoices"], self.rng("invoices")
        from_pkg = rng.random(k) < 0.7
        pkg = self.good_packages[rng.integers(0, len(self.good_packages), k)]
        client = np.where(from_pkg, self.p_client[pkg], self.good_clients[rng.integers(0, len(self.good_clients), k)])
        self.i_course = np.where(from_pkg, self.p_course[pkg], -1)
        fee = np.array(SESSION_FEES_EUR)[rng.integers(0, len(SESSION_FEES_EUR), k)] * 100
        self.i_amount = np.where(from_pkg, self.k_price[np.maximum(self.i_course, 0)], fee)
        self.i_currency = np.where(from_pkg, self.k_currency[np.maximum(self.i_course, 0)],
                                   rng.choice(3, k, p=[0.8, 0.1, 0.1]))
        issued = np.where(from_pkg, self.p_enrolled[pkg] + rng.integers(0, 5, k) * _DAY,
                          _office(_between(rng, self.c_created[client], np.full(k, _EXPORT - 2 * _DAY)), rng))
        self.i_issued, self.i_client = np.minimum(issued, _EXPORT - _DAY), client
        self.i_due = self.i_issued + np.where(rng.random(k) < 0.6, 14, 30) * _DAY
        status = rng.choice(4, k, p=[0.65, 0.15, 0.12, 0.08])  # INVOICE_STATUSES
        self.i_status = np.where((status == 2) & (self.i_due >= _EXPORT), 1, status)
        d = rng.choice(np.arange(1, k), size=3, replace=False)
        dup, unknown, bad_amount = int(d[0]), int(d[1]), int(d[2])
        first = int(rng.choice(np.setdiff1d(np.arange(dup), d)))
        self.over["invoices"]["invoice_id"][dup] = _id("IN-", first)
        self.truth.add("invoices", dup, "invoice_id", "DUPLICATE_SOURCE_ID",
                       f"second row with this id; the first is row {first + 2}", first_source_row=first + 2)
        self.over["invoices"]["status"][unknown] = UNKNOWN_INVOICE_STATUS
        self.truth.add("invoices", unknown, "status", "UNMAPPED_VALUE", f"status {UNKNOWN_INVOICE_STATUS!r} is not known")
        self.over["invoices"]["amount"][bad_amount] = "1.250,00"
        self.truth.add("invoices", bad_amount, "amount", "INVALID_NUMBER", "decimal comma with a dot for thousands")
        self.counts["invoices"] = k

    def build_invoices(self, lo: int, hi: int, rng: np.random.Generator) -> dict[str, pa.Array]:
        sl = slice(lo, hi)
        issued = pa.array(self.i_issued[sl], pa.timestamp("s"))
        return {
            "invoice_id": _ids("IN-", np.arange(lo, hi)),
            "invoice_number": _cat("INV-", pc.strftime(issued, format="%Y"), "-", _num(np.arange(lo, hi) + 1001, 5)),
            "client_id": _ids("CL-", self.i_client[sl]), "course_id": _ids("CO-", self.i_course[sl]),
            "amount": _money(self.i_amount[sl], rng), "currency": _take(list(CURRENCIES), self.i_currency[sl]),
            "issued_on": _times(self.i_issued[sl], rng, DATE_ONLY_FORMATS),
            "due_on": _times(self.i_due[sl], rng, DATE_ONLY_FORMATS),
            "status": _take(list(INVOICE_STATUSES), self.i_status[sl]),
            "modified_at": _times(np.minimum(_modified(rng, self.i_issued[sl]) + _DAY, _EXPORT), rng, DATE_FORMATS),
        }

    # -- notes -------------------------------------------------------------------------------
    def parents(self, rng: np.random.Generator, kind: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(parent index, parent's creation time) per row of kind 0 client, 1 session, 2 course."""
        n = len(kind)
        options = [self.good_clients, self.good_sessions, self.good_courses]
        created = [self.c_created, np.minimum(self.s_start, _EXPORT - _DAY), self.k_created]
        parent = np.zeros(n, dtype=np.int64)
        when = np.zeros(n, dtype=np.int64)
        for k in range(3):
            sel = kind == k
            parent[sel] = options[k][rng.integers(0, len(options[k]), int(sel.sum()))]
            when[sel] = created[k][parent[sel]]
        return parent, when

    def notes(self) -> None:
        q, rng = self.n["notes"], self.rng("notes")
        kind = rng.choice(3, q, p=PARENT_KIND_WEIGHTS)
        kind[:3] = [0, 1, 2]
        parent, after = self.parents(rng, kind)
        self.note_kind, self.note_parent = kind, parent
        self.note_created = _office(_between(rng, after + _DAY, np.full(q, _EXPORT - _DAY)), rng)
        d = rng.choice(np.arange(3, q), size=2, replace=False)
        malformed, orphan = int(d[0]), int(d[1])
        # Mostly the coaches write notes; now and then an admin or assistant.
        self.note_author = np.where(rng.random(q) < 0.9, self.coach(rng, q, d),
                                    self.good_staff[rng.integers(0, len(self.good_staff), q)])
        self.over["notes"]["parent_type"][orphan] = "session"
        self.over["notes"]["parent_id"][orphan] = "SE-990001"
        self.truth.add("notes", orphan, "parent_id", "ORPHAN_REFERENCE", "session SE-990001 is not in the export")
        self.over["notes"]["body"][malformed] = "Discussed next steps."

        def unquoted_title(row: dict) -> str:
            row["title"] = "Call notes, follow-up"
            return ",".join(row["title"] if k == "title" else csv_field(v) for k, v in row.items())

        self.raw["notes"][malformed] = unquoted_title
        self.truth.add("notes", malformed, None, "UNPARSEABLE_ROW", "unquoted comma in title: one field too many")
        self.counts["notes"] = q

    def build_notes(self, lo: int, hi: int, rng: np.random.Generator) -> dict[str, pa.Array]:
        n, sl = hi - lo, slice(lo, hi)
        kind = self.note_kind[sl]
        prefixes = ["CL-", "SE-", "CO-"]
        parent_id = pc.choose(pa.array(kind, pa.int8()), *(_ids(p, self.note_parent[sl]) for p in prefixes))
        titles = [_take(NOTE_TITLES[t], rng.integers(0, len(NOTE_TITLES[t]), n)) for t in ("client", "session", "course")]
        return {
            "note_id": _ids("NO-", np.arange(lo, hi)), "parent_type": _take(["client", "session", "course"], kind),
            "parent_id": parent_id, "title": pc.choose(pa.array(kind, pa.int8()), *titles),
            "body": _take(NOTE_BODIES, rng.integers(0, len(NOTE_BODIES), n)),
            "author_email": self.emails_of(self.note_author[sl]),
            "created_at": _times(self.note_created[sl], rng, DATE_FORMATS),
            "modified_at": _times(_modified(rng, self.note_created[sl]), rng, DATE_FORMATS),
        }

    # -- attachments -------------------------------------------------------------------------
    def attachments(self, out_dir: Path) -> None:
        a, rng = self.n["attachments"], self.rng("attachments")
        kind = rng.choice(3, a, p=ATTACHMENT_KIND_WEIGHTS)
        kind[: len(FIRST_FILES)] = [k for k, _ in FIRST_FILES]  # every file type occurs, even at tiny scales
        if (kind[len(FIRST_FILES):] == 0).sum() < 6 or (kind[len(FIRST_FILES):] == 2).sum() < 2:
            kind[len(FIRST_FILES): len(FIRST_FILES) + 8] = [0] * 6 + [2] * 2
        recordable = np.flatnonzero((self.s_status == 1) & (self.s_start < _EXPORT - _DAY))
        recordable = recordable[recordable != self.invalid_session]
        options = [recordable, self.good_courses, self.good_clients]
        ready = [self.s_start + self.s_duration + 3600, self.k_created, self.c_created]  # when a file can exist
        parent, after = np.zeros(a, dtype=np.int64), np.zeros(a, dtype=np.int64)
        for k in range(3):
            sel = kind == k
            parent[sel] = options[k][rng.integers(0, len(options[k]), int(sel.sum()))]
            after[sel] = ready[k][parent[sel]]
        ext = np.empty(a, dtype=object)
        slug = np.empty(a, dtype=object)
        size = np.zeros(a, dtype=np.int64)
        for k, (_, _, exts, slugs, (lo, hi)) in enumerate(ATTACHMENT_KINDS):
            sel = np.flatnonzero(kind == k)
            ext[sel] = np.array(exts, dtype=object)[rng.integers(0, len(exts), len(sel))]
            slug[sel] = np.array(slugs, dtype=object)[rng.integers(0, len(slugs), len(sel))]
            size[sel] = rng.integers(lo, hi, len(sel))
        ext[: len(FIRST_FILES)] = [e for _, e in FIRST_FILES]
        later = np.arange(a) >= len(FIRST_FILES)
        d = rng.choice(np.flatnonzero((kind == 0) & later), size=4, replace=False)
        big, external = int(d[0]), [int(x) for x in d[1:]]
        missing = int(rng.choice(np.flatnonzero((kind == 2) & later)))
        ext[big], slug[big], size[big] = "mp4", "session-recording", BIG_FILE_SIZE
        size[external] = rng.integers(150, 900, len(external)) * 1_048_576
        ids = [_id("AT-", i) for i in range(a)]
        names = [f"{ids[i]}_{slug[i]}.{ext[i]}" for i in range(a)]
        sha = [None] * a
        files = out_dir / FILES_DIR
        files.mkdir(parents=True, exist_ok=True)
        for i in range(a):  # one attachment body at a time: hashed, written, dropped
            if i in external:
                continue
            if i == big:
                sha[i] = _zeros_sha256(BIG_FILE_SIZE)
                if self.with_files:  # sparse: seek to the end and write one byte, no disk used
                    with open(files / names[i], "wb") as f:
                        f.seek(BIG_FILE_SIZE - 1)
                        f.write(b"\0")
                continue
            body = _body(ext[i], slug[i], ids[i], int(size[i]))
            sha[i] = hashlib.sha256(body).hexdigest()
            if self.with_files and i != missing:
                (files / names[i]).write_bytes(body)
        self.a_kind, self.a_parent, self.a_after, self.a_ext, self.a_size = kind, parent, after, ext, size
        self.a_names, self.a_sha = names, sha
        self.a_uploader = np.where(kind == 0, self.s_coach[np.where(kind == 0, parent, 0)],
                                   self.good_staff[rng.integers(0, len(self.good_staff), a)])
        self.a_uploader[[big, missing, *external]] = self.good_coaches[0]
        for i in external:
            link = f"{VIDEO_HOST}{_id('SE-', parent[i]).lower()}-{i + 1}"
            self.over["attachments"]["file_name"][i] = None
            self.over["attachments"]["file_url"][i] = link
            self.truth.add("attachments", i, "file_name", "FILE_LINKED",
                           "recording kept outside the export (only its URL): loaded as a link, reported", link=link)
        self.truth.add("attachments", big, "size_bytes", "FILE_LINKED",
                       f"{BIG_FILE_SIZE} bytes, over the {FILE_SIZE_LIMIT}-byte limit: loaded as a link to file_url, reported"
                       + (" (sparse file)" if self.with_files else " (not written: with_files=False)"),
                       file_name=names[big], link=f"{FILES_URL}/session/{ids[big]}")
        if self.with_files:
            self.truth.add("attachments", missing, "file_name", "FILE_MISSING", "listed, but not in files/")
        self.counts["attachments"] = a

    def build_attachments(self, lo: int, hi: int, rng: np.random.Generator) -> dict[str, pa.Array]:
        n, sl = hi - lo, slice(lo, hi)
        kind = self.a_kind[sl]
        kinds = pa.array(kind, pa.int8())
        parent_id = pc.choose(kinds, *(_ids(p, self.a_parent[sl]) for p in ("SE-", "CO-", "CL-")))
        parent_type = _take([k[1] for k in ATTACHMENT_KINDS], kind)
        ids = _ids("AT-", np.arange(lo, hi))
        uploaded = np.minimum(_office(self.a_after[sl] + rng.integers(0, 20, n) * _DAY, rng), _EXPORT)
        uploaded = np.where(kind == 0, np.minimum(self.a_after[sl], _EXPORT), uploaded)
        return {
            "attachment_id": ids, "parent_type": parent_type, "parent_id": parent_id,
            "file_name": _s(self.a_names[lo:hi]),
            "content_type": _s([CONTENT_TYPES[e] for e in self.a_ext[lo:hi]]),
            "size_bytes": _num(self.a_size[sl]), "sha256": _s(self.a_sha[lo:hi]),
            "file_url": _cat(FILES_URL, "/", parent_type, "/", ids),
            "uploaded_by_email": self.emails_of(self.a_uploader[sl]),
            "uploaded_at": _times(uploaded, rng, DATE_FORMATS),
        }

    # -- coach assignments -------------------------------------------------------------------
    def assignments(self) -> None:
        rng = self.rng("coach_assignments")
        gc = self.good_clients
        extra = (rng.random(len(gc)) < 0.15).astype(np.int64) + (rng.random(len(gc)) < 0.08)
        client = np.repeat(gc, 1 + extra)
        first_row = np.concatenate([[0], np.cumsum(1 + extra)[:-1]])
        rank = np.arange(len(client)) - np.repeat(first_row, 1 + extra)  # 0 primary, 1 secondary, 2 trial
        primary = self.c_coach[client]
        pos = np.searchsorted(self.coaches, primary)
        other = self.coaches[(pos + rank) % len(self.coaches)]  # a different coach for the extra relationships
        self.ca_client, self.ca_rank = client, rank
        self.ca_coach = np.where(rank == 0, primary, other)
        days = np.where(rank == 0, rng.integers(0, 3, len(client)), rng.integers(1, 300, len(client)))
        self.ca_assigned = np.minimum(_later(rng, self.c_created[client], days), _EXPORT - _DAY)
        unknown = int(rng.choice(np.flatnonzero(rank > 0)))
        self.ca_coach[unknown] = self.good_coaches[0] if self.good_coaches[0] != primary[unknown] else self.good_coaches[1]
        self.over["coach_assignments"]["relationship_type"][unknown] = UNKNOWN_RELATIONSHIP
        self.truth.add("coach_assignments", unknown, "relationship_type", "UNMAPPED_VALUE",
                       f"relationship type {UNKNOWN_RELATIONSHIP!r} is not known")
        self.counts["coach_assignments"] = len(client)

    def build_coach_assignments(self, lo: int, hi: int, rng: np.random.Generator) -> dict[str, pa.Array]:
        sl = slice(lo, hi)
        return {
            "assignment_id": _ids("CA-", np.arange(lo, hi)), "coach_email": self.emails_of(self.ca_coach[sl]),
            "client_id": _ids("CL-", self.ca_client[sl]),
            "relationship_type": _take(list(RELATIONSHIP_TYPES), self.ca_rank[sl]),
            "assigned_at": _times(self.ca_assigned[sl], rng, DATE_FORMATS),
            "modified_at": _times(_modified(rng, self.ca_assigned[sl]), rng, DATE_FORMATS),
        }

    # -- writing -----------------------------------------------------------------------------
    def write(self, out_dir: Path, name: str) -> None:
        layout = LAYOUTS[name]
        encoding, term = FILE_FORMATS.get(layout.file, ("utf-8", "\n"))
        build = getattr(self, f"build_{name}")
        over, raw = self.over.get(name, {}), self.raw.get(name, {})
        n = self.counts[name]
        with open(out_dir / layout.file, "wb") as f:
            if encoding == "utf-8-sig":
                f.write(b"\xef\xbb\xbf")
            f.write((",".join(layout.columns) + term).encode("ascii"))
            for k, lo in enumerate(range(0, n, CHUNK)):
                hi = min(n, lo + CHUNK)
                cols = build(lo, hi, self.rng(name, k))
                assert tuple(cols) == layout.columns, (name, tuple(cols))
                for col, values in over.items():
                    here = {r - lo: v for r, v in values.items() if lo <= r < hi}
                    if here:
                        cols[col] = _set(cols[col], here)
                raws = {r - lo: fn({c: cols[c][r - lo].as_py() for c in layout.columns})
                        for r, fn in raw.items() if lo <= r < hi}
                self.truth.fill(name, lo, hi, cols, layout.id_column, raws)
                lines = _csv_lines([cols[c] for c in layout.columns], term)
                if raws:
                    lines = _set(lines.cast(pa.large_string()), {r: text + term for r, text in raws.items()})
                f.write(_joined(lines))

    def run(self, out_dir: Path) -> Path:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        self.staff()
        self.clients()
        self.courses()
        self.packages()
        self.sessions()
        self.participants()
        self.invoices()
        self.notes()
        self.attachments(out_dir)
        self.assignments()
        for name in LAYOUTS:
            self.write(out_dir, name)
        for file_name, content in NON_DATA.items():
            _write_json(out_dir / file_name, content)
        _write_json(out_dir / TRUTH_FILE, self.truth_document())
        return out_dir

    def truth_document(self) -> dict:
        samples = []
        for i in self.good_clients:
            if len(samples) == 3:
                break
            first, last = FIRST_NAMES[self.c_first[i]], LAST_NAMES[self.c_last[i]]
            fld, value = ("last_name", last) if not last.isascii() else ("first_name", first)
            if not value.isascii():
                samples.append({"object": "clients", "source_id": _id("CL-", i), "field": fld, "value": value})
        samples.append({"object": "staff", "source_id": _id("ST-", 4), "field": "first_name", "value": STAFF[4][0]})
        samples.append({"object": "courses", "source_id": _id("CO-", NON_ASCII_COURSE), "field": "title",
                        "value": self.k_titles[NON_ASCII_COURSE]})
        assert not any(v is _FILL for d in self.truth.defects for v in d.values())
        return {
            "seed": self.seed, "scale": self.scale, "with_files": self.with_files, "counts": self.counts,
            "timezone": SOURCE_TIMEZONE, "file_size_limit": FILE_SIZE_LIMIT,
            "files": {LAYOUTS[n].file: dict(zip(("encoding", "record_terminator"), FILE_FORMATS.get(LAYOUTS[n].file, ("utf-8", "\n"))))
                      for n in LAYOUTS},
            "defects": self.truth.defects,
            "package_links": self.package_links,
            "unmatched_owner_emails": [self.staff_emails[i] for i in UNMATCHED_STAFF],
            "inactive_owner_emails": [self.staff_emails[i] for i in INACTIVE_STAFF],
            "non_ascii_samples": samples,
            "html_samples": self.html_samples,
            "html_text_rule": "<br> and closing p/div/li/tr/h*/blockquote -> line break; other tags removed; "
            "entities decoded (&nbsp; -> space); spaces collapsed per line; lines trimmed; blank lines dropped",
        }


def _write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# The non-data files (configuration Profi exports beside the data)

NON_DATA: dict[str, list[dict]] = {
    "automations.json": [
        {"name": "Welcome new client", "trigger": "client.created", "conditions": [],
         "actions": [{"type": "send_email", "template": "Welcome to Lumen Coaching", "to": "client"},
                     {"type": "create_task", "subject": "Schedule the discovery call", "assign_to": "client.coach",
                      "due_in_days": 2}]},
        {"name": "Session reminder (24 h)", "trigger": "session.starts_in", "conditions": [{"hours_before": 24}],
         "actions": [{"type": "send_email", "template": "Your session tomorrow", "to": "session.participants"},
                     {"type": "send_sms", "template": "Reminder: session at {start_time}", "to": "session.participants"}]},
        {"name": "No-show follow-up", "trigger": "session.status_changed",
         "conditions": [{"field": "status", "operator": "equals", "value": "no_show"}],
         "actions": [{"type": "send_email", "template": "Sorry we missed you", "to": "session.participants"},
                     {"type": "notify", "to": "session.coach"}]},
        {"name": "Package running low", "trigger": "package.session_used",
         "conditions": [{"field": "sessions_remaining", "operator": "less_or_equal", "value": 1}],
         "actions": [{"type": "send_email", "template": "Time to renew your package", "to": "package.client"},
                     {"type": "create_task", "subject": "Renewal conversation", "assign_to": "client.coach"}]},
        {"name": "Invoice overdue reminder", "trigger": "schedule.daily",
         "conditions": [{"field": "invoice.status", "operator": "equals", "value": "Overdue"},
                        {"field": "days_overdue", "operator": "in", "value": [3, 10, 30]}],
         "actions": [{"type": "send_email", "template": "Payment reminder", "to": "invoice.client"}]},
        {"name": "Alumni tagging", "trigger": "package.status_changed",
         "conditions": [{"field": "status", "operator": "equals", "value": "completed"},
                        {"field": "client.active_packages", "operator": "equals", "value": 0}],
         "actions": [{"type": "update_field", "field": "client.status", "value": "alumni"}]},
    ],
    "drip_content.json": [
        {"name": "Executive Presence – weekly modules", "course": "Executive Presence", "release": "after_enrollment",
         "steps": [{"day": 0, "unlock": "Module 1: Your leadership story"}, {"day": 7, "unlock": "Module 2: Voice & posture"},
                   {"day": 14, "unlock": "Module 3: Difficult conversations"}, {"day": 28, "unlock": "Final assessment"}]},
        {"name": "Burnout Recovery – gentle start", "course": "Burnout Recovery", "release": "after_first_session",
         "steps": [{"day": 1, "unlock": "Energy audit worksheet"}, {"day": 10, "unlock": "Boundaries workbook"}]},
        {"name": "Führung & Präsenz – Kohorte", "course": "Führung & Präsenz", "release": "fixed_dates",
         "steps": [{"date": "2025-04-07", "unlock": "Modul 1: Haltung"}, {"date": "2025-04-21", "unlock": "Modul 2: Wirkung"}]},
    ],
    "email_sequences.json": [
        {"name": "Discovery call nurture", "trigger": "client.status == prospect",
         "steps": [{"delay_days": 0, "subject": "Thanks for your interest", "template": "nurture_1"},
                   {"delay_days": 3, "subject": "What clients say about coaching", "template": "nurture_2"},
                   {"delay_days": 7, "subject": "Book your free discovery call", "template": "nurture_3"}]},
        {"name": "Post-programme check-in", "trigger": "package.status == completed",
         "steps": [{"delay_days": 14, "subject": "How are things going?", "template": "checkin_1"},
                   {"delay_days": 90, "subject": "Three months on", "template": "checkin_2"}]},
        {"name": "Birthday greeting", "trigger": "client.cf_birthday == today",
         "steps": [{"delay_days": 0, "subject": "Happy birthday!", "template": "birthday"}]},
    ],
    "custom_fields.json": [
        {"name": "Goals", "column": "cf_goals", "object": "client", "type": "long_text"},
        {"name": "Preferred channel", "column": "cf_preferred_channel", "object": "client", "type": "picklist",
         "options": list(PREFERRED_CHANNELS)},
        {"name": "Birthday", "column": "cf_birthday", "object": "client", "type": "date"},
        {"name": "Marketing opt-in", "column": "cf_marketing_opt_in", "object": "client", "type": "yes_no"},
    ],
}


# ---------------------------------------------------------------------------------------------
# Public entry points


def generate_export(out_dir: Path, *, seed: int = 7, scale: float = 1.0, with_files: bool = True) -> Path:
    """Write a deterministic, deliberately messy Profi export to ``out_dir``; returns it.

    Same seed and scale give byte-identical CSV and JSON files (``with_files`` changes only which
    attachment bodies are written and the truth file). ``_generator_truth.json`` records the
    counts and every deliberate defect (see the module docstring).
    """
    return _Generator(seed, scale, with_files).run(Path(out_dir))


def load_truth(export_dir: Path) -> dict:
    """The generator's record of an export it wrote."""
    return json.loads((Path(export_dir) / TRUTH_FILE).read_text(encoding="utf-8"))


def destination_users(export_dir: Path) -> list[dict]:
    """The users a demo destination org should have for this export.

    Every staff member except those who never got a destination account (``Email, FirstName,
    LastName, IsActive``); the coach who has left is there with ``IsActive`` false.
    """
    from crm_migration.sources.export_folder import read_export_object

    truth = load_truth(export_dir)
    unmatched = {e.casefold() for e in truth["unmatched_owner_emails"]}
    inactive = {e.casefold() for e in truth["inactive_owner_emails"]}
    staff = read_export_object(Path(export_dir), LAYOUTS["staff"], ExportAliases()).table
    out = []
    for email, first, last in zip(*(staff.column(c).to_pylist() for c in ("email", "first_name", "last_name"))):
        if email is None or email.casefold() in unmatched:
            continue
        out.append({"Email": email, "FirstName": first or "", "LastName": last or first or email,
                    "IsActive": email.casefold() not in inactive})
    return out
