"""``crm-migration sandbox ...`` / ``python -m crm_migration.sandbox ...``."""

from __future__ import annotations

import argparse
from pathlib import Path

KINDS = ("salesforce",)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="crm-migration sandbox",
                                     description="Run a local CRM sandbox over HTTPS.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run a sandbox server in the foreground")
    serve.add_argument("kind", choices=KINDS)
    serve.add_argument("--state-dir", required=True, type=Path)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)

    if args.command == "serve":
        if args.kind == "salesforce":
            from crm_migration.sandbox.salesforce.server import serve as serve_salesforce

            serve_salesforce(args.state_dir, host=args.host, port=args.port)
            return 0
    parser.error("unknown command")
    return 2
