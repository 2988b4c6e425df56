"""Source systems. Each lives in its own subpackage exposing ``SOURCE`` (see :mod:`.base`)."""

from __future__ import annotations

import importlib

from crm_migration.sources.base import Source

# name -> module exposing SOURCE; add new sources here.
_SOURCE_MODULES: dict[str, str] = {
    "lead_perfection": "crm_migration.sources.lead_perfection",
    "leadsmart": "crm_migration.sources.leadsmart",
    "leadtrac": "crm_migration.sources.leadtrac",
    "perfect_portal": "crm_migration.sources.perfect_portal",
    "profi": "crm_migration.sources.profi",
}


def source_names() -> list[str]:
    """The names of the sources this project knows."""
    return sorted(_SOURCE_MODULES)


def get_source(name: str) -> Source:
    """The source called ``name`` (e.g. ``"perfect_portal"``)."""
    try:
        module = _SOURCE_MODULES[name]
    except KeyError:
        raise KeyError(f"unknown source {name!r}; known sources: {source_names()}") from None
    return importlib.import_module(module).SOURCE


__all__ = ["Source", "get_source", "source_names"]
