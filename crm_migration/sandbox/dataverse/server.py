"""Run the Dataverse sandbox (see :mod:`crm_migration.sandbox.serving`)."""

from __future__ import annotations

from pathlib import Path

from crm_migration.sandbox.dataverse.app import create_app
from crm_migration.sandbox.serving import serve_app


def serve(state_dir: Path, host: str = "127.0.0.1", port: int = 0) -> None:
    serve_app("dataverse", state_dir, create_app, lambda gateway: gateway.org.close(), host=host, port=port)
