"""The schema plan: missing custom objects, fields and picklist values, from the mappings and a describe."""

from __future__ import annotations

from crm_migration.destinations.base import FieldSchema, ObjectSchema
from crm_migration.mapping.loader import Pair
from crm_migration.mapping.model import ObjectMapping
from crm_migration.pipeline.schema_plan import missing_fields, plan_markdown, plan_schema, plan_table

COURSE = ObjectMapping.model_validate({
    "object": "course", "description": "Courses as a custom object.",
    "source": {"object": "courses", "id": "course_id"},
    "destination": {"object": "Course__c", "external_id": "Source_System_ID__c",
                    "custom_object": {"label": "Course", "plural_label": "Courses"}},
    "fields": {"Name": {"from": "title"}, "Coach__c": {"lookup": "course", "from": "coach_id"},
               "Level__c": {"from": "level", "values": {"beginner": "Beginner", "advanced": "Advanced"}}},
    "custom_fields": {"Source_System_ID__c": {"type": "Text", "length": 64, "external_id": True, "unique": True},
                      "Coach__c": {"type": "Lookup", "reference_to": "Contact"},
                      "Level__c": {"type": "Picklist", "values": ["Beginner", "Advanced"]}},
})


def _case(pair) -> dict[str, ObjectSchema]:
    """A describe with the standard objects only, Case.Status lacking two of the mapped values."""
    schemas = {}
    for m in pair.objects.values():
        fields = {n: FieldSchema(n, "text") for n, r in m.fields.items() if not n.endswith("__c")}
        schemas[m.destination.object] = ObjectSchema(m.destination.object, {**schemas.get(m.destination.object, ObjectSchema("", {})).fields, **fields})
    schemas["Case"].fields["Status"] = FieldSchema("Status", "picklist", picklist_values=("New", "Working", "Closed"), restricted=True)
    return schemas


def test_plan_lists_fields_and_values_the_destination_lacks(pair):
    plan = plan_schema(pair, _case(pair))
    planned = {(f.object, f.name) for f in plan.fields}
    assert ("Account", "Source_System_ID__c") in planned and ("Case", "Billable_Hours__c") in planned
    assert len([f for f in plan.fields if f.object == "Task" and f.name == "Source_System_ID__c"]) == 1  # two mappings, one field
    [status] = [v for v in plan.values if v.field == "Status"]
    assert status.values == ("On Hold", "Pending Review")
    assert not plan.objects
    assert "Account.Client_Tier__c" in missing_fields(pair, _case(pair))


def test_a_missing_custom_object_is_planned_whole(pair):
    with_course = Pair(pair.folder, pair.settings, {**pair.objects, "course": COURSE})
    plan = plan_schema(with_course, _case(pair))
    [obj] = plan.objects
    assert (obj.name, obj.label, obj.plural_label) == ("Course__c", "Course", "Courses")
    coach = next(f for f in plan.fields if f.object == "Course__c" and f.name == "Coach__c")
    assert coach.type == "Lookup" and coach.reference_to == "Contact"
    table = plan_table(plan)
    assert list(table["change"][:1]) == ["create object"]
    assert "| [ ] | Course__c |  | create object |" in plan_markdown(plan)
    assert "Course__c.Name" in missing_fields(with_course, _case(pair))
