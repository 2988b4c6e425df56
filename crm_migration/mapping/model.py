"""The typed mapping model: what a pair's YAML files may say, validated before anything runs.

A pair folder (`mappings/<pair>/`) holds `pair.yaml` (the pair's settings) and one YAML file per
mapped object. Each object file says where its rows come from (the source object, how to type and
clean its columns) and how each destination field is filled. A destination field is filled by
exactly one rule:

- `from`: a normalized source column (or the first non-blank of several), optionally coerced
  (`type`), value-mapped (`values` with an `unmapped` policy; a `"*"` entry maps every other value
  on purpose), truncated to the destination's length (`truncate`);
- `constant`: the same value on every record;
- `template`: text built from several columns (`"{first_name} {last_name}"`);
- `lookup`: the external id of a record of another mapped object (or the same one: a hierarchy);
  the loader turns it into the destination id of that record. A lookup may point at one of several
  objects (a polymorphic "who" or "parent"): the object is chosen per record by a type column
  (`type_column`), by the first non-blank of several columns (`from` as a list), or by where the id
  is found. It may match a parent's column other than its id (`match: email`), a range of a parent's
  columns (`range: [zip_from, zip_to]`), or several parents at once (`many`: a `;` list);
- `owner`: a column of owner e-mails, resolved to a destination user (fallback from the pair);
- `unmatched`: the values of a `many` lookup (named) that matched no parent, kept for an audit field.

A field with `write: false` is not sent: the destination computes it (a file's size or type), and
reconciliation checks the value it reads back.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Types a normalized source column can have.
SourceType = Literal[
    "text", "email", "url", "phone", "html", "multiselect",
    "integer", "decimal", "boolean", "date", "datetime",
]
# Types a mapped destination value can be coerced to.
ValueType = Literal["text", "integer", "decimal", "boolean", "date", "datetime"]

_TEMPLATE_FIELD = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Pivot(_Strict):
    """Name/value property rows of another source object, turned into columns of this one."""

    object: str = Field(description="the source object holding the property rows")
    key: str = Field(description="its column holding this object's source id")
    name_column: str = "property_name"
    value_column: str = "property_value"
    properties: dict[str, str] = Field(description="property name in the source -> column name here")


class SourceSpec(_Strict):
    """Where an object's rows come from, and how the normalized stage types and cleans them."""

    object: str | None = Field(description="the source object; none for a mapping of added rows only (a shared account)")
    id: str = Field(description="the column holding the source id")
    external_id_prefix: str = Field("", description="prepended to the source id to make the external id")
    required: list[str] = Field(default_factory=list)
    types: dict[str, SourceType] = Field(default_factory=dict)
    duplicates: list[list[str]] = Field(
        default_factory=list,
        description="column groups that make two records suspected duplicates (compared case-insensitively)",
    )
    pivot: list[Pivot] = Field(default_factory=list)
    file: FileSpec | None = None
    modified: str | None = Field(None, description="the column with each record's last-modified time (delta runs)")
    only: dict[str, list[str]] = Field(
        default_factory=dict,
        description="records whose column holds none of these values belong to another mapping of the same source object: skipped")
    skip_when_blank: list[str] = Field(
        default_factory=list, description="records with any of these columns blank have nothing to migrate here: skipped, reported")
    add_rows: list[dict[str, str]] = Field(
        default_factory=list,
        description="records the migration adds (a placeholder parent such as an 'Unassigned Account'), as source rows",
    )

    @model_validator(mode="after")
    def _columns_once(self) -> SourceSpec:
        pivoted = [c for p in self.pivot for c in p.properties.values()]
        if len(pivoted) != len(set(pivoted)):
            raise ValueError("a pivoted column name is used twice")
        return self


class FileSpec(_Strict):
    """The object carries a file body: a file in the export folder, or a text column written out as one."""

    path_column: str | None = None
    folder: str = "files"
    text_column: str | None = Field(None, description="the body is this column's text (a note), written to a file")
    extension: str = Field("txt", description="with text_column: the file name's extension (e.g. snote)")
    format: Literal["text", "html"] = Field("text", description="with text_column: write the text as is, or as escaped HTML paragraphs")
    link_column: str | None = Field(
        None, description="a URL where the file is kept: a file over the destination's limit (or not in the export) loads as a link to it")

    @model_validator(mode="after")
    def _one_body(self) -> FileSpec:
        if (self.path_column is None) == (self.text_column is None):
            raise ValueError("a file comes from exactly one of path_column (a file in the export) or text_column")
        return self

    @property
    def column(self) -> str:
        return self.path_column or self.text_column


class FieldRule(_Strict):
    """How one destination field is filled: exactly one of from/constant/template/lookup/owner."""

    from_: str | list[str] | None = Field(None, alias="from")
    constant: Any = None
    template: str | None = None
    lookup: str | list[str] | None = Field(None, description="the mapped object(s) the value points at")
    owner: str | None = Field(None, description="the column of owner e-mails")
    unmatched: str | None = Field(None, description="a `many` lookup field of this mapping: its values that matched no parent")

    type_column: str | None = Field(None, description="polymorphic lookups: the column naming each record's parent object")
    types: dict[str, str] | None = Field(None, description="type_column values -> mapped object names (default: the same)")
    match: str | None = Field(None, description="lookups: the parent's column the value is compared with (default: its source id)")
    range: tuple[str, str] | None = Field(None, description="lookups: the parent's low and high columns the value falls between")
    many: bool = Field(False, description="lookups: the value is a ';' list of parents")

    type: ValueType | None = None
    values: dict[str, Any] | None = None
    unmapped: Literal["reject", "default", "keep"] = "reject"
    default: Any = Field(None, description="the value when the source is blank (and, with unmapped: default, unmapped)")
    truncate: bool = False
    write: bool = True
    on_missing: Literal["reject", "flag"] = Field(
        "reject", description="lookups: a parent not in the export rejects the record, or blanks the field with a flag"
    )

    @model_validator(mode="after")
    def _exactly_one_source(self) -> FieldRule:
        given = [k for k in ("constant", "template", "lookup", "owner", "unmatched") if getattr(self, k) is not None]
        if given == ["constant", "lookup"] and self.from_ is None:
            return self  # every record points at the one parent with this source id
        if len(given) > 1 or (given and given != ["lookup"] and self.from_ is not None):
            raise ValueError(
                f"a field takes exactly one of from/constant/template/lookup/owner/unmatched; got {', '.join(given + ['from'] * (self.from_ is not None))}"
            )
        if not given and self.from_ is None:
            raise ValueError("a field needs one of from/constant/template/lookup/owner/unmatched")
        if given == ["lookup"] and self.from_ is None:
            raise ValueError("a lookup needs 'from' (the column holding the parent's source id) or 'constant' (one parent's source id)")
        if isinstance(self.from_, list) and self.lookup is not None and not isinstance(self.lookup, list):
            raise ValueError("'from' as a list with a lookup is for a lookup to several objects")
        shaping = [k for k in ("type_column", "match", "range") if getattr(self, k) is not None] + ["many"] * self.many
        if shaping and self.lookup is None:
            raise ValueError(f"{', '.join(shaping)}: only for lookups")
        if self.type_column is not None and not isinstance(self.lookup, list):
            raise ValueError("type_column chooses between several lookup objects: 'lookup' must be a list")
        if self.match is not None and self.range is not None:
            raise ValueError("a lookup matches a column or a range, not both")
        if self.values is not None and (self.from_ is None or self.lookup is not None):
            raise ValueError("'values' maps a source column's values: it needs 'from'")
        if self.unmapped == "default" and self.default is None:
            raise ValueError("unmapped: default needs a 'default' value")
        return self

    @property
    def kind(self) -> str:
        for k in ("lookup", "owner", "template", "constant", "unmatched"):  # lookup first: a lookup may have a constant
            if getattr(self, k) is not None:
                return k
        return "from"

    @property
    def targets(self) -> list[str]:
        """The mapped objects a lookup may point at."""
        if self.lookup is None:
            return []
        return list(self.lookup) if isinstance(self.lookup, list) else [self.lookup]

    def columns(self) -> list[str]:
        """The normalized source columns this rule reads."""
        if self.template is not None:
            return _TEMPLATE_FIELD.findall(self.template)
        if self.owner is not None:
            return [self.owner]
        cols = self.from_ if isinstance(self.from_, list) else [self.from_] if self.from_ is not None else []
        return cols + ([self.type_column] if self.type_column else [])


class RequireLink(_Strict):
    """At least one of these lookup fields must resolve, or the record is flagged (or rejected)."""

    fields: list[str]
    on_missing: Literal["reject", "flag"] = "flag"


class CustomField(_Strict):
    """A custom field the destination must have before records load (part of the schema plan)."""

    type: Literal[
        "Text", "TextArea", "LongTextArea", "Number", "Currency", "Percent", "Checkbox",
        "Date", "DateTime", "Email", "Phone", "Url", "Picklist", "MultiselectPicklist", "Lookup",
    ]
    label: str | None = None
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    external_id: bool = False
    unique: bool = False
    values: list[str] = Field(default_factory=list)
    reference_to: str | None = Field(None, description="a Lookup field: the destination object it points at")
    description: str | None = Field(None, description="kept with the field in the destination (e.g. the source's original label)")

    @model_validator(mode="after")
    def _shape(self) -> CustomField:
        if self.type in ("Text", "LongTextArea") and not self.length:
            raise ValueError(f"a {self.type} field needs a length")
        if self.type in ("Picklist", "MultiselectPicklist") and not self.values:
            raise ValueError("a picklist field needs its values")
        if (self.type == "Lookup") != (self.reference_to is not None):
            raise ValueError("a Lookup field, and only a Lookup field, names the object it points at (reference_to)")
        return self


class CustomObject(_Strict):
    """A custom object the destination must have (Course__c, Job__c): part of the schema plan."""

    label: str
    plural_label: str
    name_field: Literal["Text", "AutoNumber"] = "Text"
    name_field_label: str = "Name"


class DestinationSpec(_Strict):
    """The destination object, and how a record finds its destination twin.

    Most objects carry the external id in a field of their own (`external_id`). An object that cannot
    (a note, an invitee, a user) is matched by a natural `key` of its mapped fields instead: the
    loader reads the destination's records under the key's first field and adopts the one whose key
    is equal, so a re-run (even after a crash mid-batch) updates rather than duplicates. With
    `create: false` nothing new is created: unmatched records are skipped and reported (users to
    invite first, say).
    """

    object: str
    external_id: str | None = Field(None, description="the destination field that holds the external id")
    key: list[str] = Field(default_factory=list, description="without external_id: the mapped fields that identify a record")
    create: bool = Field(True, description="false: update matching destination records only")
    custom_object: CustomObject | None = Field(None, description="the object itself is created by the schema plan")

    @model_validator(mode="after")
    def _identity(self) -> DestinationSpec:
        if (self.external_id is None) == (not self.key):
            raise ValueError("a destination object is identified by exactly one of external_id or key")
        if not self.create and self.external_id is not None:
            raise ValueError("create: false is for objects matched by key (an external id is only ever written by us)")
        return self


class ObjectMapping(_Strict):
    """One mapped object: one source object -> one destination object, five assets."""

    object: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="the name used for the object's assets")
    description: str
    source: SourceSpec
    destination: DestinationSpec
    fields: dict[str, FieldRule]
    require_link: RequireLink | None = None
    custom_fields: dict[str, CustomField] = Field(default_factory=dict)
    when: dict[str, str] = Field(default_factory=dict, description="only mapped when the pair's options have these values")
    file_name: str = Field("", exclude=True, description="the YAML file it came from (set by the loader)")

    @model_validator(mode="after")
    def _consistent(self) -> ObjectMapping:
        owners = [n for n, r in self.fields.items() if r.owner is not None]
        if len(owners) > 1:
            raise ValueError(f"fields: only one owner field is allowed, got {owners}")
        if self.require_link is not None:
            for f in self.require_link.fields:
                if f not in self.fields or self.fields[f].lookup is None:
                    raise ValueError(f"require_link.fields: {f!r} is not a lookup field of this mapping")
        for f in self.destination.key:
            if f not in self.fields:
                raise ValueError(f"destination.key: {f!r} is not a field of this mapping")
        for name, rule in self.fields.items():
            if rule.unmatched is not None and (rule.unmatched not in self.fields or not self.fields[rule.unmatched].many):
                raise ValueError(f"fields.{name}.unmatched: {rule.unmatched!r} is not a 'many' lookup field of this mapping")
        return self

    @property
    def lookups(self) -> dict[str, FieldRule]:
        return {n: r for n, r in self.fields.items() if r.lookup is not None}

    @property
    def parents(self) -> set[str]:
        """Other mapped objects this one must load after."""
        return {t for r in self.lookups.values() for t in r.targets if t != self.object}

    @property
    def self_lookup(self) -> str | None:
        """The field of a hierarchy (a lookup to the same object only), loaded in waves."""
        return next((n for n, r in self.lookups.items() if r.targets == [self.object]), None)

    @property
    def keyed(self) -> bool:
        """Matched by a natural key (no external-id field in the destination)."""
        return self.destination.external_id is None

    @property
    def owner_field(self) -> str | None:
        return next((n for n, r in self.fields.items() if r.owner is not None), None)


class OwnerSettings(_Strict):
    fallback_email: str | None = Field(None, description="a destination user who owns what no one else can")
    on_unresolved: Literal["fallback", "reject"] = "fallback"


class LoadSettings(_Strict):
    batch_size: int = Field(10000, ge=1, le=150000, description="records per write batch (and per audit file)")


class DeltaSettings(_Strict):
    """The delta-pickup window after a full run: the sensor opens delta runs while it lasts."""

    window_hours: float = Field(48, gt=0)
    check_every_seconds: int = Field(300, ge=30)


class NotMigrated(_Strict):
    """Something in the export that is not data: documented for the rebuild, never loaded."""

    what: str
    file: str | None = None
    destination_equivalent: str
    reason: str


class ExportSettings(_Strict):
    """The user's names for the export's files and columns (canonical name -> name in the export)."""

    files: dict[str, str] = Field(default_factory=dict)
    columns: dict[str, dict[str, str]] = Field(default_factory=dict)


class PairSettings(_Strict):
    pair: str = Field(pattern=r"^[a-z][a-z0-9_]*__[a-z][a-z0-9_]*$")
    source: str
    destination: str
    description: str
    timezone: str = Field(description="the zone of the source's timestamps that carry no offset")
    date_formats: list[str] = Field(min_length=1, description="strptime formats tried in order for naive values")
    export: ExportSettings = Field(default_factory=ExportSettings)
    owners: OwnerSettings = Field(default_factory=OwnerSettings)
    load: LoadSettings = Field(default_factory=LoadSettings)
    sample_size: int = Field(25, ge=1, description="records per object in a sample run, before their parents are added")
    delta: DeltaSettings = Field(default_factory=DeltaSettings)
    not_migrated: list[NotMigrated] = Field(default_factory=list)
    options: dict[str, str] = Field(default_factory=dict, description="the pair's choices; mappings with `when` follow them")
    external_id_prefix: str = Field(
        "", description="before every external id of the pair: sources that share a destination org never share an external id")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v


SourceSpec.model_rebuild()
