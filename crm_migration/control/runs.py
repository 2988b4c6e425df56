"""Which records a run moves, and whether it may move them at all.

A run's slice: a full run takes every record; a sample run takes a deterministic spread of
`sample_size` records per object and then adds every parent they point at (transitively, so a
hierarchy's ancestors come too), so every lookup resolves; a delta run takes the records whose
modified time is after the previous run's watermark (objects without a modified column are taken
whole: their upserts change nothing where nothing changed).

The gates, checked before any record is written: the mapping is confirmed and unchanged since; a
full run has an approved sample run on the same mapping version; a delta run follows a full run.
"""

from __future__ import annotations

import hashlib

import pandas as pd

from crm_migration.mapping.loader import Pair
from crm_migration.pipeline.ledger import Ledger, RunManifest
from crm_migration.pipeline.normalize import aliases, parse_datetimes
from crm_migration.sources.base import Source, as_location


class GateRefused(Exception):
    """A run may not write: the message says why and what to do."""


def _spread(ids: pd.Series, n: int) -> set[str]:
    """A deterministic, representative pick: the n ids with the smallest hash."""
    ids = ids.dropna().drop_duplicates()
    keys = ids.map(lambda v: hashlib.sha256(v.encode()).hexdigest())
    return set(ids[keys.sort_values().index[:n]])


def select_slice(pair: Pair, manifest: RunManifest, source: Source) -> dict[str, list[str]] | None:
    """Source ids per mapped object for this run; None means every record (a full run)."""
    if manifest.kind == "full":
        return None
    export = as_location(manifest.export_dir)
    frames = {name: _frame(source, export, m, pair) for name, m in pair.objects.items()}
    chosen: dict[str, set[str]] = {}
    if manifest.kind == "delta":
        for name, m in pair.objects.items():
            df = frames[name]
            if not m.source.modified or not manifest.since:
                chosen[name] = set(df[m.source.id].dropna())
                continue
            modified = parse_datetimes(df[m.source.modified].astype("string"), pair.settings.date_formats, pair.settings.timezone)
            chosen[name] = set(df.loc[modified > pd.Timestamp(manifest.since), m.source.id].dropna())
        return {k: sorted(v) for k, v in chosen.items()}

    size = manifest.sample_size or pair.settings.sample_size
    for name, m in pair.objects.items():
        chosen[name] = _spread(frames[name][m.source.id], size)
    # Children before parents: each object adds the parents its chosen records point at.
    for name in reversed(list(pair.objects)):
        m, df = pair.objects[name], frames[name]
        while True:
            rows = df[df[m.source.id].isin(chosen[name])]
            before = {k: len(v) for k, v in chosen.items()}
            for rule in m.lookups.values():
                columns = rule.from_ if isinstance(rule.from_, list) else [rule.from_]
                pairs = zip(rule.targets, columns) if len(columns) == len(rule.targets) else \
                    [(t, c) for t in rule.targets for c in columns]
                for target, column in pairs:
                    values = rows[column] if column in rows else pd.Series(dtype="string")
                    if rule.constant is not None or (rule.default is not None and values.isna().any()):
                        values = pd.concat([values, pd.Series([str(rule.constant if rule.constant is not None else rule.default)])])
                    chosen[target] |= _parents_of(values, rule, pair.objects[target], frames[target])
            if {k: len(v) for k, v in chosen.items()} == before:
                break
    return {k: sorted(v) for k, v in chosen.items()}


def _frame(source: Source, export, m, pair: Pair) -> pd.DataFrame:
    """The object's rows as the run sees them: the source's, plus the rows the mapping adds."""
    added = pd.DataFrame(m.source.add_rows).astype("string") if m.source.add_rows else None
    if m.source.object is None:
        return added if added is not None else pd.DataFrame(columns=[m.source.id], dtype="string")
    frame = source.read(export, m.source.object, aliases(pair.settings)).table.to_pandas()
    return pd.concat([frame, added], ignore_index=True) if added is not None else frame


def _parents_of(values: pd.Series, rule, parent, frame: pd.DataFrame) -> set[str]:
    """Source ids of the parent records some of these lookup values point at."""
    values = values.dropna().astype(str)
    if rule.many:
        values = values.str.split(r"\s*;\s*", regex=True).explode().dropna()
    if rule.range is not None:  # range parents (territories) are few: a sample keeps them all
        return set(frame[parent.source.id].dropna())
    if rule.match is not None:
        hit = frame[rule.match].astype("string").str.strip().str.lower().isin(set(values.str.strip().str.lower()))
        return set(frame.loc[hit.fillna(False).astype(bool), parent.source.id].dropna())
    return set(values) & set(frame[parent.source.id].dropna())


def check_load_allowed(pair: Pair, ledger: Ledger, manifest: RunManifest) -> None:
    """Raise GateRefused unless this run may write to the destination."""
    confirmation = ledger.confirmation()
    if confirmation is None:
        raise GateRefused(f"the mapping of {pair.name} is not confirmed: review mappings/{pair.name}/ and run "
                          f"`crm-migration mapping confirm --pair {pair.name} --by <you>` (or the confirm job)")
    now = pair.file_hashes()
    changed = sorted(n for n in set(now) | set(confirmation["files"]) if now.get(n) != confirmation["files"].get(n))
    if changed:
        raise GateRefused(f"the mapping of {pair.name} changed since {confirmation['confirmed_by']} confirmed it "
                          f"({confirmation['at']}): {', '.join(changed)}; review and confirm it again")
    if manifest.mapping_version != pair.version:
        raise GateRefused(f"run {manifest.run_id} was opened on mapping version {manifest.mapping_version}, "
                          f"the mapping is now {pair.version}: open a new run")
    if manifest.kind == "full":
        approved = [a for a in ledger.approvals() if a["mapping_version"] == pair.version]
        if not approved:
            raise GateRefused(f"a full run of {pair.name} needs an approved sample run on mapping version {pair.version}: "
                              f"run a sample, review its field-level diff, then `crm-migration sample approve`")
    if manifest.kind == "delta":
        fulls = [r for r in ledger.runs() if r.kind == "full" and ledger.results(run_id=r.run_id).shape[0]
                 and not ledger.rolled_back(r.run_id)]
        if not fulls:
            raise GateRefused(f"a delta run of {pair.name} follows a full run; there is none (or it was rolled back)")
