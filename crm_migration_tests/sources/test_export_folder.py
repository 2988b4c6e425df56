"""The generic export-folder reader: file and column aliases, encodings, rejects, row numbers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crm_migration.sources import export_folder
from crm_migration.sources.base import SOURCE_FILE, SOURCE_ID, SOURCE_ROW, ExportAliases, SourceObjectLayout
from crm_migration.sources.export_folder import (
    ExportLayoutError,
    export_watermark,
    read_export_object,
    read_info,
)

CLIENTS = SourceObjectLayout(
    name="clients", file="clients.csv", id_column="client_id", columns=("client_id", "name", "website", "phone")
)
NOTES = SourceObjectLayout(
    name="notes", file="notes.csv", id_column="note_id", columns=("note_id", "subject", "body_html", "owner")
)
PROPS = SourceObjectLayout(
    name="client_properties", file="client_properties.csv", id_column=None,
    columns=("client_id", "property_name", "property_value"),
)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def rows(result) -> list[dict]:
    return result.table.to_pylist()


def test_file_and_column_aliases(tmp_path):
    write(tmp_path / "Clients Export.csv", "Client ID,Company,Website,Phone\nCL-1,Acme,acme.com,555\n")
    aliases = ExportAliases(files={"clients": "Clients Export.csv"}, columns={"clients": {"client_id": "Client ID", "name": "Company"}})
    result = read_export_object(tmp_path, CLIENTS, aliases)
    assert rows(result) == [
        {"client_id": "CL-1", "name": "Acme", "website": "acme.com", "phone": "555",
         SOURCE_FILE: "Clients Export.csv", SOURCE_ROW: 2, SOURCE_ID: "CL-1"}
    ]
    assert result.header_map["client_id"] == "Client ID"
    assert result.missing_columns == ()
    assert result.rejects.num_rows == 0


def test_headers_match_case_and_whitespace_insensitively_and_extras_are_kept(tmp_path):
    write(tmp_path / "CLIENTS.CSV", " CLIENT_ID ,Name,  website,PHONE,Favourite Colour\nCL-1,Acme,acme.com,555,blue\n")
    result = read_export_object(tmp_path, CLIENTS, ExportAliases())  # file name matched case-insensitively too
    row = rows(result)[0]
    assert row["client_id"] == "CL-1" and row["name"] == "Acme" and row["website"] == "acme.com" and row["phone"] == "555"
    assert row["Favourite Colour"] == "blue"
    assert result.extra_columns == ("Favourite Colour",)
    assert result.table.column_names[:4] == ["client_id", "name", "website", "phone"]
    assert result.table.column_names[-3:] == [SOURCE_FILE, SOURCE_ROW, SOURCE_ID]


def test_missing_optional_column_is_added_as_null(tmp_path):
    write(tmp_path / "clients.csv", "client_id,name\nCL-1,Acme\nCL-2,\n")
    result = read_export_object(tmp_path, CLIENTS, ExportAliases())
    assert result.missing_columns == ("website", "phone")
    assert read_info(result.table)["missing_columns"] == ["website", "phone"]
    assert result.table.column("website").null_count == 2
    assert result.table.schema.field("phone").type == "string"
    assert rows(result)[1]["name"] is None  # blank -> null


def test_missing_id_column_is_an_error_naming_file_and_column(tmp_path):
    write(tmp_path / "clients.csv", "name,website\nAcme,acme.com\n")
    with pytest.raises(ExportLayoutError) as err:
        read_export_object(tmp_path, CLIENTS, ExportAliases())
    assert "clients.csv" in str(err.value) and "client_id" in str(err.value)


def test_missing_file_is_a_clear_error(tmp_path):
    write(tmp_path / "contacts.csv", "x\n1\n")
    with pytest.raises(FileNotFoundError) as err:
        read_export_object(tmp_path, CLIENTS, ExportAliases())
    msg = str(err.value)
    assert "clients.csv" in msg and str(tmp_path) in msg and "'clients'" in msg and "contacts.csv" in msg
    with pytest.raises(FileNotFoundError) as err:
        read_export_object(tmp_path, CLIENTS, ExportAliases(files={"clients": "Kunden.csv"}))
    assert "Kunden.csv" in str(err.value)


def test_cp1252_fallback(tmp_path):
    write(tmp_path / "clients.csv", "client_id,name\nCL-1,Zoë Ångström Café – “quoted”\n", encoding="cp1252")
    result = read_export_object(tmp_path, CLIENTS, ExportAliases())
    assert result.encoding == "cp1252"
    assert read_info(result.table)["encoding"] == "cp1252"
    assert rows(result)[0]["name"] == "Zoë Ångström Café – “quoted”"


def test_cp1252_beyond_the_sample_is_still_read(tmp_path, monkeypatch):
    monkeypatch.setattr(export_folder, "SAMPLE_BYTES", 64)
    body = "".join(f"CL-{i},Plain {i}\n" for i in range(50)) + "CL-50,Müller\n"
    write(tmp_path / "clients.csv", "client_id,name\n" + body, encoding="cp1252")
    result = read_export_object(tmp_path, CLIENTS, ExportAliases())
    assert result.encoding == "cp1252"
    assert rows(result)[-1]["name"] == "Müller"


def test_utf8_with_bom(tmp_path):
    (tmp_path / "clients.csv").write_bytes(b"\xef\xbb\xbfclient_id,name\r\nCL-1,\xe6\xa0\xaa\xe5\xbc\x8f\xe4\xbc\x9a\xe7\xa4\xbe\r\n")
    result = read_export_object(tmp_path, CLIENTS, ExportAliases())
    assert result.encoding == "utf-8-sig"
    assert rows(result)[0]["client_id"] == "CL-1" and rows(result)[0]["name"] == "株式会社"
    assert result.missing_columns == ("website", "phone")


def test_unparseable_row_goes_to_rejects_with_its_row_number(tmp_path):
    write(tmp_path / "clients.csv", "client_id,name,website,phone\nCL-1,A,a.com,1\nCL-2,B, Inc,b.com,2\nCL-3,C,c.com,3\n")
    result = read_export_object(tmp_path, CLIENTS, ExportAliases())
    assert [r[SOURCE_ROW] for r in rows(result)] == [2, 4]
    assert [r["client_id"] for r in rows(result)] == ["CL-1", "CL-3"]
    [reject] = result.rejects.to_pylist()
    assert reject[SOURCE_FILE] == "clients.csv" and reject[SOURCE_ROW] == 3
    assert reject["reason_code"] == "UNPARSEABLE_ROW"
    assert "clients.csv" in reject["message"] and "row 3" in reject["message"]
    assert reject["raw"] == "CL-2,B, Inc,b.com,2"


def test_multiline_html_values_keep_row_numbers_right(tmp_path):
    text = (
        "note_id,subject,body_html,owner\r\n"
        'N-1,Call,"<p>line one</p>\n<p>line two</p>\n<p>three</p>",a@x.com\r\n'
        'N-2,"Meeting, notes","<ul>\n<li>x &amp; y</li>\n</ul>",b@x.com\r\n'
        'N-3,Bad,row,"with\nnewline",too,many\r\n'
        "\r\n"
        "N-4,Plain,<b>bold</b>,c@x.com\r\n"
        'N-5,Last,"a ""quoted"" word\nand more",\r\n'
    )
    write(tmp_path / "notes.csv", text)
    result = read_export_object(tmp_path, NOTES, ExportAliases())
    got = {r["note_id"]: r[SOURCE_ROW] for r in rows(result)}
    # Records, not physical lines: N-1 spans three lines and is still row 2; the blank line is row 5.
    assert got == {"N-1": 2, "N-2": 3, "N-4": 6, "N-5": 7}
    assert result.blank_rows == 1
    assert rows(result)[0]["body_html"] == "<p>line one</p>\n<p>line two</p>\n<p>three</p>"
    assert rows(result)[-1]["body_html"] == 'a "quoted" word\nand more'
    assert rows(result)[-1]["owner"] is None
    [reject] = result.rejects.to_pylist()
    assert reject[SOURCE_ROW] == 4 and reject["raw"].startswith("N-3,Bad,row")


def test_row_numbers_stay_exact_across_many_blocks_and_threads(tmp_path, monkeypatch):
    monkeypatch.setattr(export_folder, "BLOCK_SIZE", 1 << 16)
    lines = ["note_id,subject,body_html,owner"]
    bad = {1234, 25000, 39999}
    for i in range(40_000):
        if i in bad:
            lines.append(f"N-{i},broken,row,with,extra")
        elif i % 7 == 0:
            lines.append(f'N-{i},s,"<p>a</p>\n<p>b</p>",o')
        else:
            lines.append(f"N-{i},s,b,o")
    write(tmp_path / "notes.csv", "\n".join(lines) + "\n")
    result = read_export_object(tmp_path, NOTES, ExportAliases())
    assert result.table.num_rows == 40_000 - len(bad)
    ids = result.table.column("note_id").to_pylist()
    nums = result.table.column(SOURCE_ROW).to_pylist()
    assert all(int(i.split("-")[1]) + 2 == n for i, n in zip(ids, nums))
    assert sorted(result.rejects.column(SOURCE_ROW).to_pylist()) == sorted(i + 2 for i in bad)


def test_property_rows_have_no_source_id_and_whitespace_is_null(tmp_path):
    write(tmp_path / "client_properties.csv", "client_id,property_name,property_value\nCL-1,Client Tier,Gold\nCL-1,Portal Enabled,   \n")
    result = read_export_object(tmp_path, PROPS, ExportAliases())
    assert result.table.column(SOURCE_ID).null_count == 2
    assert rows(result)[1]["property_value"] is None
    assert result.table.schema.field(SOURCE_ROW).type == "int64"


def test_header_only_and_empty_files(tmp_path):
    write(tmp_path / "clients.csv", "client_id,name\n")
    assert read_export_object(tmp_path, CLIENTS, ExportAliases()).table.num_rows == 0
    write(tmp_path / "clients.csv", "")
    with pytest.raises(ExportLayoutError, match="empty"):
        read_export_object(tmp_path, CLIENTS, ExportAliases())


def test_watermark_is_the_newest_csv_in_utc(tmp_path):
    write(tmp_path / "clients.csv", "client_id\n1\n")
    write(tmp_path / "contacts.csv", "contact_id\n1\n")
    write(tmp_path / "_generator_truth.json", "{}")
    write(tmp_path / "_notes.csv", "x\n")
    os.utime(tmp_path / "clients.csv", ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    os.utime(tmp_path / "contacts.csv", ns=(1_710_000_000_123_456_000, 1_710_000_000_123_456_000))
    os.utime(tmp_path / "_notes.csv", ns=(1_800_000_000_000_000_000, 1_800_000_000_000_000_000))
    assert export_watermark(tmp_path) == "2024-03-09T16:00:00.123456Z"
    with pytest.raises(FileNotFoundError):
        export_watermark(tmp_path / "nowhere")


def test_quoted_header_over_two_lines_and_repeated_header(tmp_path):
    write(tmp_path / "clients.csv", 'client_id,"Name\n(legal)",client_id\nCL-1,Acme,dup\n007,Zed,\n')
    aliases = ExportAliases(columns={"clients": {"name": "Name\n(legal)"}})
    result = read_export_object(tmp_path, CLIENTS, aliases)
    assert [(r["client_id"], r["name"], r["client_id (2)"], r[SOURCE_ROW]) for r in rows(result)] == [
        ("CL-1", "Acme", "dup", 2), ("007", "Zed", None, 3)
    ]
