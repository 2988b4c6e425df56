"""The sandbox's table definitions (Dataverse "metadata"): the Dynamics 365 Sales tables a migration
writes to, with realistic columns, option sets and lookups, plus what an admin adds (custom columns,
lookups through relationships, alternate keys, option values).

Standard definitions are code; customisations are a replayable list of operations kept in the store
(``meta['customisations']``), so they survive restarts and ``reset(schema=True)`` drops them.

Navigation property names follow Dataverse's rules: a single-target lookup's navigation property is
the lookup's own name (a custom one's SchemaName), a customer lookup's is ``<lookup>_<target>``, an
activity's regarding lookup's is ``regardingobjectid_<target>_<activity>``, the owner's is ``ownerid``.
Clients learn them from ``ManyToOneRelationships``, as they must against a real environment.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

LANGUAGE = 1033
NS = uuid.UUID("6f1c3d52-8f3e-4b9f-9a55-3c1d1b1e7a01")  # stable MetadataIds across restarts

# AttributeType -> (@odata.type, AttributeTypeName)
TYPES = {
    "String": ("StringAttributeMetadata", "StringType"),
    "Memo": ("MemoAttributeMetadata", "MemoType"),
    "Integer": ("IntegerAttributeMetadata", "IntegerType"),
    "BigInt": ("BigIntAttributeMetadata", "BigIntType"),
    "Decimal": ("DecimalAttributeMetadata", "DecimalType"),
    "Double": ("DoubleAttributeMetadata", "DoubleType"),
    "Money": ("MoneyAttributeMetadata", "MoneyType"),
    "Boolean": ("BooleanAttributeMetadata", "BooleanType"),
    "DateTime": ("DateTimeAttributeMetadata", "DateTimeType"),
    "Picklist": ("PicklistAttributeMetadata", "PicklistType"),
    "State": ("StateAttributeMetadata", "StateType"),
    "Status": ("StatusAttributeMetadata", "StatusType"),
    "MultiSelectPicklist": ("MultiSelectPicklistAttributeMetadata", "MultiSelectPicklistType"),
    "Lookup": ("LookupAttributeMetadata", "LookupType"),
    "Customer": ("LookupAttributeMetadata", "CustomerType"),
    "Owner": ("LookupAttributeMetadata", "OwnerType"),
    "Uniqueidentifier": ("UniqueIdentifierAttributeMetadata", "UniqueidentifierType"),
    "EntityName": ("EntityNameAttributeMetadata", "EntityNameType"),
}
LOOKUPS = ("Lookup", "Customer", "Owner")
OPTIONS = ("Picklist", "State", "Status", "MultiSelectPicklist")
KEY_TYPES = ("String", "Integer", "Decimal", "DateTime", "Lookup", "Picklist")
CUSTOM_OPTION_BASE = 100_000_000  # the default publisher's option value prefix (10000) * 10,000


@dataclass(frozen=True)
class Option:
    value: int
    label: str
    state: int | None = None  # a status option's state
    default_status: int | None = None  # a state option's default status


@dataclass
class Attribute:
    name: str
    type: str
    label: str
    max_length: int | None = None
    required: str = "None"  # None, Recommended, ApplicationRequired, SystemRequired
    create: bool = True
    update: bool = True
    targets: tuple[str, ...] = ()
    options: tuple[Option, ...] = ()
    format: str | None = None  # String: Text/Email/Phone/Url/TextArea; DateTime: DateOnly/DateAndTime
    min_value: float | None = None
    max_value: float | None = None
    precision: int | None = None
    custom: bool = False
    schema_name: str = ""
    nav: str | None = None  # a custom single-target lookup's navigation property (its SchemaName)

    def option(self, value: Any) -> Option | None:
        return next((o for o in self.options if o.value == value), None)


@dataclass
class Key:
    name: str
    attributes: tuple[str, ...]
    label: str
    status: str = "Active"  # Pending, Active, Failed (duplicates in the data when it was created)


@dataclass
class Entity:
    name: str
    set_name: str
    primary_id: str
    primary_name: str
    label: str
    plural: str
    attributes: dict[str, Attribute] = field(default_factory=dict)
    keys: dict[str, Key] = field(default_factory=dict)
    owned: bool = True
    activity: bool = False
    type_code: int = 0

    @property
    def metadata_id(self) -> str:
        return str(uuid.uuid5(NS, self.name))

    def attribute_id(self, attr: str) -> str:
        return str(uuid.uuid5(NS, f"{self.name}.{attr}"))

    def navs(self) -> dict[str, tuple[str, str]]:
        """Navigation property -> (lookup attribute, target entity)."""
        out: dict[str, tuple[str, str]] = {}
        for a in self.attributes.values():
            for t in a.targets:
                out[nav_name(self, a, t)] = (a.name, t)
        return out


def nav_name(ent: Entity, a: Attribute, target: str) -> str:
    if a.type == "Owner":
        return "ownerid"
    if a.nav:
        return a.nav
    if len(a.targets) == 1 and a.type == "Lookup":
        return a.name
    if a.name == "regardingobjectid":
        return f"regardingobjectid_{target}_{ent.name}"
    return f"{a.name}_{target}"


# --- the standard tables -----------------------------------------------------------------------


def _opts(pairs: dict[int, str]) -> tuple[Option, ...]:
    return tuple(Option(v, label) for v, label in pairs.items())


def s(name, label, n=100, fmt="Text", **kw):
    return Attribute(name, "String", label, max_length=n, format=fmt, **kw)


def memo(name, label, n=2000, **kw):
    return Attribute(name, "Memo", label, max_length=n, format="TextArea", **kw)


def integer(name, label, lo=-2_147_483_648, hi=2_147_483_647, **kw):
    return Attribute(name, "Integer", label, min_value=lo, max_value=hi, **kw)


def money(name, label, **kw):
    return Attribute(name, "Money", label, min_value=-922337203685477, max_value=922337203685477, precision=2, **kw)


def boolean(name, label, true="Yes", false="No", **kw):
    return Attribute(name, "Boolean", label, options=(Option(1, true), Option(0, false)), **kw)


def date(name, label, **kw):
    return Attribute(name, "DateTime", label, format="DateOnly", **kw)


def stamp(name, label, **kw):
    return Attribute(name, "DateTime", label, format="DateAndTime", **kw)


def pick(name, label, options: dict[int, str], **kw):
    return Attribute(name, "Picklist", label, options=_opts(options), **kw)


def lookup(name, label, *targets, **kw):
    return Attribute(name, "Lookup", label, targets=tuple(targets), **kw)


def states(*states_: tuple[int, str, int], statuses: list[tuple[int, str, int]]) -> list[Attribute]:
    return [Attribute("statecode", "State", "Status", required="SystemRequired",
                      options=tuple(Option(v, label, default_status=d) for v, label, d in states_)),
            Attribute("statuscode", "Status", "Status Reason",
                      options=tuple(Option(v, label, state=st) for v, label, st in statuses))]


ACTIVE_INACTIVE = states((0, "Active", 1), (1, "Inactive", 2), statuses=[(1, "Active", 0), (2, "Inactive", 1)])
PRIORITY = {0: "Low", 1: "Normal", 2: "High"}
RATING = {1: "Hot", 2: "Warm", 3: "Cold"}
REGARDING = ("account", "contact", "lead", "opportunity", "campaign")
INDUSTRY = {
    1: "Accounting", 2: "Agriculture and Non-petrol Natural Resource Extraction", 3: "Broadcasting Printing and Publishing",
    4: "Brokers", 5: "Building Supply Retail", 6: "Business Services", 7: "Consulting", 8: "Consumer Services",
    9: "Design, Direction and Creative Management", 10: "Distributors, Dispatchers and Processors",
    11: "Doctor's Offices and Clinics", 12: "Durable Manufacturing", 13: "Eating and Drinking Places",
    14: "Entertainment Retail", 15: "Equipment Rental and Leasing", 16: "Financial", 17: "Food and Tobacco Processing",
    18: "Inbound Capital Intensive Processing", 19: "Inbound Repair and Services", 20: "Insurance", 21: "Legal Services",
    22: "Non-Durable Merchandise Retail", 23: "Outbound Consumer Service", 24: "Petrochemical Extraction and Distribution",
    25: "Service Retail", 26: "SIG Affiliations", 27: "Social Services", 28: "Special Outbound Trade Contractors",
    29: "Specialty Realty", 30: "Transportation", 31: "Utility Creation and Distribution", 32: "Vehicle Retail",
    33: "Wholesale",
}
LEAD_SOURCE = {1: "Advertisement", 2: "Employee Referral", 3: "External Referral", 4: "Partner", 5: "Public Relations",
               6: "Seminar", 7: "Trade Show", 8: "Web", 9: "Word of Mouth", 10: "Other"}


def address(prefix: str = "address1") -> list[Attribute]:
    return [s(f"{prefix}_line1", "Street 1", 250), s(f"{prefix}_line2", "Street 2", 250), s(f"{prefix}_city", "City", 80),
            s(f"{prefix}_stateorprovince", "State/Province", 50), s(f"{prefix}_postalcode", "ZIP/Postal Code", 20),
            s(f"{prefix}_country", "Country/Region", 80)]


def _entity(name, set_name, pk, primary_name, label, plural, attrs, owned=True, activity=False, type_code=0) -> Entity:
    common = [Attribute(pk, "Uniqueidentifier", label, required="SystemRequired", update=False),
              stamp("createdon", "Created On", create=False, update=False),
              stamp("modifiedon", "Modified On", create=False, update=False),
              stamp("overriddencreatedon", "Record Created On", update=False),
              Attribute("versionnumber", "BigInt", "Version Number", create=False, update=False),
              lookup("createdby", "Created By", "systemuser", create=False, update=False),
              lookup("modifiedby", "Modified By", "systemuser", create=False, update=False)]
    if owned:
        common.append(Attribute("ownerid", "Owner", "Owner", required="SystemRequired", targets=("systemuser", "team")))
    ent = Entity(name, set_name, pk, primary_name, label, plural, owned=owned, activity=activity, type_code=type_code)
    for a in common + attrs:
        a.schema_name = a.schema_name or a.name
        ent.attributes[a.name] = a
    return ent


def _activity(name, set_name, label, plural, type_code, attrs, state_list) -> Entity:
    base = [s("subject", "Subject", 200, required="ApplicationRequired"), memo("description", "Description", 100_000),
            stamp("scheduledstart", "Start Date"), stamp("scheduledend", "Due Date"), stamp("actualstart", "Actual Start"),
            stamp("actualend", "Actual End"), integer("actualdurationminutes", "Duration", 0, 2_147_483_647),
            pick("prioritycode", "Priority", PRIORITY),
            Attribute("regardingobjectid", "Lookup", "Regarding", targets=REGARDING)]
    return _entity(name, set_name, "activityid", "subject", label, plural, base + attrs + state_list, activity=True,
                   type_code=type_code)


def standard_entities() -> dict[str, Entity]:
    ents = [
        _entity("account", "accounts", "accountid", "name", "Account", "Accounts", [
            s("name", "Account Name", 160, required="ApplicationRequired"), s("accountnumber", "Account Number", 20),
            lookup("parentaccountid", "Parent Account", "account"), lookup("primarycontactid", "Primary Contact", "contact"),
            s("telephone1", "Main Phone", 50, fmt="Phone"), s("fax", "Fax", 50, fmt="Phone"),
            s("websiteurl", "Website", 200, fmt="Url"), s("emailaddress1", "Email", 100, fmt="Email"),
            *address(), pick("industrycode", "Industry", INDUSTRY),
            pick("customertypecode", "Relationship Type", {1: "Competitor", 2: "Consultant", 3: "Customer", 4: "Investor",
                                                            5: "Partner", 6: "Influencer", 7: "Press", 8: "Prospect",
                                                            9: "Reseller", 10: "Supplier", 11: "Vendor", 12: "Other"}),
            pick("accountcategorycode", "Category", {1: "Preferred Customer", 2: "Standard"}),
            money("revenue", "Annual Revenue"), integer("numberofemployees", "Number of Employees", 0, 1_000_000_000),
            memo("description", "Description"), *ACTIVE_INACTIVE], type_code=1),
        _entity("contact", "contacts", "contactid", "fullname", "Contact", "Contacts", [
            s("firstname", "First Name", 50), s("lastname", "Last Name", 50, required="ApplicationRequired"),
            s("fullname", "Full Name", 160, create=False, update=False), s("jobtitle", "Job Title", 100),
            Attribute("parentcustomerid", "Customer", "Company Name", targets=("account", "contact")),
            s("emailaddress1", "Email", 100, fmt="Email"), s("telephone1", "Business Phone", 50, fmt="Phone"),
            s("mobilephone", "Mobile Phone", 50, fmt="Phone"), date("birthdate", "Birthday"), *address(),
            pick("preferredcontactmethodcode", "Preferred Method of Contact", {1: "Any", 2: "Email", 3: "Phone", 4: "Fax", 5: "Mail"}),
            pick("gendercode", "Gender", {1: "Male", 2: "Female"}), boolean("donotemail", "Do not allow Emails", "Do Not Allow", "Allow"),
            memo("description", "Description"), *ACTIVE_INACTIVE], type_code=2),
        _entity("lead", "leads", "leadid", "fullname", "Lead", "Leads", [
            s("subject", "Topic", 300, required="Recommended"), s("firstname", "First Name", 50),
            s("lastname", "Last Name", 50, required="ApplicationRequired"), s("fullname", "Name", 160, create=False, update=False),
            s("companyname", "Company Name", 100), s("jobtitle", "Job Title", 100), s("emailaddress1", "Email", 100, fmt="Email"),
            s("telephone1", "Business Phone", 50, fmt="Phone"), s("mobilephone", "Mobile Phone", 50, fmt="Phone"),
            s("websiteurl", "Website", 200, fmt="Url"), *address(), pick("leadsourcecode", "Lead Source", LEAD_SOURCE),
            pick("industrycode", "Industry", INDUSTRY), pick("leadqualitycode", "Rating", RATING),
            money("revenue", "Annual Revenue"), integer("numberofemployees", "No. of Employees", 0, 1_000_000_000),
            lookup("parentaccountid", "Existing Account", "account"), lookup("parentcontactid", "Existing Contact", "contact"),
            memo("description", "Description"),
            *states((0, "Open", 1), (1, "Qualified", 3), (2, "Disqualified", 4), statuses=[
                (1, "New", 0), (2, "Contacted", 0), (3, "Qualified", 1), (4, "Lost", 2), (5, "Cannot Contact", 2),
                (6, "No Longer Interested", 2), (7, "Canceled", 2)])], type_code=4),
        _entity("opportunity", "opportunities", "opportunityid", "name", "Opportunity", "Opportunities", [
            s("name", "Topic", 300, required="ApplicationRequired"),
            Attribute("customerid", "Customer", "Potential Customer", targets=("account", "contact")),
            lookup("parentaccountid", "Account", "account"), lookup("parentcontactid", "Contact", "contact"),
            lookup("originatingleadid", "Originating Lead", "lead"), lookup("campaignid", "Source Campaign", "campaign"),
            money("estimatedvalue", "Est. Revenue"), money("actualvalue", "Actual Revenue"),
            date("estimatedclosedate", "Est. Close Date"), date("actualclosedate", "Actual Close Date"),
            integer("closeprobability", "Probability", 0, 100),
            pick("salesstage", "Sales Stage", {0: "Qualify", 1: "Develop", 2: "Propose", 3: "Close"}),
            pick("salesstagecode", "Process Code", {1: "Default Value"}), s("stepname", "Pipeline Phase", 200),
            Attribute("processid", "Uniqueidentifier", "Process"), Attribute("stageid", "Uniqueidentifier", "Process Stage"),
            pick("msdyn_forecastcategory", "Forecast Category", {100000001: "Pipeline", 100000002: "Best case",
                                                                  100000003: "Committed", 100000004: "Omitted",
                                                                  100000005: "Won", 100000006: "Lost"}),
            pick("opportunityratingcode", "Rating", RATING),
            pick("purchasetimeframe", "Purchase Timeframe", {0: "Immediate", 1: "This Quarter", 2: "Next Quarter",
                                                            3: "This Year", 4: "Unknown"}),
            memo("description", "Description"), memo("closecomments", "Close Comments", 2000),
            *states((0, "Open", 1), (1, "Won", 3), (2, "Lost", 4), statuses=[
                (1, "In Progress", 0), (2, "On Hold", 0), (3, "Won", 1), (4, "Canceled", 2), (5, "Out-Sold", 2)])],
            type_code=3),
        _activity("task", "tasks", "Task", "Tasks", 4212, [
            integer("percentcomplete", "Percent Complete", 0, 100), s("category", "Category", 250)],
            states((0, "Open", 2), (1, "Completed", 5), (2, "Canceled", 6), statuses=[
                (2, "Not Started", 0), (3, "In Progress", 0), (4, "Waiting on someone else", 0), (7, "Deferred", 0),
                (5, "Completed", 1), (6, "Canceled", 2)])),
        _activity("appointment", "appointments", "Appointment", "Appointments", 4201, [
            s("location", "Location", 200), boolean("isalldayevent", "All Day Event")],
            states((0, "Open", 1), (1, "Completed", 3), (2, "Canceled", 4), (3, "Scheduled", 5), statuses=[
                (1, "Free", 0), (2, "Tentative", 0), (3, "Completed", 1), (4, "Canceled", 2), (5, "Busy", 3),
                (6, "Out of Office", 3)])),
        _activity("phonecall", "phonecalls", "Phone Call", "Phone Calls", 4210, [
            s("phonenumber", "Phone Number", 200, fmt="Phone"), boolean("directioncode", "Direction", "Outgoing", "Incoming")],
            states((0, "Open", 1), (1, "Completed", 2), (2, "Canceled", 3), statuses=[
                (1, "Open", 0), (2, "Made", 1), (4, "Received", 1), (3, "Canceled", 2)])),
        _entity("annotation", "annotations", "annotationid", "subject", "Note", "Notes", [
            s("subject", "Title", 500), memo("notetext", "Description", 100_000),
            Attribute("objectid", "Lookup", "Regarding", targets=("account", "contact", "lead", "opportunity", "task",
                                                                  "appointment", "phonecall", "campaign")),
            Attribute("objecttypecode", "EntityName", "Object Type", create=False, update=False),
            boolean("isdocument", "Is Document", "Attachment", "Note", create=False, update=False),
            s("documentbody", "Document", 1_073_741_823), s("filename", "File Name", 255),
            integer("filesize", "File Size (Bytes)", 0, 2_147_483_647, create=False, update=False),
            s("mimetype", "Mime Type", 256)], type_code=5),
        _entity("campaign", "campaigns", "campaignid", "name", "Campaign", "Campaigns", [
            s("name", "Name", 128, required="ApplicationRequired"), s("codename", "Campaign Code", 32),
            pick("typecode", "Campaign Type", {1: "Advertisement", 2: "Direct Marketing", 3: "Event", 4: "Co-branding", 5: "Other"}),
            money("budgetedcost", "Budget Allocated"), money("totalactualcost", "Total Cost of Campaign"),
            money("expectedrevenue", "Estimated Revenue"), date("proposedstart", "Proposed Start"),
            date("proposedend", "Proposed End"), date("actualstart", "Actual Start"), date("actualend", "Actual End"),
            memo("description", "Description"), memo("objective", "Offer", 5000),
            *states((0, "Active", 0), (1, "Inactive", 6), statuses=[
                (0, "Proposed", 0), (1, "Ready To Launch", 0), (2, "Launched", 0), (3, "Completed", 0), (4, "Canceled", 0),
                (5, "Suspended", 0), (6, "Inactive", 1)])], type_code=4400),
        _entity("list", "lists", "listid", "listname", "Marketing List", "Marketing Lists", [
            s("listname", "Name", 128, required="SystemRequired"),
            pick("createdfromcode", "Targeted At", {1: "Account", 2: "Contact", 4: "Lead"}, required="SystemRequired",
                 update=False),
            boolean("type", "Type", "Dynamic", "Static", update=False), s("purpose", "Purpose", 512),
            s("source", "Source", 128), money("cost", "Cost"), memo("description", "Description"),
            *states((0, "Active", 0), (1, "Inactive", 1), statuses=[(0, "Active", 0), (1, "Inactive", 1)])], type_code=4300),
        _entity("listmember", "listmembers", "listmemberid", "listmemberid", "List Member", "List Members", [
            lookup("listid", "List", "list", required="SystemRequired", update=False),
            Attribute("entityid", "Lookup", "Member", targets=("account", "contact", "lead"), required="SystemRequired",
                      update=False)], owned=False, type_code=4301),
        _entity("connectionrole", "connectionroles", "connectionroleid", "name", "Connection Role", "Connection Roles", [
            s("name", "Name", 100, required="SystemRequired"), memo("description", "Description"),
            pick("category", "Connection Role Category", {1: "Business", 2: "Family", 3: "Social", 4: "Sales", 5: "Other",
                                                            1000: "Stakeholder", 1001: "Sales Team", 1002: "Service"}),
            *ACTIVE_INACTIVE], owned=False, type_code=3231),
        _entity("connection", "connections", "connectionid", "name", "Connection", "Connections", [
            s("name", "Connection Name", 500, create=False, update=False),
            Attribute("record1id", "Lookup", "Connected From", targets=("account", "contact", "lead", "opportunity",
                                                                        "systemuser", "campaign"), required="SystemRequired"),
            Attribute("record2id", "Lookup", "Connected To", targets=("account", "contact", "lead", "opportunity",
                                                                      "systemuser", "campaign"), required="SystemRequired"),
            lookup("record1roleid", "Role (From)", "connectionrole"), lookup("record2roleid", "Role (To)", "connectionrole"),
            memo("description", "Description"), date("effectivestart", "Starting"), date("effectiveend", "Ending"),
            *ACTIVE_INACTIVE], type_code=3234),
        _entity("systemuser", "systemusers", "systemuserid", "fullname", "User", "Users", [
            s("firstname", "First Name", 64), s("lastname", "Last Name", 64, required="SystemRequired"),
            s("fullname", "Full Name", 200, create=False, update=False),
            s("internalemailaddress", "Primary Email", 100, fmt="Email"),
            s("domainname", "User Name", 1024, required="SystemRequired"), s("title", "Title", 128),
            boolean("isdisabled", "Status", "Disabled", "Enabled", update=False),
            Attribute("applicationid", "Uniqueidentifier", "Application ID")], owned=False, type_code=8),
        _entity("team", "teams", "teamid", "name", "Team", "Teams", [s("name", "Team Name", 160, required="SystemRequired")],
                owned=False, type_code=9),
    ]
    return {e.name: e for e in ents}


def computed(ent: Entity) -> set[str]:
    """Columns the platform fills in on every write."""
    return {"fullname", "filesize", "isdocument", "objecttypecode"} & set(ent.attributes) | (
        {"name"} if ent.name == "connection" else set())


# --- customisations ----------------------------------------------------------------------------


class Schema:
    def __init__(self, customisations: list[dict] | None = None) -> None:
        self.entities = standard_entities()
        self.customisations: list[dict] = []
        for op in customisations or []:
            self.apply(op)

    def by_set(self, set_name: str) -> Entity | None:
        return next((e for e in self.entities.values() if e.set_name == set_name), None)

    def apply(self, op: dict) -> None:
        """Replay one customisation (and remember it)."""
        ent = self.entities[op["entity"]]
        if op["op"] == "attribute":
            a = op["attribute"]
            attr = Attribute(**{**a, "targets": tuple(a.get("targets", ())),
                                "options": tuple(Option(**o) for o in a.get("options", ()))})
            ent.attributes[attr.name] = attr
        elif op["op"] == "key":
            ent.keys[op["name"]] = Key(op["name"], tuple(op["attributes"]), op["label"], op.get("status", "Active"))
        elif op["op"] == "option":
            attr = ent.attributes[op["attribute"]]
            attr.options = attr.options + (Option(op["value"], op["label"]),)
        self.customisations.append(op)


def attribute_op(entity: str, attr: Attribute) -> dict:
    d = {k: v for k, v in vars(attr).items() if k != "options"}
    d["targets"] = list(attr.targets)
    d["options"] = [vars(o) for o in attr.options]
    return {"op": "attribute", "entity": entity, "attribute": d}


# --- JSON (the shapes EntityDefinitions answers with) --------------------------------------------


def label(text: str | None) -> dict:
    if not text:
        return {"LocalizedLabels": [], "UserLocalizedLabel": None}
    loc = {"Label": text, "LanguageCode": LANGUAGE, "IsManaged": False}
    return {"LocalizedLabels": [loc], "UserLocalizedLabel": loc}


def label_text(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    user = value.get("UserLocalizedLabel")
    if isinstance(user, dict) and user.get("Label"):
        return str(user["Label"])
    for loc in value.get("LocalizedLabels") or []:
        if isinstance(loc, dict) and loc.get("Label"):
            return str(loc["Label"])
    return None


def _option_json(o: Option) -> dict:
    d: dict[str, Any] = {"Value": o.value, "Label": label(o.label), "Description": label(None), "Color": None,
                         "IsManaged": False}
    if o.state is not None:
        d["State"] = o.state
    if o.default_status is not None:
        d["DefaultStatus"] = o.default_status
    return d


def option_set_json(ent: Entity, a: Attribute) -> dict:
    kind = {"State": "State", "Status": "Status", "Boolean": "Boolean"}.get(a.type, "Picklist")
    base = {"MetadataId": str(uuid.uuid5(NS, f"{ent.name}.{a.name}.optionset")), "Name": f"{ent.name}_{a.name}",
            "IsGlobal": False, "OptionSetType": kind, "IsCustomOptionSet": a.custom, "DisplayName": label(a.label)}
    if a.type == "Boolean":
        true = next(o for o in a.options if o.value == 1)
        false = next(o for o in a.options if o.value == 0)
        return base | {"TrueOption": _option_json(true), "FalseOption": _option_json(false)}
    return base | {"Options": [_option_json(o) for o in a.options]}


def attribute_json(ent: Entity, a: Attribute, expand_options: bool = False) -> dict:
    odata_type, type_name = TYPES[a.type]
    d: dict[str, Any] = {
        "@odata.type": f"#Microsoft.Dynamics.CRM.{odata_type}",
        "MetadataId": ent.attribute_id(a.name), "LogicalName": a.name, "SchemaName": a.schema_name or a.name,
        "EntityLogicalName": ent.name, "AttributeType": "Virtual" if a.type == "MultiSelectPicklist" else a.type,
        "AttributeTypeName": {"Value": type_name}, "DisplayName": label(a.label), "Description": label(None),
        "RequiredLevel": {"Value": a.required, "CanBeChanged": a.required != "SystemRequired",
                          "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings"},
        "IsValidForCreate": a.create, "IsValidForUpdate": a.update, "IsValidForRead": True,
        "IsPrimaryId": a.name == ent.primary_id, "IsPrimaryName": a.name == ent.primary_name,
        "IsCustomAttribute": a.custom, "IsLogical": False, "AttributeOf": None,
    }
    if a.type in ("String", "Memo"):
        d |= {"MaxLength": a.max_length, "Format": a.format, "FormatName": {"Value": a.format}}
    elif a.type in ("Integer", "BigInt"):
        d |= {"MinValue": a.min_value, "MaxValue": a.max_value, "Format": "None"}
    elif a.type in ("Decimal", "Double", "Money"):
        d |= {"MinValue": a.min_value, "MaxValue": a.max_value, "Precision": a.precision}
    elif a.type == "DateTime":
        d |= {"Format": a.format, "DateTimeBehavior": {"Value": "DateOnly" if a.format == "DateOnly" else "UserLocal"}}
    elif a.type in LOOKUPS:
        d |= {"Targets": list(a.targets), "Format": "None"}
    if a.type == "Boolean":
        d["DefaultValue"] = False
        if expand_options:
            d["OptionSet"] = option_set_json(ent, a)
    if a.type in OPTIONS:
        d["DefaultFormValue"] = -1
        if expand_options:
            d["OptionSet"] = option_set_json(ent, a)
            d["GlobalOptionSet"] = None
    return d


def key_json(ent: Entity, k: Key) -> dict:
    return {"MetadataId": str(uuid.uuid5(NS, f"{ent.name}.key.{k.name}")), "LogicalName": k.name, "SchemaName": k.name,
            "EntityLogicalName": ent.name, "KeyAttributes": list(k.attributes), "DisplayName": label(k.label),
            "EntityKeyIndexStatus": k.status, "IsManaged": False}


def relationships_json(schema: Schema, ent: Entity) -> list[dict]:
    out = []
    for a in ent.attributes.values():
        for t in a.targets:
            target = schema.entities.get(t)
            out.append({
                "MetadataId": str(uuid.uuid5(NS, f"{ent.name}.{a.name}.{t}")),
                "SchemaName": f"{t}_{ent.name}_{a.name}", "RelationshipType": "OneToManyRelationship",
                "ReferencedEntity": t, "ReferencedAttribute": target.primary_id if target else f"{t}id",
                "ReferencingEntity": ent.name, "ReferencingAttribute": a.name,
                "ReferencingEntityNavigationPropertyName": nav_name(ent, a, t),
                "ReferencedEntityNavigationPropertyName": f"{t}_{ent.name}_{a.name}",
                "IsCustomRelationship": a.custom,
            })
    return out


def entity_json(schema: Schema, ent: Entity) -> dict:
    return {
        "MetadataId": ent.metadata_id, "LogicalName": ent.name, "SchemaName": ent.name.capitalize(),
        "EntitySetName": ent.set_name, "LogicalCollectionName": ent.set_name, "PrimaryIdAttribute": ent.primary_id,
        "PrimaryNameAttribute": ent.primary_name, "DisplayName": label(ent.label),
        "DisplayCollectionName": label(ent.plural), "ObjectTypeCode": ent.type_code,
        "OwnershipType": "UserOwned" if ent.owned else "OrganizationOwned", "IsActivity": ent.activity,
        "IsCustomEntity": False, "IsCustomizable": {"Value": True, "CanBeChanged": False},
    }
