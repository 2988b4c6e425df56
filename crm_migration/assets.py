"""The asset factory: a pair's mapping models become its asset graph.

For every mapped object, five assets partitioned by migration run:

    raw_extract -> normalized -> mapped -> loaded -> reconciled

Lookups between objects become edges (a child's `mapped` needs its parents' `mapped` to know which
parents exist; its `loaded` needs their `loaded` for their destination ids), so the graph itself
enforces the load order. Beside the chains sit the pair-level assets: the destination's schema
(with the schema plan), its users (owner resolution) and the run's reconciliation report.

Nothing here names a CRM: the destination is the resource named in the pair's settings.
"""


import json
from pathlib import Path

import pandas as pd
from dagster import (
    AssetCheckResult,
    Failure,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    AssetsDefinition,
    DynamicPartitionsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
    define_asset_job,
)

from crm_migration.control.owners import owner_report
from crm_migration.control.rebuild import rebuild_reference
from crm_migration.control.runs import GateRefused, check_load_allowed, select_slice
from crm_migration.destinations.base import ObjectSchema
from crm_migration.mapping.loader import Pair
from crm_migration.mapping.model import ObjectMapping
from crm_migration.pipeline import load as loading
from crm_migration.pipeline.issues import EXTERNAL_ID
from crm_migration.pipeline.ledger import Ledger, RunManifest
from crm_migration.pipeline.normalize import column_orders, extract, normalize
from crm_migration.pipeline.report import account, data_quality, markdown_table, write_report
from crm_migration.pipeline.schema_plan import missing_fields, plan_markdown, plan_schema, plan_table
from crm_migration.pipeline.storage import RunStore, data_home, read_parquet, write_json, write_parquet
from crm_migration.pipeline.transform import ParentKeys, build_mapped
from crm_migration.sources import get_source
from crm_migration.sources.base import as_location, files_root


def partitions_for(pair: Pair) -> DynamicPartitionsDefinition:
    return DynamicPartitionsDefinition(name=f"{pair.name}__runs")


def job_name(pair: Pair) -> str:
    return f"{pair.name}__migrate"


def _run(pair: Pair, context: AssetExecutionContext) -> tuple[RunStore, Ledger, RunManifest]:
    home = data_home()
    ledger = Ledger(home, pair.name)
    return RunStore(home, pair.name, context.partition_key), ledger, ledger.run(context.partition_key)


def _counts_md(df: pd.DataFrame) -> MetadataValue:
    if df.empty:
        return MetadataValue.md("_no rejects, flags or skips_")
    table = df.groupby(["severity", "reason_code", "field"], dropna=False).size().reset_index(name="records")
    return MetadataValue.md(markdown_table(table))


def _schema(store: RunStore, obj: str) -> ObjectSchema:
    return ObjectSchema.from_dict(json.loads(store.pair_path("destination_schema.json").read_text())[obj])


def build_pair_assets(pair: Pair) -> list[AssetsDefinition]:
    """Every asset of one pair: the pair-level ones and five per mapped object."""
    parts = partitions_for(pair)
    dest_key = pair.settings.destination
    group = pair.name
    pool = f"{dest_key}_api"

    def key(*names: str) -> AssetKey:
        return AssetKey([pair.name, *names])

    schema_key, users_key = key("destination_schema"), key("destination_users")

    @asset(key=schema_key, partitions_def=parts, group_name=group, required_resource_keys={dest_key}, pool=pool,
           description="The destination's description of every object the pair writes, and the schema plan of what it lacks.",
           check_specs=[AssetCheckSpec("schema_ready", asset=schema_key, blocking=True,
                                       description="The destination has every field and picklist value the mappings need.")])
    def destination_schema(context: AssetExecutionContext) -> MaterializeResult:
        store, _, _ = _run(pair, context)
        dest = getattr(context.resources, dest_key)
        objects = sorted({m.destination.object for m in pair.objects.values()})
        schemas = dest.describe(objects)
        write_json({o: s.to_dict() for o, s in schemas.items()}, store.pair_path("destination_schema.json"))
        write_json({"max_file_bytes": dest.max_file_bytes}, store.pair_path("destination_limits.json"))
        plan = plan_schema(pair, schemas)
        plan_table(plan).to_csv(store.pair_path("schema_plan.csv"), index=False)
        store.pair_path("schema_plan.md").write_text(plan_markdown(plan), encoding="utf-8")
        missing = missing_fields(pair, schemas)
        return MaterializeResult(
            metadata={"objects": MetadataValue.int(len(objects)), "schema plan": MetadataValue.md(plan_markdown(plan)),
                      "plan file": MetadataValue.path(str(store.pair_path("schema_plan.csv")))},
            check_results=[AssetCheckResult(
                check_name="schema_ready", passed=plan.empty and not missing,
                metadata={"missing fields": MetadataValue.int(len(missing)), "planned changes": MetadataValue.int(len(plan.fields) + len(plan.values)),
                          "detail": MetadataValue.md(plan_markdown(plan) + ("\n\nMissing: " + ", ".join(missing) if missing else ""))},
            )],
        )

    @asset(key=users_key, partitions_def=parts, group_name=group, required_resource_keys={dest_key}, pool=pool,
           description="The destination's users with e-mail and active flag: who can own migrated records.",
           check_specs=[AssetCheckSpec("fallback_owner_active", asset=users_key, blocking=True,
                                       description="The pair's fallback owner is an active destination user.")])
    def destination_users(context: AssetExecutionContext) -> MaterializeResult:
        store, _, _ = _run(pair, context)
        users = getattr(context.resources, dest_key).users()
        write_parquet(users, store.pair_path("destination_users.parquet"))
        fallback = (pair.settings.owners.fallback_email or "").lower()
        ok = bool(((users["email"] == fallback) & users["active"]).any()) or pair.settings.owners.on_unresolved == "reject"
        return MaterializeResult(
            metadata={"users": MetadataValue.int(len(users)), "active": MetadataValue.int(int(users["active"].sum()))},
            check_results=[AssetCheckResult(check_name="fallback_owner_active", passed=ok,
                                            metadata={"fallback": MetadataValue.text(fallback or "(none)")})],
        )

    slice_key = key("run_slice")

    @asset(key=slice_key, partitions_def=parts, group_name=group,
           description="The records this run moves: all (full), a sample with its parents, or what changed since the watermark (delta).")
    def run_slice(context: AssetExecutionContext) -> MaterializeResult:
        store, _, manifest = _run(pair, context)
        chosen = select_slice(pair, manifest, get_source(pair.settings.source))
        write_json({"kind": manifest.kind, "since": manifest.since, "ids": chosen}, store.pair_path("run_slice.json"))
        counts = {o: MetadataValue.int(len(v)) for o, v in (chosen or {}).items()}
        return MaterializeResult(metadata={"kind": MetadataValue.text(manifest.kind),
                                           "since": MetadataValue.text(manifest.since or "-"), **counts})

    owners_key = key("owner_report")

    @asset(key=owners_key, partitions_def=parts, group_name=group,
           deps=[users_key, *[key(o, "normalized") for o in pair.objects]],
           check_specs=[AssetCheckSpec("owners_resolved", asset=owners_key, blocking=True,
                                       description="Every source owner is an active destination user or falls back to one.")],
           description="Every source owner, the destination user matched by e-mail (active or not), and the fallback used.")
    def owner_report_asset(context: AssetExecutionContext) -> MaterializeResult:
        store, _, _ = _run(pair, context)
        table = owner_report(pair, store, read_parquet(store.pair_path("destination_users.parquet")))
        table.to_csv(store.pair_path("owner_report.csv"), index=False)
        unresolved = table[table["resolution"] == "UNRESOLVED"]
        md = markdown_table(table)
        store.pair_path("owner_report.md").write_text(md, encoding="utf-8")
        return MaterializeResult(
            metadata={"owners": MetadataValue.int(len(table)), "report": MetadataValue.md(md),
                      "file": MetadataValue.path(str(store.pair_path("owner_report.csv")))},
            check_results=[AssetCheckResult(
                check_name="owners_resolved", passed=unresolved.empty,
                metadata={"unresolved": MetadataValue.md(
                    markdown_table(unresolved) + "\n\nInvite these users, or set owners.fallback_email in pair.yaml." if len(unresolved) else "none")})],
        )

    @asset(key=key("rebuild_reference"), partitions_def=parts, group_name=group,
           description="Workflows, integrations and access settings that do not migrate, written down for the rebuild.")
    def rebuild_reference_asset(context: AssetExecutionContext) -> MaterializeResult:
        store, _, manifest = _run(pair, context)
        md = rebuild_reference(pair, files_root(get_source(pair.settings.source), as_location(manifest.export_dir)))
        path = store.reports_dir() / "rebuild_reference.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(md, encoding="utf-8")
        return MaterializeResult(metadata={"reference": MetadataValue.md(md), "file": MetadataValue.path(str(path))})

    @asset(key=key("data_quality_report"), partitions_def=parts, group_name=group,
           deps=[schema_key, *[key(o, "normalized") for o in pair.objects]],
           description="Before anything loads: duplicates, malformed e-mails, blank mandatory fields, dates normalized, "
                       "and the values that need a destination picklist option.")
    def data_quality_report(context: AssetExecutionContext) -> MaterializeResult:
        store, _, _ = _run(pair, context)
        md, counts = data_quality(pair, store)
        path = store.reports_dir() / "data_quality.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(md, encoding="utf-8")
        return MaterializeResult(metadata={**{k: MetadataValue.int(v) for k, v in counts.items()},
                                           "report": MetadataValue.md(md), "file": MetadataValue.path(str(path))})

    assets = [destination_schema, destination_users, run_slice, owner_report_asset, rebuild_reference_asset, data_quality_report]
    for mapping in pair.objects.values():
        assets += _object_assets(pair, mapping, parts, key, dest_key, pool)
    assets.append(_report_asset(pair, parts, key))
    return assets


def _object_assets(pair: Pair, mapping: ObjectMapping, parts, key, dest_key: str, pool: str) -> list[AssetsDefinition]:
    obj, group = mapping.object, pair.name
    k = {stage: key(obj, stage) for stage in ("raw_extract", "normalized", "mapped", "loaded", "reconciled")}
    what = f"{mapping.source.object} -> {mapping.destination.object}"

    @asset(key=k["raw_extract"], deps=[key("run_slice")], partitions_def=parts, group_name=group,
           description=f"The run's {mapping.source.object} rows as read from the export ({what}).",
           check_specs=[AssetCheckSpec("rows_parse", asset=k["raw_extract"], description="Every export row could be parsed.")])
    def raw_extract(context: AssetExecutionContext) -> MaterializeResult:
        store, _, manifest = _run(pair, context)
        raw, issues, meta = extract(get_source(pair.settings.source), as_location(manifest.export_dir), mapping, pair.settings)
        write_json(column_orders(raw, mapping), store.pair_path(f"date_orders_{obj}.json"))  # from all rows, before the slice
        chosen = json.loads(store.pair_path("run_slice.json").read_text())["ids"]
        if chosen is not None:
            raw = raw[raw[mapping.source.id].isin(set(chosen.get(obj, [])))].reset_index(drop=True)
            issues = issues.iloc[0:0]  # unparseable rows belong to the full run that reported them
        path = store.write(raw, obj, "raw_extract", issues)
        return MaterializeResult(
            metadata={"rows": MetadataValue.int(len(raw)), "path": MetadataValue.path(str(path)),
                      **{k2: MetadataValue.text(str(v)) for k2, v in meta.items() if k2 != "rows"}},
            check_results=[AssetCheckResult(check_name="rows_parse", passed=issues.empty, severity=AssetCheckSeverity.WARN,
                                            metadata={"unparseable rows": MetadataValue.int(len(issues)), "issues": _counts_md(issues)})],
        )

    @asset(key=k["normalized"], deps=[k["raw_extract"]], partitions_def=parts, group_name=group,
           description=f"{mapping.source.object}, typed and cleaned; unusable rows rejected with a reason code.")
    def normalized(context: AssetExecutionContext) -> MaterializeResult:
        store, _, manifest = _run(pair, context)
        source = get_source(pair.settings.source)
        norm, issues = normalize(store.read(obj, "raw_extract"), mapping, pair.settings,
                                 files_root(source, as_location(manifest.export_dir)),
                                 work_dir=data_home() / "bodies" / pair.name / obj,
                                 orders=json.loads(store.pair_path(f"date_orders_{obj}.json").read_text()))
        path = store.write(norm, obj, "normalized", issues)
        sev = issues["severity"].value_counts()
        return MaterializeResult(metadata={
            "rows": MetadataValue.int(len(norm)), "rejected": MetadataValue.int(int(sev.get("reject", 0))),
            "flagged": MetadataValue.int(int(sev.get("flag", 0))), "issues": _counts_md(issues), "path": MetadataValue.path(str(path))})

    parent_mapped = [key(p, "mapped") for p in sorted(mapping.parents)]
    mapped_checks = [
        AssetCheckSpec("owner_coverage", asset=k["mapped"], blocking=True, description="Every record has a destination owner."),
        AssetCheckSpec("picklist_coverage", asset=k["mapped"], blocking=True,
                       description="Every picklist value is one the destination accepts."),
    ]

    @asset(key=k["mapped"], deps=[k["normalized"], key("destination_schema"), key("destination_users"), *parent_mapped],
           partitions_def=parts, group_name=group, check_specs=mapped_checks,
           description=f"Destination-shaped {mapping.destination.object} records: fields, value maps, owners, lookups by external id.")
    def mapped(context: AssetExecutionContext) -> MaterializeResult:
        store, ledger, _ = _run(pair, context)
        schema = _schema(store, mapping.destination.object)
        users = read_parquet(store.pair_path("destination_users.parquet"))
        xref = ledger.xref_by_object()
        parents = {}
        for p in [*mapping.parents, *([obj] if mapping.self_lookup else [])]:
            pre = pair.objects[p].source.external_id_prefix
            # This object's own rows are not mapped yet: only what normalize rejected counts against it.
            rejected = store.read_issues(p) if p != obj else store.read_issues(p, "normalized")
            alive = set(xref.get(p, {}))
            if p != obj:
                alive |= set(store.read(p, "mapped")[EXTERNAL_ID])
            by_column = any(p in r.targets and (r.match or r.range) for r in mapping.lookups.values())
            parents[p] = ParentKeys(
                alive=alive, rejected=set(rejected.loc[rejected["severity"] == "reject", "source_id"].dropna().map(lambda v: pre + v)),
                frame=store.read(p, "normalized") if by_column else None)
        limits = json.loads(store.pair_path("destination_limits.json").read_text())
        out, issues = build_mapped(store.read(obj, "normalized"), pair, mapping, schema, users, parents, limits["max_file_bytes"])
        path = store.write(out, obj, "mapped", issues)
        owner = mapping.owner_field
        no_owner = int(out[owner].isna().sum()) if owner else 0
        bad_values = _picklist_violations(out, mapping, schema)
        return MaterializeResult(
            metadata={"records": MetadataValue.int(len(out)), "rejected": MetadataValue.int(int((issues["severity"] == "reject").sum())),
                      "issues": _counts_md(issues), "path": MetadataValue.path(str(path)),
                      "preview": MetadataValue.md(markdown_table(out.head(5)))},
            check_results=[
                AssetCheckResult(check_name="owner_coverage", passed=no_owner == 0, metadata={"without owner": MetadataValue.int(no_owner)}),
                AssetCheckResult(check_name="picklist_coverage", passed=not bad_values,
                                 metadata={"values the destination refuses": MetadataValue.md(markdown_table(pd.DataFrame(bad_values, columns=["field", "value"])))}),
            ],
        )

    parent_loaded = [key(p, "loaded") for p in sorted(mapping.parents)]

    @asset(key=k["loaded"], deps=[k["mapped"], key("owner_report"), *parent_loaded], partitions_def=parts, group_name=group,
           required_resource_keys={dest_key}, pool=pool,
           check_specs=[AssetCheckSpec("accounting_identity", asset=k["loaded"], blocking=True,
                                       description="extracted = loaded + rejected + skipped, and no record is both.")],
           description=f"{mapping.destination.object} records upserted by external id, with the audit log and ID cross-reference.")
    def loaded(context: AssetExecutionContext) -> MaterializeResult:
        store, ledger, manifest = _run(pair, context)
        try:
            check_load_allowed(pair, ledger, manifest)
        except GateRefused as refused:
            raise Failure(description=f"{obj}: nothing written: {refused}", allow_retries=False) from None
        dest = getattr(context.resources, dest_key)
        schema = _schema(store, mapping.destination.object)
        table, issues = loading.load_object(dest, pair, mapping, store.read(obj, "mapped"), schema, ledger,
                                            context.partition_key, context.log)
        path = store.write(table, obj, "loaded", issues)
        acc = account(store, obj)
        actions = table["action"].value_counts()
        return MaterializeResult(
            metadata={**{a: MetadataValue.int(int(actions.get(a, 0))) for a in ("created", "updated", "unchanged", "failed", "rejected")},
                      "retried calls": MetadataValue.int(getattr(dest, "retries", 0)),
                      "issues": _counts_md(issues), "path": MetadataValue.path(str(path))},
            check_results=[AssetCheckResult(check_name="accounting_identity", passed=acc.balanced,
                                            metadata={n: MetadataValue.int(getattr(acc, n)) for n in ("extracted", "loaded", "rejected", "skipped", "overlap")})],
        )

    @asset(key=k["reconciled"], deps=[k["loaded"]], partitions_def=parts, group_name=group,
           required_resource_keys={dest_key}, pool=pool,
           check_specs=[AssetCheckSpec("fields_match", asset=k["reconciled"], description="Every loaded record reads back with every mapped field equal."),
                        AssetCheckSpec("all_read_back", asset=k["reconciled"], description="Every loaded record is found by its external id.")],
           description=f"Every loaded {mapping.destination.object} read back by external id and compared field by field.")
    def reconciled(context: AssetExecutionContext) -> MaterializeResult:
        store, ledger, manifest = _run(pair, context)
        dest = getattr(context.resources, dest_key)
        schema = _schema(store, mapping.destination.object)
        sample = manifest.kind == "sample"
        diff, issues = loading.reconcile_object(dest, pair, mapping, store.read(obj, "mapped"), store.read(obj, "loaded"), schema,
                                                ledger, raw=store.read(obj, "raw_extract"), every_field=sample)
        mismatches = diff[~diff["equal"].astype(bool)] if len(diff) else diff
        path = store.write(mismatches, obj, "reconciled", issues)
        diff_meta = {}
        if sample:  # the field-level diff a person reviews before approving the sample
            diff_file = store.reports_dir() / f"sample_diff_{obj}.csv"
            diff_file.parent.mkdir(parents=True, exist_ok=True)
            diff.to_csv(diff_file, index=False)
            diff_meta = {"field-level diff": MetadataValue.md(markdown_table(diff.head(60))), "diff file": MetadataValue.path(str(diff_file))}
        missing = int((issues["reason_code"] == "MISSING_IN_DESTINATION").sum())
        by_field = mismatches.groupby("field").size().reset_index(name="records") if len(mismatches) else pd.DataFrame()
        return MaterializeResult(
            metadata={"mismatches": MetadataValue.int(len(mismatches)), "missing": MetadataValue.int(missing),
                      "path": MetadataValue.path(str(path)), **diff_meta},
            check_results=[
                AssetCheckResult(check_name="fields_match", passed=mismatches.empty, metadata={"by field": MetadataValue.md(markdown_table(by_field))}),
                AssetCheckResult(check_name="all_read_back", passed=missing == 0, metadata={"missing": MetadataValue.int(missing)}),
            ],
        )

    return [raw_extract, normalized, mapped, loaded, reconciled]


def _picklist_violations(out: pd.DataFrame, mapping: ObjectMapping, schema: ObjectSchema) -> list[tuple[str, str]]:
    bad = []
    for name, rule in mapping.fields.items():
        f = schema.fields.get(name)
        if f is None or not f.restricted or f.kind != "picklist" or not rule.write or name not in out:
            continue
        values = set(out[name].dropna().astype(str)) - set(f.picklist_values)
        bad += [(name, v) for v in sorted(values)]
    return bad


def _report_asset(pair: Pair, parts, key) -> AssetsDefinition:
    report_key = key("reconciliation_report")

    @asset(key=report_key, deps=[key(o, "reconciled") for o in pair.objects], partitions_def=parts, group_name=pair.name,
           check_specs=[AssetCheckSpec("run_reconciles", asset=report_key,
                                       description="Every object balances and reads back with zero mismatches.")],
           description="The run's reconciliation report: counts per object, reasons, mismatches, the ID cross-reference.")
    def reconciliation_report(context: AssetExecutionContext) -> MaterializeResult:
        store, ledger, _ = _run(pair, context)
        accounts, md = write_report(pair, store, ledger)
        return MaterializeResult(
            metadata={"report": MetadataValue.md(md), "folder": MetadataValue.path(str(store.reports_dir())),
                      "extracted": MetadataValue.int(sum(a.extracted for a in accounts)),
                      "loaded": MetadataValue.int(sum(a.loaded for a in accounts)),
                      "rejected": MetadataValue.int(sum(a.rejected for a in accounts))},
            check_results=[AssetCheckResult(check_name="run_reconciles", passed=all(a.reconciled for a in accounts),
                                            metadata={"not reconciled": MetadataValue.text(", ".join(a.object for a in accounts if not a.reconciled) or "none")})],
        )

    return reconciliation_report


def build_pair_job(pair: Pair):
    return define_asset_job(job_name(pair), selection=AssetSelection.groups(pair.name),
                            description=f"Migrate one run of {pair.name}: every asset of the pair, in load order.")


def open_run(instance, pair: Pair, run_id: str, kind: str, export_dir: Path | str, **extra) -> RunManifest:
    """Record the run's manifest in the ledger and add its partition: one partition is one migration run."""
    from crm_migration.control.jobs import record_run

    manifest = record_run(pair, run_id, kind, export_dir, **extra)
    instance.add_dynamic_partitions(partitions_for(pair).name, [run_id])
    return manifest
