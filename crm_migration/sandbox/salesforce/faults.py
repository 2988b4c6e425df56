"""Fault injection, configured through the admin API (``POST /__sandbox__/faults``).

Each API request under ``path_prefix`` (default ``/services/data``) draws, in this order:
``drop_rate`` (the connection is closed with no response at all), ``throttle_rate`` (429 with
``Retry-After``), ``error_5xx_rate`` (503 SERVER_UNAVAILABLE with Retry-After, or 500
UNKNOWN_EXCEPTION, alternately drawn), ``expire_session_rate`` (401 INVALID_SESSION_ID and the
token is revoked). These happen before the request is processed, so a retry is always safe.
``error_after_commit_rate`` lets a write (POST/PATCH/PUT/DELETE) commit and then answers 500:
that proves the client's retries are idempotent. ``slow_ms`` delays every matching request.
The token endpoint, health and admin paths are never faulted. ``seed`` makes draws repeatable.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

RATES = ("throttle_rate", "error_5xx_rate", "drop_rate", "expire_session_rate", "error_after_commit_rate")


@dataclass
class FaultConfig:
    throttle_rate: float = 0.0
    error_5xx_rate: float = 0.0
    drop_rate: float = 0.0
    expire_session_rate: float = 0.0
    error_after_commit_rate: float = 0.0
    slow_ms: int = 0
    seed: int | None = None
    path_prefix: str = "/services/data"
    retry_after: int = 1
    _rng: random.Random = field(default_factory=random.Random, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def update(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            if key in RATES:
                value = float(value)
                if not 0.0 <= value <= 1.0:
                    raise ValueError(f"{key} must be between 0 and 1")
            elif key in ("slow_ms", "retry_after"):
                value = int(value)
            elif key == "seed":
                value = None if value is None else int(value)
            elif key == "path_prefix":
                value = str(value)
            else:
                raise ValueError(f"unknown fault setting {key}")
            setattr(self, key, value)
        self._rng = random.Random(self.seed)

    def public(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in (*RATES, "slow_ms", "seed", "path_prefix", "retry_after")}

    def draw(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < rate

    def pick_5xx(self) -> int:
        with self._lock:
            return 503 if self._rng.random() < 0.5 else 500

    def applies(self, path: str) -> bool:
        return path.startswith(self.path_prefix)

    def before(self, path: str) -> str | None:
        """The fault to inject before processing, if any."""
        if not self.applies(path):
            return None
        if self.draw(self.drop_rate):
            return "drop"
        if self.draw(self.throttle_rate):
            return "throttle"
        if self.draw(self.error_5xx_rate):
            return "error_5xx"
        if self.draw(self.expire_session_rate):
            return "expire_session"
        return None
