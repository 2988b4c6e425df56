"""The Profi source: layout, reader (aliases, rebuilt links), and the messy generator and its truth file."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from crm_migration.pipeline.normalize import parse_datetimes
from crm_migration.reasons import REASONS
from crm_migration.sources import get_source, source_names
from crm_migration.sources.base import SOURCE_FILE, SOURCE_ROW, ExportAliases
from crm_migration.sources.perfect_portal.generator import html_to_text
from crm_migration.sources.profi import SOURCE
from crm_migration.sources.profi.generator import (
    FILE_SIZE_LIMIT,
    TRUTH_FILE,
    destination_users,
    generate_export,
    load_truth,
)
from crm_migration.sources.profi.layout import (
    ATTENDANCE_VALUES,
    BOOLEAN_VALUES,
    CLIENT_STATUSES,
    COURSE_STATUSES,
    DATE_FORMATS,
    DERIVED_COLUMNS,
    INVOICE_STATUSES,
    NAIVE_DATE_FORMATS,
    NON_DATA_FILES,
    PACKAGE_STATUSES,
    PREFERRED_CHANNELS,
    RELATIONSHIP_TYPES,
    SESSION_FIELDS,
    SESSION_STATUSES,
    SOURCE_TIMEZONE,
    STAFF_ROLES,
)

EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
NO_ALIASES = ExportAliases()
DATE_COLUMNS = {
    "staff": ["created_at"],
    "clients": ["cf_birthday", "created_at", "modified_at"],
    "courses": ["start_date", "created_at", "modified_at"],
    "packages": ["enrolled_at", "valid_until", "modified_at"],
    "sessions": ["start_at", "end_at", "created_at", "modified_at"],
    "session_participants": ["added_at"],
    "invoices": ["issued_on", "due_on", "modified_at"],
    "notes": ["created_at", "modified_at"],
    "attachments": ["uploaded_at"],
    "coach_assignments": ["assigned_at", "modified_at"],
}


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    return generate_export(tmp_path_factory.mktemp("profi") / "export", seed=7, scale=1.0)


@pytest.fixture(scope="module")
def truth(export) -> dict:
    return load_truth(export)


@pytest.fixture(scope="module")
def data(export) -> dict:
    return {name: SOURCE.read(export, name, NO_ALIASES) for name in SOURCE.layouts}


def records(data, name) -> list[dict]:
    return data[name].table.to_pylist()


def by_id(data, name) -> dict[str, dict]:
    out = {}
    for r in records(data, name):
        out.setdefault(r["_source_id"], r)  # the first row of a repeated id
    return out


def defects(truth, code, obj=None) -> list[dict]:
    return [d for d in truth["defects"] if d["reason_code"] == code and (obj is None or d["object"] == obj)]


def local_dates(values) -> pd.Series:
    parsed = parse_datetimes(pd.Series(values, dtype="string"), list(NAIVE_DATE_FORMATS), SOURCE_TIMEZONE)
    return parsed.dt.tz_convert(SOURCE_TIMEZONE).dt.normalize()


# --------------------------------------------------------------------------------------------


def test_source_protocol_and_registry():
    src = get_source("profi")
    assert src is SOURCE and src.name == "profi" and "profi" in source_names()
    assert set(src.layouts) == {
        "staff", "clients", "courses", "packages", "sessions", "session_participants", "invoices", "notes",
        "attachments", "coach_assignments",
    }
    assert all(layout.id_column in layout.columns for layout in src.layouts.values())
    with pytest.raises(KeyError, match="objects"):
        src.read(Path("."), "contacts", NO_ALIASES)


def test_generator_is_deterministic_and_files_do_not_change_the_data(tmp_path):
    a = generate_export(tmp_path / "a", seed=11, scale=0.2)
    b = generate_export(tmp_path / "b", seed=11, scale=0.2)
    files_a = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    assert files_a == files_b and len(files_a) > 40
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    c = generate_export(tmp_path / "c", seed=12, scale=0.2)
    assert (c / "sessions.csv").read_bytes() != (a / "sessions.csv").read_bytes()
    d = generate_export(tmp_path / "d", seed=11, scale=0.2, with_files=False)
    assert list((d / "files").iterdir()) == []
    for layout in SOURCE.layouts.values():  # the CSV files do not depend on with_files
        assert (d / layout.file).read_bytes() == (a / layout.file).read_bytes(), layout.file


def test_counts_at_scale_one(truth, data):
    counts = truth["counts"]
    expected = {"staff": 14, "clients": 500, "courses": 20, "packages": 600, "sessions": 1200,
                "session_participants": 1400, "invoices": 700, "notes": 400, "attachments": 200,
                "coach_assignments": 600}
    for name, n in expected.items():
        assert 0.85 * n <= counts[name] <= 1.15 * n, (name, counts[name])
        read = data[name]
        assert read.table.num_rows + read.rejects.num_rows == counts[name], name
    assert 4000 <= sum(counts.values()) <= 8000
    assert truth["seed"] == 7 and truth["scale"] == 1.0


def test_every_object_reads_cleanly_except_the_malformed_row(data):
    for name, read in data.items():
        assert read.missing_columns == () and read.extra_columns == (), name
        assert read.rejects.num_rows == (1 if name == "notes" else 0), name
        derived = list(DERIVED_COLUMNS.get(name, {}))
        assert read.table.column_names == [*SOURCE.layouts[name].columns, *derived, "_source_file", "_source_row",
                                           "_source_id"], name
    assert data["clients"].encoding == "utf-8-sig"


def test_aliases_rename_files_and_columns(export, data, tmp_path):
    copy = tmp_path / "renamed"
    shutil.copytree(export, copy, ignore=shutil.ignore_patterns("files"))
    (copy / "clients.csv").rename(copy / "Client Export.csv")
    (copy / "packages.csv").rename(copy / "Enrollments.csv")
    renames = {"clients.csv": {"email": "E-Mail Address", "client_id": "Client ID"},
               "sessions.csv": {"package_id": "Package #", "start_at": "Start"},
               "packages.csv": {"valid_until": "Valid Until"},
               "notes.csv": {"parent_type": "Related To"}}
    files = {"clients.csv": "Client Export.csv", "packages.csv": "Enrollments.csv"}
    for file, cols in renames.items():
        path = copy / files.get(file, file)
        raw = path.read_bytes()
        head, sep, rest = raw.partition(b"\n")
        for old, new in cols.items():
            head = re.sub(rb"(^|,|\xef\xbb\xbf)" + old.encode() + rb"(?=,|\r|$)", rb"\g<1>" + new.encode(), head)
        path.write_bytes(head + sep + rest)
    aliases = ExportAliases(
        files={"clients": "Client Export.csv", "packages": "Enrollments.csv"},
        columns={"clients": {"email": "E-Mail Address", "client_id": "Client ID"},
                 "sessions": {"package_id": "Package #", "start_at": "Start"},
                 "packages": {"valid_until": "Valid Until"}, "notes": {"parent_type": "Related To"}},
    )
    for name in ("clients", "sessions", "packages", "notes"):
        read = SOURCE.read(copy, name, aliases)
        assert read.missing_columns == () and read.extra_columns == (), name
        original = data[name].table.drop_columns([SOURCE_FILE])
        assert read.table.drop_columns([SOURCE_FILE]).equals(original), name
    assert SOURCE.read(copy, "clients", aliases).header_map["email"] == "E-Mail Address"
    with pytest.raises(FileNotFoundError, match="clients"):
        SOURCE.read(copy, "clients", NO_ALIASES)


def test_defect_rows_match_the_reader(truth, data):
    assert truth["defects"]
    for d in truth["defects"]:
        assert d["reason_code"] in REASONS, d
        if d["reason_code"] in ("UNPARSEABLE_ROW", "DUPLICATE_SOURCE_ID"):
            continue
        rows = [r for r in records(data, d["object"]) if r["_source_id"] == d["source_id"]]
        assert len(rows) == 1, d
        assert rows[0][SOURCE_ROW] == d["source_row"], d
        assert rows[0][d["field"]] == d["value"], d


def test_at_most_one_defect_per_record(truth):
    keys = [(d["object"], d["source_row"]) for d in truth["defects"]]
    assert len(keys) == len(set(keys))
    assert {d["reason_code"] for d in truth["defects"]} >= {
        "DUPLICATE_SUSPECTED", "INVALID_EMAIL", "REQUIRED_MISSING", "INVALID_DATE", "INVALID_BOOLEAN",
        "INVALID_NUMBER", "UNMAPPED_VALUE", "ORPHAN_REFERENCE", "PARENT_REJECTED", "DUPLICATE_SOURCE_ID",
        "UNPARSEABLE_ROW", "FILE_LINKED", "FILE_MISSING",
    }


def test_duplicate_clients_by_email(truth, data):
    dups = defects(truth, "DUPLICATE_SUSPECTED", "clients")
    groups = {tuple(d["group"]) for d in dups}
    assert len(groups) >= 2 and sum(len(g) for g in groups) == len(dups)
    clients = by_id(data, "clients")
    case_differs = False
    for group in groups:
        members = [clients[i] for i in group]
        assert len({(m["first_name"], m["last_name"], m["email"].casefold()) for m in members}) == 1
        case_differs |= len({m["email"] for m in members}) > 1
    assert case_differs
    flagged = {i for g in groups for i in g}
    others = [r["email"].casefold() for r in records(data, "clients") if r["email"] and r["client_id"] not in flagged]
    assert len(others) == len(set(others))  # outside the groups, every address is unique
    assert sum(r["email"] is None for r in records(data, "clients")) >= 5  # some clients have no e-mail at all


def test_invalid_emails_and_clean_owner_emails(truth, data):
    bad = {d["source_id"]: d for d in defects(truth, "INVALID_EMAIL")}
    assert {d["note"] for d in bad.values()} == {"missing @", "two @", "contains a space", "trailing dot"}
    for r in records(data, "clients"):
        if r["email"] is not None:
            assert bool(EMAIL.match(r["email"])) != (r["client_id"] in bad), r["email"]
    staff = {r["email"] for r in records(data, "staff")}
    for name, col in [("clients", "coach_email"), ("courses", "coach_email"), ("sessions", "coach_email"),
                      ("notes", "author_email"), ("attachments", "uploaded_by_email"), ("coach_assignments", "coach_email")]:
        assert {r[col] for r in records(data, name)} <= staff, (name, col)


def test_dates_parse_with_the_pipeline_except_the_planted_ones(truth, data):
    invalid = {(d["object"], d["source_id"], d["field"]) for d in defects(truth, "INVALID_DATE")}
    assert {(o, f) for o, _, f in invalid} == {("clients", "cf_birthday"), ("sessions", "start_at")}
    for name, cols in DATE_COLUMNS.items():
        table = data[name].table.to_pandas()
        for col in cols:
            values = table[col].astype("string")
            parsed = parse_datetimes(values, list(NAIVE_DATE_FORMATS), SOURCE_TIMEZONE)
            failed = table.loc[values.notna() & parsed.isna(), "_source_id"]
            assert {(name, i, col) for i in failed} == {k for k in invalid if k[0] == name and k[2] == col}, (name, col)
    used = set()
    for value in data["sessions"].table.column("created_at").to_pylist():
        for fmt in DATE_FORMATS:
            try:
                datetime.strptime(value, fmt)
                used.add(fmt)
                break
            except ValueError:
                continue
    assert used == set(DATE_FORMATS)  # every format really occurs in one column


def test_value_domains_and_unknown_values(truth, data):
    unknown = {(d["object"], d["source_id"]) for d in defects(truth, "UNMAPPED_VALUE")}
    assert {o for o, _ in unknown} == {"packages", "invoices", "coach_assignments"}
    domains = [("staff", "role", STAFF_ROLES), ("clients", "status", CLIENT_STATUSES),
               ("clients", "cf_preferred_channel", PREFERRED_CHANNELS), ("courses", "status", COURSE_STATUSES),
               ("packages", "status", PACKAGE_STATUSES), ("sessions", "status", SESSION_STATUSES),
               ("session_participants", "attendance", ATTENDANCE_VALUES), ("invoices", "status", INVOICE_STATUSES),
               ("coach_assignments", "relationship_type", RELATIONSHIP_TYPES)]
    for name, col, domain in domains:
        outside = {(name, r["_source_id"]) for r in records(data, name) if r[col] is not None and r[col] not in domain}
        assert outside == {k for k in unknown if k[0] == name}, (name, col)
        assert set(domain) <= {r[col] for r in records(data, name)}, (name, col)  # every value occurs
    bools = {r["cf_marketing_opt_in"] for r in records(data, "clients")} - {None}
    [bad_bool] = defects(truth, "INVALID_BOOLEAN")
    assert bools == set(BOOLEAN_VALUES) | {bad_bool["value"]}


def test_numbers(truth, data):
    [bad] = defects(truth, "INVALID_NUMBER")
    for r in records(data, "invoices"):
        amount = r["amount"].replace(",", "") if re.match(r"^\d{1,3}(,\d{3})+(\.\d+)?$", r["amount"]) else r["amount"]
        if r["invoice_id"] == bad["source_id"] and r[SOURCE_ROW] == bad["source_row"]:
            with pytest.raises(ValueError):
                float(amount)
        else:
            assert float(amount) > 0
    assert any("," in r["amount"] for r in records(data, "invoices") if r["invoice_id"] != bad["source_id"])
    counts = {}
    for r in records(data, "packages"):
        counts[r["course_id"]] = counts.get(r["course_id"], 0) + 1
    for r in records(data, "courses"):
        assert int(r["enrollment_count"]) == counts.get(r["course_id"], 0)
        float(r["price"].replace(",", ""))


def test_orphans_and_cascades(truth, data):
    clients, courses, sessions = set(by_id(data, "clients")), set(by_id(data, "courses")), set(by_id(data, "sessions"))
    orphans = {(d["object"], d["source_id"]) for d in defects(truth, "ORPHAN_REFERENCE")}
    assert {o for o, _ in orphans} == {"packages", "session_participants", "notes"}
    found = {("packages", r["package_id"]) for r in records(data, "packages") if r["course_id"] not in courses}
    found |= {("session_participants", r["participant_id"]) for r in records(data, "session_participants")
              if r["client_id"] not in clients}
    parents = {"client": clients, "session": sessions, "course": courses}
    for name in ("notes", "attachments"):
        assert {r["parent_type"] for r in records(data, name)} == set(parents), name
    found |= {("notes", r["note_id"]) for r in records(data, "notes") if r["parent_id"] not in parents[r["parent_type"]]}
    assert found == orphans
    for name, col in [("packages", "client_id"), ("sessions", "client_id"), ("invoices", "client_id"),
                      ("coach_assignments", "client_id"), ("session_participants", "session_id")]:
        assert all(r[col] in (clients if col == "client_id" else sessions) for r in records(data, name)), name
    assert all(r["course_id"] is None or r["course_id"] in courses for r in records(data, "invoices"))
    # Records with a defect have no children, except the declared cascades.
    bad = {(d["object"], d["source_id"]) for d in truth["defects"] if d["reason_code"] != "DUPLICATE_SOURCE_ID"}
    cascades = {d["value"] for d in defects(truth, "PARENT_REJECTED")}
    bad_ids = {i for _, i in bad}
    for name, cols in [("packages", ["client_id", "course_id"]), ("sessions", ["client_id", "course_id", "package_id"]),
                       ("session_participants", ["session_id", "client_id"]), ("invoices", ["client_id", "course_id"]),
                       ("notes", ["parent_id"]), ("attachments", ["parent_id"]), ("coach_assignments", ["client_id"])]:
        for r in records(data, name):
            for col in cols:
                assert r[col] not in bad_ids or r[col] in cascades, (name, r["_source_id"], col)
    for d in defects(truth, "PARENT_REJECTED"):
        assert d["value"] in bad_ids


def test_required_missing(truth, data):
    req = {(d["object"], d["source_id"]) for d in defects(truth, "REQUIRED_MISSING")}
    found = {("clients", r["client_id"]) for r in records(data, "clients") if r["last_name"] is None}
    found |= {("courses", r["course_id"]) for r in records(data, "courses") if r["title"] is None}
    assert found == req and len(req) == 2


def test_duplicate_source_id(truth, data):
    [dup] = defects(truth, "DUPLICATE_SOURCE_ID")
    rows = [r for r in records(data, "invoices") if r["invoice_id"] == dup["source_id"]]
    assert [r[SOURCE_ROW] for r in rows] == [dup["first_source_row"], dup["source_row"]]
    ids = [r["invoice_id"] for r in records(data, "invoices")]
    assert len(ids) - len(set(ids)) == 1


def test_malformed_row_is_at_the_recorded_row(truth, data):
    [bad] = defects(truth, "UNPARSEABLE_ROW")
    [reject] = data["notes"].rejects.to_pylist()
    assert reject[SOURCE_ROW] == bad["source_row"] and reject["raw"] == bad["raw"] and bad["source_id"] in reject["raw"]
    assert bad["source_id"] not in by_id(data, "notes")
    for r in records(data, "notes"):  # rows after it (and after multi-line bodies) keep their numbers
        assert r[SOURCE_ROW] == int(r["note_id"].split("-")[1]) + 1


def test_package_links_are_rebuilt_as_the_truth_says(truth, data):
    links = {p["source_id"]: p for p in truth["package_links"]}
    assert {p["method"] for p in links.values()} == {"client_course_date", "package_name", "none"}
    assert sum(p["method"] == "none" for p in links.values()) >= 2
    sessions = records(data, "sessions")
    for s in sessions:
        if s["session_id"] in links:
            link = links[s["session_id"]]
            assert s["package_id"] is None and s[SOURCE_ROW] == link["source_row"]
            assert s["package_id_rebuilt"] == link["expected_package_id"], link
            assert s["package_link"] == link["method"], link
        elif s["package_id"] is not None:
            assert (s["package_id_rebuilt"], s["package_link"]) == (s["package_id"], "export")
        else:  # a session outside any package: nothing to rebuild
            assert (s["package_id_rebuilt"], s["package_link"], s["course_id"], s["package_name"]) == (None, "none", None, None)
    assert sum(s["package_id"] is None and s["session_id"] not in links for s in sessions) > 50


def test_exported_package_links_are_consistent(data):
    packages = by_id(data, "packages")
    sessions = [s for s in records(data, "sessions") if s["package_id"] is not None]
    pk = [packages[s["package_id"]] for s in sessions]
    assert all(s["client_id"] == p["client_id"] and s["course_id"] == p["course_id"] and s["package_name"] == p["package_name"]
               for s, p in zip(sessions, pk))
    day = local_dates([s["start_at"] for s in sessions])
    start, end = local_dates([p["enrolled_at"] for p in pk]), local_dates([p["valid_until"] for p in pk])
    valid = day.notna()
    assert valid.sum() == len(sessions) - 1  # the one invalid start
    assert ((day[valid] >= start[valid]) & (day[valid] <= end[valid])).all()


def test_participants_and_group_sessions(data):
    rows = records(data, "session_participants")
    by_session = {}
    for r in rows:
        by_session.setdefault(r["session_id"], []).append(r["client_id"])
    sessions = by_id(data, "sessions")
    assert set(by_session) == set(sessions)
    assert all(clients[0] == sessions[s]["client_id"] for s, clients in by_session.items())  # booking client first
    assert all(len(set(c)) == len(c) for c in by_session.values())
    group = [s for s, c in by_session.items() if len(c) > 1]
    assert len(group) >= 0.05 * len(sessions)
    assert {sessions[s]["title"] for s in group} <= {"Group coaching", "Mastermind circle", "Workshop"}
    for r in rows:  # each participant row carries its session's fields (one Event per client)
        assert all(r[f"session_{f}"] == sessions[r["session_id"]][f] for f in SESSION_FIELDS), r["participant_id"]


def test_coach_assignments(data):
    clients = by_id(data, "clients")
    rows = records(data, "coach_assignments")
    primary = {r["client_id"]: r["coach_email"] for r in rows if r["relationship_type"] == "primary"}
    assert all(clients[c]["coach_email"] == coach for c, coach in primary.items())
    assert len(primary) == len({r["client_id"] for r in rows})
    assert {r["relationship_type"] for r in rows} >= set(RELATIONSHIP_TYPES)


def test_attachments_big_missing_external_and_hashes(export, truth, data):
    linked = defects(truth, "FILE_LINKED")
    [big] = [d for d in linked if d["field"] == "size_bytes"]
    [missing] = defects(truth, "FILE_MISSING")
    external = {d["source_id"]: d for d in linked if d["field"] == "file_name"}
    assert len(external) >= 2 and len(linked) == len(external) + 1
    files = export / "files"
    rows = by_id(data, "attachments")
    big_row = rows[big["source_id"]]
    st = (files / big_row["file_name"]).stat()
    assert st.st_size > FILE_SIZE_LIMIT and st.st_size == int(big_row["size_bytes"])
    assert st.st_blocks * 512 < 1 << 20  # sparse: it costs no disk
    assert big_row["parent_type"] == "session" and big_row["content_type"] == "video/mp4"
    assert big["link"] == big_row["file_url"]
    assert not (files / rows[missing["source_id"]]["file_name"]).exists()
    kinds = set()
    for att_id, r in rows.items():
        if att_id in external:
            assert r["file_name"] is None and r["sha256"] is None and r["file_url"] == external[att_id]["link"]
            assert r["parent_type"] == "session" and int(r["size_bytes"]) > FILE_SIZE_LIMIT
            continue
        if att_id in (big["source_id"], missing["source_id"]):
            continue
        body = (files / r["file_name"]).read_bytes()
        assert len(body) == int(r["size_bytes"]) < 100_000
        assert hashlib.sha256(body).hexdigest() == r["sha256"]
        ext = r["file_name"].rsplit(".", 1)[1]
        kinds.add(ext)
        if ext in ("mp4", "m4a"):
            assert body[4:8] == b"ftyp" and r["parent_type"] == "session"
        elif ext == "pdf":
            assert body.startswith(b"%PDF-") and body.rstrip().endswith(b"%%EOF")
        elif ext == "png":
            assert body.startswith(b"\x89PNG\r\n\x1a\n")
    assert kinds == {"mp4", "m4a", "pdf", "docx", "png", "txt"}
    assert len(list(files.iterdir())) == len(rows) - len(external) - 1


def test_owners_users_and_destination_users(export, truth, data):
    staff = {r["email"]: r for r in records(data, "staff")}
    unmatched, inactive = truth["unmatched_owner_emails"], truth["inactive_owner_emails"]
    assert len(unmatched) >= 2 and len(inactive) == 1
    assert all(staff[e]["role"] == "coach" for e in unmatched + inactive)
    assert staff[inactive[0]]["active"] == "false" and all(staff[e]["active"] == "true" for e in unmatched)
    owners = {r["coach_email"] for name in ("clients", "sessions") for r in records(data, name)}
    assert set(unmatched) <= owners and set(inactive) <= owners
    dest = destination_users(export)
    emails = {u["Email"]: u for u in dest}
    assert set(emails) == set(staff) - set(unmatched)
    assert [e for e, u in emails.items() if not u["IsActive"]] == inactive
    assert all(set(u) == {"Email", "FirstName", "LastName", "IsActive"} for u in dest)
    assert any(u["LastName"] == "Yılmaz" for u in dest)


def test_non_ascii_and_html_samples(truth, data):
    samples = truth["non_ascii_samples"]
    assert {s["object"] for s in samples} >= {"clients", "staff", "courses"}
    for s in samples:
        row = by_id(data, s["object"])[s["source_id"]]
        assert row[s["field"]] == s["value"] and not s["value"].isascii()
    html = truth["html_samples"]
    assert len(html) == 3 and any("\n" in h["html"] for h in html)
    sessions = by_id(data, "sessions")
    for h in html:
        body = sessions[h["source_id"]]["notes"]
        assert body == h["html"] and "<" in body and html_to_text(body) == h["expected_text"]
        assert "<" not in h["expected_text"] and "&amp;" not in h["expected_text"]
    notes = [s["notes"] for s in sessions.values() if s["notes"]]
    assert any("<" not in n for n in notes) and any("\n" in n and "<" not in n for n in notes)  # plain text too


def test_non_data_files(export):
    assert set(NON_DATA_FILES) == {"automations.json", "drip_content.json", "email_sequences.json", "custom_fields.json"}
    for name in NON_DATA_FILES:
        content = json.loads((export / name).read_text("utf-8"))
        assert content and all(isinstance(e, dict) and e.get("name") for e in content), name
    fields = json.loads((export / "custom_fields.json").read_text("utf-8"))
    assert {f["column"] for f in fields} == {c for c in SOURCE.layouts["clients"].columns if c.startswith("cf_")}
    assert json.loads((export / TRUTH_FILE).read_text("utf-8"))["timezone"] == SOURCE_TIMEZONE


def test_small_scale_without_files_and_the_watermark(tmp_path):
    out = SOURCE.generate(tmp_path / "small", seed=3, scale=0.05, with_files=False)
    truth = load_truth(out)
    assert truth["with_files"] is False and list((out / "files").iterdir()) == []
    assert not defects(truth, "FILE_MISSING") and len(defects(truth, "FILE_LINKED")) == 4
    assert truth["counts"]["clients"] == 40 and truth["counts"]["sessions"] == 80
    for name in SOURCE.layouts:
        read = SOURCE.read(out, name, NO_ALIASES)
        assert read.table.num_rows + read.rejects.num_rows == truth["counts"][name]
    assert SOURCE.watermark(out, NO_ALIASES).endswith("Z")


def test_scale_grows_the_volume_but_not_the_defects(tmp_path):
    small = load_truth(generate_export(tmp_path / "s", seed=7, scale=0.5, with_files=False))
    big = load_truth(generate_export(tmp_path / "b", seed=7, scale=3.0, with_files=False))
    assert big["counts"]["sessions"] == 3600 and big["counts"]["clients"] == 1500
    assert big["counts"]["staff"] > small["counts"]["staff"]
    assert sum(big["counts"].values()) > 5 * sum(small["counts"].values())
    code_counts = lambda t: sorted((d["object"], d["reason_code"]) for d in t["defects"])  # noqa: E731
    assert code_counts(big) == code_counts(small)
    assert len(big["package_links"]) == len(small["package_links"])


@pytest.mark.parametrize("seed", range(1, 6))
def test_any_seed_generates_a_consistent_export(tmp_path, seed):
    out = generate_export(tmp_path / str(seed), seed=seed, scale=0.05)
    truth = load_truth(out)
    for d in truth["defects"]:
        if d["reason_code"] in ("UNPARSEABLE_ROW", "DUPLICATE_SOURCE_ID"):
            continue
        table = SOURCE.read(out, d["object"], NO_ALIASES).table
        [row] = [r for r in table.to_pylist() if r["_source_id"] == d["source_id"]]
        assert row[d["field"]] == d["value"] and row[SOURCE_ROW] == d["source_row"], d
    sessions = {r["session_id"]: r for r in SOURCE.read(out, "sessions", NO_ALIASES).table.to_pylist()}
    for link in truth["package_links"]:
        assert sessions[link["source_id"]]["package_id_rebuilt"] == link["expected_package_id"], (seed, link)
    for table in ("clients", "sessions", "packages"):
        df = SOURCE.read(out, table, NO_ALIASES).table.to_pandas()
        for col in DATE_COLUMNS[table]:
            bad = df[col].notna() & parse_datetimes(df[col], list(NAIVE_DATE_FORMATS), SOURCE_TIMEZONE).isna()
            assert set(df.loc[bad, "_source_id"]) <= {d["source_id"] for d in defects(truth, "INVALID_DATE")}, (seed, col)
