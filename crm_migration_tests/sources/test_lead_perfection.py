"""The Lead Perfection source: layout, registry, aliases, and the messy sample generator and its truth file."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from crm_migration.pipeline.normalize import html_to_text as pipeline_html_to_text
from crm_migration.pipeline.normalize import parse_datetimes
from crm_migration.reasons import REASONS
from crm_migration.sources import get_source, source_names
from crm_migration.sources.base import SOURCE_FILE, SOURCE_ROW, ExportAliases
from crm_migration.sources.lead_perfection import SOURCE
from crm_migration.sources.lead_perfection import generator as gen
from crm_migration.sources.lead_perfection.generator import (
    FILE_FORMATS,
    FILE_SIZE_LIMIT,
    destination_users,
    generate_export,
    html_to_text,
    load_truth,
)
from crm_migration.sources.lead_perfection.layout import (
    APPOINTMENT_RESULTS,
    DATE_FORMATS,
    DATE_ONLY_FORMATS,
    JOB_STAGES,
    LEAD_SOURCES,
    MATERIAL_TYPES,
    NON_DATA_FILES,
    PARENT_TYPES,
    PERMIT_STATUSES,
    PROSPECT_STATUSES,
    SOURCE_TIMEZONE,
    TRADE_CUSTOM_FIELDS,
)

EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
NO_ALIASES = ExportAliases()
DATETIME_COLUMNS = {
    "sales_reps": ["modified_at"], "territories": ["modified_at"], "companies": ["created_at", "modified_at"],
    "contacts": ["created_at", "modified_at"], "prospects": ["created_date", "modified_at"],
    "jobs": ["created_at", "modified_at"], "appointments": ["start_time", "end_time", "modified_at"],
    "attachments": ["uploaded_at"], "notes": ["created_at", "modified_at"],
}
DATE_COLUMNS = {"jobs": ["close_date", "install_date"]}


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    return generate_export(tmp_path_factory.mktemp("lp") / "export", seed=7, scale=1.0)


@pytest.fixture(scope="module")
def truth(export) -> dict:
    return load_truth(export)


@pytest.fixture(scope="module")
def data(export) -> dict:
    return {name: SOURCE.read(export, name, NO_ALIASES) for name in SOURCE.layouts}


EXPORTED = [n for n in SOURCE.layouts if n != "note_images"]  # note_images is derived from notes, not a file


def records(data, name) -> list[dict]:
    return data[name].table.to_pylist()


def by_id(data, name) -> dict[str, dict]:
    out = {}
    for r in records(data, name):
        out.setdefault(r["_source_id"], r)  # the first row of a repeated id
    return out


def defects(truth, code, obj=None) -> list[dict]:
    return [d for d in truth["defects"] if d["reason_code"] == code and (obj is None or d["object"] == obj)]


def ids_of(truth, code, obj) -> set[str]:
    return {d["source_id"] for d in defects(truth, code, obj)}


def matching_format(value: str, formats) -> str | None:
    for fmt in formats:
        try:
            datetime.strptime(value, fmt)
            return fmt
        except ValueError:
            continue
    return None


# --------------------------------------------------------------------------------------------


def test_source_protocol_and_registry():
    src = get_source("lead_perfection")
    assert src is SOURCE and src.name == "lead_perfection" and "lead_perfection" in source_names()
    assert set(src.layouts) == {"sales_reps", "territories", "custom_fields", "companies", "contacts", "prospects",
                                "jobs", "appointments", "attachments", "notes", "note_images"}
    assert src.layouts["appointments"].columns[:3] == ("appointment_id", "prospect_id", "contact_id")
    assert {"zip_from", "zip_to", "rep_email"} <= set(src.layouts["territories"].columns)
    with pytest.raises(KeyError, match="objects"):
        src.read(Path("."), "invoices", NO_ALIASES)
    assert set(NON_DATA_FILES) == {"workflows.json", "slot_availability.json"}


def test_generator_is_deterministic_and_independent_of_the_chunk_size(tmp_path, monkeypatch):
    a = generate_export(tmp_path / "a", seed=11, scale=0.2)
    monkeypatch.setattr(gen, "CHUNK_ROWS", 37)  # the streamed path: many chunks per table
    b = generate_export(tmp_path / "b", seed=11, scale=0.2)
    files_a = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    assert files_a == files_b and len(files_a) > 60
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    c = generate_export(tmp_path / "c", seed=12, scale=0.2, with_files=False)
    assert (c / "prospects.csv").read_bytes() != (a / "prospects.csv").read_bytes()


def test_counts_at_scale_one(truth, data):
    counts = truth["counts"]
    assert counts == {"sales_reps": 30, "territories": 13, "custom_fields": 9, "companies": 250, "contacts": 700,
                      "prospects": 1200, "jobs": 400, "appointments": 900, "attachments": 250, "notes": 400}
    for name, read in data.items():
        if name != "note_images":  # derived from notes, not a file of its own
            assert read.table.num_rows + read.rejects.num_rows == counts[name], name
    assert 3000 <= sum(counts.values()) <= 6000
    assert truth["seed"] == 7 and truth["scale"] == 1.0 and truth["timezone"] == SOURCE_TIMEZONE


def test_every_object_reads_with_its_layout_and_encoding(data):
    for name in EXPORTED:
        read = data[name]
        assert read.missing_columns == () and read.extra_columns == (), name
        assert read.rejects.num_rows == (1 if name == "prospects" else 0), name
        expected = FILE_FORMATS[SOURCE.layouts[name].file][0]
        assert read.encoding == expected, name


def test_every_object_reads_through_aliases(export, data, tmp_path):
    """A copy of the export with other file and column names reads back the same through aliases."""
    copy = tmp_path / "renamed"
    shutil.copytree(export, copy)
    files, columns = {}, {}
    for name in EXPORTED:
        layout = SOURCE.layouts[name]
        new_file = f"LP Export - {name.replace('_', ' ').title()}.csv"
        renamed = {c: c.replace("_", " ").title() for c in (layout.id_column, layout.columns[1])}
        enc, term = FILE_FORMATS[layout.file]
        raw = (copy / layout.file).read_bytes()
        bom = raw.startswith(b"\xef\xbb\xbf")
        text = raw[3 if bom else 0:].decode("cp1252" if enc == "cp1252" else "utf-8")
        header, rest = text.split(term, 1)
        header = ",".join(renamed.get(h, h) for h in header.split(","))
        body = (header + term + rest).encode("cp1252" if enc == "cp1252" else "utf-8")
        (copy / new_file).write_bytes((b"\xef\xbb\xbf" if bom else b"") + body)
        (copy / layout.file).unlink()
        files[name], columns[name] = new_file, renamed
    aliases = ExportAliases(files=files, columns=columns)
    for name in EXPORTED:
        with pytest.raises(FileNotFoundError):
            SOURCE.read(copy, name, NO_ALIASES)
        read = SOURCE.read(copy, name, aliases)
        assert read.missing_columns == () and read.extra_columns == (), name
        assert read.header_map[SOURCE.layouts[name].id_column] == columns[name][SOURCE.layouts[name].id_column]
        got = read.table.drop_columns([SOURCE_FILE])
        want = data[name].table.drop_columns([SOURCE_FILE])
        assert got.equals(want), name
        assert set(read.table.column(SOURCE_FILE).to_pylist()) == {files[name]}
        assert read.rejects.num_rows == data[name].rejects.num_rows


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


def test_duplicates_prospects_by_email_and_phone_companies_by_name(truth, data):
    def groups_in(rows, key):
        found = defaultdict(list)
        for r in rows:
            k = key(r)
            if all(k):
                found[k].append(r["_source_id"])
        return {tuple(sorted(v)) for v in found.values() if len(v) > 1}

    prospects = groups_in(records(data, "prospects"),
                          lambda r: ((r["email"] or "").strip().lower(), (r["phone"] or "").strip()))
    want = {tuple(sorted(d["group"])) for d in defects(truth, "DUPLICATE_SUSPECTED", "prospects")}
    assert prospects == want and len(want) == 3 and sorted(len(g) for g in want) == [2, 2, 3]
    members = {d["source_id"]: d for d in defects(truth, "DUPLICATE_SUSPECTED", "prospects")}
    assert any(len({by_id(data, "prospects")[i]["email"] for i in g}) > 1 for g in want)  # a case difference
    assert set(members) == {i for g in want for i in g}

    companies = groups_in(records(data, "companies"), lambda r: ((r["name"] or "").strip().lower(),))
    want = {tuple(sorted(d["group"])) for d in defects(truth, "DUPLICATE_SUSPECTED", "companies")}
    assert companies == want and len(want) == 3
    names = by_id(data, "companies")
    raw = [[names[i]["name"] for i in g] for g in want]
    assert any(len(set(n)) == 1 for n in raw) and any(n != [x.strip() for x in n] for n in raw)
    # e-mail addresses are otherwise unique within an object
    for name in ("contacts", "prospects", "sales_reps"):
        flagged = ids_of(truth, "DUPLICATE_SUSPECTED", name)
        emails = [r["email"].lower() for r in records(data, name) if r["email"] and r["_source_id"] not in flagged]
        assert len(emails) == len(set(emails)), name


def test_invalid_emails_are_exactly_the_planted_ones(truth, data):
    for name in ("contacts", "prospects"):
        bad = ids_of(truth, "INVALID_EMAIL", name)
        assert len(bad) >= 2
        invalid = {r["_source_id"] for r in records(data, name) if r["email"] and not EMAIL.match(r["email"])}
        assert invalid == bad, name
    owners = [("sales_reps", "email"), ("territories", "rep_email"), ("companies", "owner_email"),
              ("contacts", "owner_email"), ("prospects", "rep_email"), ("jobs", "rep_email"),
              ("appointments", "rep_email"), ("attachments", "uploaded_by_email"), ("notes", "author_email")]
    reps = {r["email"] for r in records(data, "sales_reps")}
    for name, col in owners:
        assert all(EMAIL.match(r[col]) and r[col] in reps for r in records(data, name)), (name, col)


def test_value_domains_and_the_unknown_values(truth, data):
    [status] = defects(truth, "UNMAPPED_VALUE", "prospects")
    unknown = {r["_source_id"] for r in records(data, "prospects") if r["status"] not in PROSPECT_STATUSES}
    assert unknown == {status["source_id"]}
    [stage] = defects(truth, "UNMAPPED_VALUE", "jobs")
    assert {r["_source_id"] for r in records(data, "jobs") if r["stage"] not in JOB_STAGES} == {stage["source_id"]}
    sources = Counter(r["lead_source"] for r in records(data, "prospects"))
    assert set(sources) - {None} == set(LEAD_SOURCES)  # every source occurs, standard and trade-specific
    for name, col, domain in [("prospects", "material_type", MATERIAL_TYPES), ("jobs", "material_type", MATERIAL_TYPES),
                              ("prospects", "permit_status", PERMIT_STATUSES), ("jobs", "permit_status", PERMIT_STATUSES),
                              ("appointments", "result", APPOINTMENT_RESULTS),
                              ("sales_reps", "active", ("Y", "N", "Yes", "No"))]:
        assert {r[col] for r in records(data, name)} - {None} <= set(domain), (name, col)
    [bad_number] = defects(truth, "INVALID_NUMBER", "jobs")
    for r in records(data, "jobs"):
        amount = float(r["amount"].lstrip("$").replace(",", ""))
        assert amount > 0
        for col in ("window_count", "window_height_in", "window_width_in"):
            if r[col] is None:
                continue
            if r["_source_id"] == bad_number["source_id"] and col == bad_number["field"]:
                with pytest.raises(ValueError):
                    float(r[col])
            else:
                assert float(r[col]) > 0
        # installation details appear once the job is being installed
        assert (r["install_date"] is not None) == (r["crew_name"] is not None)


def test_links_orphans_and_unresolved_lookups(truth, data):
    companies, contacts = by_id(data, "companies"), by_id(data, "contacts")
    prospects, jobs = by_id(data, "prospects"), by_id(data, "jobs")
    orphans = {r["_source_id"] for r in records(data, "contacts") if r["company_id"] and r["company_id"] not in companies}
    assert orphans == ids_of(truth, "ORPHAN_REFERENCE", "contacts") and len(orphans) == 2
    assert sum(r["company_id"] is None for r in records(data, "contacts")) > 100  # homeowners: 'Unassigned Account'
    job_orphans = {r["_source_id"] for r in records(data, "jobs") if (r["company_id"] and r["company_id"] not in companies)
                   or (r["contact_id"] and r["contact_id"] not in contacts)}
    assert job_orphans == ids_of(truth, "ORPHAN_REFERENCE", "jobs")
    assert all(r["company_id"] or r["contact_id"] for r in records(data, "jobs"))
    modes = Counter((r["company_id"] is not None, r["contact_id"] is not None) for r in records(data, "jobs"))
    assert set(modes) == {(True, False), (False, True), (True, True)}
    for r in records(data, "jobs"):  # both set: the contact works at that company
        if r["company_id"] and r["contact_id"]:
            assert contacts[r["contact_id"]]["company_id"] == r["company_id"]

    unresolved = ids_of(truth, "LOOKUP_UNRESOLVED", "appointments")
    assert len(unresolved) == 4
    for r in records(data, "appointments"):
        linked = [x for x in (r["prospect_id"], r["contact_id"]) if x]
        ok = len(linked) == 1 and (linked[0] in prospects or linked[0] in contacts)
        assert ok != (r["_source_id"] in unresolved), r
    for name in ("attachments", "notes"):
        parents = {"prospect": prospects, "contact": contacts, "job": jobs}
        types = Counter(r["parent_type"] for r in records(data, name))
        assert set(types) == set(PARENT_TYPES)
        assert all(r["parent_id"] in parents[r["parent_type"]] for r in records(data, name)), name


def test_defective_records_have_no_children(truth, data):
    bad = defaultdict(set)
    for d in truth["defects"]:
        bad[d["object"]].add(d["source_id"])
    cycle = ids_of(truth, "HIERARCHY_CYCLE", "companies")
    refs = [("companies", "parent_company_id", "companies"), ("contacts", "company_id", "companies"),
            ("jobs", "company_id", "companies"), ("jobs", "contact_id", "contacts"),
            ("appointments", "prospect_id", "prospects"), ("appointments", "contact_id", "contacts"),
            ("companies", "primary_contact_id", "contacts")]
    for name, col, parent in refs:
        for r in records(data, name):
            if name == "companies" and r["_source_id"] in cycle:
                continue
            assert r[col] not in bad[parent], (name, r["_source_id"], col)
    for name in ("attachments", "notes"):
        kinds = {"prospect": "prospects", "contact": "contacts", "job": "jobs"}
        assert not any(r["parent_id"] in bad[kinds[r["parent_type"]]] for r in records(data, name))


def test_company_hierarchy_locations_and_the_cycle(truth, data):
    companies = by_id(data, "companies")
    parent = {i: r["parent_company_id"] for i, r in companies.items()}
    members = ids_of(truth, "HIERARCHY_CYCLE", "companies")
    assert len(members) == 3 and all(parent[parent[parent[m]]] == m for m in members)
    depths = []
    for start in parent:
        if start in members:
            continue
        chain, node = [], start
        while node is not None:
            assert node not in chain and node not in members, start
            chain.append(node)
            node = parent[node]
        depths.append(len(chain))
        if len(chain) > 1:  # a location carries its company's name and its own city
            root = companies[chain[-1]]["name"]
            base = root.removesuffix(" LLC").removesuffix(" Inc.").removesuffix(" Corp.")
            assert companies[start]["name"].startswith(base + " – " + companies[start]["city"]), start
    assert max(depths) == 3 and Counter(depths)[2] >= 10
    children = Counter(p for i, p in parent.items() if p and i not in members)
    assert max(children.values()) >= 2  # several locations under one parent

    primary = {i: r["primary_contact_id"] for i, r in companies.items()}
    contacts = by_id(data, "contacts")
    inherited = 0
    for i, c in primary.items():
        if c is None:
            continue
        assert c in contacts
        if contacts[c]["company_id"] != i:
            inherited += 1
            assert parent[i] is not None and c in (primary[parent[i]],)
    assert inherited == truth["primary_contacts"]["of_the_parent_company"] >= 1
    assert sum(c is not None for c in primary.values()) == truth["primary_contacts"]["companies_with_one"]


def test_territory_ranges_and_company_zips(truth, data):
    territories = records(data, "territories")
    ranges = sorted((t["zip_from"], t["zip_to"], t["territory_id"]) for t in territories)
    for lo, hi, _ in ranges:
        assert re.fullmatch(r"\d{5}", lo) and re.fullmatch(r"\d{5}", hi) and lo < hi
    assert any(lo.startswith("0") for lo, _, _ in ranges)
    assert all(a[1] < b[0] for a, b in zip(ranges, ranges[1:]))  # no overlap
    outside = set()
    for r in records(data, "companies"):
        zip_code = r["zip_code"]
        assert re.fullmatch(r"\d{5}(-\d{4})?", zip_code)
        # compared as text, as the pipeline's range lookup does
        hits = [t for lo, hi, t in ranges if lo <= zip_code <= hi]
        assert len(hits) <= 1
        if not hits:
            outside.add(r["_source_id"])
    assert outside == ids_of(truth, "LOOKUP_UNRESOLVED", "companies") and len(outside) == 3
    assert any("-" in r["zip_code"] for r in records(data, "companies"))
    reps = by_id(data, "sales_reps")
    ids = {t["territory_id"] for t in territories}
    assert {r["territory_id"] for r in reps.values()} - {None} == ids
    assert sum(r["territory_id"] is None for r in reps.values()) == 1
    active = {r["email"] for r in reps.values()} - {*truth["unmatched_owner_emails"], *truth["inactive_owner_emails"]}
    assert all(t["rep_email"] in active for t in territories)


def test_required_missing(truth, data):
    req = defects(truth, "REQUIRED_MISSING")
    assert {(d["object"], d["field"]) for d in req} == {("companies", "name"), ("prospects", "last_name")}
    blank_names = {r["_source_id"] for r in records(data, "companies") if r["name"] is None}
    blank_last = {r["_source_id"] for r in records(data, "prospects") if r["last_name"] is None}
    assert blank_names | blank_last == {d["source_id"] for d in req}


def test_dates_parse_with_the_declared_formats_except_the_invalid_one(truth, data):
    [invalid] = defects(truth, "INVALID_DATE")
    used, used_dates = set(), set()
    for name, cols in DATETIME_COLUMNS.items():
        for r in records(data, name):
            for col in cols:
                fmt = matching_format(r[col], DATE_FORMATS)
                if (name, r["_source_id"], col) == (invalid["object"], invalid["source_id"], invalid["field"]):
                    assert fmt is None
                    continue
                assert fmt is not None, (name, col, r[col])
                used.add(fmt)
        # the pipeline's own parser agrees
        for col in cols:
            s = data[name].table.column(col).to_pandas().astype("string")
            parsed = parse_datetimes(s, list(DATE_FORMATS), SOURCE_TIMEZONE)
            expected = 1 if (name, col) == (invalid["object"], invalid["field"]) else 0
            assert int((s.notna() & parsed.isna()).sum()) == expected, (name, col)
    for name, cols in DATE_COLUMNS.items():
        for r in records(data, name):
            for col in cols:
                if r[col] is not None:
                    fmt = matching_format(r[col], DATE_ONLY_FORMATS)
                    assert fmt is not None, (name, col, r[col])
                    used_dates.add(fmt)
    assert used == set(DATE_FORMATS) and used_dates == set(DATE_ONLY_FORMATS)
    starts = [r["start_time"] for r in records(data, "appointments")]
    assert any(re.match(r"^\d/\d{1,2}/\d{4} \d:", s) for s in starts)  # US values without leading zeros
    for r in records(data, "appointments"):  # an appointment ends after it starts, whatever the formats
        if r["_source_id"] != invalid["source_id"]:
            start, end = (datetime.strptime(r[c], matching_format(r[c], DATE_FORMATS)) for c in ("start_time", "end_time"))
            assert 90 * 60 <= (end - start).total_seconds() <= 150 * 60


def test_duplicate_source_id(truth, data):
    [dup] = defects(truth, "DUPLICATE_SOURCE_ID")
    rows = [r for r in records(data, "appointments") if r["appointment_id"] == dup["source_id"]]
    assert [r[SOURCE_ROW] for r in rows] == [dup["first_source_row"], dup["source_row"]]
    ids = [r["appointment_id"] for r in records(data, "appointments")]
    assert len(ids) - len(set(ids)) == 1


def test_malformed_row_is_at_the_recorded_row(truth, data):
    [bad] = defects(truth, "UNPARSEABLE_ROW")
    [reject] = data["prospects"].rejects.to_pylist()
    assert reject[SOURCE_ROW] == bad["source_row"] and reject["raw"] == bad["raw"]
    assert bad["source_id"] not in by_id(data, "prospects")
    for r in records(data, "prospects"):  # rows after it keep their numbers
        assert r[SOURCE_ROW] == int(r["prospect_id"].split("-")[1]) + 1


def test_attachment_files_hashes_sizes_big_and_missing(export, truth, data):
    [big] = defects(truth, "FILE_TOO_LARGE")
    [missing] = defects(truth, "FILE_MISSING")
    files = by_id(data, "attachments")
    big_path = export / "files" / files[big["source_id"]]["file_name"]
    st = big_path.stat()
    assert st.st_size > FILE_SIZE_LIMIT and st.st_size == int(files[big["source_id"]]["size_bytes"])
    assert st.st_blocks * 512 < 1 << 20  # sparse: it costs no disk
    assert not (export / "files" / files[missing["source_id"]]["file_name"]).exists()
    kinds = set()
    for att_id, f in files.items():
        if att_id in (big["source_id"], missing["source_id"]):
            continue
        body = (export / "files" / f["file_name"]).read_bytes()
        assert len(body) == int(f["size_bytes"]) < 20_000
        assert hashlib.sha256(body).hexdigest() == f["sha256"], att_id
        ext = f["file_name"].rsplit(".", 1)[1]
        kinds.add(ext)
        assert body.startswith({"pdf": b"%PDF", "png": b"\x89PNG", "docx": b"PK", "xlsx": b"PK"}.get(ext, b""))
    assert kinds == {"pdf", "png", "docx", "xlsx", "txt"}
    assert len(list((export / "files").iterdir())) == len(files) - 1


def test_notes_html_and_inline_images(export, truth, data):
    notes = by_id(data, "notes")
    samples = truth["html_samples"]
    assert len(samples) == 6 and any("\n" in s["html"] for s in samples)
    kinds = Counter()
    for s in samples:
        body = notes[s["source_id"]]["body_html"]
        assert body == s["html"] and "<" in body
        assert html_to_text(body) == s["expected_text"]
        assert pipeline_html_to_text(pd.Series([body], dtype="string"))[0] == s["expected_text"]
        for img in s["images"]:
            kinds[img["kind"]] += 1
            assert img["src"] in body
            if img["kind"] == "data":
                raw = base64.b64decode(img["src"].split(",", 1)[1])
            else:
                raw = (export / img["src"]).read_bytes()
            assert raw.startswith(b"\x89PNG") and len(raw) == img["size"]
            assert hashlib.sha256(raw).hexdigest() == img["sha256"]
    assert kinds == {"data": 2, "file": 2}
    srcs = [m for r in notes.values() for m in re.findall(r'<img src="([^"]+)"', r["body_html"])]
    files = [s for s in srcs if not s.startswith("data:")]
    inline = truth["inline_images"]
    assert len(files) == inline["image_files"] and len(srcs) - len(files) == inline["notes_with_data_images"]
    assert all((export / s).is_file() for s in files)
    assert sorted(p.relative_to(export).as_posix() for p in (export / "images").iterdir()) == sorted(files)


def test_inline_images_are_offered_as_files_of_their_notes(export, truth, data):
    """The reader's note_images: one row per <img>, each a readable file with the bytes the note shows."""
    images = data["note_images"].table.to_pandas()
    inline = truth["inline_images"]
    assert len(images) == inline["image_files"] + inline["notes_with_data_images"]
    assert images["image_id"].is_unique
    expected = {img["sha256"] for s in truth["html_samples"] for img in s["images"]}
    paths = [p if Path(p).is_absolute() else export / p for p in images["file_name"]]
    got = {hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths}
    assert expected <= got
    notes = by_id(data, "notes")
    first = images.iloc[0]
    assert first["_source_file"].startswith("notes.csv (inline image ") and first["parent_id"] == notes[first["note_id"]]["parent_id"]
    # Embedded images live outside the export: its files (and so its delta watermark) stay as exported.
    assert not any(str(p).startswith(str(export)) for p in paths if "inline_images" in str(p))


def test_owners_users_and_destination_users(export, truth, data):
    reps = {r["email"]: r for r in records(data, "sales_reps")}
    unmatched, inactive = truth["unmatched_owner_emails"], truth["inactive_owner_emails"]
    assert len(unmatched) == 3 and len(inactive) == 1
    assert {d["value"] for d in defects(truth, "NO_MATCH_IN_DESTINATION", "sales_reps")} == set(unmatched)
    assert all(reps[e]["active"] in ("N", "No") for e in inactive)
    assert all(r["active"] in ("Y", "Yes") for e, r in reps.items() if e not in inactive)
    owners = {r[col] for name, col in [("companies", "owner_email"), ("contacts", "owner_email"),
                                       ("prospects", "rep_email"), ("jobs", "rep_email")] for r in records(data, name)}
    assert set(unmatched) | set(inactive) <= owners
    dest = destination_users(export)
    emails = {u["Email"]: u for u in dest}
    assert set(emails) == set(reps) - set(unmatched)
    assert [e for e, u in emails.items() if not u["IsActive"]] == inactive
    assert all(set(u) == {"Email", "FirstName", "LastName", "IsActive"} for u in dest)
    assert any(u["LastName"] == "Ramírez" for u in dest)  # read from the cp1252 file


def test_non_ascii_samples(truth, data):
    samples = truth["non_ascii_samples"]
    assert {s["object"] for s in samples} >= {"contacts", "prospects", "companies", "sales_reps"}
    for s in samples:
        row = by_id(data, s["object"])[s["source_id"]]
        assert row[s["field"]] == s["value"] and not s["value"].isascii()


def test_custom_field_dictionary(data):
    rows = records(data, "custom_fields")
    got = [(r["object"], r["field_key"], r["label"], r["field_type"]) for r in rows]
    assert got == [f[:4] for f in TRADE_CUSTOM_FIELDS]
    for r in rows:
        assert r["field_key"] in SOURCE.layouts[r["object"]].columns
        values = {x[r["field_key"]] for x in records(data, r["object"])} - {None}
        assert values, r["field_key"]
        if r["field_type"] == "Picklist":
            assert values <= set(r["picklist_values"].split(";")), r["field_key"]
        elif r["field_type"] in ("Number", "Decimal"):
            assert sum(not re.fullmatch(r"\d+(\.\d+)?", v) for v in values) <= 1  # the planted "35 1/2"


def test_non_data_files(export, data):
    workflows = json.loads((export / "workflows.json").read_text("utf-8"))
    assert 5 <= len(workflows) and all({"name", "trigger_event", "conditions", "actions"} <= set(w) for w in workflows)
    slots = json.loads((export / "slot_availability.json").read_text("utf-8"))
    codes = {s["slot_code"] for s in slots["slots"]}
    territories = {t["territory_id"] for t in records(data, "territories")}
    assert {t["territory_id"] for t in slots["territories"]} == territories
    for r in records(data, "appointments"):
        code, territory = r["slot_id"].split("-", 1)
        assert code in codes and territory in territories


def test_small_scale_without_files(tmp_path):
    out = generate_export(tmp_path / "small", seed=3, scale=0.05, with_files=False)
    truth = load_truth(out)
    assert truth["with_files"] is False and truth["inline_images"]["written"] is False
    assert list((out / "files").iterdir()) == [] and list((out / "images").iterdir()) == []
    assert not defects(truth, "FILE_MISSING") and defects(truth, "FILE_TOO_LARGE")
    for name in EXPORTED:
        read = SOURCE.read(out, name, NO_ALIASES)
        assert read.table.num_rows + read.rejects.num_rows == truth["counts"][name]
    assert {d["reason_code"] for d in truth["defects"]} == {
        "DUPLICATE_SUSPECTED", "INVALID_EMAIL", "UNMAPPED_VALUE", "ORPHAN_REFERENCE", "HIERARCHY_CYCLE",
        "REQUIRED_MISSING", "INVALID_DATE", "INVALID_NUMBER", "DUPLICATE_SOURCE_ID", "LOOKUP_UNRESOLVED",
        "FILE_TOO_LARGE", "UNPARSEABLE_ROW", "NO_MATCH_IN_DESTINATION",
    }
    assert SOURCE.watermark(out, NO_ALIASES).endswith("Z")


def test_scale_changes_volume(tmp_path):
    out = SOURCE.generate(tmp_path / "big", seed=7, scale=3.0, with_files=False)
    counts = load_truth(out)["counts"]
    assert counts["prospects"] == 3600 and counts["appointments"] == 2700 and counts["companies"] == 750
    assert counts["territories"] == 13 and counts["sales_reps"] == 52
    assert sum(1 for _ in open(out / "prospects.csv", encoding="utf-8")) == 3601
