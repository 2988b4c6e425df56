"""The workflow rebuild reference: what does not migrate, written down so an admin can rebuild it."""

from __future__ import annotations

import json
from pathlib import Path

from crm_migration.mapping.loader import Pair

def _load(export_dir: Path, name: str | None) -> list | dict | None:
    if not name or not (export_dir / name).exists():
        return None
    return json.loads((export_dir / name).read_text(encoding="utf-8"))


def _items(data) -> list[dict]:
    """A list of definitions as it is; a settings object as one entry per top-level key."""
    if isinstance(data, dict):
        return [{"name": k, **(v if isinstance(v, dict) else {"settings": v})} for k, v in data.items()]
    return [e if isinstance(e, dict) else {"name": str(e)} for e in data or []]


def _text(value) -> str:
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value) or "(none)"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items())
    return "(none)" if value in (None, "") else str(value)


def rebuild_reference(pair: Pair, export_dir: Path) -> str:
    """Markdown: each workflow (trigger, conditions, actions, the destination tool), integrations, access settings."""
    from crm_migration.destinations import destination_kind

    tool = destination_kind(pair.settings.destination).automation_tool
    lines = [f"# Rebuild reference: {pair.name}", "",
             "Workflows, automations, integrations and access settings do not migrate as data. "
             f"Rebuild them in the destination with: **{tool}**.", ""]
    by_file = {n.file: n for n in pair.settings.not_migrated if n.file}
    for file_name, item in by_file.items():
        data = _load(export_dir, file_name)
        lines += [f"## {item.what}", "", f"_{item.reason}_ Destination equivalent: {item.destination_equivalent}.", ""]
        if data is None:
            lines += [f"`{file_name}` is not in the export.", ""]
            continue
        for i, entry in enumerate(_items(data), 1):
            title = entry.get("name") or entry.get("role") or entry.get("id") or f"item {i}"
            lines.append(f"### {i}. {title}")
            for key, value in entry.items():
                if key in ("name",):
                    continue
                # Never copy anything that looks like a secret into the reference.
                if any(s in key.lower() for s in ("secret", "password", "token", "key")) and key.lower() != "auth_kind":
                    value = "(withheld)"
                lines.append(f"- **{key.replace('_', ' ')}**: {_text(value)}")
            if file_name.startswith("workflow"):
                lines.append(f"- **rebuild with**: {tool}")
            lines.append("")
    return "\n".join(lines)
