"""Run the Zoho CRM sandbox (see :mod:`crm_migration.sandbox.serving`)."""

from __future__ import annotations

from pathlib import Path

from crm_migration.sandbox.serving import serve_app
from crm_migration.sandbox.zoho.app import create_app


def _close(gateway) -> None:
    gateway.app.state.bulk.stop()
    gateway.crm.save_usage()
    gateway.crm.store.close()


def serve(state_dir: Path, host: str = "127.0.0.1", port: int = 0) -> None:
    serve_app("zoho", state_dir, create_app, _close, host=host, port=port)
