"""Normalization of mixed, messy source values: pure functions, no server."""

from __future__ import annotations

import pandas as pd

from crm_migration.pipeline.normalize import html_to_text, parse_datetimes

FORMATS = ["%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y", "%Y-%m-%d", "%d %b %Y"]


def test_mixed_formats_offsets_kept_naive_read_in_zone():
    s = pd.Series(["2024-03-05T10:22:00Z", "2024-03-05T10:22:00+02:00", "2024-03-05 10:22:00",
                   "03/05/2024 10:22", "05 Mar 2024", "next Tuesday", None], dtype="string")
    out = parse_datetimes(s, FORMATS, "America/New_York")
    iso = out.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert iso[0] == "2024-03-05T10:22:00Z"
    assert iso[1] == "2024-03-05T08:22:00Z"
    assert iso[2] == "2024-03-05T15:22:00Z"  # EST is UTC-5 in March before the DST change
    assert iso[3] == "2024-03-05T15:22:00Z"
    assert iso[4] == "2024-03-05T05:00:00Z"
    assert pd.isna(out[5]) and pd.isna(out[6])


def test_dst_gap_is_not_shifted_silently():
    # 02:30 on 2024-03-10 does not exist in New York.
    out = parse_datetimes(pd.Series(["2024-03-10 02:30:00"], dtype="string"), FORMATS, "America/New_York")
    assert pd.isna(out[0])


def test_html_stripped_to_text():
    s = pd.Series(["<p>Call with <b>Zoë</b> &amp; team</p><p>Next&nbsp;step:<br>send NDA</p>", "plain", None], dtype="string")
    out = html_to_text(s)
    assert out[0] == "Call with Zoë & team\nNext step:\nsend NDA"
    assert out[1] == "plain" and pd.isna(out[2])


def test_html_matches_the_generators_samples(tmp_path):
    from crm_migration.sources.perfect_portal.generator import generate_export, load_truth

    truth = load_truth(generate_export(tmp_path, seed=3, scale=0.2, with_files=False))
    samples = truth["html_samples"]
    out = html_to_text(pd.Series([s["html"] for s in samples], dtype="string"))
    assert list(out) == [s["expected_text"] for s in samples]


def test_day_or_month_first_is_decided_per_column_and_ambiguity_reported():
    from crm_migration.pipeline.normalize import date_order

    formats = ["%d/%m/%Y", "%m/%d/%Y", "%Y-%m-%d"]
    day_first = pd.Series(["23/04/2024", "03/04/2024", "2024-01-02"], dtype="string")
    month_first = pd.Series(["04/23/2024", "03/04/2024"], dtype="string")
    undecidable = pd.Series(["03/04/2024", "05/05/2024", "12/01/2024"], dtype="string")
    assert parse_datetimes(day_first, formats, "UTC").dt.strftime("%Y-%m-%d").tolist() == ["2024-04-23", "2024-04-03", "2024-01-02"]
    assert parse_datetimes(month_first, formats, "UTC").dt.strftime("%Y-%m-%d").tolist() == ["2024-04-23", "2024-03-04"]
    out = parse_datetimes(undecidable, formats, "UTC")
    _, ambiguous = date_order(undecidable, formats)
    assert ambiguous.tolist() == [True, False, True]  # 05/05 reads the same either way
    assert out.isna().tolist() == [True, False, True]


def test_a_column_order_decided_on_the_whole_export_reads_a_slice_the_same_way():
    from crm_migration.pipeline.normalize import date_order

    formats = ["%d/%m/%Y", "%m/%d/%Y"]
    slice_ = pd.Series(["03/04/2024", "05/06/2024"], dtype="string")  # no telling value in this slice
    assert date_order(slice_, formats)[1].all()  # on its own: ambiguous
    out = parse_datetimes(slice_, formats, "UTC", order="day_first")
    assert out.dt.strftime("%Y-%m-%d").tolist() == ["2024-04-03", "2024-06-05"]
