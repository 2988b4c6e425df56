"""Benchmark (not a test): throughput per stage, HTTP requests per 10,000 records loaded, peak memory.

    python bench/run.py --records 1000000 --load-share 0.02

Generates a Perfect Portal export of about `--records` records (no attachment bodies), runs the
raw_extract + normalized and mapped stages of every object on it, then loads `--load-share` of the
accounts and contacts into a fresh local Salesforce sandbox through the real destination.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--load-share", type=float, default=0.05, help="share of accounts and contacts to load")
    parser.add_argument("--home", help="working folder (default: a temporary one, removed afterwards)")
    args = parser.parse_args()

    home = Path(args.home or tempfile.mkdtemp(prefix="crm-bench-"))
    os.environ["CRM_MIGRATION_HOME"] = str(home)
    from crm_migration.cli import apply_schema_plan
    from crm_migration.destinations import destination_kind
    from crm_migration.mapping.loader import load_pair, mappings_root
    from crm_migration.pipeline.ledger import Ledger, RunManifest
    from crm_migration.pipeline.load import load_object
    from crm_migration.pipeline.normalize import extract, normalize
    from crm_migration.pipeline.transform import ParentKeys, build_mapped
    from crm_migration.pipeline.issues import EXTERNAL_ID
    from crm_migration.sandbox import start_sandbox
    from crm_migration.sources import get_source
    from crm_migration.sources.perfect_portal.generator import destination_users, load_truth

    pair = load_pair(mappings_root() / "perfect_portal__salesforce")
    source = get_source("perfect_portal")
    t0 = time.perf_counter()
    # About 5,437 records (object rows and property rows) per unit of scale.
    export = source.generate(home / "export", seed=3, scale=args.records / 5437, with_files=False)
    total = sum(load_truth(export)["counts"].values())
    print(f"generate: {total:,} records in {time.perf_counter() - t0:.1f} s")

    try:
        with start_sandbox("salesforce", home / "sandbox") as sandbox:
            destination_kind("salesforce").point_at_sandbox(sandbox)
            sandbox.add_users(destination_users(export) + [{"Email": pair.settings.owners.fallback_email, "FirstName": "Migration",
                                                            "LastName": "Owner", "IsActive": True}])
            dest = destination_kind("salesforce").from_env()
            apply_schema_plan(pair, dest)
            schemas = dest.describe(sorted({m.destination.object for m in pair.objects.values()}))
            users = dest.users()

            rows = {"normalized": 0, "mapped": 0}
            secs = {"normalized": 0.0, "mapped": 0.0}
            mapped_frames = {}
            for name, m in pair.objects.items():
                t = time.perf_counter()
                raw, _, _ = extract(source, export, m, pair.settings)
                norm, issues = normalize(raw, m, pair.settings, export)
                secs["normalized"] += time.perf_counter() - t
                rows["normalized"] += len(raw)
                t = time.perf_counter()
                parents = {p: ParentKeys(alive=set(mapped_frames[p][EXTERNAL_ID])) for p in m.parents}
                out, _ = build_mapped(norm, pair, m, schemas[m.destination.object], users, parents, dest.max_file_bytes)
                secs["mapped"] += time.perf_counter() - t
                rows["mapped"] += len(norm)
                mapped_frames[name] = out
                del raw, norm

            ledger = Ledger(home, pair.name)
            ledger.open_run(RunManifest(run_id="bench", pair=pair.name, kind="full", export_dir=str(export), mapping_version=pair.version))
            before = sandbox.stats()["requests"]
            loaded, t = 0, time.perf_counter()
            # Root accounts (no parent) and their contacts: every record in the share can load.
            accounts = mapped_frames["account"]
            roots = accounts[accounts["ParentId"].isna()].iloc[: max(1, int(len(accounts) * args.load_share))]
            for name in ("account", "contact"):
                frame = mapped_frames[name]
                share = roots if name == "account" else frame[frame["AccountId"].isin(set(roots[EXTERNAL_ID]))]
                table, _ = load_object(dest, pair, pair.objects[name], share, schemas[pair.objects[name].destination.object], ledger, "bench")
                loaded += int(table["action"].isin(["created", "updated", "unchanged"]).sum())
            load_secs = time.perf_counter() - t
            requests_used = sandbox.stats()["requests"] - before
    finally:
        if not args.home:
            shutil.rmtree(home, ignore_errors=True)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(pd.DataFrame([
        {"stage": "raw_extract + normalized (object rows; property rows pivoted in)", "records": rows["normalized"], "seconds": round(secs["normalized"], 1),
         "records/s": round(rows["normalized"] / secs["normalized"])},
        {"stage": "mapped", "records": rows["mapped"], "seconds": round(secs["mapped"], 1), "records/s": round(rows["mapped"] / secs["mapped"])},
        {"stage": "loaded (account+contact share)", "records": loaded, "seconds": round(load_secs, 1), "records/s": round(loaded / load_secs)},
    ]).to_string(index=False))
    print(f"HTTP requests per 10,000 records loaded: {requests_used / max(loaded, 1) * 10000:.0f}")
    print(f"peak memory (RSS): {peak_mb:.0f} MB")
    print(f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
