"""How often the mapping proposal agrees with the hand-written Perfect Portal mapping (not a test).

    python bench/proposal_accuracy.py

Generates the sample export, starts a sandbox prepared by the pair's schema plan (the org as it is
at the sample run), proposes a mapping for every object and prints the share of fields and
picklist values proposed as the hand-written mapping has them, with every miss.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="crm-proposal-"))
    os.environ["CRM_MIGRATION_HOME"] = str(home)
    from crm_migration.cli import apply_schema_plan
    from crm_migration.destinations import destination_kind
    from crm_migration.control.propose import agreement, propose_pair
    from crm_migration.mapping.loader import load_pair, mappings_root
    from crm_migration.sandbox import start_sandbox
    from crm_migration.sources import get_source

    try:
        pair = load_pair(mappings_root() / "perfect_portal__salesforce")
        export = get_source("perfect_portal").generate(home / "export", seed=7, scale=1.0)
        with start_sandbox("salesforce", home / "sandbox") as sandbox:
            destination_kind("salesforce").point_at_sandbox(sandbox)
            dest = destination_kind("salesforce").from_env()
            apply_schema_plan(pair, dest)
            proposals = propose_pair(pair, export, dest.describe(sorted({m.destination.object for m in pair.objects.values()})))
        score = agreement(pair, proposals)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(f"fields:          {score.fields_right}/{score.fields}")
    print(f"picklist values: {score.values_right}/{score.values}")
    print(f"agreement:       {score.share:.1%}")
    print(f"not scored (constants and templates, written by hand): {', '.join(score.not_scored)}")
    for miss in score.misses:
        print(f"  miss: {miss}")
    return 0 if score.share >= 0.9 else 1


if __name__ == "__main__":
    raise SystemExit(main())
