"""``crm-migration sandbox ...`` / ``python -m crm_migration.sandbox ...``."""

from __future__ import annotations

import argparse
from pathlib import Path

# kind -> the module whose serve(state_dir, host, port) runs that sandbox
KINDS = {
    "salesforce": "crm_migration.sandbox.salesforce.server",
    "zoho": "crm_migration.sandbox.zoho.server",
    "dataverse": "crm_migration.sandbox.dataverse.server",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="crm-migration sandbox",
                                     description="Run a local CRM sandbox over HTTPS.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run a sandbox server in the foreground")
    serve.add_argument("kind", choices=sorted(KINDS))
    serve.add_argument("--state-dir", required=True, type=Path)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)

    if args.command == "serve":
        import importlib

        importlib.import_module(KINDS[args.kind]).serve(args.state_dir, host=args.host, port=args.port)
        return 0
    parser.error("unknown command")
    return 2
