"""The mapping model: the shipped pairs validate, and broken files fail naming file and key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crm_migration.mapping.loader import MappingError, load_all_pairs, load_pair, mappings_root

PP = mappings_root() / "perfect_portal__salesforce"


def test_shipped_pair_loads_in_load_order():
    pair = load_pair(PP)
    order = list(pair.objects)
    assert order.index("account") < order.index("contact") < order.index("case")
    assert order.index("case") < order.index("task") and order.index("case") < order.index("document")
    assert pair.objects["account"].self_lookup == "ParentId"
    assert pair.objects["case"].parents == {"account", "contact"}
    assert len(pair.version) == 16
    assert [p.name for p in load_all_pairs()] == ["lead_perfection__salesforce", "leadsmart__dynamics365", "leadtrac__zoho",
                                                  "perfect_portal__salesforce", "profi__salesforce"]


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "perfect_portal__salesforce"
    shutil.copytree(PP, target)
    return target


def test_error_names_file_and_key(tmp_path):
    folder = _copy(tmp_path)
    path = folder / "contact.yaml"
    path.write_text(path.read_text().replace("  Email: {from: email}", "  Email: {from: email, constant: x}"))
    with pytest.raises(MappingError) as err:
        load_pair(folder)
    assert "contact.yaml" in str(err.value) and "fields.Email" in str(err.value)


def test_unknown_lookup_target_is_named(tmp_path):
    folder = _copy(tmp_path)
    path = folder / "task.yaml"
    path.write_text(path.read_text().replace("lookup: case", "lookup: matter"))
    with pytest.raises(MappingError, match=r"task.yaml: fields.WhatId.lookup: 'matter' is not a mapped object"):
        load_pair(folder)


def test_unknown_key_and_bad_zone_are_refused(tmp_path):
    folder = _copy(tmp_path)
    (folder / "pair.yaml").write_text((folder / "pair.yaml").read_text().replace("America/New_York", "Mars/Olympus"))
    with pytest.raises(MappingError, match=r"pair.yaml: timezone: .*Mars/Olympus"):
        load_pair(folder)
    folder = _copy(tmp_path / "b")
    path = folder / "case.yaml"
    path.write_text(path.read_text() + "\nsurprise: 1\n")
    with pytest.raises(MappingError, match=r"case.yaml: surprise: Extra inputs are not permitted"):
        load_pair(folder)


def test_version_changes_with_any_mapping_file(tmp_path):
    folder = _copy(tmp_path)
    before = load_pair(folder).version
    (folder / "task.yaml").write_text((folder / "task.yaml").read_text() + "\n# edited\n")
    assert load_pair(folder).version != before
