"""Serving any sandbox: TLS with the sandbox's own CA, bind (port 0 = any free port), announce the
URL in ``state_dir/server.json`` (what :func:`crm_migration.sandbox.start_sandbox` waits for), serve
until SIGTERM, then let the sandbox close its state."""

from __future__ import annotations

import json
import os
import signal
import socket
from collections.abc import Callable
from pathlib import Path

import uvicorn

from crm_migration.sandbox.tls import ensure_certificate


def serve_app(kind: str, state_dir: Path, create_app: Callable[[Path], object], close: Callable[[object], None],
              host: str = "127.0.0.1", port: int = 0) -> None:
    state_dir = Path(state_dir).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    tls = ensure_certificate(state_dir)
    gateway = create_app(state_dir)

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(512)
    sock.set_inheritable(True)
    bound = sock.getsockname()[1]
    url = f"https://{f'[{host}]' if ':' in host else host}:{bound}"

    config = uvicorn.Config(gateway, ssl_certfile=str(tls.cert_file), ssl_keyfile=str(tls.key_file),
                            log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30,
                            timeout_graceful_shutdown=1, h11_max_incomplete_event_size=1024 * 1024)
    server = uvicorn.Server(config)
    info = {"kind": kind, "url": url, "host": host, "port": bound, "pid": os.getpid(),
            "ca_file": str(tls.ca_file), "state_dir": str(state_dir)}
    info_file = state_dir / "server.json"
    tmp = info_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(info, indent=2))
    os.replace(tmp, info_file)
    print(f"{kind} sandbox listening on {url} (state: {state_dir})", flush=True)

    def _term(signum, frame) -> None:  # noqa: ARG001
        server.should_exit = True

    signal.signal(signal.SIGTERM, _term)
    try:
        server.run(sockets=[sock])
    finally:
        close(gateway)
        try:
            if json.loads(info_file.read_text()).get("pid") == os.getpid():
                info_file.unlink()
        except (OSError, ValueError):
            pass
