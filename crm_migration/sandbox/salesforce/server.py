"""Run the Salesforce sandbox (see :mod:`crm_migration.sandbox.serving`)."""

from __future__ import annotations

from pathlib import Path

from crm_migration.sandbox.salesforce.app import create_app
from crm_migration.sandbox.serving import serve_app


def _close(gateway) -> None:
    gateway.org.bulk.stop()
    gateway.org.save_usage()
    gateway.org.store.close()


def serve(state_dir: Path, host: str = "127.0.0.1", port: int = 0) -> None:
    serve_app("salesforce", state_dir, create_app, _close, host=host, port=port)
