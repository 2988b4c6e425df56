"""The LeadTrac source: layout and default aliases, reader, and the messy generator with its truth file."""

from __future__ import annotations

import json
import re
import shutil
import wave
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from crm_migration.pipeline.normalize import date_order, parse_datetimes
from crm_migration.reasons import REASONS
from crm_migration.sources import get_source
from crm_migration.sources.base import SOURCE_ROW, ExportAliases
from crm_migration.sources.export_folder import ExportLayoutError, read_export_object
from crm_migration.sources.leadtrac import SOURCE
from crm_migration.sources.leadtrac import generator as gen
from crm_migration.sources.leadtrac.generator import (
    FILE_SIZE_LIMIT,
    destination_users,
    generate_export,
    load_truth,
    slashed_parts,
)
from crm_migration.sources.leadtrac.layout import (
    CONTACT_PROPERTIES,
    DATE_FORMATS,
    DAY_FIRST_FORMATS,
    DEAL_STAGES,
    DEFAULT_ALIASES,
    EXPORT_HEADERS,
    LAYOUTS,
    LEAD_PROPERTIES,
    LEAD_SOURCES,
    LEAD_STATUSES,
    MONTH_FIRST_FORMATS,
    NON_DATA_FILES,
    SOURCE_TIMEZONE,
    with_default_aliases,
)
from crm_migration.sources.perfect_portal.generator import html_to_text

EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
NO_ALIASES = ExportAliases()


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    return generate_export(tmp_path_factory.mktemp("lt") / "export", seed=7, scale=1.0)


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


def ids_of(truth, code, obj=None) -> set[str]:
    return {d["source_id"] for d in defects(truth, code, obj)}


def parses(value: str, formats) -> bool:
    for fmt in formats:
        try:
            datetime.strptime(value, fmt)
            return True
        except ValueError:
            continue
    return False


# --------------------------------------------------------------------------------------------
# Layout, aliases, reader


def test_source_protocol_and_layout():
    src = get_source("leadtrac")
    assert src is SOURCE and src.name == "leadtrac"
    assert set(src.layouts) == {
        "users", "companies", "contacts", "contact_properties", "leads", "lead_properties", "deals",
        "deal_stage_history", "calls", "call_recordings", "emails", "meetings", "notes", "attachments",
    }
    for name, layout in LAYOUTS.items():
        assert tuple(EXPORT_HEADERS[name]) == layout.columns, name
        assert all(re.fullmatch(r"[a-z][a-z0-9_]*", c) for c in layout.columns), name
    # Only headers that really differ are aliased; the canonical names stay snake_case.
    assert DEFAULT_ALIASES.columns["leads"]["email"] == "E-mail Address"
    assert "email" not in DEFAULT_ALIASES.columns["contacts"]  # "Email" matches "email" case-insensitively
    assert DEFAULT_ALIASES.columns["contacts"]["created_at"] == "CreatedDate"
    assert DEFAULT_ALIASES.columns["leads"]["created_at"] == "created_on"
    assert DEFAULT_ALIASES.columns["deals"]["created_at"] == "Created On"
    with pytest.raises(KeyError, match="objects"):
        src.read(Path("."), "invoices", NO_ALIASES)


def test_pair_aliases_are_laid_over_the_defaults():
    merged = with_default_aliases(ExportAliases(files={"leads": "Leads.csv"}, columns={"leads": {"email": "Mail"},
                                                                                        "custom": {"x": "X"}}))
    assert merged.files == {"leads": "Leads.csv"}
    assert merged.columns["leads"]["email"] == "Mail"  # the pair's alias wins
    assert merged.columns["leads"]["lead_id"] == "LeadID"  # the defaults stay
    assert merged.columns["custom"] == {"x": "X"}
    assert with_default_aliases(None) == DEFAULT_ALIASES


def test_export_headers_differ_across_files_and_read_back_canonical(export, data):
    for name, layout in LAYOUTS.items():
        raw = (export / layout.file).read_bytes().decode(load_truth(export)["files"][layout.file]["encoding"])
        header = raw.lstrip("\ufeff").split("\n", 1)[0].rstrip("\r")
        assert header.split(",") == list(EXPORT_HEADERS[name].values()), name
        assert data[name].missing_columns == () and data[name].extra_columns == (), name
        assert data[name].table.column_names[: len(layout.columns)] == list(layout.columns)
    assert data["leads"].header_map["email"] == "E-mail Address" and data["contacts"].header_map["email"] == "Email"
    assert data["leads"].header_map["created_at"] == "created_on"
    assert data["contacts"].header_map["created_at"] == "CreatedDate"
    # Without the default aliases the generic reader cannot find the leads' id column.
    with pytest.raises(ExportLayoutError, match="lead_id"):
        read_export_object(export, LAYOUTS["leads"], NO_ALIASES)
    contacts = read_export_object(export, LAYOUTS["contacts"], NO_ALIASES)
    assert set(contacts.missing_columns) == {"owner_email", "created_at", "modified_at"}


def test_a_renamed_export_reads_back_through_the_pairs_aliases(export, data, tmp_path):
    copy = tmp_path / "renamed"
    shutil.copytree(export, copy, ignore=shutil.ignore_patterns("files"))
    text = (copy / "leads.csv").read_bytes().decode("utf-8")
    header, rest = text.split("\r\n", 1)
    header = header.replace("LeadID", "Lead Number").replace("E-mail Address", "Primary E-mail")
    (copy / "leads.csv").unlink()
    (copy / "LeadTrac Leads Export.csv").write_bytes((header + "\r\n" + rest).encode("utf-8"))
    with pytest.raises(FileNotFoundError, match="leads"):
        SOURCE.read(copy, "leads", NO_ALIASES)
    files_only = ExportAliases(files={"leads": "LeadTrac Leads Export.csv"})
    with pytest.raises(ExportLayoutError, match="lead_id"):
        SOURCE.read(copy, "leads", files_only)
    aliases = ExportAliases(files=files_only.files,
                            columns={"leads": {"lead_id": "Lead Number", "email": "Primary E-mail"}})
    read = SOURCE.read(copy, "leads", aliases)
    assert read.missing_columns == () and read.file == "LeadTrac Leads Export.csv"
    assert read.table.drop_columns(["_source_file"]).equals(data["leads"].table.drop_columns(["_source_file"]))


def test_generator_is_deterministic(tmp_path):
    a = generate_export(tmp_path / "a", seed=11, scale=0.2)
    b = generate_export(tmp_path / "b", seed=11, scale=0.2)
    files_a = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    assert files_a == files_b and len(files_a) > 40
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    c = generate_export(tmp_path / "c", seed=12, scale=0.2)
    assert (c / "leads.csv").read_bytes() != (a / "leads.csv").read_bytes()


def test_output_does_not_depend_on_the_chunk_size(tmp_path, monkeypatch):
    a = generate_export(tmp_path / "a", seed=5, scale=0.1, with_files=False)
    monkeypatch.setattr(gen, "CHUNK_ROWS", 7)  # every table written in many small chunks
    b = generate_export(tmp_path / "b", seed=5, scale=0.1, with_files=False)
    for path in sorted(a.glob("*")):
        if path.is_file():
            assert path.read_bytes() == (b / path.name).read_bytes(), path.name


def test_counts_at_scale_one(truth, data):
    counts = truth["counts"]
    expected = {"users": 18, "companies": 250, "contacts": 600, "leads": 900, "deals": 350, "calls": 700,
                "emails": 500, "meetings": 250, "notes": 500, "attachments": 200}
    assert {k: counts[k] for k in expected} == expected
    assert 600 <= counts["lead_properties"] <= 2000 and 400 <= counts["contact_properties"] <= 1400
    assert counts["deals"] < counts["deal_stage_history"] <= 7 * counts["deals"]
    assert 0 < counts["call_recordings"] < counts["calls"]
    for name, read in data.items():
        assert read.table.num_rows + read.rejects.num_rows == counts[name], name
    assert 6000 <= sum(counts.values()) <= 9000
    assert truth["seed"] == 7 and truth["scale"] == 1.0 and truth["timezone"] == SOURCE_TIMEZONE


def test_encodings(data):
    assert data["users"].encoding == "cp1252" and data["companies"].encoding == "utf-8-sig"
    for name, read in data.items():
        if name != "notes":
            assert read.rejects.num_rows == 0, name


# --------------------------------------------------------------------------------------------
# The truth file agrees with the export


def test_defect_rows_match_the_reader(truth, data):
    assert truth["defects"]
    for d in truth["defects"]:
        assert d["reason_code"] in REASONS, d
        if d["reason_code"] in ("UNPARSEABLE_ROW", "DUPLICATE_SOURCE_ID"):
            continue
        rows = [r for r in records(data, d["object"]) if r["_source_id"] == d["source_id"]]
        assert len(rows) == 1, d
        assert rows[0][SOURCE_ROW] == d["source_row"], d
        if d["field"]:
            assert rows[0][d["field"]] == d["value"], d


def test_at_most_one_defect_per_record(truth):
    keys = [(d["object"], d["source_id"], d["source_row"]) for d in truth["defects"]]
    assert len(keys) == len(set(keys))


def test_duplicate_leads_by_email_and_companies_by_name(truth, data):
    for obj, col in (("leads", "email"), ("companies", "name")):
        dups = defects(truth, "DUPLICATE_SUSPECTED", obj)
        groups = {tuple(d["group"]) for d in dups}
        assert len(groups) >= 2 and sum(len(g) for g in groups) == len(dups), obj
        rows = by_id(data, obj)
        values = [(r[col] or "").strip().casefold() for r in records(data, obj) if r[col]]
        case_differs = False
        for group in groups:
            members = [rows[i][col] for i in group]
            assert len({m.casefold() for m in members}) == 1, group
            case_differs |= len(set(members)) > 1
            assert values.count(members[0].casefold()) == len(group)  # nobody else shares it
        assert case_differs, obj
        flagged = {i for g in groups for i in g}
        others = [(r[col] or "").casefold() for r in records(data, obj) if r[col] and r["_source_id"] not in flagged]
        assert len(others) == len(set(others)), obj


def test_invalid_emails(truth, data):
    bad = ids_of(truth, "INVALID_EMAIL")
    assert len(defects(truth, "INVALID_EMAIL", "leads")) == 4 and len(defects(truth, "INVALID_EMAIL", "contacts")) == 2
    for obj in ("leads", "contacts"):
        for r in records(data, obj):
            assert (not EMAIL.match(r["email"])) == (r["_source_id"] in bad), r["email"]
    for name, col in [("users", "email"), ("companies", "owner_email"), ("deals", "owner_email"),
                      ("calls", "owner_email"), ("notes", "created_by_email"), ("attachments", "uploaded_by_email")]:
        assert all(EMAIL.match(r[col]) for r in records(data, name)), name


def test_blank_mandatory_fields(truth, data):
    req = {(d["object"], d["field"]): d["source_id"] for d in defects(truth, "REQUIRED_MISSING")}
    assert set(req) == {("companies", "name"), ("leads", "last_name"), ("leads", "company"),
                        ("contacts", "last_name"), ("deals", "name")}
    for (obj, col), sid in req.items():
        assert {r["_source_id"] for r in records(data, obj) if r[col] is None} == {sid}, (obj, col)


def test_picklists_unknown_values_and_stage_history(truth, data):
    unknown_status = ids_of(truth, "UNMAPPED_VALUE", "leads")
    assert len(unknown_status) == 2
    for r in records(data, "leads"):
        assert (r["status"] not in LEAD_STATUSES) == (r["lead_id"] in unknown_status)
        assert r["lead_source"] in LEAD_SOURCES
    assert {r["status"] for r in records(data, "leads")} >= {"New Lead", "In Progress", "Converted", "Dead"}
    unknown_stage = ids_of(truth, "UNMAPPED_VALUE", "deals")
    assert len(unknown_stage) == 2
    deals = by_id(data, "deals")
    for r in deals.values():
        assert (r["stage"] not in DEAL_STAGES) == (r["deal_id"] in unknown_stage)
    # Each deal's history walks the stages in order and ends where the deal is, when it entered it.
    hist = pd.DataFrame(records(data, "deal_stage_history"))
    formats = list(MONTH_FIRST_FORMATS[2:])
    # Some values are dates without a time: compare local days.
    day = lambda s: parse_datetimes(s.astype("string"), formats, SOURCE_TIMEZONE).dt.tz_convert(SOURCE_TIMEZONE).dt.date  # noqa: E731
    hist["at"] = day(hist["entered_at"])
    entered = dict(zip(deals, day(pd.Series([r["stage_entered_at"] for r in deals.values()]))))
    assert hist["at"].notna().all() and set(hist["deal_id"]) == set(deals)
    for deal_id, rows in hist.groupby("deal_id", sort=False):
        stages = list(rows["stage"])
        assert stages[:-1] == list(DEAL_STAGES[: len(stages) - 1]), deal_id
        assert stages[-1] == deals[deal_id]["stage"], deal_id
        assert rows["at"].is_monotonic_increasing and rows["at"].iloc[-1] == entered[deal_id], deal_id


def test_invalid_numbers(truth, data):
    bad = {(d["object"], d["field"]): d["source_id"] for d in defects(truth, "INVALID_NUMBER")}
    assert set(bad) == {("deals", "amount"), ("calls", "duration_seconds")}
    for r in records(data, "deals"):
        ok = re.fullmatch(r"\$?\d{1,3}(,\d{3})*(\.\d\d)?|\d+(\.\d\d)?", r["amount"]) is not None
        assert ok != (r["deal_id"] == bad[("deals", "amount")]), r["amount"]
    for r in records(data, "calls"):
        assert r["duration_seconds"].isdigit() != (r["call_id"] == bad[("calls", "duration_seconds")])


def test_date_columns_parse_with_their_columns_order(truth, data):
    invalid = {(d["object"], d["field"], d["source_id"]) for d in defects(truth, "INVALID_DATE")}
    assert len(invalid) == 2
    orders = dict(truth["date_orders"])
    orders.update({k: "month_first" for k in truth["undecidable_date_columns"]})
    orders.update({k: "iso" for k in truth["iso_only_date_columns"]})
    assert set(orders) == set(gen.DATE_COLUMNS)
    for key, order in orders.items():
        obj, col = key.split(".")
        formats = {"day_first": DAY_FIRST_FORMATS, "month_first": MONTH_FIRST_FORMATS, "iso": DAY_FIRST_FORMATS[:1]}[order]
        values = [(r[col], r["_source_id"]) for r in records(data, obj) if r[col] is not None]
        assert values, key
        for value, sid in values:
            assert parses(value, formats) != ((obj, col, sid) in invalid), (key, value)


def test_date_orders_follow_from_the_data(truth, data):
    """Each decidable column has deciding values and ambiguous ones; the undecidable column has only ambiguous ones."""
    stats = truth["date_column_stats"]
    assert set(truth["date_orders"].values()) == {"day_first", "month_first"}
    for key, order in truth["date_orders"].items():
        obj, col = key.split(".")
        a, b = slashed_parts(data[obj].table.column(col).combine_chunks())
        rejected = sum(1 for r in data[obj].rejects.to_pylist())  # the malformed note is not read
        first_over, second_over = int((a > 12).sum()), int((b > 12).sum())
        ambiguous = int(((a > 0) & (a <= 12) & (b <= 12) & (a != b)).sum())
        assert ambiguous > 0, key
        if order == "day_first":
            assert first_over > 0 and second_over == 0, key
        else:
            assert second_over > 0 and first_over == 0, key
        if not rejected:
            assert (stats[key]["ambiguous"], stats[key]["first_over_12"], stats[key]["second_over_12"]) == (
                ambiguous, first_over, second_over), key
    [key] = truth["undecidable_date_columns"]
    obj, col = key.split(".")
    a, b = slashed_parts(data[obj].table.column(col).combine_chunks())
    slashed = a > 0
    assert slashed.sum() >= 5 and (a[slashed] <= 12).all() and (b[slashed] <= 12).all()
    ids = data[obj].table.column("_source_id").to_numpy(zero_copy_only=False)
    flagged = {d["source_id"] for d in defects(truth, "AMBIGUOUS_DATE") if d["field"] == col}
    assert set(ids[slashed & (a != b)]) == flagged and len(flagged) == stats[key]["ambiguous"] == 5
    assert key not in truth["date_orders"]


def test_the_normalize_stage_reads_each_date_column_as_the_truth_says(truth, data):
    """With the layout's DATE_FORMATS as the pair's formats, the pipeline decides the same orders."""
    formats = list(DATE_FORMATS)
    for key, order in {**truth["date_orders"], **dict.fromkeys(truth["undecidable_date_columns"])}.items():
        obj, col = key.split(".")
        s = pd.Series(data[obj].table.column(col).to_pylist(), dtype="string")
        ids = pd.Series(data[obj].table.column("_source_id").to_pylist())
        kept, ambiguous = date_order(s, formats)
        if order is None:
            assert set(ids[ambiguous]) == ids_of(truth, "AMBIGUOUS_DATE", obj), key
            continue
        assert not ambiguous.any(), key
        wrong, right = ("%m/%d/%Y", "%d/%m/%Y") if order == "day_first" else ("%d/%m/%Y", "%m/%d/%Y")
        assert wrong not in kept and right in kept, key
        unread = s.notna() & parse_datetimes(s, formats, SOURCE_TIMEZONE).isna()
        invalid = {d["source_id"] for d in defects(truth, "INVALID_DATE", obj) if d["field"] == col}
        assert set(ids[unread]) == invalid, key


def test_orphans_and_unresolved_links(truth, data):
    companies, contacts, leads, deals = (set(by_id(data, x)) for x in ("companies", "contacts", "leads", "deals"))
    assert {r["contact_id"] for r in records(data, "contacts") if r["company_id"] not in companies} == ids_of(
        truth, "ORPHAN_REFERENCE", "contacts") and len(ids_of(truth, "ORPHAN_REFERENCE", "contacts")) == 2
    assert {r["deal_id"] for r in records(data, "deals") if r["company_id"] not in companies} == ids_of(
        truth, "ORPHAN_REFERENCE", "deals")
    parents = {"Lead": leads, "Contact": contacts, "Deal": deals}
    assert {r["note_id"] for r in records(data, "notes") if r["parent_id"] not in parents[r["parent_type"]]} == ids_of(
        truth, "ORPHAN_REFERENCE", "notes")
    assert all(r["parent_id"] in parents[r["parent_type"]] for r in records(data, "attachments"))
    for obj in ("calls", "emails", "call_recordings"):
        unresolved = ids_of(truth, "LOOKUP_UNRESOLVED", obj)
        for r in records(data, obj):
            linked = (r["lead_id"] in leads) + (r["contact_id"] in contacts)
            assert (linked == 0) == (r["_source_id"] in unresolved), (obj, r)
            assert linked <= 1 and (r["lead_id"] is None) + (r["contact_id"] is None) >= 1
    for r in records(data, "meetings"):
        assert r["lead_id"] in leads or r["contact_id"] in contacts
        assert r["deal_id"] is None or (r["deal_id"] in deals and r["contact_id"] == by_id(data, "deals")[r["deal_id"]]["contact_id"])


def test_hierarchy_has_exactly_the_recorded_cycle_and_real_depth(truth, data):
    parent = {r["company_id"]: r["parent_company_id"] for r in records(data, "companies")}
    members = ids_of(truth, "HIERARCHY_CYCLE")
    assert len(members) == 3
    for m in members:
        assert parent[parent[parent[m]]] == m
    depths = []
    for start in parent:
        seen, node = [], start
        while node is not None and node not in seen:
            seen.append(node)
            node = parent.get(node)
        if node is None:
            depths.append(len(seen))
        else:
            assert set(seen) & members
    assert max(depths) >= 3 and all(p is None or p in parent for p in parent.values())


def test_duplicate_source_id_unparseable_row_and_cascade(truth, data):
    [dup] = defects(truth, "DUPLICATE_SOURCE_ID")
    rows = [r for r in records(data, "calls") if r["call_id"] == dup["source_id"]]
    assert [r[SOURCE_ROW] for r in rows] == [dup["first_source_row"], dup["source_row"]]
    [bad] = defects(truth, "UNPARSEABLE_ROW")
    [reject] = data["notes"].rejects.to_pylist()
    assert reject[SOURCE_ROW] == bad["source_row"] and reject["raw"] == bad["raw"] and bad["source_id"] in bad["raw"]
    assert bad["source_id"] not in by_id(data, "notes")
    for r in records(data, "notes"):  # rows after it (and after multi-line bodies) keep their numbers
        assert r[SOURCE_ROW] == int(r["note_id"].split("-")[1]) + 1
    [cascade] = defects(truth, "PARENT_REJECTED")
    assert by_id(data, "notes")[cascade["source_id"]]["parent_id"] in ids_of(truth, "UNMAPPED_VALUE", "deals")


def test_defective_records_have_no_children_except_the_one_cascade(truth, data):
    bad = {(d["object"], d["source_id"]) for d in truth["defects"]}
    bad_ids = {i for o, i in bad if o in ("companies", "contacts", "leads", "deals")}
    cascade = ids_of(truth, "PARENT_REJECTED")
    cycle = ids_of(truth, "HIERARCHY_CYCLE")
    checks = [("companies", "parent_company_id"), ("contacts", "company_id"), ("deals", "company_id"),
              ("deals", "contact_id"), ("contact_properties", "contact_id"), ("lead_properties", "lead_id"),
              ("calls", "lead_id"), ("calls", "contact_id"), ("emails", "lead_id"), ("emails", "contact_id"),
              ("meetings", "lead_id"), ("meetings", "contact_id"), ("meetings", "deal_id"), ("notes", "parent_id"),
              ("attachments", "parent_id")]
    for name, col in checks:
        for r in records(data, name):
            if r["_source_id"] in cascade or r["_source_id"] in cycle:
                continue
            assert r[col] not in bad_ids, (name, col, r["_source_id"])


def test_files_sizes_big_sparse_missing_and_recordings(export, truth, data):
    [big] = defects(truth, "FILE_TOO_LARGE")
    [missing] = defects(truth, "FILE_MISSING")
    docs = by_id(data, "attachments")
    big_path = export / "files" / docs[big["source_id"]]["export_file"]
    st = big_path.stat()
    assert st.st_size > FILE_SIZE_LIMIT == 20 * 1024 * 1024 and st.st_size == int(docs[big["source_id"]]["size_bytes"])
    assert st.st_blocks * 512 < 1 << 20  # sparse: it costs no disk
    assert not (export / "files" / docs[missing["source_id"]]["export_file"]).exists()
    kinds = set()
    for doc_id, doc in docs.items():
        assert doc["storage_path"].startswith("/leadtrac/storage/") and doc["storage_path"].endswith(doc["file_name"])
        if doc_id in (big["source_id"], missing["source_id"]):
            continue
        body = (export / "files" / doc["export_file"]).read_bytes()
        assert len(body) == int(doc["size_bytes"]) < 20_000
        kinds.add(doc["export_file"].rsplit(".", 1)[1])
    assert kinds == {"pdf", "docx", "xlsx", "png", "txt"}
    assert any(any(ord(c) > 127 for c in d["file_name"]) for d in docs.values())
    calls = by_id(data, "calls")
    recordings = records(data, "call_recordings")
    assert {r["recording_id"] for r in recordings} == {c["recording_id"] for c in calls.values() if c["recording_id"]}
    for rec in recordings:
        call = calls[rec["call_id"]]
        assert call["recording_id"] == rec["recording_id"] and call["outcome"] == "Connected"
        assert (rec["lead_id"], rec["contact_id"]) == (call["lead_id"], call["contact_id"])
        path = export / "files" / rec["file_name"]
        assert path.stat().st_size == int(rec["size_bytes"])
        with wave.open(str(path)) as w:
            assert w.getframerate() == 8000 and w.getnframes() > 0


def test_meeting_attendees(truth, data):
    people = {r["email"].casefold() for name in ("contacts", "leads") for r in records(data, name) if r["email"]}
    users = {r["email"].casefold() for r in records(data, "users")}
    matched = n_users = 0
    unmatched = set()
    trailing = 0
    for r in records(data, "meetings"):
        trailing += r["attendees"].endswith(";")
        for email in filter(None, (e.strip() for e in r["attendees"].split(";"))):
            assert EMAIL.match(email), email
            if email.casefold() in people:
                matched += 1
            elif email.casefold() in users:
                n_users += 1
            else:
                unmatched.add(email)
    expected = truth["meeting_attendees"]
    assert (matched, n_users) == (expected["matched_contacts_or_leads"], expected["users"])
    assert sorted(unmatched) == expected["unmatched_emails"] and len(unmatched) >= 3
    assert trailing > 0


def test_custom_properties(export, data):
    definitions = json.loads((export / "custom_properties.json").read_text("utf-8"))
    kinds = {(d["object"], d["name"]): d["kind"] for d in definitions}
    assert set(kinds.values()) == {"text", "integer", "decimal", "date", "datetime", "picklist", "multi_select"}
    for obj, name, props in (("Lead", "lead_properties", LEAD_PROPERTIES), ("Contact", "contact_properties", CONTACT_PROPERTIES)):
        values: dict[str, set[str]] = {}
        for r in records(data, name):
            values.setdefault(r["property_name"], set()).add(r["property_value"])
        assert set(values) == set(props), name
        for prop, vals in values.items():
            kind = kinds[(obj, prop)]
            for v in vals:
                if kind == "integer":
                    assert v.isdigit(), (prop, v)
                elif kind == "decimal":
                    float(v.lstrip("$").replace(",", ""))
                elif kind == "date":
                    datetime.strptime(v, "%Y-%m-%d")
                elif kind == "datetime":
                    datetime.strptime(v, "%Y-%m-%d %H:%M:%S")
                elif kind == "picklist":
                    assert v in props[prop], (prop, v)
                elif kind == "multi_select":
                    assert set(re.split(r"\s*;\s*", v)) <= set(props[prop]), (prop, v)
        multi = next(p for p, k in props.items() if isinstance(k, list))
        assert any("; " in v for v in values[multi]) and any(re.search(r";\S", v) for v in values[multi])
    assert "Solar; Roofing" in {r["property_value"] for r in records(data, "lead_properties")}


def test_html_samples(truth, data):
    samples = truth["html_samples"]
    assert len(samples) == len(gen._FLAT_TEMPLATES)
    emails = by_id(data, "emails")
    for h in samples:
        body = emails[h["source_id"]]["body_html"]
        assert body == h["html"] and "<" in body
        assert html_to_text(body) == h["expected_text"]
        assert "<" not in h["expected_text"] and "&amp;" not in h["expected_text"]
    joined = "".join(h["html"] for h in samples)
    assert all(x in joined for x in ("<br>", "&amp;", "&nbsp;", '<img src="cid:', '<img src="data:image/png', "\n"))


def test_owners_users_and_destination_users(export, truth, data):
    users = {r["email"]: r for r in records(data, "users")}
    unmatched, inactive = truth["unmatched_owner_emails"], truth["inactive_owner_emails"]
    assert len(unmatched) == 3 and len(inactive) == 1 and set(unmatched + inactive) <= set(users)
    assert [users[e]["active"] for e in inactive] == ["N"]
    owners = {r["owner_email"] for name in ("companies", "contacts", "leads", "deals") for r in records(data, name)}
    folded = {o.casefold() for o in owners}
    assert set(unmatched + inactive) <= folded and folded <= set(users)
    assert any(o not in users for o in owners)  # some owner e-mails come in another case
    dest = destination_users(export)
    emails = {u["Email"]: u for u in dest}
    assert set(emails) == set(users) - set(unmatched)
    assert [emails[e]["IsActive"] for e in inactive] == [False]
    assert sum(u["IsActive"] for u in dest) == len(dest) - 1
    assert all(set(u) == {"Email", "FirstName", "LastName", "IsActive"} for u in dest)


def test_non_ascii_samples(truth, data):
    samples = truth["non_ascii_samples"]
    assert {s["object"] for s in samples} == {"contacts", "leads", "companies", "users"}
    for s in samples:
        assert by_id(data, s["object"])[s["source_id"]][s["field"]] == s["value"]
        assert any(ord(c) > 127 for c in s["value"])
    assert "株式会社 山田ソーラー" in {r["name"] for r in records(data, "companies")}


def test_non_data_files(export):
    for name in NON_DATA_FILES:
        content = json.loads((export / name).read_text("utf-8"))
        assert content, name
        text = json.dumps(content).lower()
        assert not re.search(r'"(password|secret|token|api_key|client_secret)"', text), name
    assert {e["status"] for e in json.loads((export / "docusign_envelopes.json").read_text("utf-8"))} >= {"completed", "voided"}


def test_small_scale_without_files(tmp_path):
    out = generate_export(tmp_path / "small", seed=3, scale=0.05, with_files=False)
    truth = load_truth(out)
    assert truth["with_files"] is False
    assert [p for p in (out / "files").rglob("*") if p.is_file()] == []
    assert not defects(truth, "FILE_MISSING") and defects(truth, "FILE_TOO_LARGE")
    assert truth["counts"]["leads"] == gen.MIN_COUNTS["leads"]
    for name in SOURCE.layouts:
        read = SOURCE.read(out, name, NO_ALIASES)
        assert read.table.num_rows + read.rejects.num_rows == truth["counts"][name]
    assert {d["reason_code"] for d in truth["defects"]} == {
        "DUPLICATE_SUSPECTED", "INVALID_EMAIL", "UNMAPPED_VALUE", "ORPHAN_REFERENCE", "HIERARCHY_CYCLE",
        "REQUIRED_MISSING", "INVALID_DATE", "INVALID_NUMBER", "DUPLICATE_SOURCE_ID", "LOOKUP_UNRESOLVED",
        "FILE_TOO_LARGE", "UNPARSEABLE_ROW", "PARENT_REJECTED", "AMBIGUOUS_DATE",
    }
    assert SOURCE.watermark(out, NO_ALIASES).endswith("Z")


def test_scale_changes_volume(tmp_path):
    out = SOURCE.generate(tmp_path / "big", seed=7, scale=3.0, with_files=False)
    counts = load_truth(out)["counts"]
    assert counts["leads"] == 2700 and counts["calls"] == 2100 and counts["users"] == round(18 * 3 ** 0.5)
    assert 20_000 <= sum(counts.values()) <= 26_000
