"""The OData pieces of the Web API: key segments (``accounts(<guid>)``, ``accounts(accountnumber='A1')``),
``$select``, ``$orderby`` and ``$filter``.

``$filter`` supports what a data-migration client uses: ``eq ne gt ge lt le``, ``and or not``,
parentheses, ``contains/startswith/endswith``, ``null``, and the Dataverse query functions
``Microsoft.Dynamics.CRM.In / NotIn / Null / NotNull / ContainValues``. It is compiled once into a
predicate over stored records. String comparisons ignore case, as Dataverse's do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from crm_migration.sandbox.dataverse.errors import ApiError, INVALID_ARGUMENT, query_error
from crm_migration.sandbox.dataverse.metadata import LOOKUPS, Attribute, Entity

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
TOKEN = re.compile(r"""\s*(?:
    (?P<str>'(?:[^']|'')*')
  | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(?![\w-])
  | (?P<dt>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?)(?![\w-])
  | (?P<num>-?\d+(?:\.\d+)?)(?![\w])
  | (?P<punct>[(),\[\]=])
  | (?P<name>[A-Za-z_$][\w.]*)
)""", re.X)
COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}
FUNCTIONS = {"Microsoft.Dynamics.CRM.In", "Microsoft.Dynamics.CRM.NotIn", "Microsoft.Dynamics.CRM.Null",
             "Microsoft.Dynamics.CRM.NotNull", "Microsoft.Dynamics.CRM.ContainValues"}


def tokenize(text: str) -> list[tuple[str, Any]]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise query_error(f"Syntax error at position {pos} in '{text}'.")
        pos = m.end()
        kind = m.lastgroup
        raw = m.group(kind)
        if kind == "str":
            tokens.append(("lit", raw[1:-1].replace("''", "'")))
        elif kind == "guid":
            tokens.append(("lit", raw.lower()))
        elif kind == "dt":
            tokens.append(("lit", normalise_datetime(raw)))
        elif kind == "num":
            tokens.append(("lit", float(raw) if "." in raw else int(raw)))
        elif kind == "punct":
            tokens.append(("p", raw))
        elif raw in ("true", "false"):
            tokens.append(("lit", raw == "true"))
        elif raw == "null":
            tokens.append(("lit", None))
        else:
            tokens.append(("name", raw))
    return tokens


def normalise_datetime(raw: str) -> str:
    """Date-times compare as ``YYYY-MM-DDTHH:MM:SSZ`` strings; a bare date stays a date."""
    if "T" not in raw:
        return raw
    from datetime import datetime, timezone

    value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- properties ------------------------------------------------------------------------------------


def property_getter(ent: Entity, name: str) -> tuple[Callable[[dict], Any], Attribute]:
    """A readable property of ``ent`` (``_x_value`` for a lookup) and how to read it from a stored record."""
    if name.startswith("_") and name.endswith("_value"):
        attr = ent.attributes.get(name[1:-6])
        if attr is not None and attr.type in LOOKUPS:
            return (lambda rec, n=attr.name: (rec.get(n) or [None, None])[1]), attr
    attr = ent.attributes.get(name)
    if attr is None or attr.type in LOOKUPS:
        raise query_error(f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{ent.name}'.")
    return (lambda rec, n=name: rec.get(n)), attr


def parse_select(ent: Entity, text: str | None) -> list[str] | None:
    if not text:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    for n in names:
        property_getter(ent, n)
    return names


def parse_orderby(ent: Entity, text: str | None) -> list[tuple[Callable[[dict], Any], bool]]:
    out = []
    for part in (text or "").split(","):
        bits = part.split()
        if not bits:
            continue
        getter, _ = property_getter(ent, bits[0])
        out.append((getter, len(bits) > 1 and bits[1].lower() == "desc"))
    return out


def sort_records(records: list[dict], order: list[tuple[Callable[[dict], Any], bool]]) -> list[dict]:
    for getter, desc in reversed(order):
        records.sort(key=lambda r: _sortable(getter(r)), reverse=desc)
    return records


def _sortable(v: Any) -> tuple:
    if v is None:
        return (0, "")
    if isinstance(v, str):
        return (1, v.casefold())
    return (1, v) if not isinstance(v, bool) else (1, int(v))


# --- key segments -------------------------------------------------------------------------------


def parse_key(text: str) -> str | dict[str, Any]:
    """``<guid>`` -> the id; ``name='v',other=5`` -> {name: value}."""
    if GUID_RE.match(text.strip()):
        return text.strip().lower()
    tokens = tokenize(text)
    values: dict[str, Any] = {}
    i = 0
    while i < len(tokens):
        if (i + 2 >= len(tokens) or tokens[i][0] != "name" or tokens[i + 1] != ("p", "=")
                or tokens[i + 2][0] != "lit"):
            raise ApiError(400, INVALID_ARGUMENT, f"Bad Request - Error in query syntax: '({text})'.")
        values[tokens[i][1]] = tokens[i + 2][1]
        i += 3
        if i < len(tokens):
            if tokens[i] != ("p", ","):
                raise ApiError(400, INVALID_ARGUMENT, f"Bad Request - Error in query syntax: '({text})'.")
            i += 1
    return values


# --- $filter ----------------------------------------------------------------------------------------


def _coerce(attr: Attribute, value: Any) -> Any:
    """A literal (or a PropertyValues string) as the stored value type of ``attr``."""
    if value is None:
        return None
    if attr.type in ("Integer", "BigInt", "Picklist", "State", "Status"):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise query_error(f"A binary operator with incompatible types was detected for '{attr.name}'.") from None
    if attr.type in ("Decimal", "Double", "Money"):
        return float(value)
    if attr.type == "Boolean":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if attr.type == "DateTime" and isinstance(value, str):
        if attr.format == "DateOnly":
            return value[:10]
        return normalise_datetime(value if "T" in value else value + "T00:00:00Z")
    return str(value).lower() if attr.type in LOOKUPS or attr.type == "Uniqueidentifier" else value


def _cmp(op: str, left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        left, right = left.casefold(), right.casefold()
    if op == "eq":
        return left == right
    if op == "ne":
        return left != right
    if left is None or right is None:
        return False
    try:
        return {"gt": left > right, "ge": left >= right, "lt": left < right, "le": left <= right}[op]
    except TypeError:
        return False


class FilterParser:
    def __init__(self, ent: Entity, text: str) -> None:
        self.ent = ent
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        # (property, values, token span) of an In(...) that is the whole filter: the query can use an index
        self.hint: tuple[str, list, tuple[int, int]] | None = None

    def parse(self) -> Callable[[dict], bool]:
        pred = self._or()
        if self.i != len(self.tokens):
            raise query_error(f"Syntax error: unexpected '{self.tokens[self.i][1]}' in '{self.text}'.")
        if self.hint is not None and self.hint[2] != (0, len(self.tokens)):
            self.hint = None  # the In(...) is only part of the filter
        return pred

    def _peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _take(self, expected: tuple[str, Any] | None = None) -> tuple[str, Any]:
        tok = self._peek()
        if tok is None or (expected is not None and tok != expected):
            raise query_error(f"Syntax error in '{self.text}': expected {expected[1] if expected else 'more'}.")
        self.i += 1
        return tok

    def _or(self) -> Callable[[dict], bool]:
        left = self._and()
        while self._peek() == ("name", "or"):
            self.i += 1
            right = self._and()
            left = (lambda a, b: lambda r: a(r) or b(r))(left, right)
        return left

    def _and(self) -> Callable[[dict], bool]:
        left = self._not()
        while self._peek() == ("name", "and"):
            self.i += 1
            right = self._not()
            left = (lambda a, b: lambda r: a(r) and b(r))(left, right)
        return left

    def _not(self) -> Callable[[dict], bool]:
        if self._peek() == ("name", "not"):
            self.i += 1
            inner = self._not()
            return lambda r: not inner(r)
        return self._primary()

    def _primary(self) -> Callable[[dict], bool]:
        tok = self._take()
        if tok == ("p", "("):
            inner = self._or()
            self._take(("p", ")"))
            return inner
        if tok[0] != "name":
            raise query_error(f"Syntax error in '{self.text}' near {tok[1]!r}.")
        name = tok[1]
        if name in FUNCTIONS:
            return self._query_function(name)
        if name in ("contains", "startswith", "endswith"):
            self._take(("p", "("))
            getter, _ = property_getter(self.ent, self._take()[1])
            self._take(("p", ","))
            needle = str(self._take()[1]).casefold()
            self._take(("p", ")"))
            test = {"contains": lambda v: needle in v, "startswith": lambda v: v.startswith(needle),
                    "endswith": lambda v: v.endswith(needle)}[name]
            return lambda r: isinstance(getter(r), str) and test(getter(r).casefold())
        getter, attr = property_getter(self.ent, name)
        op = self._take()
        if op[0] != "name" or op[1] not in COMPARE:
            raise query_error(f"Syntax error in '{self.text}': expected a comparison after '{name}'.")
        lit = self._take()
        if lit[0] != "lit":
            raise query_error(f"Syntax error in '{self.text}': expected a literal after '{op[1]}'.")
        value = _coerce(attr, lit[1])
        return lambda r: _cmp(op[1], getter(r), value)

    def _query_function(self, name: str) -> Callable[[dict], bool]:
        start = self.i - 1
        args: dict[str, Any] = {}
        self._take(("p", "("))
        while True:
            arg = self._take()[1]
            self._take(("p", "="))
            if self._peek() == ("p", "["):
                self.i += 1
                items = []
                while self._peek() != ("p", "]"):
                    items.append(self._take()[1])
                    if self._peek() == ("p", ","):
                        self.i += 1
                self._take(("p", "]"))
                args[arg] = items
            else:
                args[arg] = self._take()[1]
            if self._peek() == ("p", ","):
                self.i += 1
                continue
            self._take(("p", ")"))
            break
        if "PropertyName" not in args:
            raise query_error(f"{name} needs PropertyName.")
        getter, attr = property_getter(self.ent, str(args["PropertyName"]))
        short = name.rsplit(".", 1)[1]
        if short in ("Null", "NotNull"):
            return (lambda r: getter(r) is None) if short == "Null" else (lambda r: getter(r) is not None)
        values = [_coerce(attr, v) for v in args.get("PropertyValues") or []]
        if short == "ContainValues":
            wanted = {int(v) for v in values}
            return lambda r: bool(wanted & {int(x) for x in str(getter(r) or "").split(",") if x})
        folded = {v.casefold() if isinstance(v, str) else v for v in values}
        if short == "In":
            self.hint = (str(args["PropertyName"]), values, (start, self.i))

        def member(r: dict) -> bool:
            v = getter(r)
            return (v.casefold() if isinstance(v, str) else v) in folded

        return member if short == "In" else (lambda r: not member(r))


def compile_filter(ent: Entity, text: str | None) -> tuple[Callable[[dict], bool] | None, tuple[str, list] | None]:
    """The predicate, and (property, values) when the filter is one In(...) an index may answer."""
    if not text:
        return None, None
    parser = FilterParser(ent, text)
    pred = parser.parse()
    return pred, parser.hint[:2] if parser.hint else None
