"""The typed mapping model: what a pair's YAML files may say, validated before anything runs.

A pair folder (`mappings/<pair>/`) holds `pair.yaml` (the pair's settings) and one YAML file per
mapped object. Each object file says where its rows come from (the source object, how to type and
clean its columns) and how each destination field is filled. A destination field is filled by
exactly one rule:

- `from`: a normalized source column, optionally coerced (`type`), value-mapped (`values` with an
  `unmapped` policy), truncated to the destination's length (`truncate`);
- `constant`: the same value on every record;
- `template`: text built from several columns (`"{first_name} {last_name}"`);
- `lookup`: the external id of a record of another mapped object (or the same one: a hierarchy);
  the loader turns it into the destination id of that record;
- `owner`: a column of owner e-mails, resolved to a destination user (fallback from the pair).

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

    object: str
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

    @model_validator(mode="after")
    def _columns_once(self) -> SourceSpec:
        pivoted = [c for p in self.pivot for c in p.properties.values()]
        if len(pivoted) != len(set(pivoted)):
            raise ValueError("a pivoted column name is used twice")
        return self


class FileSpec(_Strict):
    """The object carries a file body: where to find it in the export folder."""

    path_column: str
    folder: str = "files"


class FieldRule(_Strict):
    """How one destination field is filled: exactly one of from/constant/template/lookup/owner."""

    from_: str | None = Field(None, alias="from")
    constant: Any = None
    template: str | None = None
    lookup: str | None = Field(None, description="the mapped object the value points at")
    owner: str | None = Field(None, description="the column of owner e-mails")

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
        given = [k for k in ("constant", "template", "lookup", "owner") if getattr(self, k) is not None]
        if len(given) > 1 or (given and given != ["lookup"] and self.from_ is not None):
            raise ValueError(
                f"a field takes exactly one of from/constant/template/lookup/owner; got {', '.join(given + ['from'] * (self.from_ is not None))}"
            )
        if not given and self.from_ is None:
            raise ValueError("a field needs one of from/constant/template/lookup/owner")
        if given == ["lookup"] and self.from_ is None:
            raise ValueError("a lookup needs 'from': the column holding the parent's source id")
        if self.values is not None and (self.from_ is None or self.lookup is not None):
            raise ValueError("'values' maps a source column's values: it needs 'from'")
        if self.unmapped == "default" and self.default is None:
            raise ValueError("unmapped: default needs a 'default' value")
        return self

    @property
    def kind(self) -> str:
        for k in ("lookup", "owner", "template", "constant"):
            if getattr(self, k) is not None:
                return k
        return "from"

    def columns(self) -> list[str]:
        """The normalized source columns this rule reads."""
        if self.template is not None:
            return _TEMPLATE_FIELD.findall(self.template)
        if self.owner is not None:
            return [self.owner]
        return [self.from_] if self.from_ is not None else []


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
    object: str
    external_id: str = Field(description="the destination field that holds the external id")
    custom_object: CustomObject | None = Field(None, description="the object itself is created by the schema plan")


class ObjectMapping(_Strict):
    """One mapped object: one source object -> one destination object, five assets."""

    object: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="the name used for the object's assets")
    description: str
    source: SourceSpec
    destination: DestinationSpec
    fields: dict[str, FieldRule]
    require_link: RequireLink | None = None
    custom_fields: dict[str, CustomField] = Field(default_factory=dict)
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
        return self

    @property
    def lookups(self) -> dict[str, FieldRule]:
        return {n: r for n, r in self.fields.items() if r.lookup is not None}

    @property
    def parents(self) -> set[str]:
        """Other mapped objects this one must load after."""
        return {r.lookup for r in self.lookups.values() if r.lookup != self.object}

    @property
    def self_lookup(self) -> str | None:
        """The field of a hierarchy (a lookup to the same object), loaded in waves."""
        return next((n for n, r in self.lookups.items() if r.lookup == self.object), None)

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
