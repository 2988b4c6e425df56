"""A whole pair's mapping proposal, and how well it agrees with a hand-written mapping.

The pairing of source objects to destination objects comes from the pair's mapping folder (one file
per object); everything else is inferred from the export and the destination's schema: which column
fills which field, which columns are lookups (a column whose values are another object's ids), and
how picklist values match.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from crm_migration.control.proposal import ObjectProposal, proposal_markdown, proposal_yaml, propose_object
from crm_migration.destinations.base import ObjectSchema
from crm_migration.mapping.loader import Pair
from crm_migration.pipeline.normalize import attach_files, extract
from crm_migration.sources import get_source

LOOKUP_SHARE = 0.9  # of a column's values found among another object's ids


def infer_lookups(pair: Pair, frames: dict[str, pd.DataFrame]) -> dict[str, dict[str, str]]:
    """Per object, the columns whose values are (mostly) ids of another mapped object (or its own: a hierarchy)."""
    ids = {n: set(frames[n][m.source.id].dropna()) for n, m in pair.objects.items()}
    found: dict[str, dict[str, str]] = {}
    for name, m in pair.objects.items():
        df = frames[name]
        for col in df.columns:
            if col.startswith("_") or col == m.source.id:
                continue
            values = df[col].dropna()
            if values.empty:
                continue
            best = max(ids, key=lambda t: values.isin(ids[t]).mean())
            if values.isin(ids[best]).mean() >= LOOKUP_SHARE:
                found.setdefault(name, {})[col] = best
    return found


def propose_pair(pair: Pair, export_dir: Path, schemas: dict[str, ObjectSchema]) -> dict[str, ObjectProposal]:
    source = get_source(pair.settings.source)
    frames = {n: extract(source, export_dir, m, pair.settings)[0] for n, m in pair.objects.items()}
    for n, m in pair.objects.items():
        if m.source.file is not None and m.source.file.path_column:  # the file's size and hash are columns too, as the pipeline adds them
            frames[n] = attach_files(frames[n], m.source.file.path_column, export_dir / m.source.file.folder, n)[0]
    lookups = infer_lookups(pair, frames)
    return {
        n: propose_object(m.source.object, frames[n], schemas[m.destination.object], object_name=n, id_column=m.source.id,
                          external_id_field=m.destination.external_id, source_types_formats=pair.settings.date_formats,
                          lookups=lookups.get(n, {}), description=m.description)
        for n, m in pair.objects.items()
    }


def write_proposals(proposals: dict[str, ObjectProposal], out_dir: Path) -> list[Path]:
    """One mapping file per object to edit and confirm, and a Markdown summary beside it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, p in proposals.items():
        (out_dir / f"{name}.yaml").write_text(proposal_yaml(p), encoding="utf-8")
        (out_dir / f"{name}.md").write_text(proposal_markdown(p), encoding="utf-8")
        written.append(out_dir / f"{name}.yaml")
    return written


@dataclass
class Agreement:
    """How many of a hand-written mapping's fields and picklist values the proposal got right."""

    fields: int = 0
    fields_right: int = 0
    values: int = 0
    values_right: int = 0
    misses: list[str] = field(default_factory=list)
    not_scored: list[str] = field(default_factory=list)  # constants and templates: written by hand, never proposed

    @property
    def share(self) -> float:
        total = self.fields + self.values
        return (self.fields_right + self.values_right) / total if total else 1.0


def agreement(pair: Pair, proposals: dict[str, ObjectProposal]) -> Agreement:
    """Every field the hand-written mapping fills from a source column counts (constants and templates are
    listed, not scored: nothing in the data proposes them); a field is right when the same column fills
    it with the same kind of rule (and lookup target); a picklist value is right when it maps to the
    same destination value."""
    score = Agreement()
    for name, m in pair.objects.items():
        proposed = {f.field: f for f in proposals[name].fields}
        for field_name, rule in m.fields.items():
            if rule.kind in ("constant", "template"):
                score.not_scored.append(f"{name}.{field_name} ({rule.kind})")
                continue
            score.fields += 1
            p = proposed.get(field_name)
            kind = rule.kind if rule.kind in ("lookup", "owner") else "from"
            column = rule.owner if rule.kind == "owner" else rule.from_
            ok = (p is not None and p.rule == kind and p.column == column
                  and (kind != "lookup" or p.lookup == rule.lookup))
            score.fields_right += ok
            if not ok:
                got = f"{p.rule} {p.column}" if p else "nothing"
                score.misses.append(f"{name}.{field_name}: expected {rule.kind} {column}, proposed {got}")
            if rule.values:
                matches = {v.source: v.target for v in (p.value_matches if p else ())}
                for src, target in rule.values.items():
                    score.values += 1
                    right = matches.get(src) == target
                    score.values_right += right
                    if not right:
                        score.misses.append(f"{name}.{field_name} value {src!r}: expected {target!r}, proposed {matches.get(src)!r}")
    return score
