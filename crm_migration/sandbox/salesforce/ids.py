"""Salesforce-style record ids: 15 case-sensitive characters plus a 3-character checksum suffix.

The 15-character body is the object's key prefix, two fixed "instance" characters and a base-62
counter, so ids sort in creation order (migration tools often page with ``ORDER BY Id``).
"""

from __future__ import annotations

import re
import threading

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$")


def checksum(id15: str) -> str:
    out = []
    for chunk in range(3):
        n = 0
        for i, ch in enumerate(id15[chunk * 5:(chunk + 1) * 5]):
            if "A" <= ch <= "Z":
                n |= 1 << i
        out.append(_SUFFIX[n])
    return "".join(out)


def to18(value: str) -> str | None:
    """Normalize a 15- or 18-character id to 18 characters; None if it is not id-shaped."""
    if not isinstance(value, str) or not ID_RE.match(value):
        return None
    body = value[:15]
    full = body + checksum(body)
    if len(value) == 18 and value.upper() != full.upper():
        return None
    return full


def _b62(n: int, width: int) -> str:
    chars = []
    while n:
        n, r = divmod(n, 62)
        chars.append(_B62[r])
    return "".join(reversed(chars)).rjust(width, "0")


class IdFactory:
    """Thread-safe id generator; ``counter`` is persisted by the store."""

    def __init__(self, counter: int = 0) -> None:
        self.counter = counter
        self._lock = threading.Lock()

    def new(self, prefix: str) -> str:
        with self._lock:
            self.counter += 1
            n = self.counter
        body = prefix + "8d" + _b62(n, 10)
        return body + checksum(body)
