"""Start, attach to and stop a local sandbox server process (any kind).

The server runs as its own process (``python -m crm_migration.sandbox serve KIND ...``) in its
own process group, logging to ``state_dir/server.log``. Once bound it writes
``state_dir/server.json`` (url, port, pid, kind, ca_file); :func:`start_sandbox` waits for that
file and for ``GET /__sandbox__/health`` to answer over verified TLS.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

import crm_migration

SERVER_FILE = "server.json"
CREDENTIALS_FILE = "credentials.json"
ADMIN_HEADER = "X-Sandbox-Admin"


class SandboxError(RuntimeError):
    """The sandbox could not be started, reached or driven."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _health(url: str, ca_file: Path, timeout: float = 2.0) -> bool:
    try:
        resp = requests.get(f"{url}/__sandbox__/health", verify=str(ca_file), timeout=timeout)
    except requests.RequestException:
        return False
    return resp.status_code == 200


@dataclass
class SandboxHandle:
    kind: str
    url: str
    ca_file: Path
    state_dir: Path
    credentials: dict[str, str] = field(repr=False)
    pid: int | None = None
    _process: subprocess.Popen | None = field(default=None, repr=False)
    _session: requests.Session | None = field(default=None, repr=False)

    # -- lifecycle ---------------------------------------------------------------------------
    @classmethod
    def attach(cls, state_dir: Path) -> "SandboxHandle | None":
        """Reuse a running server described by ``state_dir/server.json``; None if none is alive."""
        state_dir = Path(state_dir)
        info_file = state_dir / SERVER_FILE
        if not info_file.exists():
            return None
        try:
            info = json.loads(info_file.read_text())
            creds = json.loads((state_dir / CREDENTIALS_FILE).read_text())
        except (OSError, ValueError):
            return None
        pid = int(info.get("pid", 0))
        ca_file = Path(info["ca_file"])
        if not pid or not _pid_alive(pid) or not _health(info["url"], ca_file):
            return None
        return cls(kind=info["kind"], url=info["url"], ca_file=ca_file, state_dir=state_dir,
                   credentials=creds, pid=pid)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (SIGTERM to its process group, SIGKILL after ``timeout``)."""
        if self._session is not None:
            self._session.close()
            self._session = None
        pid = self._process.pid if self._process is not None else self.pid
        if not pid:
            return
        try:
            os.killpg(pid, signal.SIGTERM) if self._process is not None else os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None:
                if self._process.poll() is not None:
                    break
            elif not _pid_alive(pid):
                break
            time.sleep(0.05)
        else:
            try:
                os.killpg(pid, signal.SIGKILL) if self._process is not None else os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            if self._process is not None:
                self._process.wait(5)
        self.pid = None
        self._process = None

    def __enter__(self) -> "SandboxHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- admin API ---------------------------------------------------------------------------
    def admin(self, method: str, path: str, json: Any = None) -> Any:  # noqa: A002 - mirrors requests
        """Call the sandbox admin API (``/__sandbox__/<path>``) and return the decoded answer."""
        if self._session is None:
            self._session = self.client_session()
        path = path.lstrip("/")
        if not path.startswith("__sandbox__/"):
            path = "__sandbox__/" + path
        resp = self._session.request(
            method, f"{self.url}/{path}", json=json, verify=str(self.ca_file),
            headers={ADMIN_HEADER: self.credentials["admin_token"]}, timeout=60,
        )
        if resp.status_code >= 400:
            raise SandboxError(f"admin {method} {path} -> {resp.status_code}: {resp.text[:500]}")
        if not resp.content:
            return None
        return resp.json()

    def set_faults(self, **kw: Any) -> Any:
        return self.admin("POST", "faults", json=kw)

    def clear_faults(self) -> Any:
        return self.admin("DELETE", "faults")

    def configure(self, **kw: Any) -> Any:
        return self.admin("POST", "config", json=kw)

    def stats(self) -> dict[str, Any]:
        return self.admin("GET", "stats")

    def reset_stats(self) -> Any:
        return self.admin("POST", "stats/reset")

    def add_users(self, users: list[dict[str, Any]]) -> list[str]:
        return self.admin("POST", "users", json=users)["ids"]

    def reset(self, schema: bool = False) -> Any:
        return self.admin("POST", "reset", json={"schema": schema})

    # -- client helpers ----------------------------------------------------------------------
    def client_session(self) -> requests.Session:
        """A requests session that trusts (only) the sandbox CA.

        ``trust_env`` is off: with it on, requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from
        the environment override ``session.verify`` and the sandbox certificate is rejected.
        """
        session = requests.Session()
        session.verify = str(self.ca_file)
        session.trust_env = False
        return session

    @property
    def token_url(self) -> str:
        return f"{self.url}/services/oauth2/token"


def _package_root() -> str:
    return str(Path(crm_migration.__file__).resolve().parent.parent)


def start_sandbox(kind: str, state_dir: Path, port: int = 0, timeout: float = 30) -> SandboxHandle:
    """Start a sandbox server of ``kind`` storing its state in ``state_dir``; wait until healthy."""
    state_dir = Path(state_dir).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    info_file = state_dir / SERVER_FILE
    existing = SandboxHandle.attach(state_dir)
    if existing is not None:
        raise SandboxError(f"a sandbox is already running for {state_dir} at {existing.url}")
    info_file.unlink(missing_ok=True)

    env = dict(os.environ)
    root = _package_root()
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    log = open(state_dir / "server.log", "ab")
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "crm_migration.sandbox", "serve", kind,
             "--state-dir", str(state_dir), "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env=env,
        )
    finally:
        log.close()

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (state_dir / "server.log").read_text(errors="replace")[-2000:]
            raise SandboxError(f"sandbox {kind} exited with {proc.returncode}:\n{tail}")
        if info_file.exists():
            try:
                info = json.loads(info_file.read_text())
            except ValueError:
                info = {}
            if info.get("pid") == proc.pid and _health(info["url"], Path(info["ca_file"])):
                creds = json.loads((state_dir / CREDENTIALS_FILE).read_text())
                return SandboxHandle(kind=kind, url=info["url"], ca_file=Path(info["ca_file"]),
                                     state_dir=state_dir, credentials=creds, pid=proc.pid,
                                     _process=proc)
        time.sleep(0.1)
    handle = SandboxHandle(kind=kind, url="", ca_file=Path(), state_dir=state_dir,
                           credentials={}, pid=proc.pid, _process=proc)
    handle.stop()
    raise SandboxError(f"sandbox {kind} did not become healthy within {timeout}s")
