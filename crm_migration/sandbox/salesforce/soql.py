"""A SOQL subset: parse, validate against the schema, evaluate over the store.

Supported: ``SELECT f1, Rel.f2, ... | COUNT() | COUNT(Id) FROM Obj [WHERE cond]
[ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]``; conditions with
``= != <> < > <= >=``, ``[NOT] IN (...)``, ``LIKE``, ``INCLUDES``/``EXCLUDES``, ``AND``, ``OR``,
``NOT``, parentheses; literals: strings with escapes, numbers, ``null``, ``true``/``false``,
date and datetime literals and the date literals TODAY, YESTERDAY, TOMORROW, LAST_WEEK,
THIS_WEEK, LAST_MONTH, THIS_MONTH, THIS_YEAR, LAST_N_DAYS:n, NEXT_N_DAYS:n. Child-to-parent
paths one or more levels deep (``Account.Owner.Name``), including polymorphic ``What``/``Who``
(``What.Type`` gives the object name). Not supported: semi-joins, GROUP BY and other
aggregates, parent-to-child sub-queries, FIELDS(), TYPEOF, SOSL. Text comparisons are
case-insensitive as in Salesforce. Equality / IN on an indexed field uses the index.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from crm_migration.sandbox.salesforce.errors import ApiError
from crm_migration.sandbox.salesforce.ids import to18
from crm_migration.sandbox.salesforce.schema import NUMBER_TYPES, Field, Schema, SObjectType
from crm_migration.sandbox.salesforce.values import fmt_datetime, parse_datetime

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>'(?:\\.|[^'\\])*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\dT]))
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?::\d+)?)
""", re.X)

KEYWORDS = {"select", "from", "where", "and", "or", "not", "in", "like", "order", "by", "asc", "desc",
            "nulls", "first", "last", "limit", "offset", "includes", "excludes", "null", "true", "false",
            "group", "having", "with", "for", "using"}
_ESC = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\",
        "_": "\\_", "%": "\\%"}


@dataclass
class Tok:
    kind: str
    text: str
    pos: int


def malformed(msg: str) -> ApiError:
    return ApiError(400, "MALFORMED_QUERY", msg)


def tokenize(q: str) -> list[Tok]:
    out, i = [], 0
    while i < len(q):
        m = _TOKEN.match(q, i)
        if not m:
            raise malformed(f"\n{q}\n{' ' * i}^\nERROR at Row:1:Column:{i + 1}\nunexpected token: "
                            f"'{q[i:i + 10]}'")
        if m.lastgroup != "ws":
            out.append(Tok(m.lastgroup, m.group(), i))
        i = m.end()
    return out


def _unescape(raw: str) -> str:
    body, out, i = raw[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt not in _ESC and nxt != "u":
                raise malformed(f"Invalid string literal '{raw}'. Illegal character sequence '\\{nxt}'")
            if nxt == "u":
                out.append(chr(int(body[i + 2:i + 6], 16)))
                i += 6
                continue
            out.append(_ESC[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


# --- AST ---------------------------------------------------------------------------------------

@dataclass
class Lit:
    kind: str  # str, num, null, bool, date, datetime, dateliteral
    value: Any


@dataclass
class Path:
    parts: list[str]
    pos: int
    fields: list[Field] = field(default_factory=list)  # resolved chain (relationship fields + leaf)
    is_type: bool = False  # polymorphic .Type

    @property
    def leaf(self) -> Field | None:
        return self.fields[-1] if self.fields else None


@dataclass
class Query:
    select: list[Path]
    sobject: str
    where: Any = None
    order: list[tuple[Path, bool, bool]] = field(default_factory=list)  # path, desc, nulls_last
    limit: int | None = None
    offset: int = 0
    count: str | None = None  # "plain" for COUNT(), "expr" for COUNT(field)
    text: str = ""


class Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = tokenize(text)
        self.i = 0

    def peek(self, offset: int = 0) -> Tok | None:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else None

    def kw(self, *words: str) -> bool:
        t = self.peek()
        return t is not None and t.kind == "ident" and t.text.lower() in words

    def next(self) -> Tok:
        t = self.peek()
        if t is None:
            raise malformed(f"\n{self.text}\n^\nERROR at Row:1:Column:{len(self.text)}\nunexpected end of query")
        self.i += 1
        return t

    def expect_kw(self, word: str) -> None:
        t = self.next()
        if t.kind != "ident" or t.text.lower() != word:
            self.unexpected(t)

    def expect(self, text: str) -> None:
        t = self.next()
        if t.text != text:
            self.unexpected(t)

    def unexpected(self, t: Tok) -> None:
        raise malformed(f"\n{self.text}\n{' ' * t.pos}^\nERROR at Row:1:Column:{t.pos + 1}\n"
                        f"unexpected token: '{t.text}'")

    def parse(self) -> Query:
        self.expect_kw("select")
        select: list[Path] = []
        count = None
        if self.kw("count") and self.peek(1) is not None and self.peek(1).text == "(":
            self.next()
            self.expect("(")
            if self.peek() is not None and self.peek().text == ")":
                count = "plain"
            else:
                t = self.next()
                select.append(Path(t.text.split("."), t.pos))
                count = "expr"
            self.expect(")")
        else:
            while True:
                t = self.next()
                if t.kind != "ident" or t.text.lower() in ("from",):
                    self.unexpected(t)
                if self.peek() is not None and self.peek().text == "(":
                    raise malformed(f"\n{self.text}\n{' ' * t.pos}^\nERROR at Row:1:Column:{t.pos + 1}\n"
                                    f"The sandbox does not support the function {t.text}()")
                if t.text.lower() == "select":
                    self.unexpected(t)
                select.append(Path(t.text.split("."), t.pos))
                if self.peek() is not None and self.peek().text == ",":
                    self.next()
                    continue
                break
        self.expect_kw("from")
        obj_tok = self.next()
        if obj_tok.kind != "ident":
            self.unexpected(obj_tok)
        q = Query(select, obj_tok.text, count=count, text=self.text)
        if self.kw("where"):
            self.next()
            q.where = self.parse_or()
        if self.kw("order"):
            self.next()
            self.expect_kw("by")
            while True:
                t = self.next()
                if t.kind != "ident":
                    self.unexpected(t)
                desc = False
                if self.kw("asc", "desc"):
                    desc = self.next().text.lower() == "desc"
                nulls_last = desc
                if self.kw("nulls"):
                    self.next()
                    nulls_last = self.next().text.lower() == "last"
                q.order.append((Path(t.text.split("."), t.pos), desc, nulls_last))
                if self.peek() is not None and self.peek().text == ",":
                    self.next()
                    continue
                break
        if self.kw("limit"):
            self.next()
            t = self.next()
            if t.kind != "num" or "." in t.text or t.text.startswith("-"):
                self.unexpected(t)
            q.limit = int(t.text)
        if self.kw("offset"):
            self.next()
            t = self.next()
            if t.kind != "num":
                self.unexpected(t)
            q.offset = int(t.text)
        if self.peek() is not None:
            self.unexpected(self.peek())
        return q

    def parse_or(self) -> Any:
        parts = [self.parse_and()]
        while self.kw("or"):
            self.next()
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else ("or", parts)

    def parse_and(self) -> Any:
        parts = [self.parse_not()]
        while self.kw("and"):
            self.next()
            parts.append(self.parse_not())
        return parts[0] if len(parts) == 1 else ("and", parts)

    def parse_not(self) -> Any:
        if self.kw("not"):
            self.next()
            return ("not", self.parse_not())
        t = self.peek()
        if t is not None and t.text == "(":
            self.next()
            inner = self.parse_or()
            self.expect(")")
            return inner
        return self.parse_cmp()

    def parse_lit(self) -> Lit:
        t = self.next()
        if t.kind == "str":
            return Lit("str", _unescape(t.text))
        if t.kind == "num":
            return Lit("num", float(t.text))
        if t.kind == "date":
            return Lit("date", t.text)
        if t.kind == "datetime":
            val = parse_datetime(t.text)
            if val is None:
                self.unexpected(t)
            return Lit("datetime", val)
        if t.kind == "ident":
            low = t.text.lower()
            if low == "null":
                return Lit("null", None)
            if low in ("true", "false"):
                return Lit("bool", low == "true")
            if date_literal_range(t.text) is not None:
                return Lit("dateliteral", t.text.upper())
        self.unexpected(t)
        raise AssertionError

    def parse_cmp(self) -> Any:
        t = self.next()
        if t.kind != "ident" or t.text.lower() in KEYWORDS:
            self.unexpected(t)
        path = Path(t.text.split("."), t.pos)
        negate = False
        if self.kw("not"):
            self.next()
            negate = True
            if not self.kw("in"):
                self.unexpected(self.peek() or t)
        if self.kw("in", "includes", "excludes"):
            op = self.next().text.lower()
            self.expect("(")
            values = [self.parse_lit()]
            while self.peek() is not None and self.peek().text == ",":
                self.next()
                values.append(self.parse_lit())
            self.expect(")")
            if op == "in":
                return ("in", path, values, negate, {})  # the last slot caches the literals as a set
            return (op, path, values)
        if self.kw("like"):
            self.next()
            return ("like", path, self.parse_lit())
        op_tok = self.next()
        if op_tok.kind != "op":
            self.unexpected(op_tok)
        op = "!=" if op_tok.text == "<>" else op_tok.text
        return ("cmp", path, op, self.parse_lit())


# --- date literals -------------------------------------------------------------------------------

def date_literal_range(name: str, today: dt.date | None = None) -> tuple[dt.date, dt.date] | None:
    """[start, end) in days for a SOQL date literal, or None if not one."""
    today = today or dt.datetime.now(dt.timezone.utc).date()
    up = name.upper()
    m = re.fullmatch(r"(LAST|NEXT)_N_DAYS:(\d+)", up)
    if m:
        n = int(m.group(2))
        if m.group(1) == "LAST":
            return today - dt.timedelta(days=n), today + dt.timedelta(days=1)
        return today + dt.timedelta(days=1), today + dt.timedelta(days=n + 1)
    week_start = today - dt.timedelta(days=(today.weekday() + 1) % 7)
    month_start = today.replace(day=1)
    next_month = (month_start + dt.timedelta(days=32)).replace(day=1)
    last_month = (month_start - dt.timedelta(days=1)).replace(day=1)
    table = {
        "TODAY": (today, today + dt.timedelta(days=1)),
        "YESTERDAY": (today - dt.timedelta(days=1), today),
        "TOMORROW": (today + dt.timedelta(days=1), today + dt.timedelta(days=2)),
        "THIS_WEEK": (week_start, week_start + dt.timedelta(days=7)),
        "LAST_WEEK": (week_start - dt.timedelta(days=7), week_start),
        "THIS_MONTH": (month_start, next_month),
        "LAST_MONTH": (last_month, month_start),
        "THIS_YEAR": (today.replace(month=1, day=1), today.replace(year=today.year + 1, month=1, day=1)),
    }
    return table.get(up)


# --- validation ------------------------------------------------------------------------------------

NO_SUCH_COLUMN_HINT = ("If you are attempting to use a custom field, be sure to append the '__c' after the custom "
                       "field name. Please reference your WSDL or the describe call for the appropriate names.")
NO_SUCH_REL_HINT = ("If you are attempting to use a custom relationship, be sure to append the '__r' after the "
                    "custom relationship name. Please reference your WSDL or the describe call for the "
                    "appropriate names.")


class Compiled:
    def __init__(self, q: Query, obj: SObjectType, schema: Schema) -> None:
        self.q = q
        self.obj = obj
        self.schema = schema

    def err(self, path: Path, msg: str) -> ApiError:
        t = self.q.text
        return ApiError(400, "INVALID_FIELD",
                        f"\n{t}\n{' ' * path.pos}^\nERROR at Row:1:Column:{path.pos + 1}\n{msg}")

    def resolve(self, path: Path) -> None:
        objs = [self.obj]
        chain: list[Field] = []
        for n, part in enumerate(path.parts):
            last = n == len(path.parts) - 1
            if last:
                if len(objs) > 1 and part.lower() == "type":
                    path.is_type = True
                    path.fields = chain
                    return
                found = [o.field(part) for o in objs if o.field(part)]
                if not found:
                    name = objs[0].name if len(objs) == 1 else "Name"
                    raise self.err(path, f"No such column '{part}' on entity '{name}'. {NO_SUCH_COLUMN_HINT}")
                chain.append(found[0])
            else:
                rels = [o.relationship(part) for o in objs if o.relationship(part)]
                if not rels:
                    raise self.err(path, f"Didn't understand relationship '{part}' in field path. "
                                         f"{NO_SUCH_REL_HINT}")
                chain.append(rels[0])
                objs = [self.schema.get(t) for t in rels[0].reference_to if self.schema.get(t)]
                if not objs:
                    raise self.err(path, f"Didn't understand relationship '{part}' in field path.")
        path.fields = chain

    def compile(self) -> "Compiled":
        for p in self.q.select:
            self.resolve(p)
        for p, _, _ in self.q.order:
            self.resolve(p)
        if self.q.where is not None:
            self.check_cond(self.q.where)
        return self

    def check_cond(self, c: Any) -> None:
        kind = c[0]
        if kind in ("and", "or"):
            for sub in c[1]:
                self.check_cond(sub)
            return
        if kind == "not":
            self.check_cond(c[1])
            return
        path: Path = c[1]
        self.resolve(path)
        lits = c[2] if kind in ("in", "includes", "excludes") else [c[3] if kind == "cmp" else c[2]]
        for lit in lits:
            self.check_lit(path, lit, kind)

    def check_lit(self, path: Path, lit: Lit, kind: str) -> None:
        f = path.leaf
        if path.is_type or f is None or lit.kind == "null":
            return
        t = f.type
        want = None
        if t in NUMBER_TYPES and lit.kind != "num":
            want = "double" if t != "int" else "int"
        elif t == "boolean" and lit.kind != "bool":
            want = "boolean"
        elif t == "date" and lit.kind not in ("date", "dateliteral"):
            want = "date"
        elif t == "datetime" and lit.kind not in ("datetime", "dateliteral"):
            want = "dateTime"
        elif (t not in NUMBER_TYPES | {"boolean", "date", "datetime"}) and lit.kind != "str":
            want = "string"
        if want:
            quoted = "and should not be enclosed in quotes" if lit.kind == "str" else "and should be enclosed in quotes" if want == "string" else ""
            raise self.err(path, f"value of filter criterion for field '{f.name}' must be of type {want} "
                                 f"{quoted}".rstrip())
        if kind == "like" and t not in ("string", "textarea", "email", "phone", "url", "picklist", "combobox",
                                        "id", "reference", "multipicklist"):
            raise self.err(path, f"invalid operator on {t} field")


def compile_query(text: str, schema: Schema | Callable[[str], SObjectType | None]) -> Compiled:
    q = Parser(text).parse()
    getter = schema.get if isinstance(schema, Schema) else schema
    obj = getter(q.sobject)
    if obj is None or not obj.queryable:
        raise ApiError(400, "INVALID_TYPE",
                       f"\n{text}\n^\nERROR at Row:1:Column:1\nsObject type '{q.sobject}' is not supported. "
                       f"If you are attempting to use a custom object, be sure to append the '__c' after the "
                       f"entity name. Please reference your WSDL or the describe call for the appropriate names.")
    sch = schema if isinstance(schema, Schema) else _Single(obj)
    return Compiled(q, obj, sch).compile()


class _Single(Schema):
    """A schema holding one (tooling) object type."""

    def __init__(self, obj: SObjectType) -> None:  # noqa: D107 - deliberately skip Schema.__init__
        self.objects = {obj.name.lower(): obj}
        self._by_prefix = {obj.key_prefix: obj}


# --- evaluation ------------------------------------------------------------------------------------

class Evaluator:
    def __init__(self, compiled: Compiled, fetch: Callable[[str], dict[str, Any] | None],
                 type_of: Callable[[str], str | None]) -> None:
        self.c = compiled
        self.fetch = fetch
        self.type_of = type_of

    def value(self, rec: dict[str, Any], path: Path) -> Any:
        cur: dict[str, Any] | None = rec
        chain = path.fields
        for f in chain[:-1] if not path.is_type else chain:
            rid = cur.get(f.name) if cur else None
            if rid is None:
                return None
            if path.is_type and f is chain[-1]:
                return self.type_of(rid)
            cur = self.fetch(rid)
            if cur is None:
                return None
        return leaf_value(cur, chain[-1]) if cur is not None else None

    # conditions
    def test(self, rec: dict[str, Any], c: Any) -> bool:
        kind = c[0]
        if kind == "and":
            return all(self.test(rec, s) for s in c[1])
        if kind == "or":
            return any(self.test(rec, s) for s in c[1])
        if kind == "not":
            return not self.test(rec, c[1])
        path: Path = c[1]
        val = self.value(rec, path)
        f = path.leaf
        if kind == "cmp":
            return compare(val, c[2], c[3], f, path.is_type)
        if kind == "in":
            hit = _in(val, c, f, path.is_type)
            if c[3]:
                return val is not None and not hit
            return hit
        if kind == "like":
            if val is None or c[2].value is None:
                return False
            return like_regex(str(c[2].value)).match(str(val)) is not None
        if kind in ("includes", "excludes"):
            have = {v.lower() for v in str(val or "").split(";") if v}
            hit = any(all(p.strip().lower() in have for p in str(lit.value).split(";")) for lit in c[2])
            return hit if kind == "includes" else not hit
        raise AssertionError(kind)


def leaf_value(rec: dict[str, Any], f: Field) -> Any:
    """A field of a (possibly polymorphic) parent; ``Name`` falls back to e.g. CaseNumber."""
    if f.name == "Name" and "Name" not in rec:
        for key in ("CaseNumber", "Subject", "Title"):
            if key in rec:
                return rec[key]
    return rec.get(f.name)


def like_regex(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("^" + "".join(out) + "$", re.I | re.S)


def _norm(val: Any, f: Field | None, is_type: bool) -> Any:
    if isinstance(val, str):
        if f is not None and f.type in ("id", "reference") and not is_type:
            return (to18(val) or val).lower()
        return val.lower()
    if isinstance(val, bool):
        return val
    if isinstance(val, (int, float)):
        return float(val)
    return val


def _in(val: Any, c: tuple, f: Field | None, is_type: bool) -> bool:
    """`val IN (...)`: a set lookup of the normalised literals (a read-back asks for thousands at once)."""
    lits, cache = c[2], c[4]
    key = (id(f), is_type)
    if key not in cache:
        plain = all(lit.kind not in ("null", "dateliteral") for lit in lits)
        try:
            cache[key] = frozenset(_norm(lit.value, f, is_type) for lit in lits) if plain else None
        except TypeError:
            cache[key] = None
    allowed = cache[key]
    if allowed is not None and val is not None:
        try:
            return _norm(val, f, is_type) in allowed
        except TypeError:
            pass
    return any(compare(val, "=", lit, f, is_type) for lit in lits)


def compare(val: Any, op: str, lit: Lit, f: Field | None, is_type: bool = False) -> bool:
    if lit.kind == "dateliteral":
        start, end = date_literal_range(lit.value)  # type: ignore[misc]
        if val is None:
            return op == "!="
        if f is not None and f.type == "datetime":
            lo = fmt_datetime(dt.datetime.combine(start, dt.time(), dt.timezone.utc))
            hi = fmt_datetime(dt.datetime.combine(end, dt.time(), dt.timezone.utc))
        else:
            lo, hi = start.isoformat(), end.isoformat()
        inside = lo <= val < hi
        return {"=": inside, "!=": not inside, "<": val < lo, "<=": val < hi, ">": val >= hi,
                ">=": val >= lo}[op]
    if lit.kind == "null":
        return (val is None) if op == "=" else (val is not None) if op == "!=" else False
    if val is None:
        return op == "!="
    a, b = _norm(val, f, is_type), _norm(lit.value, f, is_type)
    try:
        if op == "=":
            return a == b
        if op == "!=":
            return a != b
        if op == "<":
            return a < b
        if op == "<=":
            return a <= b
        if op == ">":
            return a > b
        if op == ">=":
            return a >= b
    except TypeError:
        return False
    raise AssertionError(op)


def _sort_key(val: Any) -> Any:
    if isinstance(val, str):
        return val.lower()
    if isinstance(val, bool):
        return int(val)
    return val


def run(compiled: Compiled, records: Iterable[dict[str, Any]], fetch: Callable[[str], dict[str, Any] | None],
        type_of: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """Filter, sort and slice; returns the matching stored records."""
    ev = Evaluator(compiled, fetch, type_of)
    q = compiled.q
    rows = [r for r in records if q.where is None or ev.test(r, q.where)]
    for path, desc, nulls_last in reversed(q.order):
        present = [r for r in rows if ev.value(r, path) is not None]
        absent = [r for r in rows if ev.value(r, path) is None]
        present.sort(key=lambda r: _sort_key(ev.value(r, path)), reverse=desc)
        rows = present + absent if nulls_last else absent + present
    rows = rows[q.offset:]
    if q.limit is not None:
        rows = rows[:q.limit]
    return rows


def filters_on(compiled: Compiled, names: set[str]) -> bool:
    """Whether the WHERE clause pins one of the fields ``names`` with ``=`` or ``IN`` (at its top level)."""
    where = compiled.q.where
    conds = where[1] if where is not None and where[0] == "and" else [where] if where is not None else []
    return any(len(c[1].parts) == 1 and c[1].leaf is not None and c[1].leaf.name in names
               for c in conds if (c[0] == "cmp" and c[2] == "=") or (c[0] == "in" and not c[3]))


def index_candidates(compiled: Compiled, lookup: Callable[[Field, Any], list[str]]) -> list[str] | None:
    """Ids that can match when the WHERE clause pins an indexed field (= or IN); else None."""
    where = compiled.q.where
    conds = where[1] if where is not None and where[0] == "and" else [where] if where is not None else []
    for c in conds:
        if c[0] == "cmp" and c[2] == "=":
            path, lit = c[1], c[3]
        elif c[0] == "in" and not c[3]:
            path, lit = c[1], None
        else:
            continue
        f = path.leaf
        if len(path.parts) != 1 or f is None or not (f.indexed or f.name == "Id"):
            continue
        lits = [lit] if lit is not None else c[2]
        if any(x.kind == "null" for x in lits):
            continue
        ids: list[str] = []
        for x in lits:
            ids.extend(lookup(f, x.value if f.type not in NUMBER_TYPES else x.value))
        return ids
    return None
