"""A small COQL (``POST /crm/v8/coql``): ``SELECT fields FROM Module [WHERE ...] [ORDER BY f [ASC|DESC]]
[LIMIT n [OFFSET m] | LIMIT m, n]``.

Conditions: ``=``, ``!=``, ``<``, ``>``, ``<=``, ``>=``, ``like`` (``%`` wildcards), ``in (...)`` and
``not in (...)`` (at most 100 values), ``is null``, ``is not null``, combined with ``and`` / ``or`` and
parentheses. Text compares case-insensitively. A lookup compares by its id (``Account_Name`` or
``Account_Name.id``) and is answered as ``{"id": ...}``. LIMIT is at most 2,000 (default 200).
"""

from __future__ import annotations

import re
from typing import Any, Callable

from crm_migration.sandbox.zoho.errors import ApiError
from crm_migration.sandbox.zoho.schema import SE_MODULE, Module

TOKEN = re.compile(r"\s*(?:('(?:[^']|'')*')|(<=|>=|!=|=|<|>|\(|\)|,)|([A-Za-z_$][\w$.]*)|(-?\d+(?:\.\d+)?))", re.S)
MAX_IN = 100
MAX_LIMIT = 2000


def syntax(reason: str, clause: str = "where") -> ApiError:
    return ApiError(400, "SYNTAX_ERROR", "error occurred while parsing the query", {"clause": clause, "reason": reason})


def invalid_column(name: str) -> ApiError:
    return ApiError(400, "INVALID_QUERY", "Invalid query formed", {"column_name": name, "reason": "invalid column given"})


def tokenize(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise syntax(f"unexpected character at position {pos}")
        pos = m.end()
        s, op, word, num = m.groups()
        if s is not None:
            out.append(("value", s[1:-1].replace("''", "'")))
        elif op is not None:
            out.append(("op", op))
        elif word is not None:
            lw = word.lower()
            if lw in ("true", "false"):
                out.append(("value", lw == "true"))
            elif lw == "null":
                out.append(("null", None))
            else:
                out.append(("word", word))
        else:
            out.append(("value", float(num) if "." in num else int(num)))
    return out


class Query:
    def __init__(self, crm, text: str) -> None:
        self.crm = crm
        self.tokens = tokenize(text)
        self.i = 0
        self._expect_word("select", "select")
        self.fields = [self._field_name()]
        while self._peek() == ("op", ","):
            self.i += 1
            self.fields.append(self._field_name())
        self._expect_word("from", "from")
        kind, name = self._next("from")
        module = crm.schema.get(name) if kind == "word" else None
        if module is None:
            raise ApiError(400, "INVALID_QUERY", "Invalid query formed", {"reason": "invalid module given", "module": name})
        self.module: Module = module
        for f in self.fields:
            self._column(f)
        self.where: Callable[[dict], bool] = lambda rec: True
        self.order: tuple[str, bool] | None = None
        self.limit, self.offset = 200, 0
        self.atoms: list[tuple[str, set | None]] = []
        if self._is_word("where"):
            self.i += 1
            self.where = self._or()
        if self._is_word("order"):
            self.i += 1
            self._expect_word("by", "order by")
            name = self._column(self._field_name())
            desc = False
            if self._is_word("asc") or self._is_word("desc"):
                desc = self.tokens[self.i][1].lower() == "desc"
                self.i += 1
            self.order = (name, desc)
        if self._is_word("limit"):
            self.i += 1
            first = self._int("limit")
            if self._peek() == ("op", ","):
                self.i += 1
                self.offset, self.limit = first, self._int("limit")
            else:
                self.limit = first
                if self._is_word("offset"):
                    self.i += 1
                    self.offset = self._int("limit")
        if self.i != len(self.tokens):
            raise syntax(f"unexpected token {self.tokens[self.i][1]!r}")
        if not 0 < self.limit <= MAX_LIMIT:
            raise ApiError(400, "LIMIT_EXCEEDED", "limit exceeded", {"by": "limit", "maximum": MAX_LIMIT})

    # -- parsing helpers -------------------------------------------------------------------------
    def _peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _next(self, clause: str) -> tuple[str, Any]:
        if self.i >= len(self.tokens):
            raise syntax("unexpected end of query", clause)
        self.i += 1
        return self.tokens[self.i - 1]

    def _is_word(self, word: str) -> bool:
        t = self._peek()
        return t is not None and t[0] == "word" and t[1].lower() == word

    def _expect_word(self, word: str, clause: str) -> None:
        if not self._is_word(word):
            raise syntax(f"{word} expected", clause)
        self.i += 1

    def _field_name(self) -> str:
        kind, name = self._next("select")
        if kind != "word":
            raise syntax("field name expected", "select")
        return name

    def _int(self, clause: str) -> int:
        kind, value = self._next(clause)
        if kind != "value" or not isinstance(value, int) or value < 0:
            raise syntax("number expected", clause)
        return value

    def _column(self, name: str) -> str:
        base = name[:-3] if name.lower().endswith(".id") else name
        if base != "id" and base not in self.module.fields and base != "$se_module":
            raise invalid_column(name)
        return base

    def _coerce(self, col: str, value: Any) -> Any:
        """Ids (records, lookups, owners) are strings, whether the query quotes them or not."""
        f = self.module.fields.get(col)
        if col == "id" or (f is not None and f.data_type in ("lookup", "ownerlookup", "bigint")):
            return None if value is None else str(value)
        return value

    # -- conditions ------------------------------------------------------------------------------
    def _or(self) -> Callable[[dict], bool]:
        left = self._and()
        while self._is_word("or"):
            self.i += 1
            right, prev = self._and(), left
            left = lambda r, a=prev, b=right: a(r) or b(r)  # noqa: E731
        return left

    def _and(self) -> Callable[[dict], bool]:
        left = self._atom()
        while self._is_word("and"):
            self.i += 1
            right, prev = self._atom(), left
            left = lambda r, a=prev, b=right: a(r) and b(r)  # noqa: E731
        return left

    def _atom(self) -> Callable[[dict], bool]:
        if self._peek() == ("op", "("):
            self.i += 1
            cond = self._or()
            if self._next("where") != ("op", ")"):
                raise syntax("missing closing parenthesis")
            return cond
        kind, name = self._next("where")
        if kind != "word":
            raise syntax("field name expected")
        col = self._column(name)
        if self._is_word("is"):
            self.i += 1
            negate = self._is_word("not")
            if negate:
                self.i += 1
            if self._next("where")[0] != "null":
                raise syntax("null expected")
            self.atoms.append((col, None))
            return lambda r: (_get(r, col) is None) != negate
        negate = self._is_word("not")
        if negate:
            self.i += 1
        if self._is_word("in"):
            self.i += 1
            if self._next("where") != ("op", "("):
                raise syntax("( expected after in")
            values = []
            while True:
                k, v = self._next("where")
                if k != "value":
                    raise syntax("value expected in the in list")
                values.append(_norm(self._coerce(col, v)))
                k, v = self._next("where")
                if (k, v) == ("op", ")"):
                    break
                if (k, v) != ("op", ","):
                    raise syntax(", or ) expected in the in list")
            if len(values) > MAX_IN:
                raise ApiError(400, "LIMIT_EXCEEDED", "limit exceeded", {"by": "in", "maximum": MAX_IN})
            wanted = set(values)
            self.atoms.append((col, None if negate else wanted))
            return lambda r: (_norm(_get(r, col)) in wanted) != negate
        if self._is_word("like"):
            self.i += 1
            k, v = self._next("where")
            if k != "value" or not isinstance(v, str):
                raise syntax("string expected after like")
            self.atoms.append((col, None))
            pattern = re.compile("^" + ".*".join(re.escape(p) for p in v.lower().split("%")) + "$", re.S)
            return lambda r: (bool(pattern.match(str(_get(r, col) or "").lower()))) != negate
        if negate:
            raise syntax("in or like expected after not")
        k, op = self._next("where")
        if k != "op" or op not in ("=", "!=", "<", ">", "<=", ">="):
            raise syntax("invalid operator found")
        k, v = self._next("where")
        if k not in ("value",):
            raise syntax("value expected")
        v = _norm(self._coerce(col, v))
        self.atoms.append((col, {v} if op == "=" else None))
        compare = {"=": lambda a: a == v, "!=": lambda a: a != v, "<": lambda a: a < v, ">": lambda a: a > v,
                   "<=": lambda a: a <= v, ">=": lambda a: a >= v}[op]

        def check(r: dict) -> bool:
            a = _norm(_get(r, col))
            if a is None:
                return op == "!="
            try:
                return compare(a)
            except TypeError:
                return False
        return check

    # -- execution --------------------------------------------------------------------------------
    def _candidates(self) -> list[dict[str, Any]]:
        """Records the WHERE can match: through the index when it is one ``=`` / ``in`` on an indexed field."""
        store, module = self.crm.store, self.module.api_name
        if len(self.atoms) == 1 and self.atoms[0][1] is not None:
            col, values = self.atoms[0]
            if col == "id":
                return [r for v in values if v and store.module_of(v) == module for r in [store.get(v)]]
            if col in store.indexed.get(module, ()):
                return [store.get(rid) for v in values for rid in store.find(module, col, v)]
        return list(store.all(module))

    def run(self) -> tuple[list[dict[str, Any]], bool]:
        rows = [r for r in self._candidates() if self.where(r)]
        if self.order:
            col, desc = self.order
            rows.sort(key=lambda r: (_get(r, col) is None, _norm(_get(r, col)) or ""), reverse=desc)
        else:
            rows.sort(key=lambda r: int(r["id"]))
        page = rows[self.offset:self.offset + self.limit]
        return [self._render(r) for r in page], self.offset + self.limit < len(rows)

    def _render(self, rec: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.fields:
            col = self._column(name)
            value = rec.get(col)
            f = self.module.fields.get(col)
            if f is not None and f.data_type in ("lookup", "ownerlookup") and value is not None:
                value = {"id": value}
                if f.lookup == SE_MODULE and rec.get("$se_module"):
                    value["module"] = {"api_name": rec["$se_module"]}
            out[name] = value
        out["id"] = rec["id"]
        return out


def _get(rec: dict[str, Any], col: str) -> Any:
    return rec.get(col)


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, list):
        return ";".join(sorted(v.lower() for v in value))
    return value
