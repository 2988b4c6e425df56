"""The org's modules and fields: the standard Zoho CRM modules with realistic metadata, plus custom fields.

Field metadata follows the v8 ``/settings/fields`` answer (``api_name``, ``data_type``, ``length``,
``system_mandatory``, ``pick_list_values``, ``lookup.module``, ``unique`` ...), which is also what the
official SDK reads to type its requests. Custom fields created through the fields API are persisted as
one JSON document and re-applied at start-up.

Lookups whose module is ``se_module`` are polymorphic (a task's ``What_Id``, a note's ``Parent_Id``):
the record names the target module beside the id (``$se_module``, or ``Parent_Id.module`` in v8).
Every picklist is restricted: a value that is not one of its options is refused (INVALID_DATA).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

SE_MODULE = "se_module"
NONE_OPTION = "-None-"

# data_type -> JSON type the fields API reports
JSON_TYPE = {
    "text": "string", "textarea": "string", "email": "string", "phone": "string", "website": "string",
    "picklist": "string", "multiselectpicklist": "jsonarray", "lookup": "jsonobject", "ownerlookup": "jsonobject",
    "boolean": "boolean", "integer": "integer", "bigint": "string", "double": "double", "currency": "double",
    "percent": "double", "date": "string", "datetime": "string", "autonumber": "string", "participants": "jsonarray",
}


@dataclass
class Field:
    api_name: str
    data_type: str
    label: str = ""
    length: int | None = None
    mandatory: bool = False
    read_only: bool = False
    custom: bool = False
    unique: bool = False
    values: list[str] = field(default_factory=list)
    lookup: str | None = None  # target module; SE_MODULE for polymorphic lookups
    id: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            self.label = self.api_name.replace("_", " ")
        if self.length is None:
            self.length = {"text": 255, "email": 100, "phone": 30, "website": 255, "textarea": 32000,
                           "picklist": 120, "integer": 9, "bigint": 19, "double": 16, "currency": 16,
                           "percent": 5}.get(self.data_type)

    def metadata(self, module: Module) -> dict[str, Any]:
        out: dict[str, Any] = {
            "api_name": self.api_name, "id": self.id, "field_label": self.label, "display_label": self.label,
            "data_type": self.data_type, "json_type": JSON_TYPE.get(self.data_type, "string"), "length": self.length,
            "system_mandatory": self.mandatory, "read_only": self.read_only, "field_read_only": self.read_only,
            "custom_field": self.custom, "visible": True, "searchable": self.data_type not in ("textarea", "participants"),
            "sortable": True, "filterable": True, "decimal_place": 2 if self.data_type in ("double", "currency") else None,
            "created_source": "crm" if self.custom else "default",
        }
        if self.unique:
            out["unique"] = {"casesensitive": "false"}
        if self.data_type in ("picklist", "multiselectpicklist"):
            options = ([NONE_OPTION] if self.data_type == "picklist" else []) + self.values
            out["pick_list_values"] = [
                {"display_value": v, "actual_value": v, "sequence_number": i + 1, "type": "used",
                 "id": f"{self.id}{i:03d}"} for i, v in enumerate(options)]
        if self.data_type == "lookup":
            target = {"api_name": self.lookup, "id": module.schema.module_id(self.lookup)} if self.lookup != SE_MODULE \
                else {"api_name": SE_MODULE}
            out["lookup"] = {"module": target, "display_label": self.label, "api_name": self.api_name}
        return out

    def to_json(self) -> dict[str, Any]:
        return {"api_name": self.api_name, "data_type": self.data_type, "label": self.label, "length": self.length,
                "mandatory": self.mandatory, "unique": self.unique, "values": self.values, "lookup": self.lookup,
                "id": self.id}


@dataclass
class Module:
    api_name: str
    singular: str
    plural: str
    fields: dict[str, Field]
    schema: Schema
    id: str = ""
    custom: bool = False
    bulk_write: bool = True
    dedupe: tuple[str, ...] = ()  # system-defined duplicate check fields (upsert without duplicate_check_fields)

    def metadata(self) -> dict[str, Any]:
        return {"api_name": self.api_name, "module_name": self.api_name, "id": self.id,
                "singular_label": self.singular, "plural_label": self.plural, "api_supported": True,
                "generated_type": "custom" if self.custom else "default", "creatable": True, "editable": True,
                "deletable": True, "viewable": True, "visible": True, "visibility": 1, "status": "visible",
                "modified_time": self.schema.modified_time}

    def unique_fields(self) -> list[Field]:
        return [f for f in self.fields.values() if f.unique]

    def display_field(self) -> str:
        for name in ("Full_Name", "Account_Name", "Deal_Name", "Subject", "Event_Title", "Note_Title", "Last_Name"):
            if name in self.fields:
                return name
        return "id"


def _system_fields() -> list[Field]:
    return [
        Field("id", "bigint", "Record Id", read_only=True),
        Field("Owner", "ownerlookup", "Owner"),
        Field("Created_By", "ownerlookup", "Created By", read_only=True),
        Field("Modified_By", "ownerlookup", "Modified By", read_only=True),
        Field("Created_Time", "datetime", "Created Time", read_only=True),
        Field("Modified_Time", "datetime", "Modified Time", read_only=True),
    ]


def _address(prefix: str) -> list[Field]:
    names = {"Mailing": ["Street", "City", "State", "Zip", "Country"], "Other": ["Street", "City", "State", "Zip", "Country"],
             "Billing": ["Street", "City", "State", "Code", "Country"], "Shipping": ["Street", "City", "State", "Code", "Country"],
             "": ["Street", "City", "State", "Zip_Code", "Country"]}[prefix]
    return [Field(f"{prefix}_{n}" if prefix else n, "text", length=250 if n == "Street" else 100) for n in names]


LEAD_SOURCE = ["Advertisement", "Cold Call", "Employee Referral", "External Referral", "Online Store", "Partner",
               "Public Relations", "Sales Email Alias", "Seminar Partner", "Internal Seminar", "Trade Show",
               "Web Download", "Web Research", "Chat", "X (Twitter)", "Facebook"]
INDUSTRY = ["ASP (Application Service Provider)", "Data/Telecom OEM", "ERP (Enterprise Resource Planning)",
            "Government/Military", "Large Enterprise", "ManagementISV", "MSP (Management Service Provider)",
            "Network Equipment Enterprise", "Non-management ISV", "Optical Networking", "Service Provider",
            "Small/Medium Enterprise", "Storage Equipment", "Storage Service Provider", "Systems Integrator",
            "Wireless Industry"]
RATING = ["Acquired", "Active", "Market Failed", "Project Cancelled", "Shut Down"]
SALUTATION = ["Mr.", "Mrs.", "Ms.", "Dr.", "Prof."]
STAGES = ["Qualification", "Needs Analysis", "Value Proposition", "Identify Decision Makers", "Proposal/Price Quote",
          "Negotiation/Review", "Closed Won", "Closed Lost", "Closed-Lost to Competition"]


def _standard() -> list[tuple[str, str, str, list[Field], dict[str, Any]]]:
    person = [Field("Salutation", "picklist", values=SALUTATION), Field("First_Name", "text", length=40),
              Field("Last_Name", "text", length=80, mandatory=True), Field("Full_Name", "text", read_only=True),
              Field("Email", "email"), Field("Secondary_Email", "email"), Field("Title", "text", length=100),
              Field("Phone", "phone"), Field("Mobile", "phone"), Field("Fax", "phone"),
              Field("Lead_Source", "picklist", values=LEAD_SOURCE), Field("Email_Opt_Out", "boolean"),
              Field("Skype_ID", "text", length=50), Field("Description", "textarea")]
    leads = person + [
        Field("Company", "text", length=200, mandatory=True),
        Field("Lead_Status", "picklist", values=["Attempted to Contact", "Contact in Future", "Contacted", "Junk Lead",
                                                  "Lost Lead", "Not Contacted", "Pre-Qualified", "Not Qualified"]),
        Field("Industry", "picklist", values=INDUSTRY), Field("Rating", "picklist", values=RATING),
        Field("No_of_Employees", "integer"), Field("Annual_Revenue", "currency"), Field("Website", "website"),
    ] + _address("")
    contacts = person + [
        Field("Account_Name", "lookup", "Account Name", lookup="Accounts"),
        Field("Reporting_To", "lookup", "Reporting To", lookup="Contacts"),
        Field("Department", "text", length=30), Field("Home_Phone", "phone"), Field("Other_Phone", "phone"),
        Field("Assistant", "text", length=40), Field("Asst_Phone", "phone"), Field("Date_of_Birth", "date"),
    ] + _address("Mailing") + _address("Other")
    accounts = [
        Field("Account_Name", "text", length=200, mandatory=True), Field("Account_Number", "text", length=40),
        Field("Account_Site", "text", length=80), Field("Parent_Account", "lookup", "Parent Account", lookup="Accounts"),
        Field("Account_Type", "picklist", values=["Analyst", "Competitor", "Customer", "Distributor", "Integrator", "Investor",
                                                   "Other", "Partner", "Press", "Prospect", "Reseller", "Supplier", "Vendor"]),
        Field("Industry", "picklist", values=INDUSTRY), Field("Annual_Revenue", "currency"), Field("Employees", "integer"),
        Field("Ownership", "picklist", values=["Other", "Private", "Public", "Subsidiary", "Partnership", "Government",
                                                "Privately Held", "Public Company"]),
        Field("Rating", "picklist", values=RATING), Field("Phone", "phone"), Field("Fax", "phone"),
        Field("Website", "website"), Field("Ticker_Symbol", "text", length=30), Field("SIC_Code", "integer"),
        Field("Description", "textarea"),
    ] + _address("Billing") + _address("Shipping")
    deals = [
        Field("Deal_Name", "text", length=120, mandatory=True),
        Field("Account_Name", "lookup", "Account Name", lookup="Accounts"),
        Field("Contact_Name", "lookup", "Contact Name", lookup="Contacts"),
        Field("Amount", "currency"), Field("Closing_Date", "date", mandatory=True),
        Field("Stage", "picklist", values=STAGES, mandatory=True),
        Field("Pipeline", "picklist", values=["Standard (Standard)"]),
        Field("Type", "picklist", values=["Existing Business", "New Business"]), Field("Probability", "integer"),
        Field("Expected_Revenue", "currency", read_only=True), Field("Lead_Source", "picklist", values=LEAD_SOURCE),
        Field("Next_Step", "text", length=100), Field("Description", "textarea"),
    ]
    activity = [Field("What_Id", "lookup", "Related To", lookup=SE_MODULE),
                Field("Who_Id", "lookup", "Contact Name", lookup="Contacts"), Field("Description", "textarea")]
    tasks = [
        Field("Subject", "text", mandatory=True), Field("Due_Date", "date"),
        Field("Status", "picklist", values=["Not Started", "Deferred", "In Progress", "Completed", "Waiting for input"]),
        Field("Priority", "picklist", values=["High", "Highest", "Low", "Lowest", "Normal"]),
        Field("Send_Notification_Email", "boolean"), Field("Closed_Time", "datetime", read_only=True),
    ] + activity
    events = [
        Field("Event_Title", "text", mandatory=True), Field("Start_DateTime", "datetime", mandatory=True),
        Field("End_DateTime", "datetime", mandatory=True), Field("All_day", "boolean"), Field("Venue", "text"),
        Field("Participants", "participants"),
    ] + activity
    calls = [
        Field("Subject", "text", mandatory=True), Field("Call_Type", "picklist", values=["Outbound", "Inbound", "Missed"], mandatory=True),
        Field("Call_Start_Time", "datetime", mandatory=True), Field("Call_Duration", "text", length=10),
        Field("Call_Purpose", "picklist", values=["Prospecting", "Administrative", "Negotiation", "Demo", "Project", "Desk"]),
        Field("Call_Result", "picklist", values=["Interested", "Not interested", "No response", "Busy", "Requested more info",
                                                  "Requested call back", "Invalid number"]),
    ] + activity
    notes = [Field("Note_Title", "text", length=120), Field("Note_Content", "textarea", mandatory=True),
             Field("Parent_Id", "lookup", "Parent Id", lookup=SE_MODULE, mandatory=True)]
    return [
        ("Leads", "Lead", "Leads", leads, {"dedupe": ("Email",)}),
        ("Contacts", "Contact", "Contacts", contacts, {"dedupe": ("Email",)}),
        ("Accounts", "Account", "Accounts", accounts, {"dedupe": ("Account_Name",)}),
        ("Deals", "Deal", "Deals", deals, {"dedupe": ("Deal_Name",)}),
        ("Tasks", "Task", "Tasks", tasks, {}),
        ("Events", "Meeting", "Meetings", events, {"bulk_write": False}),
        ("Calls", "Call", "Calls", calls, {}),
        ("Notes", "Note", "Notes", notes, {"bulk_write": False}),
    ]


class Schema:
    """All modules; ``customisations`` (custom fields, picklist options) round-trip through the store."""

    def __init__(self, org_prefix: str, customisations: dict[str, Any] | None = None) -> None:
        self.org_prefix = org_prefix
        self.modified_time = "2024-01-01T00:00:00+00:00"
        self.modules: dict[str, Module] = {}
        for n, (name, singular, plural, fields, extra) in enumerate(_standard()):
            module = Module(name, singular, plural, {}, self, id=f"{org_prefix}{n + 1:012d}", **extra)
            for i, f in enumerate(_system_fields() + fields):
                f.id = f"{org_prefix}{(n + 1) * 1000 + i:012d}"
                module.fields[f.api_name] = f
            self.modules[name] = module
        self.custom: dict[str, list[dict[str, Any]]] = {}
        self.options: dict[str, dict[str, list[str]]] = {}
        self.counter = 90_000
        for module, fields in (customisations or {}).get("fields", {}).items():
            for f in fields:
                self._add(module, Field(**f, custom=True))
        for module, by_field in (customisations or {}).get("options", {}).items():
            for name, values in by_field.items():
                self.add_options(module, name, values)
        self.modified_time = (customisations or {}).get("modified_time", self.modified_time)
        self.counter = (customisations or {}).get("counter", self.counter)

    def get(self, name: str) -> Module | None:
        return self.modules.get(name) or next((m for m in self.modules.values() if m.api_name.lower() == str(name).lower()), None)

    def module_id(self, name: str | None) -> str | None:
        module = self.get(name) if name else None
        return module.id if module else None

    def _add(self, module: str, f: Field) -> None:
        self.modules[module].fields[f.api_name] = f
        self.custom.setdefault(module, []).append(f.to_json())

    def create_field(self, module: str, body: dict[str, Any], now: str) -> Field:
        """A custom field from a fields-API body; raises ValueError(code, message) when it is refused."""
        label = str(body.get("field_label") or body.get("display_label") or "").strip()
        data_type = str(body.get("data_type") or "").lower()
        if not label:
            raise ValueError("MANDATORY_NOT_FOUND", "field_label")
        if data_type not in JSON_TYPE or data_type in ("participants", "bigint", "autonumber", "ownerlookup"):
            raise ValueError("INVALID_DATA", "data_type")
        api_name = str(body.get("api_name") or re.sub(r"\W+", "_", label).strip("_"))
        target = self.modules[module]
        if api_name.lower() in (n.lower() for n in target.fields):
            raise ValueError("DUPLICATE_DATA", "api_name")
        lookup = None
        if data_type == "lookup":
            lookup = ((body.get("lookup") or {}).get("module") or {}).get("api_name")
            if self.get(lookup) is None:
                raise ValueError("INVALID_DATA", "lookup")
            lookup = self.get(lookup).api_name
        values = [str(v.get("display_value") if isinstance(v, dict) else v) for v in body.get("pick_list_values") or []]
        values = [v for v in values if v != NONE_OPTION]
        if data_type in ("picklist", "multiselectpicklist") and not values:
            raise ValueError("MANDATORY_NOT_FOUND", "pick_list_values")
        self.counter += 1
        f = Field(api_name, data_type, label, length=body.get("length"), custom=True,
                  unique=bool(body.get("unique")), values=values, lookup=lookup, id=f"{self.org_prefix}{self.counter:012d}")
        self._add(module, f)
        self.modified_time = now
        return f

    def add_options(self, module: str, field_name: str, values: list[str]) -> list[str]:
        f = self.modules[module].fields[field_name]
        added = [v for v in values if v not in f.values and v != NONE_OPTION]
        f.values.extend(added)
        if added:
            known = self.options.setdefault(module, {}).setdefault(field_name, [])
            known.extend(v for v in added if v not in known)
        return added

    def customisations(self) -> dict[str, Any]:
        return {"fields": self.custom, "options": self.options, "modified_time": self.modified_time,
                "counter": self.counter}
