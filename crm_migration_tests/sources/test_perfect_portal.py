"""The Perfect Portal source: layout, registry, and the messy sample generator and its truth file."""

from __future__ import annotations

import json
import re
import struct
import zipfile
import zlib
from datetime import datetime
from pathlib import Path

import pytest

from crm_migration.reasons import REASONS
from crm_migration.sources import get_source, source_names
from crm_migration.sources.base import SOURCE_ROW, ExportAliases
from crm_migration.sources.perfect_portal import SOURCE
from crm_migration.sources.perfect_portal.generator import (
    FILE_SIZE_LIMIT,
    destination_users,
    generate_export,
    html_to_text,
    load_truth,
)
from crm_migration.sources.perfect_portal.layout import DATE_FORMATS, DATE_ONLY_FORMATS, MATTER_STAGES

EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
NO_ALIASES = ExportAliases()


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    return generate_export(tmp_path_factory.mktemp("pp") / "export", seed=7, scale=1.0)


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


def parses(value: str, formats) -> bool:
    for fmt in formats:
        try:
            datetime.strptime(value, fmt)
            return True
        except ValueError:
            continue
    return False


# --------------------------------------------------------------------------------------------


def test_source_protocol_and_registry():
    src = get_source("perfect_portal")
    assert src is SOURCE and src.name == "perfect_portal"
    assert "perfect_portal" in source_names()
    assert set(src.layouts) == {
        "users", "clients", "client_properties", "contacts", "matters", "matter_properties", "documents", "tasks",
        "interactions",
    }
    assert src.layouts["client_properties"].id_column is None
    assert src.layouts["contacts"].columns == (
        "contact_id", "client_id", "first_name", "last_name", "email", "phone", "title", "owner_email", "created_at",
        "modified_at",
    )
    with pytest.raises(KeyError, match="known sources"):
        get_source("nope")
    with pytest.raises(KeyError, match="objects"):
        src.read(Path("."), "invoices", NO_ALIASES)
    assert "LOOKUP_UNRESOLVED" in REASONS and REASONS["LOOKUP_UNRESOLVED"].severity.value == "flag"


def test_generator_is_deterministic(tmp_path):
    a = generate_export(tmp_path / "a", seed=11, scale=0.2)
    b = generate_export(tmp_path / "b", seed=11, scale=0.2)
    files_a = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    assert files_a == files_b and len(files_a) > 12
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    c = generate_export(tmp_path / "c", seed=12, scale=0.2)
    assert (c / "contacts.csv").read_bytes() != (a / "contacts.csv").read_bytes()


def test_counts_at_scale_one(truth, data):
    counts = truth["counts"]
    expected = {"users": 25, "clients": 300, "client_properties": 800, "contacts": 900, "matters": 450,
                "matter_properties": 900, "documents": 300, "tasks": 900, "interactions": 900}
    for name, n in expected.items():
        assert 0.85 * n <= counts[name] <= 1.15 * n, (name, counts[name])
        read = data[name]
        assert read.table.num_rows + read.rejects.num_rows == counts[name], name
    assert 5000 <= sum(counts.values()) <= 6000
    assert truth["seed"] == 7 and truth["scale"] == 1.0


def test_every_reader_object_reads_cleanly_except_the_malformed_row(data, truth):
    for name, read in data.items():
        assert read.missing_columns == (), name
        assert read.extra_columns == (), name
        if name != "interactions":
            assert read.rejects.num_rows == 0, name
    assert data["users"].encoding == "cp1252"
    assert data["clients"].encoding == "utf-8-sig"


def test_defect_rows_match_the_reader(truth, data):
    for d in truth["defects"]:
        if d["reason_code"] in ("UNPARSEABLE_ROW", "DUPLICATE_SOURCE_ID"):
            continue
        rows = [r for r in records(data, d["object"]) if r["_source_id"] == d["source_id"]]
        assert len(rows) == 1, d
        assert rows[0][SOURCE_ROW] == d["source_row"], d
        if "value" in d and d["field"]:
            assert rows[0][d["field"]] == d["value"], d
        assert d["reason_code"] in REASONS


def test_at_most_one_defect_per_record(truth):
    keys = [(d["object"], d["source_id"], d["source_row"]) for d in truth["defects"]]
    assert len(keys) == len(set(keys))


def test_duplicates(truth, data):
    dups = defects(truth, "DUPLICATE_SUSPECTED", "contacts")
    groups = {tuple(d["group"]) for d in dups}
    assert len(groups) >= 3 and sum(len(g) for g in groups) == len(dups)
    contacts = by_id(data, "contacts")
    emails = [(r["email"] or "").casefold() for r in records(data, "contacts") if r["email"]]
    case_differs = False
    for group in groups:
        members = [contacts[i] for i in group]
        assert len({(m["first_name"], m["last_name"], m["email"].casefold()) for m in members}) == 1
        case_differs |= len({m["email"] for m in members}) > 1
        assert emails.count(members[0]["email"].casefold()) == len(group)  # nobody else has that address
    assert case_differs
    # Outside the groups, e-mail addresses are unique.
    flagged = {i for g in groups for i in g}
    others = [(r["email"] or "").casefold() for r in records(data, "contacts") if r["email"] and r["contact_id"] not in flagged]
    assert len(others) == len(set(others))


def test_invalid_emails(truth, data):
    bad = {d["source_id"]: d for d in defects(truth, "INVALID_EMAIL")}
    assert len(bad) >= 4
    assert {d["note"] for d in bad.values()} == {"missing @", "two @", "contains a space", "trailing dot"}
    for r in records(data, "contacts"):
        if r["contact_id"] in bad:
            assert not EMAIL.match(r["email"]), r["email"]
        elif r["email"] is not None:
            assert EMAIL.match(r["email"]), r["email"]
    for name, col in [("users", "email"), ("clients", "owner_email"), ("tasks", "assigned_to_email")]:
        assert all(EMAIL.match(r[col]) for r in records(data, name))


def test_unknown_stages_and_invalid_number(truth, data):
    unknown = {d["source_id"] for d in defects(truth, "UNMAPPED_VALUE", "matters")}
    assert len(unknown) >= 2
    for r in records(data, "matters"):
        assert (r["stage"] not in MATTER_STAGES) == (r["matter_id"] in unknown)
    [bad_cost] = defects(truth, "INVALID_NUMBER")
    for r in records(data, "matters"):
        for col in ("hourly_rate", "cost", "invoiced_amount"):
            if r[col] is None:
                continue
            if r["matter_id"] == bad_cost["source_id"] and col == "cost":
                with pytest.raises(ValueError):
                    float(r[col])
            else:
                float(r[col])


def test_orphans_and_unresolved_lookups(truth, data):
    clients = set(by_id(data, "clients"))
    contacts = set(by_id(data, "contacts"))
    matters = set(by_id(data, "matters"))
    orphan_contacts = {d["source_id"] for d in defects(truth, "ORPHAN_REFERENCE", "contacts")}
    orphan_tasks = {d["source_id"] for d in defects(truth, "ORPHAN_REFERENCE", "tasks")}
    assert orphan_contacts and orphan_tasks
    assert {r["contact_id"] for r in records(data, "contacts") if r["client_id"] not in clients} == orphan_contacts
    assert {r["task_id"] for r in records(data, "tasks") if r["matter_id"] not in matters} == orphan_tasks
    unresolved = {d["source_id"] for d in defects(truth, "LOOKUP_UNRESOLVED")}
    assert len(unresolved) >= 1
    for r in records(data, "interactions"):
        matter_ok = r["matter_id"] in matters
        contact_ok = r["contact_id"] in contacts
        assert (not matter_ok and not contact_ok) == (r["interaction_id"] in unresolved)
        assert r["matter_id"] is None or matter_ok or r["interaction_id"] in unresolved
        assert r["contact_id"] is None or contact_ok or r["interaction_id"] in unresolved
    for name, col in [("matters", "client_id"), ("matters", "primary_contact_id"), ("documents", "matter_id")]:
        known = clients if col == "client_id" else contacts if col.endswith("contact_id") else matters
        assert all(r[col] is None or r[col] in known for r in records(data, name)), (name, col)


def test_hierarchy_has_exactly_the_recorded_cycle_and_real_depth(truth, data):
    parent = {r["client_id"]: r["parent_client_id"] for r in records(data, "clients")}
    members = {d["source_id"] for d in defects(truth, "HIERARCHY_CYCLE")}
    assert len(members) == 3
    for m in members:
        assert parent[parent[parent[m]]] == m
    depths = []
    for start in parent:
        seen, node = [], start
        while node is not None and node not in seen:
            seen.append(node)
            node = parent.get(node)
        if node is not None:  # came back to a visited node: a cycle
            assert start in members or set(seen) & members
        else:
            depths.append(len(seen))
    assert max(depths) >= 3  # parent -> child -> grandchild
    assert sum(1 for p in parent.values() if p) >= 0.1 * len(parent)
    assert all(p is None or p in parent for p in parent.values())


def test_required_missing_and_truncation(truth, data):
    req = defects(truth, "REQUIRED_MISSING")
    assert {d["object"] for d in req} == {"clients", "contacts"}
    blank_names = {r["client_id"] for r in records(data, "clients") if r["name"] is None}
    blank_last = {r["contact_id"] for r in records(data, "contacts") if r["last_name"] is None}
    assert blank_names | blank_last == {d["source_id"] for d in req}
    [long_title] = defects(truth, "VALUE_TRUNCATED")
    titles = {r["contact_id"]: r["title"] for r in records(data, "contacts")}
    assert len(titles[long_title["source_id"]]) == 200
    assert all(len(t) <= 128 for i, t in titles.items() if t and i != long_title["source_id"])


def test_dates_parse_with_the_declared_formats_except_the_invalid_ones(truth, data):
    invalid = {d["source_id"] for d in defects(truth, "INVALID_DATE")}
    assert len(invalid) >= 2
    for r in records(data, "tasks"):
        assert parses(r["due_date"], DATE_ONLY_FORMATS) != (r["task_id"] in invalid), r["due_date"]
    for r in records(data, "matters"):
        assert parses(r["opened_on"], DATE_ONLY_FORMATS)
    used = set()
    for name, cols in [("clients", ("created_at", "modified_at")), ("contacts", ("created_at", "modified_at")),
                       ("documents", ("uploaded_at", "modified_at")), ("interactions", ("occurred_at", "modified_at"))]:
        for r in records(data, name):
            for col in cols:
                for fmt in DATE_FORMATS:
                    try:
                        datetime.strptime(r[col], fmt)
                        used.add(fmt)
                        break
                    except ValueError:
                        continue
                else:
                    pytest.fail(f"{name}.{col} {r[col]!r} matches no DATE_FORMATS entry")
    assert used == set(DATE_FORMATS)  # every format really occurs


def test_duplicate_source_id_and_cascade(truth, data):
    [dup] = defects(truth, "DUPLICATE_SOURCE_ID")
    rows = [r for r in records(data, "tasks") if r["task_id"] == dup["source_id"]]
    assert [r[SOURCE_ROW] for r in rows] == [dup["first_source_row"], dup["source_row"]]
    ids = [r["task_id"] for r in records(data, "tasks")]
    assert len(ids) - len(set(ids)) == 1
    [cascade] = defects(truth, "PARENT_REJECTED")
    unknown = {d["source_id"] for d in defects(truth, "UNMAPPED_VALUE", "matters")}
    task = by_id(data, "tasks")[cascade["source_id"]]
    assert task["matter_id"] in unknown


def test_defective_records_have_no_children_except_the_one_cascade(truth, data):
    bad = {(d["object"], d["source_id"]) for d in truth["defects"]}
    bad_clients = {i for o, i in bad if o == "clients"}
    bad_contacts = {i for o, i in bad if o == "contacts"}
    bad_matters = {i for o, i in bad if o == "matters"}
    cycle = {d["source_id"] for d in defects(truth, "HIERARCHY_CYCLE")}
    assert not any(r["parent_client_id"] in bad_clients for r in records(data, "clients") if r["client_id"] not in cycle)
    for name in ("contacts", "matters", "client_properties"):
        assert not any(r["client_id"] in bad_clients for r in records(data, name)), name
    assert not any(r["primary_contact_id"] in bad_contacts for r in records(data, "matters"))
    assert not any(r["matter_id"] in bad_matters for r in records(data, "matter_properties"))
    cascade = {d["source_id"] for d in defects(truth, "PARENT_REJECTED")}
    for name in ("documents", "tasks", "interactions"):
        for r in records(data, name):
            if r["_source_id"] in cascade:
                continue
            assert r["matter_id"] not in bad_matters, (name, r["_source_id"])
            assert r.get("contact_id") not in bad_contacts, (name, r["_source_id"])


def test_files_sizes_big_sparse_and_missing(export, truth, data):
    [big] = defects(truth, "FILE_TOO_LARGE")
    [missing] = defects(truth, "FILE_MISSING")
    docs = by_id(data, "documents")
    big_path = export / "files" / docs[big["source_id"]]["file_name"]
    st = big_path.stat()
    assert st.st_size > FILE_SIZE_LIMIT and st.st_size == int(docs[big["source_id"]]["size_bytes"])
    assert st.st_blocks * 512 < 1 << 20  # sparse: it costs no disk
    assert not (export / "files" / docs[missing["source_id"]]["file_name"]).exists()
    kinds = set()
    for doc_id, doc in docs.items():
        if doc_id in (big["source_id"], missing["source_id"]):
            continue
        body = (export / "files" / doc["file_name"]).read_bytes()
        assert len(body) == int(doc["size_bytes"]) < 20_000
        kind = doc["file_type"]
        kinds.add(kind)
        if kind == "pdf":
            assert body.startswith(b"%PDF-1.4") and body.rstrip().endswith(b"%%EOF")
            xref = int(body.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
            assert body[xref:].startswith(b"xref")
        elif kind == "png":
            assert body.startswith(b"\x89PNG\r\n\x1a\n")
            pos = 8
            while pos < len(body):
                (length,) = struct.unpack(">I", body[pos : pos + 4])
                chunk = body[pos + 4 : pos + 8 + length]
                assert struct.unpack(">I", body[pos + 8 + length : pos + 12 + length])[0] == zlib.crc32(chunk)
                pos += 12 + length
            assert pos == len(body)
        elif kind in ("docx", "xlsx"):
            with zipfile.ZipFile(export / "files" / doc["file_name"]) as zf:
                assert zf.testzip() is None and "[Content_Types].xml" in zf.namelist()
        else:
            body.decode("utf-8")
    assert kinds == {"pdf", "docx", "xlsx", "png", "txt"}


def test_malformed_row_is_at_the_recorded_row(truth, data):
    [bad] = defects(truth, "UNPARSEABLE_ROW")
    [reject] = data["interactions"].rejects.to_pylist()
    assert reject[SOURCE_ROW] == bad["source_row"]
    assert reject["raw"] == bad["raw"] and bad["source_id"] in reject["raw"]
    assert bad["source_id"] not in by_id(data, "interactions")
    # rows after it (and after multi-line HTML bodies) keep their numbers
    for r in records(data, "interactions"):
        assert r[SOURCE_ROW] == int(r["interaction_id"].split("-")[1]) + 1


def test_owners_users_and_destination_users(export, truth, data):
    users = {r["email"]: r for r in records(data, "users")}
    assert 1 <= len(truth["inactive_owner_emails"]) and len(truth["unmatched_owner_emails"]) >= 2
    for e in truth["unmatched_owner_emails"] + truth["inactive_owner_emails"]:
        assert e in users
    owners = {r["owner_email"] for name in ("clients", "contacts", "matters") for r in records(data, name)}
    assert set(truth["unmatched_owner_emails"]) <= owners and set(truth["inactive_owner_emails"]) <= owners
    assert owners <= set(users)
    dest = destination_users(export)
    emails = {u["Email"]: u for u in dest}
    assert set(emails) == set(users) - set(truth["unmatched_owner_emails"])
    for e in truth["inactive_owner_emails"]:
        assert emails[e]["IsActive"] is False
    assert sum(u["IsActive"] for u in dest) == len(dest) - len(truth["inactive_owner_emails"])
    assert all(set(u) == {"Email", "FirstName", "LastName", "IsActive"} for u in dest)
    assert any(u["LastName"] == "Ångström" for u in dest)


def test_non_ascii_and_html_samples(truth, data):
    samples = truth["non_ascii_samples"]
    assert {s["object"] for s in samples} >= {"contacts", "clients", "users"}
    for s in samples:
        row = by_id(data, s["object"])[s["source_id"]]
        assert row[s["field"]] == s["value"] and any(ord(c) > 127 for c in s["value"])
    names = {r["name"] for r in records(data, "clients")}
    assert {"株式会社 山田商事", "Müller & Söhne GmbH"} <= names
    html = truth["html_samples"]
    assert len(html) >= 4 and any("\n" in h["html"] for h in html)
    interactions = by_id(data, "interactions")
    for h in html:
        body = interactions[h["source_id"]]["body_html"]
        assert body == h["html"] and "<" in body
        assert html_to_text(body) == h["expected_text"]
        assert "<" not in h["expected_text"].replace("<2", "") and "&amp;" not in h["expected_text"]


def test_property_values(data):
    props = {}
    for r in records(data, "client_properties"):
        props.setdefault(r["property_name"], set()).add(r["property_value"])
    assert set(props) == {"Industry Classification", "Client Tier", "Portal Enabled", "Annual Retainer"}
    assert props["Portal Enabled"] == {"Yes", "No", "true", "false", "1", "0"}
    assert props["Client Tier"] == {"Gold", "Silver", "Bronze"}
    assert all(float(v) > 0 for v in props["Annual Retainer"])
    mprops = {}
    for r in records(data, "matter_properties"):
        mprops.setdefault(r["property_name"], set()).add(r["property_value"])
    assert set(mprops) == {"Matter Type", "Practice Area", "Billable Hours"}
    assert all(float(v) > 0 for v in mprops["Billable Hours"])


def test_non_data_json_files(export):
    workflows = json.loads((export / "workflows.json").read_text("utf-8"))
    assert 5 <= len(workflows) <= 8
    assert all({"name", "trigger_event", "conditions", "actions"} <= set(w) for w in workflows)
    integrations = json.loads((export / "integrations.json").read_text("utf-8"))
    assert 3 <= len(integrations) <= 4
    assert {"billing", "document_management", "e_signature"} <= {i["type"] for i in integrations}
    for i in integrations:
        assert re.match(r"^https://[a-z0-9.-]+\.example\.com/", i["endpoint_url"])
        assert not {"secret", "password", "token", "api_key_value", "client_secret"} & set(i)
    access = json.loads((export / "access_settings.json").read_text("utf-8"))
    assert access["roles"]


def test_small_scale_without_files(tmp_path):
    out = generate_export(tmp_path / "small", seed=3, scale=0.1, with_files=False)
    truth = load_truth(out)
    assert truth["with_files"] is False
    assert list((out / "files").iterdir()) == []
    assert not defects(truth, "FILE_MISSING")
    assert defects(truth, "FILE_TOO_LARGE")
    assert truth["counts"]["clients"] < 60 and truth["counts"]["contacts"] < 120
    for name in SOURCE.layouts:
        read = SOURCE.read(out, name, NO_ALIASES)
        assert read.table.num_rows + read.rejects.num_rows == truth["counts"][name]
    assert {d["reason_code"] for d in truth["defects"]} >= {
        "DUPLICATE_SUSPECTED", "INVALID_EMAIL", "UNMAPPED_VALUE", "ORPHAN_REFERENCE", "HIERARCHY_CYCLE",
        "REQUIRED_MISSING", "INVALID_DATE", "INVALID_NUMBER", "DUPLICATE_SOURCE_ID", "VALUE_TRUNCATED",
        "LOOKUP_UNRESOLVED", "FILE_TOO_LARGE", "UNPARSEABLE_ROW", "PARENT_REJECTED",
    }
    assert SOURCE.watermark(out, NO_ALIASES).endswith("Z")


def test_larger_scale_grows(tmp_path):
    out = SOURCE.generate(tmp_path / "big", seed=7, scale=3.0, with_files=False)
    counts = load_truth(out)["counts"]
    assert counts["contacts"] == 2700 and counts["interactions"] == 2700


@pytest.mark.parametrize(("seed", "scale"), [*((s, 0.05) for s in range(1, 13)), (5, 0.3)])
def test_any_seed_generates_files_of_the_stated_sizes(tmp_path, seed, scale):
    """Seed 5 at scale 0.3 once needed a PDF size that padding before the xref table cannot reach."""
    from crm_migration.sources.perfect_portal.generator import generate_export

    export = generate_export(tmp_path / str(seed), seed=seed, scale=scale)
    import csv

    with open(export / "documents.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            path = export / "files" / row["file_name"]
            if path.exists() and int(row["size_bytes"]) < 25 * 1024 * 1024:
                assert path.stat().st_size == int(row["size_bytes"]), row["file_name"]
