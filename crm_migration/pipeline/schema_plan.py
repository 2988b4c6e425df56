"""The schema plan: every custom field and picklist value the mappings need that the destination lacks."""

from __future__ import annotations

import pandas as pd

from crm_migration.destinations.base import ObjectSchema, PlannedField, PlannedObject, PlannedValues, SchemaPlan
from crm_migration.mapping.loader import Pair


def target_values(rule) -> set[str]:
    """The destination values a value-mapped or constant field can take."""
    if rule.constant is not None:
        return {str(rule.constant)}
    values = {str(v) for v in (rule.values or {}).values() if v is not None}
    if rule.unmapped == "default" and rule.default is not None:
        values.add(str(rule.default))
    return values


def plan_schema(pair: Pair, schemas: dict[str, ObjectSchema]) -> SchemaPlan:
    """`schemas` holds the objects the destination has; a mapped object missing from it is planned whole."""
    objects: dict[str, PlannedObject] = {}
    fields: dict[tuple[str, str], PlannedField] = {}
    values: dict[tuple[str, str], set[str]] = {}
    for m in pair.objects.values():
        dest = m.destination.object
        if dest not in schemas:
            spec = m.destination.custom_object
            if spec is None:
                raise ValueError(f"{m.file_name}: the destination has no object {dest!r} and the mapping does not "
                                 "declare it as destination.custom_object")
            objects[dest] = PlannedObject(dest, spec.label, spec.plural_label, spec.name_field, spec.name_field_label)
        have = schemas[dest].fields if dest in schemas else {}
        for name, cf in m.custom_fields.items():
            if name not in have and (dest, name) not in fields:
                fields[(dest, name)] = PlannedField(
                    object=dest, name=name, type=cf.type, label=cf.label or name.removesuffix("__c").replace("_", " "),
                    length=cf.length, precision=cf.precision, scale=cf.scale, external_id=cf.external_id,
                    unique=cf.unique, values=tuple(cf.values), reference_to=cf.reference_to,
                    description=cf.description)
        for name, rule in m.fields.items():
            f = have.get(name)
            if f is None or f.kind not in ("picklist", "multipicklist") or not rule.write:
                continue
            missing = target_values(rule) - set(f.picklist_values)
            if missing:
                values.setdefault((dest, name), set()).update(missing)
    return SchemaPlan(
        objects=tuple(objects.values()),
        fields=tuple(fields.values()),
        values=tuple(PlannedValues(o, f, tuple(sorted(v))) for (o, f), v in sorted(values.items())),
    )


def missing_fields(pair: Pair, schemas: dict[str, ObjectSchema]) -> list[str]:
    """Mapped fields the destination does not have at all (neither standard nor planned-and-applied)."""
    return [f"{m.destination.object}.{n}" for m in pair.objects.values() for n in [*m.fields, *[m.destination.external_id] * (not m.keyed)]
            if n not in (schemas[m.destination.object].fields if m.destination.object in schemas else {})]


def plan_table(plan: SchemaPlan) -> pd.DataFrame:
    rows = [{"object": o.name, "field": "", "change": "create object", "type": f"{o.label} / {o.plural_label}", "length": None,
             "external_id": False, "values": f"name field: {o.name_field_label} ({o.name_field})"} for o in plan.objects]
    rows += [{"object": f.object, "field": f.name, "change": "create field",
              "type": f.type + (f" to {f.reference_to}" if f.reference_to else ""), "length": f.length,
              "external_id": f.external_id, "values": "; ".join(f.values)} for f in plan.fields]
    rows += [{"object": v.object, "field": v.field, "change": "add picklist values", "type": "", "length": None,
              "external_id": False, "values": "; ".join(v.values)} for v in plan.values]
    return pd.DataFrame(rows, columns=["object", "field", "change", "type", "length", "external_id", "values"])


def plan_markdown(plan: SchemaPlan) -> str:
    if plan.empty:
        return "The destination has every field and picklist value the mappings need."
    lines = ["| | object | field | change | type | values |", "|---|---|---|---|---|---|"]
    for _, r in plan_table(plan).iterrows():
        extra = f"{r['type']}({int(r['length'])})" if pd.notna(r["length"]) and r["length"] else r["type"]
        lines.append(f"| [ ] | {r['object']} | {r['field']} | {r['change']} | {extra} | {r['values']} |")
    return "\n".join(lines)
