"""The pair's proposal against the real sandbox schema, measured against the hand-written mapping."""

from __future__ import annotations

import pytest
import yaml

from crm_migration.control.propose import agreement, infer_lookups, propose_pair, write_proposals
from crm_migration.mapping.model import ObjectMapping

pytestmark = pytest.mark.integration


def test_proposal_agrees_with_the_hand_written_mapping(migration, tmp_path):
    from crm_migration.destinations import destination_kind

    pair = migration.pair
    dest = destination_kind("salesforce").from_env()
    schemas = dest.describe(sorted({m.destination.object for m in pair.objects.values()}))
    proposals = propose_pair(pair, migration.export, schemas)
    score = agreement(pair, proposals)
    assert score.share >= 0.9, f"{score.share:.0%} right; misses: {score.misses}"
    for path in write_proposals(proposals, tmp_path):
        ObjectMapping.model_validate(yaml.safe_load(path.read_text()))  # every proposal is a valid mapping file
    # Unknown matter stages are listed, never guessed.
    status = next(f for f in proposals["case"].fields if f.field == "Status")
    unmatched = {v.source for v in status.unmatched_values}
    planted = {d["value"] for d in migration.truth["defects"] if d["reason_code"] == "UNMAPPED_VALUE"}
    assert planted <= unmatched


def test_lookups_are_inferred_from_the_data(migration):
    from crm_migration.pipeline.normalize import extract
    from crm_migration.sources import get_source

    pair = migration.pair
    frames = {n: extract(get_source("perfect_portal"), migration.export, m, pair.settings)[0] for n, m in pair.objects.items()}
    found = infer_lookups(pair, frames)
    assert found["contact"] == {"client_id": "account"}
    assert found["account"] == {"parent_client_id": "account"}
    assert found["task"] == {"matter_id": "case", "contact_id": "contact"}
