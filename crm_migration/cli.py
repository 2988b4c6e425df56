"""`crm-migration`: the demo, the sandboxes, sample exports, runs and the schema plan from the shell."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

DEMO_PAIR = "perfect_portal__salesforce"


def _home(args) -> Path:
    home = Path(args.home or os.environ.get("CRM_MIGRATION_HOME") or ".crm_migration").resolve()
    os.environ["CRM_MIGRATION_HOME"] = str(home)
    return home


def _dagster_instance():
    """The instance of the top-level dagster.yaml, so that CLI runs appear in `dagster dev`."""
    from dagster import DagsterInstance

    from crm_migration.mapping.loader import mappings_root

    project = mappings_root().parent
    if not os.environ.get("DAGSTER_HOME") and (project / "dagster.yaml").exists():
        os.environ["DAGSTER_HOME"] = str(project)
        os.chdir(project)  # dagster.yaml's storage paths are relative to the project folder
    return DagsterInstance.get()


def _salesforce_from_env():
    from crm_migration.destinations.salesforce import SalesforceDestination

    return SalesforceDestination(instance_url=os.environ["SALESFORCE_INSTANCE_URL"], client_id=os.environ["SALESFORCE_CLIENT_ID"],
                                 client_secret=os.environ["SALESFORCE_CLIENT_SECRET"])


def _use_sandbox(handle) -> None:
    """Point the Salesforce resource at a sandbox: the pipeline reads these like any org's settings."""
    os.environ["SALESFORCE_INSTANCE_URL"] = handle.url
    os.environ["SALESFORCE_CLIENT_ID"] = handle.credentials["client_id"]
    os.environ["SALESFORCE_CLIENT_SECRET"] = handle.credentials["client_secret"]
    os.environ["SALESFORCE_CA_FILE"] = str(handle.ca_file)


def apply_schema_plan(pair, dest) -> list[str]:
    from crm_migration.pipeline.schema_plan import plan_schema

    objects = sorted({m.destination.object for m in pair.objects.values()})
    plan = plan_schema(pair, dest.describe(objects))
    return dest.apply_schema_plan(plan) if not plan.empty else []


def materialize(pair, run_id: str, instance) -> bool:
    from crm_migration.assets import job_name
    from crm_migration.definitions import build_definitions

    job = build_definitions().resolve_job_def(job_name(pair))
    # The full event log goes to the instance (`dagster dev` shows it); the console gets warnings and errors.
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    result = job.execute_in_process(partition_key=run_id, instance=instance, raise_on_error=False, run_config=quiet)
    return result.success


def print_summary(pair, run_id: str, out=sys.stdout) -> bool:
    from crm_migration.pipeline.storage import RunStore, data_home

    store = RunStore(data_home(), pair.name, run_id)
    path = store.reports_dir() / "accounting.json"
    if not path.exists():
        print(f"no reconciliation report for {pair.name} run {run_id}: the run did not reach it (see the Dagster run log)", file=out)
        return False
    rows = json.loads(path.read_text())
    cols = ["object", "extracted", "loaded", "created", "updated", "unchanged", "rejected", "skipped", "flagged", "mismatches", "missing"]
    width = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    print(f"\nReconciliation: {pair.name}, run {run_id}", file=out)
    print("  ".join(c.rjust(width[c]) for c in cols) + "  reconciled", file=out)
    for r in rows:
        print("  ".join(str(r[c]).rjust(width[c]) for c in cols) + ("  yes" if r["reconciled"] else "  NO"), file=out)
    from crm_migration.pipeline.report import reasons_table

    reasons = reasons_table(store)
    if len(reasons):
        print("\nRejects, flags and skips by reason:", file=out)
        for r in reasons.itertuples(index=False):
            print(f"  {r.object:<12} {r.severity:<6} {r.reason_code:<26} {r.records:>5}  {r.meaning}", file=out)
    print(f"\nReport: {store.reports_dir() / 'reconciliation.md'}", file=out)
    return all(r["reconciled"] for r in rows)


def cmd_demo(args) -> int:
    from crm_migration.mapping.loader import load_pair, mappings_root
    from crm_migration.sandbox import start_sandbox
    from crm_migration.sources import get_source
    from crm_migration.sources.perfect_portal.generator import destination_users

    home = _home(args)
    pair = load_pair(mappings_root() / DEMO_PAIR)
    export = home / "exports" / "perfect_portal"
    print(f"1. Writing a Perfect Portal sample export (seed {args.seed}, scale {args.scale}) to {export}")
    get_source("perfect_portal").generate(export, seed=args.seed, scale=args.scale)
    print("2. Starting the local Salesforce sandbox (HTTPS on 127.0.0.1)")
    with start_sandbox("salesforce", home / "sandboxes" / "salesforce") as sandbox:
        _use_sandbox(sandbox)
        print(f"   {sandbox.url} (CA file {sandbox.ca_file})")
        existing = {u["Email"].lower() for u in sandbox.admin("GET", "users")}
        wanted = destination_users(export) + [{"Email": pair.settings.owners.fallback_email, "FirstName": "Migration",
                                               "LastName": "Owner", "IsActive": True}]
        new = [u for u in wanted if u["Email"].lower() not in existing]
        if new:
            sandbox.add_users(new)
        print("3. Applying the pair's schema plan to the sandbox")
        for line in apply_schema_plan(pair, _salesforce_from_env()) or ["nothing to change"]:
            print(f"   {line}")
        instance = _dagster_instance()
        from crm_migration.assets import open_run

        run_id = args.run_id
        open_run(instance, pair, run_id, "full", export)
        print(f"4. Materializing every asset of {pair.name} for run partition {run_id!r}")
        ok = materialize(pair, run_id, instance)
    print("5. Summary")
    reconciled = print_summary(pair, run_id)
    if not ok:
        print("The Dagster run failed: see `dagster dev` (DAGSTER_HOME=" + os.environ.get("DAGSTER_HOME", "") + ")")
    return 0 if ok and reconciled else 1


def cmd_generate(args) -> int:
    from crm_migration.sources import get_source

    out = get_source(args.source).generate(Path(args.out), seed=args.seed, scale=args.scale, with_files=not args.no_files)
    print(out)
    return 0


def cmd_run(args) -> int:
    from crm_migration.assets import open_run
    from crm_migration.mapping.loader import load_pair, mappings_root

    _home(args)
    pair = load_pair(mappings_root() / args.pair)
    instance = _dagster_instance()
    if args.action == "open":
        manifest = open_run(instance, pair, args.run_id, args.kind, Path(args.export))
        print(json.dumps(manifest.__dict__, indent=2))
        return 0
    ok = materialize(pair, args.run_id, instance)
    return 0 if print_summary(pair, args.run_id) and ok else 1


def cmd_schema(args) -> int:
    from crm_migration.mapping.loader import load_pair, mappings_root
    from crm_migration.pipeline.schema_plan import plan_markdown, plan_schema

    pair = load_pair(mappings_root() / args.pair)
    dest = _salesforce_from_env()
    if args.action == "apply":
        for line in apply_schema_plan(pair, dest) or ["nothing to change"]:
            print(line)
        return 0
    print(plan_markdown(plan_schema(pair, dest.describe(sorted({m.destination.object for m in pair.objects.values()})))))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["sandbox"]:
        from crm_migration.sandbox.cli import main as sandbox_main

        return sandbox_main(argv[1:])
    parser = argparse.ArgumentParser(prog="crm-migration", description=__doc__)
    parser.add_argument("--home", help="the data directory (default: $CRM_MIGRATION_HOME or ./.crm_migration)")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="the whole demo migration into the local Salesforce sandbox")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--scale", type=float, default=1.0)
    demo.add_argument("--run-id", default="demo-full")
    demo.set_defaults(fn=cmd_demo)

    gen = sub.add_parser("generate", help="write a deterministic, messy sample export")
    gen.add_argument("source", choices=["perfect_portal"])
    gen.add_argument("out")
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument("--scale", type=float, default=1.0)
    gen.add_argument("--no-files", action="store_true")
    gen.set_defaults(fn=cmd_generate)

    run = sub.add_parser("run", help="open a migration run (a partition) or materialize it")
    run.add_argument("action", choices=["open", "materialize"])
    run.add_argument("--pair", required=True)
    run.add_argument("--run-id", required=True)
    run.add_argument("--kind", choices=["full", "sample", "delta"], default="full")
    run.add_argument("--export", help="the export folder (open)")
    run.set_defaults(fn=cmd_run)

    schema = sub.add_parser("schema", help="show or apply the pair's schema plan (destination settings from the environment)")
    schema.add_argument("action", choices=["plan", "apply"])
    schema.add_argument("--pair", required=True)
    schema.set_defaults(fn=cmd_schema)

    sub.add_parser("sandbox", help="run a local destination sandbox: `crm-migration sandbox serve salesforce --state-dir DIR`")
    args = parser.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    raise SystemExit(main())
