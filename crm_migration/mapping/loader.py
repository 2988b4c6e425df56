"""Load a pair folder into typed models, failing fast with the file and key at fault."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import yaml
from pydantic import ValidationError

from crm_migration.mapping.model import ObjectMapping, PairSettings

PAIR_FILE = "pair.yaml"


class MappingError(ValueError):
    """A mapping file is wrong; the message names the file and the key."""


@dataclass(frozen=True)
class Pair:
    """A pair's settings and its object mappings, in load order (parents before children)."""

    folder: Path
    settings: PairSettings
    objects: dict[str, ObjectMapping]

    @property
    def name(self) -> str:
        return self.settings.pair

    def file_hashes(self) -> dict[str, str]:
        """Each mapping file's content hash, read now: what a confirmation pins."""
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(self.folder.glob("*.yaml"))}

    @cached_property
    def version(self) -> str:
        """A hash of every mapping file: a changed mapping is a new version."""
        digest = hashlib.sha256()
        for name, file_hash in self.file_hashes().items():
            digest.update(name.encode())
            digest.update(file_hash.encode())
        return digest.hexdigest()[:16]

    def children_of(self, name: str) -> list[str]:
        return [o.object for o in self.objects.values() if name in o.parents]


def _format_error(file: Path, err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        lines.append(f"{file}: {key}: {e['msg']}")
    return "\n".join(lines)


def _read_yaml(path: Path) -> dict:
    try:
        # libyaml's loader where PyYAML has it: every Dagster step process loads every pair's files.
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as e:
        raise MappingError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise MappingError(f"{path}: expected a mapping of keys at the top level")
    return data


def _choose_alternatives(data: dict, options: dict[str, str], path: Path) -> dict:
    """A field may list alternative rules, each with `when` (pair options); keep the one the options choose."""
    fields = data.get("fields")
    if not isinstance(fields, dict):
        return data
    chosen = {}
    for name, rule in fields.items():
        if not isinstance(rule, list):
            chosen[name] = rule
            continue
        hits = [{k: v for k, v in r.items() if k != "when"} for r in rule
                if isinstance(r, dict) and all(options.get(k) == v for k, v in (r.get("when") or {}).items())]
        if len(hits) != 1:
            raise MappingError(f"{path}: fields.{name}: {len(hits)} of its alternatives match the pair's options "
                               f"{options}; exactly one must")
        chosen[name] = hits[0]
    return {**data, "fields": chosen}


def load_pair(folder: Path | str) -> Pair:
    folder = Path(folder)
    pair_file = folder / PAIR_FILE
    if not pair_file.is_file():
        raise MappingError(f"{folder}: no {PAIR_FILE} (the pair's settings)")
    try:
        settings = PairSettings.model_validate(_read_yaml(pair_file))
    except ValidationError as e:
        raise MappingError(_format_error(pair_file, e)) from None
    if settings.pair != folder.name:
        raise MappingError(f"{pair_file}: pair: {settings.pair!r} must match the folder name {folder.name!r}")

    objects: dict[str, ObjectMapping] = {}
    for path in sorted(folder.glob("*.yaml")):
        if path.name == PAIR_FILE:
            continue
        try:
            mapping = ObjectMapping.model_validate(_choose_alternatives(_read_yaml(path), settings.options, path))
        except ValidationError as e:
            raise MappingError(_format_error(path, e)) from None
        unmet = {k: v for k, v in mapping.when.items() if settings.options.get(k) != v}
        if unmet:  # an alternative the pair's options did not choose
            continue
        if mapping.object in objects:
            raise MappingError(f"{path}: object: {mapping.object!r} is also mapped in {objects[mapping.object].file_name}")
        source = mapping.source.model_copy(update={"external_id_prefix": settings.external_id_prefix + mapping.source.external_id_prefix})
        objects[mapping.object] = mapping.model_copy(update={"file_name": str(path), "source": source})

    if not objects:
        raise MappingError(f"{folder}: no object mappings (one YAML file per mapped object)")
    for m in objects.values():
        for field, rule in m.lookups.items():
            for target in rule.targets:
                if target not in objects:
                    raise MappingError(
                        f"{m.file_name}: fields.{field}.lookup: {target!r} is not a mapped object "
                        f"(known: {', '.join(sorted(objects))})"
                    )
    try:
        order = list(TopologicalSorter({n: m.parents for n, m in objects.items()}).static_order())
    except CycleError as e:
        raise MappingError(f"{folder}: the lookups between objects form a cycle: {' -> '.join(e.args[1])}") from None
    return Pair(folder=folder, settings=settings, objects={n: objects[n] for n in order})


def mappings_root() -> Path:
    """The `mappings/` folder: CRM_MIGRATION_MAPPINGS, else the one beside the package (a checkout)."""
    import os

    configured = os.environ.get("CRM_MIGRATION_MAPPINGS")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "mappings"


def load_all_pairs(root: Path | None = None) -> list[Pair]:
    root = root or mappings_root()
    return [load_pair(p) for p in sorted(root.iterdir()) if (p / PAIR_FILE).is_file()]
