"""`crm-migration`: the demo, the sandboxes, sample exports, runs and the schema plan from the shell."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


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


def _destination_from_env(pair):
    from crm_migration.destinations import destination_kind

    return destination_kind(pair.settings.destination).from_env()


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


def _neutral_user(u: dict) -> dict:
    """A demo user in the sandboxes' common shape (generators may give Salesforce-style keys)."""
    return {"email": u.get("email") or u.get("Email"), "first_name": u.get("first_name", u.get("FirstName", "")),
            "last_name": u.get("last_name", u.get("LastName", "")), "active": bool(u.get("active", u.get("IsActive", True)))}


def source_input(pair, folder: Path, *, seed: int, scale: float, stack):
    """The pair's source data for a demo or a test (an export folder, or a seeded source org), and its users."""
    import importlib

    from crm_migration.sources import get_source

    source = get_source(pair.settings.source)
    if hasattr(source, "demo_input"):  # an API source brings up and seeds its own source org
        return source.demo_input(folder, seed=seed, scale=scale, stack=stack)
    export = source.generate(folder, seed=seed, scale=scale)
    users = importlib.import_module(f"crm_migration.sources.{source.name}.generator").destination_users(export)
    return export, users


def prepare_sandbox(pair, sandbox, users: list[dict]) -> tuple[int, list[str]]:
    """Invite the users the source's owners need (and the fallback owner), then apply the schema plan.

    Returns how many users were invited and what the schema plan changed."""
    import importlib

    dest = _destination_from_env(pair)
    have = set(dest.users()["email"].str.lower())
    wanted = [_neutral_user(u) for u in users]
    wanted.append({"email": pair.settings.owners.fallback_email, "first_name": "Migration", "last_name": "Owner", "active": True})
    new = list({u["email"].lower(): u for u in wanted if u["email"] and u["email"].lower() not in have}.values())
    if new:  # each sandbox takes users in its own admin shape
        admin_user = importlib.import_module(f"crm_migration.sandbox.{sandbox.kind}").admin_user
        sandbox.add_users([admin_user(u) for u in new])
    return len(new), apply_schema_plan(pair, _destination_from_env(pair))


def _demo_pair(pair, sandbox, home: Path, args, instance, stack) -> tuple[str, bool]:
    from crm_migration.assets import open_run
    from crm_migration.control.jobs import approve_sample, confirm_mapping

    print(f"\n== {pair.name}: {pair.settings.description}")
    location, users = source_input(pair, home / "sources" / pair.settings.source, seed=args.seed, scale=args.scale, stack=stack)
    print(f"1. Source data (seed {args.seed}, scale {args.scale}): {location}")
    invited, changes = prepare_sandbox(pair, sandbox, users)
    shown = changes[:4] + ([f"... and {len(changes) - 4} more (`crm-migration schema plan --pair {pair.name}`)"] if len(changes) > 4 else [])
    print(f"2. {invited} user(s) invited to the {sandbox.kind} sandbox; the pair's schema plan applied ({len(changes)} changes):")
    for line in shown or ["nothing to change"]:
        print(f"   {line}")
    confirm_mapping(pair, "crm-migration demo")
    # One run per mapping version: re-running the demo re-materializes the same partitions (and
    # writes nothing); after a mapping edit it opens new ones, as the gates require.
    run_id = args.run_id or f"demo-{pair.version[:8]}"
    sample_id = f"{run_id}-sample"
    open_run(instance, pair, sample_id, "sample", location)
    print(f"3. Mapping confirmed; sample run {sample_id!r} ({pair.settings.sample_size} records per object and their parents)")
    ok = materialize(pair, sample_id, instance) and print_summary(pair, sample_id, out=open(os.devnull, "w"))
    if not ok:
        print("   the sample did not reconcile: no full run")
        return sample_id, False
    approve_sample(pair, sample_id, "crm-migration demo")
    open_run(instance, pair, run_id, "full", location)
    print(f"4. Sample reconciled and approved; full run {run_id!r}: materializing every asset of {pair.name}")
    return run_id, materialize(pair, run_id, instance)


def cmd_demo(args) -> int:
    from contextlib import ExitStack

    from crm_migration.destinations import destination_kind
    from crm_migration.mapping.loader import load_all_pairs
    from crm_migration.sandbox import start_sandbox

    home = _home(args)
    pairs = [p for p in load_all_pairs() if not args.pair or p.name in args.pair]
    if not pairs:
        print(f"no pair called {', '.join(args.pair)} in mappings/", file=sys.stderr)
        return 2
    instance = _dagster_instance()
    runs = []
    with ExitStack() as stack:
        sandboxes = {}
        for pair in pairs:
            kind = pair.settings.destination
            if kind not in sandboxes:
                sandboxes[kind] = stack.enter_context(start_sandbox(kind, home / "sandboxes" / kind))
                destination_kind(kind).point_at_sandbox(sandboxes[kind])
                print(f"Local {kind} sandbox: {sandboxes[kind].url} (CA file {sandboxes[kind].ca_file})")
            run_id, ok = _demo_pair(pair, sandboxes[kind], home, args, instance, stack)
            runs.append((pair, run_id, ok))
    print("\n== Summary")
    failed = []
    for pair, run_id, ok in runs:
        if not (print_summary(pair, run_id) and ok):
            failed.append(pair.name)
    if failed:
        print(f"\nNot reconciled: {', '.join(failed)}. See `dagster dev` (DAGSTER_HOME={os.environ.get('DAGSTER_HOME', '')}).")
    else:
        print(f"\nEvery pair reconciled: {', '.join(p.name for p, _, _ in runs)}.")
    return 1 if failed else 0


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
        extra = {"sample_size": args.sample_size} if args.sample_size else {}
        manifest = open_run(instance, pair, args.run_id, args.kind, args.export, **extra)
        print(json.dumps(manifest.__dict__, indent=2))
        return 0
    ok = materialize(pair, args.run_id, instance)
    return 0 if print_summary(pair, args.run_id) and ok else 1


def _pair(args):
    from crm_migration.mapping.loader import load_pair, mappings_root

    _home(args)
    return load_pair(mappings_root() / args.pair)


def cmd_mapping(args) -> int:
    from crm_migration.control.jobs import confirm_mapping

    record = confirm_mapping(_pair(args), args.by)
    print(f"mapping version {record['mapping_version']} confirmed by {args.by}: {', '.join(record['files'])}")
    return 0


def cmd_sample(args) -> int:
    from crm_migration.control.jobs import approve_sample
    from crm_migration.control.runs import GateRefused

    try:
        approve_sample(_pair(args), args.run_id, args.by, args.note)
    except GateRefused as e:
        print(f"not approved: {e}", file=sys.stderr)
        return 1
    print(f"sample {args.run_id} approved by {args.by}")
    return 0


def cmd_rollback(args) -> int:
    from crm_migration.control.rollback import rollback
    from crm_migration.control.runs import GateRefused
    from crm_migration.pipeline.ledger import Ledger
    from crm_migration.pipeline.storage import data_home

    pair = _pair(args)
    try:
        reports = rollback(pair, Ledger(data_home(), pair.name), _destination_from_env(pair), args.run_id, args.with_later)
    except GateRefused as e:
        print(f"not rolled back: {e}", file=sys.stderr)
        return 1
    for r in reports:
        print(f"{r.run_id}: deleted {r.deleted}, restored {r.restored}, verified by read-back: {'yes' if r.verified else 'NO'}")
        for line in r.failed[:20]:
            print(f"  failed: {line}")
    return 0 if all(r.verified for r in reports) else 1


def cmd_delta(args) -> int:
    from crm_migration.assets import partitions_for
    from crm_migration.control.jobs import next_delta

    pair = _pair(args)
    instance = _dagster_instance()
    found = next_delta(pair)
    if isinstance(found, str):
        print(f"no delta run: {found}")
        return 0
    instance.add_dynamic_partitions(partitions_for(pair).name, [found.run_id])
    print(f"delta run {found.run_id}: records modified since {found.since}")
    ok = materialize(pair, found.run_id, instance)
    return 0 if print_summary(pair, found.run_id) and ok else 1


def cmd_propose(args) -> int:
    from crm_migration.control.propose import agreement, propose_pair, write_proposals
    from crm_migration.pipeline.storage import data_home

    pair = _pair(args)
    dest = _destination_from_env(pair)
    proposals = propose_pair(pair, Path(args.export), dest.describe(sorted({m.destination.object for m in pair.objects.values()})))
    out = Path(args.out) if args.out else data_home() / "proposals" / pair.name
    write_proposals(proposals, out)
    for name, p in proposals.items():
        print(f"{name}: {len(p.fields)} fields proposed, {len(p.unmatched)} columns unmatched, "
              f"{len(p.unmatched_values)} picklist values unmatched")
    score = agreement(pair, proposals)
    print(f"agreement with mappings/{pair.name}: {score.share:.1%} "
          f"({score.fields_right}/{score.fields} fields, {score.values_right}/{score.values} picklist values)")
    print(f"proposals: {out} (edit them, copy them into mappings/{pair.name}/, then `crm-migration mapping confirm`)")
    return 0


def cmd_schema(args) -> int:
    from crm_migration.mapping.loader import load_pair, mappings_root
    from crm_migration.pipeline.schema_plan import plan_markdown, plan_schema

    pair = load_pair(mappings_root() / args.pair)
    dest = _destination_from_env(pair)
    if args.action == "apply":
        from urllib.parse import urlparse

        from crm_migration.destinations import destination_kind

        url = getattr(dest, next(iter(destination_kind(pair.settings.destination).settings)))
        host = urlparse(url).hostname or ""
        if host not in ("127.0.0.1", "localhost", "::1") and not args.real_org:
            print(f"{url} is not a local sandbox: review `crm-migration schema plan` and pass --real-org "
                  "to create these fields in that org", file=sys.stderr)
            return 1
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

    demo = sub.add_parser("demo", help="the whole demo migration of every pair into the local sandboxes")
    demo.add_argument("--pair", action="append", help="only this pair (repeatable; default: every pair in mappings/)")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--scale", type=float, default=1.0)
    demo.add_argument("--run-id", help="the full run's partition (default: demo-<mapping version>)")
    demo.set_defaults(fn=cmd_demo)

    gen = sub.add_parser("generate", help="write a deterministic, messy sample export")
    gen.add_argument("source", help="lead_perfection, leadtrac, perfect_portal or profi")
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
    run.add_argument("--sample-size", type=int, help="records per object in a sample run (default: the pair's)")
    run.set_defaults(fn=cmd_run)

    propose = sub.add_parser("propose", help="propose a mapping from an export and the destination's schema")
    propose.add_argument("--pair", required=True)
    propose.add_argument("--export", required=True)
    propose.add_argument("--out", help="where to write the proposed mapping files (default: <home>/proposals/<pair>)")
    propose.set_defaults(fn=cmd_propose)

    mapping = sub.add_parser("mapping", help="confirm the pair's mapping files as they are now")
    mapping.add_argument("action", choices=["confirm"])
    mapping.add_argument("--pair", required=True)
    mapping.add_argument("--by", required=True, help="who confirms")
    mapping.set_defaults(fn=cmd_mapping)

    sample = sub.add_parser("sample", help="approve a reconciled sample run (a full run needs one)")
    sample.add_argument("action", choices=["approve"])
    sample.add_argument("--pair", required=True)
    sample.add_argument("--run-id", required=True)
    sample.add_argument("--by", required=True)
    sample.add_argument("--note", help="explains any field-level differences that remain")
    sample.set_defaults(fn=cmd_sample)

    rb = sub.add_parser("rollback", help="roll back a run: delete what it created, restore what it updated")
    rb.add_argument("--pair", required=True)
    rb.add_argument("--run-id", required=True)
    rb.add_argument("--with-later", action="store_true", help="also roll back later runs that depend on it")
    rb.set_defaults(fn=cmd_rollback)

    delta = sub.add_parser("delta", help="open and run the next delta run if the export changed (what the sensor does)")
    delta.add_argument("--pair", required=True)
    delta.set_defaults(fn=cmd_delta)

    schema = sub.add_parser("schema", help="show or apply the pair's schema plan (destination settings from the environment)")
    schema.add_argument("action", choices=["plan", "apply"])
    schema.add_argument("--pair", required=True)
    schema.add_argument("--real-org", action="store_true", help="apply to a destination that is not a local sandbox")
    schema.set_defaults(fn=cmd_schema)

    sub.add_parser("sandbox", help="run a local destination sandbox: `crm-migration sandbox serve salesforce --state-dir DIR`")
    args = parser.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    raise SystemExit(main())
