"""Accounting and the reconciliation report, computed with DuckDB over the run's Parquet files."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from crm_migration.mapping.loader import Pair
from crm_migration.pipeline.ledger import Ledger
from crm_migration.pipeline.load import LOADED
from crm_migration.pipeline.storage import RunStore, query, write_json
from crm_migration.reasons import reason
from crm_migration.sources.base import SOURCE_FILE, SOURCE_ROW

RECORD_STAGES = ("raw_extract", "normalized", "mapped", "loaded")
LINK_CODES = ("ORPHAN_REFERENCE", "PARENT_REJECTED", "LOOKUP_UNRESOLVED", "HIERARCHY_CYCLE")


@dataclass(frozen=True)
class Accounting:
    """Where every extracted source row ended. `balanced` is the identity extracted = loaded + rejected + skipped."""

    object: str
    extracted: int
    loaded: int
    rejected: int
    skipped: int
    flagged: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    mismatches: int = 0
    missing: int = 0
    overlap: int = 0  # rows counted both loaded and rejected: must be zero

    @property
    def balanced(self) -> bool:
        return self.extracted == self.loaded + self.rejected + self.skipped and self.overlap == 0

    @property
    def reconciled(self) -> bool:
        return self.balanced and self.mismatches == 0 and self.missing == 0


def _rows(df: pd.DataFrame, file_col: str = SOURCE_FILE, row_col: str = SOURCE_ROW) -> set[tuple[str, int]]:
    return set(zip(df[file_col].astype(str), df[row_col].astype("int64")))


def account(store: RunStore, obj: str) -> Accounting:
    raw = store.read(obj, "raw_extract")
    issues = pd.concat([store.read_issues(obj, s) for s in RECORD_STAGES if store.issues_path(obj, s).exists()], ignore_index=True)
    issues = issues[issues["source_row"].notna()]
    extracted = _rows(raw) | _rows(issues[issues["stage"] == "raw_extract"], "source_file", "source_row")
    loaded = store.read(obj, "loaded")
    ok = loaded[loaded["action"].isin(LOADED)]
    loaded_rows = _rows(ok)
    not_loaded = loaded[~loaded["action"].isin(LOADED) & (loaded["action"] != "skipped")]
    rejected = _rows(issues[issues["severity"] == "reject"], "source_file", "source_row") | _rows(not_loaded)
    skipped = _rows(issues[issues["severity"] == "skip"], "source_file", "source_row") - rejected
    flagged = _rows(issues[issues["severity"] == "flag"], "source_file", "source_row") & loaded_rows
    counts = ok["action"].value_counts()
    mismatches = missing = 0
    if store.issues_path(obj, "reconciled").exists():
        rec = store.read_issues(obj, "reconciled")
        mismatches = int((rec["reason_code"] == "FIELD_MISMATCH").sum())
        missing = int((rec["reason_code"] == "MISSING_IN_DESTINATION").sum())
    return Accounting(
        object=obj, extracted=len(extracted), loaded=len(loaded_rows), rejected=len(rejected), skipped=len(skipped),
        flagged=len(flagged), created=int(counts.get("created", 0)), updated=int(counts.get("updated", 0)),
        unchanged=int(counts.get("unchanged", 0)), mismatches=mismatches, missing=missing,
        overlap=len(loaded_rows & rejected),
    )


def reasons_table(store: RunStore) -> pd.DataFrame:
    """Rejects, flags and skips of the whole run by object and reason code."""
    pattern = str(store.root / "*" / "*.issues.parquet")
    df = query(f"""
        SELECT object, severity, reason_code, count(*) AS records
        FROM read_parquet('{pattern}', union_by_name=true)
        GROUP BY ALL ORDER BY object, severity, records DESC
    """)
    df["meaning"] = df["reason_code"].map(lambda c: reason(c).meaning)
    return df


def all_issues(store: RunStore) -> pd.DataFrame:
    return query(f"SELECT * FROM read_parquet('{store.root / '*' / '*.issues.parquet'}', union_by_name=true) "
                 "ORDER BY object, source_file, source_row")


def markdown_table(df: pd.DataFrame) -> str:
    if df.empty:
        return "_none_"
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join("" if pd.isna(v) else str(v).replace("|", "\\|").replace("\n", " ") for v in row) + " |")
    return "\n".join(lines)


def write_report(pair: Pair, store: RunStore, ledger: Ledger) -> tuple[list[Accounting], str]:
    """The pair's reconciliation report for one run: Markdown, the rejects CSV and the ID cross-reference CSV."""
    accounts = [account(store, obj) for obj in pair.objects]
    counts = pd.DataFrame([asdict(a) | {"reconciled": "yes" if a.reconciled else "NO"} for a in accounts])
    reasons = reasons_table(store)
    out = store.reports_dir()
    out.mkdir(parents=True, exist_ok=True)
    issues = all_issues(store)
    issues.to_csv(out / "rejects_and_flags.csv", index=False)
    xref = ledger.results(run_id=store.run_id)
    xref = xref[xref["action"].isin(LOADED)][["object", "external_id", "destination_id", "action"]].drop_duplicates(["object", "external_id"], keep="last")
    xref.to_csv(out / "id_crossref.csv", index=False)
    mismatches = issues[issues["reason_code"] == "FIELD_MISMATCH"][["object", "external_id", "field", "message"]]
    links = issues[issues["reason_code"].isin(LINK_CODES)]
    integrity = (links.groupby(["object", "field", "reason_code"]).size().reset_index(name="records")
                 if len(links) else pd.DataFrame(columns=["object", "field", "reason_code", "records"]))
    owners_file = store.pair_path("owner_report.csv")
    owners = pd.read_csv(owners_file) if owners_file.exists() else pd.DataFrame()
    owner_summary = (owners.groupby("resolution").agg(owners=("source_owner", "count"), records=("records", "sum")).reset_index()
                     if len(owners) else owners)
    rejects = issues[issues["severity"] == "reject"][["object", "reason_code", "source_file", "source_row", "field", "message"]]
    md = "\n\n".join([
        f"# Reconciliation: {pair.name}, run {store.run_id}",
        f"Mapping version `{pair.version}`. Identity per object: extracted = loaded + rejected + skipped.",
        "## Counts per object", markdown_table(counts[["object", "extracted", "loaded", "created", "updated", "unchanged",
                                                      "rejected", "skipped", "flagged", "mismatches", "missing", "reconciled"]]),
        "## Rejects, flags and skips by reason", markdown_table(reasons),
        "## Field mismatches", markdown_table(mismatches.head(200)),
        "## Relationship integrity (children whose parent is missing)", markdown_table(integrity),
        "## Owners", markdown_table(owner_summary),
        "## Rejected records (file, row, field)", markdown_table(rejects.head(200)),
        "## Not migrated (documented for the rebuild)",
        markdown_table(pd.DataFrame([n.model_dump() for n in pair.settings.not_migrated])),
        f"Files: `{out / 'rejects_and_flags.csv'}`, `{out / 'id_crossref.csv'}`.",
    ])
    (out / "reconciliation.md").write_text(md, encoding="utf-8")
    write_json([asdict(a) | {"balanced": a.balanced, "reconciled": a.reconciled} for a in accounts], out / "accounting.json")
    return accounts, md


# What the data-quality report counts, in the order it lists them.
QUALITY_CODES = ("DUPLICATE_SUSPECTED", "INVALID_EMAIL", "REQUIRED_MISSING", "INVALID_DATE", "AMBIGUOUS_DATE",
                 "INVALID_NUMBER", "INVALID_BOOLEAN", "DUPLICATE_SOURCE_ID", "UNPARSEABLE_ROW")


def data_quality(pair: Pair, store: RunStore) -> tuple[str, dict[str, int]]:
    """The report a customer reviews before loading: what the normalized stage found per object (duplicates
    are flagged, never removed), how many date values were normalized to ISO 8601 and in which day/month order,
    and the value-mapping manifest (picklist values the destination must gain: the schema plan's values)."""
    import json

    rows, dates = [], []
    for obj, m in pair.objects.items():
        if not store.path(obj, "normalized").exists():
            continue
        issues = pd.concat([store.read_issues(obj, s) for s in ("raw_extract", "normalized") if store.issues_path(obj, s).exists()],
                           ignore_index=True)
        norm = store.read(obj, "normalized")
        counts = issues["reason_code"].value_counts()
        rows.append({"object": obj, "records": len(norm), **{c: int(counts.get(c, 0)) for c in QUALITY_CODES}})
        orders_file = store.pair_path(f"date_orders_{obj}.json")
        orders = json.loads(orders_file.read_text()) if orders_file.exists() else {}
        for col, typ in m.source.types.items():
            if typ in ("date", "datetime") and col in norm:
                dates.append({"object": obj, "column": col, "type": typ, "normalized": int(norm[col].notna().sum()),
                              "day/month order": (orders.get(col) or "-").replace("_", "-")})
    table = pd.DataFrame(rows)
    manifest = value_manifest(pair, store)
    quality = issues_of(store, QUALITY_CODES)
    parts = [f"# Data quality before loading: {pair.name}", "",
             "Duplicates are flagged for review and loaded; nothing is merged or deleted.", "",
             markdown_table(table), "", "## Dates normalized to ISO 8601", "", markdown_table(pd.DataFrame(dates)), "",
             "## The value-mapping manifest: each mapped picklist value and whether the destination has the option", "",
             markdown_table(manifest) if len(manifest) else "_no value-mapped picklists_", "",
             "## Each finding, with file, row and field", "", markdown_table(quality.head(200))]
    totals = {c.lower(): int(table[c].sum()) if len(table) else 0 for c in QUALITY_CODES[:5]}
    missing = int((manifest["in destination"] == "no").sum()) if len(manifest) else 0
    return "\n".join(parts) + "\n", {**totals, "picklist options missing": missing}


def value_manifest(pair: Pair, store: RunStore) -> pd.DataFrame:
    """Every value a value map sends to a picklist, and whether the destination offers it now (the schema
    plan adds the missing ones)."""
    import json

    from crm_migration.pipeline.schema_plan import target_values

    schema_file = store.pair_path("destination_schema.json")
    schemas = json.loads(schema_file.read_text()) if schema_file.exists() else {}
    rows = []
    for m in pair.objects.values():
        fields = (schemas.get(m.destination.object) or {}).get("fields", {})
        for name, rule in m.fields.items():
            f = fields.get(name)
            if rule.values is None or f is None or f["kind"] not in ("picklist", "multipicklist"):
                continue
            have = set(f["picklist_values"])
            rows += [{"object": m.destination.object, "field": name, "value": v, "in destination": "yes" if v in have else "no"}
                     for v in sorted(target_values(rule))]
    return pd.DataFrame(rows, columns=["object", "field", "value", "in destination"]).drop_duplicates()


def issues_of(store: RunStore, codes: tuple[str, ...]) -> pd.DataFrame:
    found = all_issues(store)
    return found[found["reason_code"].isin(codes)][["object", "reason_code", "message"]].reset_index(drop=True)
