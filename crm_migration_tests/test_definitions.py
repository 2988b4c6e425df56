"""The asset graph: five assets per mapped object, and lookups as load-order edges."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dagster import AssetKey

from crm_migration.definitions import defs

STAGES = ("raw_extract", "normalized", "mapped", "loaded", "reconciled")
P = "perfect_portal__salesforce"


def _graph():
    return defs.resolve_asset_graph()


def test_five_assets_per_object_in_one_group():
    graph = _graph()
    keys = {k for k in graph.get_all_asset_keys() if k.path[0] == P}
    for obj in ("account", "contact", "case", "document", "task", "interaction"):
        for stage in STAGES:
            assert AssetKey([P, obj, stage]) in keys, (obj, stage)
    assert {graph.get(k).group_name for k in keys} == {P}
    per_object = {k.path[1] for k in keys if len(k.path) == 3}
    assert len([k for k in keys if len(k.path) == 3]) == 5 * len(per_object)


def _upstream(key: AssetKey) -> set[AssetKey]:
    graph, seen, todo = _graph(), set(), [key]
    while todo:
        for parent in graph.get(todo.pop()).parent_keys:
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def test_load_order_edges():
    def loaded(o):
        return AssetKey([P, o, "loaded"])

    assert loaded("account") in _upstream(loaded("contact"))
    assert loaded("contact") in _upstream(loaded("case"))
    assert loaded("case") in _upstream(loaded("task"))
    assert loaded("case") in _upstream(loaded("document"))
    assert loaded("case") in _upstream(loaded("interaction"))
    assert loaded("case") not in _upstream(loaded("account"))


def test_dagster_definitions_validate():
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-m", "dagster", "definitions", "validate", "-w", str(root / "workspace.yaml")],
                          cwd=root, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
