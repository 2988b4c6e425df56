"""The org's schema: standard objects with realistic field metadata, plus customisations.

Customisations (custom objects, custom fields, edits to standard value sets) are made through
the Tooling API (see ``tooling.py``) and persisted by the store as one JSON document, re-applied
in order at start-up. ``describe_object`` renders the REST ``sobjects/{obj}/describe`` answer.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

# --------------------------------------------------------------------------------------------
# Field metadata


@dataclass
class PickVal:
    value: str
    label: str | None = None
    active: bool = True
    default: bool = False

    def describe(self) -> dict[str, Any]:
        return {"active": self.active, "defaultValue": self.default, "label": self.label or self.value,
                "validFor": None, "value": self.value}


@dataclass
class Field:
    name: str
    type: str
    label: str = ""
    length: int = 0
    precision: int = 0
    scale: int = 0
    digits: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted_on_create: bool = False
    calculated: bool = False
    external_id: bool = False
    unique: bool = False
    id_lookup: bool = False
    case_sensitive: bool = False
    picklist: list[PickVal] = field(default_factory=list)
    restricted: bool = False
    reference_to: list[str] = field(default_factory=list)
    relationship_name: str | None = None
    default_value: Any = None
    custom: bool = False
    name_field: bool = False
    html: bool = False
    value_set: str | None = None  # the StandardValueSet this picklist uses
    tooling_id: str | None = None  # CustomField id when custom
    force_index: bool = False  # index a lookup the sandbox itself searches by (junction objects)
    cascade_delete: bool = False  # a master-detail field: deleting the master deletes this record

    def __post_init__(self) -> None:
        if not self.label:
            self.label = label_for(self.name)

    @property
    def required(self) -> bool:
        return self.createable and not self.nillable and not self.defaulted_on_create

    @property
    def polymorphic(self) -> bool:
        return len(self.reference_to) > 1

    @property
    def indexed(self) -> bool:
        """Values are indexed (external ids, unique fields, idLookup text fields)."""
        if self.force_index:
            return True
        return (self.external_id or self.unique or self.id_lookup) and self.type not in ("id", "reference")

    def active_values(self) -> set[str]:
        return {p.value for p in self.picklist if p.active}

    def default_picklist_value(self) -> str | None:
        for p in self.picklist:
            if p.default and p.active:
                return p.value
        return None


_SOAP = {
    "id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "int": "xsd:int",
    "double": "xsd:double", "currency": "xsd:double", "percent": "xsd:double", "date": "xsd:date",
    "datetime": "xsd:dateTime", "base64": "xsd:base64Binary",
}
TEXT_TYPES = {"string", "textarea", "email", "phone", "url", "picklist", "multipicklist", "combobox",
              "encryptedstring"}
NUMBER_TYPES = {"int", "double", "currency", "percent"}


def label_for(name: str) -> str:
    base = name[:-3] if name.endswith("__c") else name
    if base.endswith("Id") and len(base) > 2:
        base = base[:-2] + " ID"
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", base).replace("_", " ")
    return words.strip()


def describe_field(f: Field) -> dict[str, Any]:
    text = f.type in TEXT_TYPES or f.type in ("id", "reference")
    sortable = f.type not in ("textarea", "multipicklist", "base64")
    return {
        "aggregatable": sortable, "aiPredictionField": False, "autoNumber": False,
        "byteLength": f.length * 3 if text else 0, "calculated": f.calculated,
        "calculatedFormula": None, "cascadeDelete": f.cascade_delete, "caseSensitive": f.case_sensitive,
        "compoundFieldName": None, "controllerName": None, "createable": f.createable,
        "custom": f.custom, "defaultValue": f.default_value if f.type == "boolean" else None,
        "defaultValueFormula": None, "defaultedOnCreate": f.defaulted_on_create,
        "dependentPicklist": False, "deprecatedAndHidden": False, "digits": f.digits,
        "displayLocationInDecimal": False, "encrypted": False, "externalId": f.external_id,
        "extraTypeInfo": None, "filterable": f.type not in ("textarea", "base64"),
        "filteredLookupInfo": None, "formulaTreatNullNumberAsZero": False,
        "groupable": sortable and f.type not in NUMBER_TYPES - {"int"},
        "highScaleNumber": False, "htmlFormatted": f.html, "idLookup": f.id_lookup,
        "inlineHelpText": None, "label": f.label, "length": f.length if text else 0, "mask": None,
        "maskType": None, "name": f.name, "nameField": f.name_field,
        "namePointing": f.polymorphic, "nillable": f.nillable, "permissionable": f.nillable and not f.calculated,
        "picklistValues": [p.describe() for p in f.picklist], "polymorphicForeignKey": f.polymorphic,
        "precision": f.precision, "queryByDistance": False, "referenceTargetField": None,
        "referenceTo": list(f.reference_to), "relationshipName": f.relationship_name,
        "relationshipOrder": None, "restrictedDelete": False, "restrictedPicklist": f.restricted,
        "scale": f.scale, "searchPrefilterable": f.type == "reference",
        "soapType": _SOAP.get(f.type, "xsd:string"), "sortable": sortable, "type": f.type,
        "unique": f.unique, "updateable": f.updateable, "writeRequiresMasterRead": False,
    }


# --------------------------------------------------------------------------------------------
# Objects


@dataclass
class SObjectType:
    name: str
    label: str
    label_plural: str
    key_prefix: str
    custom: bool = False
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    queryable: bool = True
    fields: dict[str, Field] = field(default_factory=dict)  # lower-case name -> Field
    tooling_id: str | None = None
    virtual: str | None = None  # a view over this stored object's records (ContentNote over ContentDocument)

    def add(self, f: Field) -> Field:
        self.fields[f.name.lower()] = f
        return f

    def field(self, name: str) -> Field | None:
        return self.fields.get(name.lower())

    def relationship(self, rel: str) -> Field | None:
        rel = rel.lower()
        for f in self.fields.values():
            if f.relationship_name and f.relationship_name.lower() == rel:
                return f
        return None

    @property
    def has_owner(self) -> bool:
        return "ownerid" in self.fields

    def indexed_fields(self) -> list[Field]:
        return [f for f in self.fields.values() if f.indexed]


def _pv(values: list[str], default: str | None = None) -> list[PickVal]:
    return [PickVal(v, v, True, v == default) for v in values]


# field constructors --------------------------------------------------------------------------

def S(name: str, length: int = 255, **kw: Any) -> Field:
    return Field(name, "string", length=length, **kw)


def TA(name: str, length: int = 32000, **kw: Any) -> Field:
    return Field(name, "textarea", length=length, **kw)


def EM(name: str, **kw: Any) -> Field:
    return Field(name, "email", length=80, **kw)


def PH(name: str, **kw: Any) -> Field:
    return Field(name, "phone", length=40, **kw)


def URL(name: str, length: int = 255, **kw: Any) -> Field:
    return Field(name, "url", length=length, **kw)


def PL(name: str, values: list[str], default: str | None = None, restricted: bool = False,
       value_set: str | None = None, **kw: Any) -> Field:
    return Field(name, "picklist", length=255, picklist=_pv(values, default), restricted=restricted,
                 value_set=value_set, defaulted_on_create=default is not None or kw.pop("defaulted", False),
                 **kw)


def MPL(name: str, values: list[str], value_set: str | None = None, **kw: Any) -> Field:
    return Field(name, "multipicklist", length=4099, picklist=_pv(values), value_set=value_set, **kw)


def REF(name: str, to: list[str] | str, rel: str | None, **kw: Any) -> Field:
    to = [to] if isinstance(to, str) else to
    return Field(name, "reference", length=18, reference_to=to, relationship_name=rel, **kw)


def B(name: str, default: bool = False, **kw: Any) -> Field:
    return Field(name, "boolean", nillable=False, defaulted_on_create=True, default_value=default, **kw)


def INT(name: str, digits: int = 8, **kw: Any) -> Field:
    return Field(name, "int", digits=digits, **kw)


def DBL(name: str, type_: str = "double", precision: int = 18, scale: int = 2, **kw: Any) -> Field:
    return Field(name, type_, precision=precision, scale=scale, **kw)


def D(name: str, **kw: Any) -> Field:
    return Field(name, "date", **kw)


def DT(name: str, **kw: Any) -> Field:
    return Field(name, "datetime", **kw)


RO = {"createable": False, "updateable": False}


def _system_fields(obj: SObjectType, owner: bool) -> None:
    obj.add(Field("Id", "id", label=f"{obj.label} ID", length=18, nillable=False, id_lookup=True,
                  defaulted_on_create=True, **RO))
    if owner:
        obj.add(REF("OwnerId", ["User"], "Owner", label="Owner ID", nillable=False,
                    defaulted_on_create=True))
    obj.add(B("IsDeleted", label="Deleted", **RO))
    obj.add(DT("CreatedDate", nillable=False, defaulted_on_create=True, **RO))
    obj.add(REF("CreatedById", ["User"], "CreatedBy", nillable=False, defaulted_on_create=True, **RO))
    obj.add(DT("LastModifiedDate", nillable=False, defaulted_on_create=True, **RO))
    obj.add(REF("LastModifiedById", ["User"], "LastModifiedBy", nillable=False,
                defaulted_on_create=True, **RO))
    obj.add(DT("SystemModstamp", nillable=False, defaulted_on_create=True, **RO))


def _obj(name: str, prefix: str, fields: list[Field], label: str | None = None,
         plural: str | None = None, owner: bool = True, **kw: Any) -> SObjectType:
    label = label or label_for(name)
    obj = SObjectType(name, label, plural or label + "s", prefix, **kw)
    _system_fields(obj, owner)
    for f in fields:
        obj.add(f)
    return obj


INDUSTRIES = ["Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications",
              "Construction", "Consulting", "Education", "Electronics", "Energy", "Engineering",
              "Entertainment", "Environmental", "Finance", "Food & Beverage", "Government",
              "Healthcare", "Hospitality", "Insurance", "Machinery", "Manufacturing", "Media",
              "Not For Profit", "Recreation", "Retail", "Shipping", "Technology",
              "Telecommunications", "Transportation", "Utilities", "Other"]
SOURCES = ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"]
SALUTATIONS = ["Mr.", "Ms.", "Mrs.", "Dr.", "Prof.", "Mx."]
ACTIVITY_WHAT = ["Account", "Opportunity", "Case", "Campaign"]  # custom objects are added when created
FILE_PARENTS = ["Account", "Contact", "Lead", "Opportunity", "Case", "Campaign", "Task", "Event", "User"]
USER_TYPES = ["Standard", "PowerPartner", "PowerCustomerSuccess", "CustomerSuccess", "CspLitePortal", "Guest"]
ADDRESS = ["Street", "City", "State", "PostalCode", "Country"]


def _address(prefix: str) -> list[Field]:
    out = []
    for part in ADDRESS:
        if part == "Street":
            out.append(TA(prefix + part, 255))
        else:
            out.append(S(prefix + part, 80 if part != "PostalCode" else 20))
    out += [DBL(prefix + "Latitude", precision=18, scale=15), DBL(prefix + "Longitude", precision=18, scale=15)]
    return out


def standard_objects() -> dict[str, SObjectType]:
    objs = [
        _obj("User", "005", [
            S("Username", 80, nillable=False, unique=True, id_lookup=True, updateable=False),
            EM("Email", nillable=False, id_lookup=False),
            S("FirstName", 40), S("LastName", 80, nillable=False),
            S("Name", 121, name_field=True, id_lookup=True, **RO),
            S("Alias", 8, nillable=False), B("IsActive", True), S("Title", 80), S("Department", 80),
            S("CompanyName", 80), PH("Phone"), PH("MobilePhone"),
            REF("ProfileId", ["Profile"], "Profile", nillable=False),
            PL("UserType", USER_TYPES, **RO),
            REF("ContactId", ["Contact"], "Contact", updateable=False, force_index=True),
            REF("AccountId", ["Account"], "Account", **RO),
            B("IsPortalEnabled", label="Is Portal Enabled", **RO),
            REF("ManagerId", ["User"], "Manager"),
            S("TimeZoneSidKey", 40, nillable=False, label="Time Zone"),
            S("LocaleSidKey", 40, nillable=False, label="Locale"),
            S("EmailEncodingKey", 40, nillable=False, label="Email Encoding"),
            S("LanguageLocaleKey", 40, nillable=False, label="Language"),
            S("FederationIdentifier", 512, id_lookup=True),
        ], owner=False, deletable=False),
        _obj("Profile", "00e", [
            S("Name", 255, nillable=False, name_field=True, **RO),
            PL("UserType", USER_TYPES, **RO), TA("Description", 255, **RO),
        ], owner=False, createable=False, updateable=False, deletable=False),
        _obj("Account", "001", [
            S("Name", 255, nillable=False, name_field=True, label="Account Name"),
            REF("ParentId", ["Account"], "Parent", label="Parent Account ID"),
            S("AccountNumber", 40), S("Site", 80, label="Account Site"),
            PL("Type", ["Prospect", "Customer - Direct", "Customer - Channel",
                        "Channel Partner / Reseller", "Installation Partner", "Technology Partner",
                        "Other"], value_set="AccountType", label="Account Type"),
            PL("Industry", INDUSTRIES, value_set="Industry"),
            PL("Rating", ["Hot", "Warm", "Cold"], value_set="AccountRating", label="Account Rating"),
            PL("AccountSource", SOURCES, value_set="AccountSource"),
            PL("Ownership", ["Public", "Private", "Subsidiary", "Other"], value_set="AccountOwnership"),
            DBL("AnnualRevenue", "currency", precision=18, scale=0),
            INT("NumberOfEmployees", label="Employees"),
            PH("Phone", label="Account Phone"), PH("Fax", label="Account Fax"), URL("Website"),
            S("TickerSymbol", 20), S("Sic", 20, label="SIC Code"),
            TA("Description", 32000, label="Account Description"),
            B("IsPartner", label="Partner Account"),
            *_address("Billing"), *_address("Shipping"),
        ]),
        _obj("Contact", "003", [
            REF("AccountId", ["Account"], "Account"),
            PL("Salutation", SALUTATIONS, value_set="Salutation"),
            S("FirstName", 40), S("LastName", 80, nillable=False),
            S("Name", 121, name_field=True, label="Full Name", **RO),
            EM("Email", id_lookup=True), PH("Phone", label="Business Phone"), PH("MobilePhone"),
            PH("HomePhone"), PH("OtherPhone"), PH("Fax", label="Business Fax"),
            S("Title", 128), S("Department", 80), D("Birthdate"),
            REF("ReportsToId", ["Contact"], "ReportsTo"),
            PL("LeadSource", SOURCES, value_set="LeadSource"),
            B("HasOptedOutOfEmail", label="Email Opt Out"), B("DoNotCall"),
            TA("Description", 32000, label="Contact Description"),
            *_address("Mailing"), *_address("Other"),
        ], plural="Contacts"),
        _obj("Lead", "00Q", [
            PL("Salutation", SALUTATIONS, value_set="Salutation"),
            S("FirstName", 40), S("LastName", 80, nillable=False),
            S("Name", 121, name_field=True, label="Full Name", **RO),
            S("Company", 255, nillable=False), S("Title", 128), EM("Email", id_lookup=True),
            PH("Phone"), PH("MobilePhone"), URL("Website"),
            PL("Status", ["Open - Not Contacted", "Working - Contacted", "Closed - Converted",
                          "Closed - Not Converted"], default="Open - Not Contacted", restricted=True,
               value_set="LeadStatus", nillable=False, label="Lead Status"),
            PL("LeadSource", SOURCES, value_set="LeadSource"),
            PL("Industry", INDUSTRIES, value_set="Industry"),
            PL("Rating", ["Hot", "Warm", "Cold"], value_set="LeadRating"),
            DBL("AnnualRevenue", "currency", precision=18, scale=0),
            INT("NumberOfEmployees", label="Employees"),
            B("IsConverted", label="Converted", **RO),
            TA("Description", 32000),
            *_address(""),
        ]),
        _obj("Opportunity", "006", [
            REF("AccountId", ["Account"], "Account"),
            S("Name", 120, nillable=False, name_field=True, label="Name"),
            TA("Description", 32000),
            PL("StageName", ["Prospecting", "Qualification", "Needs Analysis", "Value Proposition",
                             "Id. Decision Makers", "Perception Analysis", "Proposal/Price Quote",
                             "Negotiation/Review", "Closed Won", "Closed Lost"], restricted=True,
               value_set="OpportunityStage", nillable=False, label="Stage"),
            DBL("Amount", "currency", precision=18, scale=2),
            DBL("Probability", "percent", precision=3, scale=0, label="Probability (%)"),
            D("CloseDate", nillable=False),
            PL("Type", ["Existing Customer - Upgrade", "Existing Customer - Replacement",
                        "Existing Customer - Downgrade", "New Customer"],
               value_set="OpportunityType", label="Opportunity Type"),
            S("NextStep", 255), PL("LeadSource", SOURCES, value_set="LeadSource"),
            B("IsClosed", label="Closed", **RO), B("IsWon", label="Won", **RO),
            PL("ForecastCategoryName", ["Omitted", "Pipeline", "Best Case", "Commit", "Closed"],
               defaulted=True, label="Forecast Category"),
        ]),
        _obj("Case", "500", [
            S("CaseNumber", 30, id_lookup=True, defaulted_on_create=True, nillable=False,
              name_field=True, **RO),
            REF("ContactId", ["Contact"], "Contact"), REF("AccountId", ["Account"], "Account"),
            REF("ParentId", ["Case"], "Parent"),
            S("SuppliedName", 80, label="Name"), EM("SuppliedEmail", label="Email Address"),
            S("SuppliedPhone", 40, label="Phone"), S("SuppliedCompany", 80, label="Company"),
            PL("Type", ["Mechanical", "Electrical", "Electronic", "Structural", "Other"],
               value_set="CaseType", label="Case Type"),
            PL("Status", ["New", "Working", "Escalated", "Closed"], default="New", restricted=True,
               value_set="CaseStatus", nillable=False),
            PL("Reason", ["Installation", "Equipment Complexity", "Performance", "Breakdown",
                          "Equipment Design", "Feedback", "Other"], value_set="CaseReason",
               label="Case Reason"),
            PL("Origin", ["Phone", "Email", "Web"], restricted=True, value_set="CaseOrigin",
               label="Case Origin"),
            S("Subject", 255), PL("Priority", ["High", "Medium", "Low"], default="Medium",
                                  value_set="CasePriority"),
            TA("Description", 32000), B("IsClosed", label="Closed", **RO),
            DT("ClosedDate", label="Closed Date", **RO), B("IsEscalated", label="Escalated"),
            TA("Comments", 4000, label="Internal Comments"),
        ], label="Case", plural="Cases"),
        _obj("Task", "00T", [
            REF("WhoId", ["Contact", "Lead"], "Who", label="Name ID"),
            REF("WhatId", list(ACTIVITY_WHAT), "What", label="Related To ID"),
            Field("Subject", "combobox", length=255, picklist=_pv(["Call", "Send Letter", "Send Quote", "Other"]),
                  value_set="TaskSubject"),
            D("ActivityDate", label="Due Date Only"),
            PL("Status", ["Not Started", "In Progress", "Completed", "Waiting on someone else",
                          "Deferred"], default="Not Started", restricted=True, value_set="TaskStatus",
               nillable=False),
            PL("Priority", ["High", "Normal", "Low"], default="Normal", value_set="TaskPriority",
               nillable=False),
            PL("Type", ["Call", "Email", "Meeting", "Other"], restricted=True, value_set="TaskType"),
            TA("Description", 32000, label="Comments"),
            B("IsClosed", label="Closed", **RO), B("IsHighPriority", label="High Priority", **RO),
            INT("CallDurationInSeconds", label="Call Duration"),
            PL("CallType", ["Internal", "Inbound", "Outbound"]),
            S("CallDisposition", 255, label="Call Result"), S("CallObject", 255, label="Call Object Identifier"),
            PL("TaskSubtype", ["Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"],
               updateable=False),
            DT("CompletedDateTime", **RO), DT("ReminderDateTime"), B("IsReminderSet", label="Reminder Set"),
        ], label="Task"),
        _obj("Event", "00U", [
            REF("WhoId", ["Contact", "Lead"], "Who", label="Name ID"),
            REF("WhatId", list(ACTIVITY_WHAT), "What", label="Related To ID"),
            Field("Subject", "combobox", length=255, picklist=_pv(["Call", "Email", "Meeting", "Send Letter/Quote", "Other"]),
                  value_set="EventSubject"),
            S("Location", 255), B("IsAllDayEvent", label="All-Day Event"),
            DT("ActivityDateTime", label="Due Date Time"), D("ActivityDate", label="Due Date Only"),
            INT("DurationInMinutes", label="Duration"), DT("StartDateTime"), DT("EndDateTime"),
            D("EndDate", **RO), TA("Description", 32000),
            PL("Type", ["Call", "Email", "Meeting", "Other"], restricted=True, value_set="EventType"),
            B("IsPrivate", label="Private"),
            PL("ShowAs", ["Busy", "OutOfOffice", "Free"], default="Busy", label="Show Time As"),
            PL("EventSubtype", ["Event"], updateable=False),
        ], label="Event"),
        _obj("EventRelation", "0RE", [
            REF("RelationId", ["Contact", "Lead", "User", *ACTIVITY_WHAT], "Relation", nillable=False,
                updateable=False, force_index=True),
            REF("EventId", ["Event"], "Event", nillable=False, updateable=False, force_index=True),
            PL("Status", ["New", "Declined", "Accepted", "Uninvited"], default="New"),
            DT("RespondedDate"), S("Response", 255),
            B("IsInvitee", label="Invitee"), B("IsParent", label="Parent"),
            B("IsWhat", label="Is What", updateable=False),
            REF("AccountId", ["Account"], "Account", **RO),
        ], owner=False),
        _obj("AccountContactRelation", "07k", [
            REF("AccountId", ["Account"], "Account", nillable=False, updateable=False, force_index=True),
            REF("ContactId", ["Contact"], "Contact", nillable=False, updateable=False, force_index=True),
            MPL("Roles", ["Business User", "Decision Maker", "Economic Buyer", "Economic Decision Maker",
                          "Evaluator", "Executive Sponsor", "Influencer", "Technical Buyer", "Other"],
                value_set="AccountContactMultiRoles"),
            B("IsDirect", label="Direct", **RO), B("IsActive", True, label="Active"),
            D("StartDate"), D("EndDate"),
        ], owner=False),
        _obj("ContentDocument", "069", [
            S("Title", 255, nillable=False, name_field=True, updateable=True, createable=False),
            S("FileType", 20, **RO), S("FileExtension", 40, **RO), INT("ContentSize", label="Size", **RO),
            REF("LatestPublishedVersionId", ["ContentVersion"], "LatestPublishedVersion", **RO),
            TA("Description", 1000, createable=False), REF("ParentId", ["ContentWorkspace"], "Parent", **RO),
            S("PublishStatus", 1, **RO),
        ], createable=False),
        _obj("ContentVersion", "068", [
            REF("ContentDocumentId", ["ContentDocument"], "ContentDocument", updateable=False,
                force_index=True),
            S("Title", 255, nillable=False, name_field=True, defaulted_on_create=True),
            S("PathOnClient", 500, updateable=False),
            Field("VersionData", "base64", label="Version Data", updateable=False),
            REF("FirstPublishLocationId", list(FILE_PARENTS), "FirstPublishLocation", updateable=False),
            URL("ContentUrl", length=1300, label="Content URL", updateable=False),
            TA("Description", 1000), S("ReasonForChange", 1000, label="Reason For Change"),
            S("FileType", 20, **RO), S("FileExtension", 40, **RO), INT("ContentSize", label="Size", **RO),
            S("Checksum", 50, **RO), S("VersionNumber", 20, **RO), B("IsLatest", **RO),
            PL("ContentLocation", ["S", "E", "L"], default="S", updateable=False),
            PL("Origin", ["C", "H"], default="C", updateable=False),
            PL("SharingOption", ["A", "R"], default="A"), PL("SharingPrivacy", ["N", "P"], default="N"),
            DT("ContentModifiedDate"),
        ], deletable=False),
        _obj("ContentDocumentLink", "06A", [
            REF("LinkedEntityId", list(FILE_PARENTS), "LinkedEntity", nillable=False, updateable=False,
                force_index=True),
            REF("ContentDocumentId", ["ContentDocument"], "ContentDocument", nillable=False,
                updateable=False, force_index=True),
            PL("ShareType", ["V", "C", "I"], default="V", restricted=True, nillable=False),
            PL("Visibility", ["AllUsers", "InternalUsers", "SharedUsers"], default="AllUsers",
               restricted=True),
        ], owner=False),
        # A note (Winter '16 notes): a view over ContentDocuments whose file type is SNOTE (see notes.py)
        _obj("ContentNote", "069", [
            S("Title", 255, nillable=False, name_field=True),
            Field("Content", "base64", label="Content"),
            S("TextPreview", 255, **RO), S("FileType", 20, **RO), S("FileExtension", 40, **RO),
            INT("ContentSize", label="Size", **RO), B("IsReadOnly", label="Is Read Only", **RO),
            REF("LatestPublishedVersionId", ["ContentVersion"], "LatestPublishedVersion", **RO),
            PL("SharingPrivacy", ["N", "P"], default="N", **RO), DT("ContentModifiedDate", **RO),
        ], virtual="ContentDocument"),
        _obj("Campaign", "701", [
            S("Name", 80, nillable=False, name_field=True, label="Campaign Name"),
            REF("ParentId", ["Campaign"], "Parent", label="Parent Campaign ID"),
            PL("Type", ["Advertisement", "Banner Ads", "Conference", "Direct Mail", "Email", "Partners",
                        "Public Relations", "Referral Program", "Telemarketing", "Trade Show", "Webinar",
                        "Other"], value_set="CampaignType"),
            PL("Status", ["Planned", "In Progress", "Completed", "Aborted"], value_set="CampaignStatus"),
            D("StartDate"), D("EndDate"),
            DBL("ExpectedRevenue", "currency", precision=18, scale=0, label="Expected Revenue in Campaign"),
            DBL("BudgetedCost", "currency", precision=18, scale=0, label="Budgeted Cost in Campaign"),
            DBL("ActualCost", "currency", precision=18, scale=0, label="Actual Cost in Campaign"),
            DBL("ExpectedResponse", "percent", precision=10, scale=2, label="Expected Response (%)"),
            DBL("NumberSent", precision=18, scale=0, label="Num Sent in Campaign"),
            B("IsActive", label="Active"), TA("Description", 32000),
        ]),
        _obj("CampaignMemberStatus", "01Y", [
            REF("CampaignId", ["Campaign"], "Campaign", nillable=False, updateable=False, force_index=True),
            S("Label", 765, nillable=False, label="Member Status"), INT("SortOrder", 9),
            B("IsDefault", label="Default"), B("HasResponded", label="Responded"),
        ], owner=False, plural="Campaign Member Statuses"),
        _obj("CampaignMember", "00v", [
            REF("CampaignId", ["Campaign"], "Campaign", nillable=False, updateable=False, force_index=True),
            REF("LeadId", ["Lead"], "Lead", updateable=False, force_index=True),
            REF("ContactId", ["Contact"], "Contact", updateable=False, force_index=True),
            PL("Status", ["Sent", "Responded"], defaulted=True),
            B("HasResponded", label="Responded", **RO), D("FirstRespondedDate", **RO),
            S("Type", 40, **RO), REF("LeadOrContactId", ["Lead", "Contact"], "LeadOrContact", **RO),
        ], owner=False),
        # Legacy attachments (Notes & Attachments before Files): the body is stored as a file, like VersionData
        _obj("Attachment", "00P", [
            REF("ParentId", list(FILE_PARENTS[:-1]), "Parent", nillable=False, updateable=False,
                force_index=True),
            S("Name", 255, nillable=False, name_field=True, label="File Name"),
            Field("Body", "base64", nillable=False), INT("BodyLength", label="Body Length", **RO),
            S("ContentType", 120), TA("Description", 500), B("IsPrivate", label="Private"),
        ]),
    ]
    out = {o.name.lower(): o for o in objs}
    # the polymorphic lists of activities and files grow with custom objects; keep them shared
    return out


# which lookups may point at any (custom) object that has activities / files enabled
POLY_GROWS = {("task", "whatid"), ("event", "whatid"), ("eventrelation", "relationid"),
              ("contentversion", "firstpublishlocationid"), ("contentdocumentlink", "linkedentityid"),
              ("attachment", "parentid")}

# --------------------------------------------------------------------------------------------
# Customisations (Tooling API metadata -> Field)

CUSTOM_TYPES = {
    "Text": "string", "TextArea": "textarea", "LongTextArea": "textarea", "Html": "textarea",
    "Number": "double", "Checkbox": "boolean", "Date": "date", "DateTime": "datetime",
    "Email": "email", "Phone": "phone", "Url": "url", "Picklist": "picklist",
    "MultiselectPicklist": "multipicklist", "Currency": "currency", "Percent": "percent",
    "Lookup": "reference", "MasterDetail": "reference",
}


class SchemaError(Exception):
    def __init__(self, code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields or []


def field_from_metadata(api_name: str, md: dict[str, Any], schema: "Schema") -> Field:
    """Build a custom :class:`Field` from Tooling ``CustomField.Metadata``."""
    mtype = md.get("type")
    if mtype not in CUSTOM_TYPES:
        raise SchemaError("FIELD_INTEGRITY_EXCEPTION", f"Invalid field type: {mtype}", ["type"])
    label = md.get("label") or label_for(api_name)
    required = bool(md.get("required"))
    kw: dict[str, Any] = {"label": label, "custom": True, "nillable": not required}
    ftype = CUSTOM_TYPES[mtype]
    if mtype == "Text":
        length = md.get("length")
        if not isinstance(length, int) or not 1 <= length <= 255:
            raise SchemaError("FIELD_INTEGRITY_EXCEPTION",
                              "Length: Must be a value from 1 to 255", ["length"])
        kw["length"] = length
    elif mtype == "TextArea":
        kw["length"] = 255
    elif mtype in ("LongTextArea", "Html"):
        length = md.get("length")
        if not isinstance(length, int) or not 256 <= length <= 131072:
            raise SchemaError("FIELD_INTEGRITY_EXCEPTION",
                              "Length: Must be a value from 256 to 131072", ["length"])
        if not md.get("visibleLines"):
            raise SchemaError("FIELD_INTEGRITY_EXCEPTION", "Visible Lines: You must enter a value",
                              ["visibleLines"])
        kw["length"] = length
        kw["html"] = mtype == "Html"
    elif mtype in ("Number", "Currency", "Percent"):
        precision = md.get("precision", 18)
        scale = md.get("scale", 0)
        if not isinstance(precision, int) or not isinstance(scale, int) or not (
                1 <= precision <= 18 and 0 <= scale <= precision):
            raise SchemaError("FIELD_INTEGRITY_EXCEPTION",
                              "Length and decimal places must add up to 18 or less", ["precision"])
        kw["precision"], kw["scale"] = precision, scale
    elif mtype == "Email":
        kw["length"] = 80
    elif mtype == "Phone":
        kw["length"] = 40
    elif mtype == "Url":
        kw["length"] = 255
    elif mtype == "Checkbox":
        default = str(md.get("defaultValue", "false")).lower() == "true"
        kw.update(nillable=False, defaulted_on_create=True, default_value=default)
    elif mtype in ("Picklist", "MultiselectPicklist"):
        vs = md.get("valueSet") or {}
        values = ((vs.get("valueSetDefinition") or {}).get("value")) or []
        if not values:
            raise SchemaError("FIELD_INTEGRITY_EXCEPTION", "Picklist values: You must enter a value",
                              ["valueSet"])
        kw["picklist"] = [PickVal(str(v.get("fullName")), str(v.get("label") or v.get("fullName")),
                                  True, bool(v.get("default"))) for v in values]
        kw["restricted"] = bool(vs.get("restricted"))
        kw["length"] = 255 if mtype == "Picklist" else 4099
        if any(p.default for p in kw["picklist"]) and mtype == "Picklist":
            kw["defaulted_on_create"] = True
    elif mtype in ("Lookup", "MasterDetail"):
        target = md.get("referenceTo")
        tobj = schema.get(target or "")
        if tobj is None:
            raise SchemaError("FIELD_INTEGRITY_EXCEPTION",
                              f"Related To: invalid object: {target}", ["referenceTo"])
        # the lookup's own relationship is <Field>__r; Metadata.relationshipName names the
        # child relationship on the parent (e.g. Account.Projects__r), which the sandbox only lists
        kw["reference_to"] = [tobj.name]
        kw["relationship_name"] = api_name[:-3] + "__r"
        kw["length"] = 18
        if mtype == "MasterDetail":
            kw.update(nillable=False, cascade_delete=True, force_index=True)
    if md.get("externalId"):
        if ftype not in ("string", "email", "double", "int"):
            raise SchemaError("FIELD_INTEGRITY_EXCEPTION",
                              "External ID: only Text, Number, Email and Auto Number fields can be "
                              "external ids", ["externalId"])
        kw["external_id"] = True
        kw["id_lookup"] = True
    if md.get("unique"):
        kw["unique"] = True
        kw["case_sensitive"] = str(md.get("caseSensitive", "false")).lower() == "true"
    return Field(api_name, ftype, **kw)


class Schema:
    """All object types of the org, standard and custom."""

    def __init__(self) -> None:
        self.objects = standard_objects()
        self.custom_objects: list[dict[str, Any]] = []  # {"id","fullName","metadata","keyPrefix"}
        self.custom_fields: list[dict[str, Any]] = []  # {"id","fullName","metadata"}
        self.value_sets: dict[str, list[dict[str, Any]]] = {}  # name -> standardValue list
        self._by_prefix = {o.key_prefix: o for o in self.objects.values() if not o.virtual}

    # -- look-ups ---------------------------------------------------------------------------
    def get(self, name: str) -> SObjectType | None:
        return self.objects.get(name.lower()) if name else None

    def by_prefix(self, prefix: str) -> SObjectType | None:
        return self._by_prefix.get(prefix)

    def object_for_id(self, record_id: str) -> SObjectType | None:
        return self._by_prefix.get(record_id[:3])

    # -- customisation -------------------------------------------------------------------------
    def add_custom_object(self, tooling_id: str, full_name: str, md: dict[str, Any]) -> SObjectType:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*__c", full_name) or "__" in full_name[:-3]:
            raise SchemaError("INVALID_FIELD", f"Invalid custom object name: {full_name}", ["FullName"])
        if self.get(full_name):
            raise SchemaError("DUPLICATE_DEVELOPER_NAME",
                              f"There is already an object named {full_name}", ["FullName"])
        n = len(self.custom_objects)
        prefix = "a0" + "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[n % 36] if n < 36 else f"a{n:02d}"[:3]
        label = md.get("label") or label_for(full_name)
        name_md = md.get("nameField") or {}
        obj = _obj(full_name, prefix, [
            S("Name", 80, nillable=False, name_field=True, label=name_md.get("label") or f"{label} Name"),
        ], label=label, plural=md.get("pluralLabel") or label + "s", custom=True)
        obj.tooling_id = tooling_id
        self.objects[full_name.lower()] = obj
        self._by_prefix[prefix] = obj
        for key in POLY_GROWS:
            host = self.objects.get(key[0])
            if host and host.field(key[1]) and full_name not in host.field(key[1]).reference_to:
                host.field(key[1]).reference_to.append(full_name)
        self.custom_objects.append({"id": tooling_id, "fullName": full_name, "metadata": md,
                                    "keyPrefix": prefix})
        return obj

    def add_custom_field(self, tooling_id: str, full_name: str, md: dict[str, Any]) -> Field:
        obj_name, _, api_name = full_name.partition(".")
        obj = self.get(obj_name)
        if obj is None:
            raise SchemaError("INVALID_TYPE", f"sObject type '{obj_name}' is not supported.", ["FullName"])
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*__c", api_name) or "__" in api_name[:-3] \
                or api_name.endswith("___c"):
            raise SchemaError("INVALID_FIELD",
                              f"The field name must end with __c and contain only letters, digits and "
                              f"single underscores: {api_name}", ["FullName"])
        if obj.field(api_name):
            raise SchemaError("DUPLICATE_DEVELOPER_NAME",
                              f"Duplicate Field Name: a field named {api_name} already exists on "
                              f"{obj.name}", ["FullName"])
        f = field_from_metadata(api_name, md, self)
        f.tooling_id = tooling_id
        obj.add(f)
        self.custom_fields.append({"id": tooling_id, "fullName": f"{obj.name}.{api_name}", "metadata": md})
        return f

    def standard_value_set_names(self) -> list[str]:
        names = set()
        for obj in self.objects.values():
            for f in obj.fields.values():
                if f.value_set and not f.custom:
                    names.add(f.value_set)
        return sorted(names)

    def value_set_fields(self, name: str) -> list[Field]:
        return [f for obj in self.objects.values() for f in obj.fields.values()
                if f.value_set == name and not f.custom]

    def value_set(self, name: str) -> list[dict[str, Any]]:
        if name in self.value_sets:
            return copy.deepcopy(self.value_sets[name])
        fields = self.value_set_fields(name)
        if not fields:
            raise KeyError(name)
        return [{"fullName": p.value, "label": p.label or p.value, "default": p.default,
                 "description": None, "closed": None, "converted": None, "won": None,
                 "forecastCategory": None, "probability": None, "reverseRole": None,
                 "groupingString": [], "highPriority": None, "cssExposed": None, "color": None,
                 "allowEmail": None}
                for p in fields[0].picklist]

    def set_value_set(self, name: str, values: list[dict[str, Any]]) -> None:
        """Replace a standard value set; values left out are kept, inactive (as Salesforce does)."""
        fields = self.value_set_fields(name)
        if not fields:
            raise KeyError(name)
        if not values:
            raise SchemaError("FIELD_INTEGRITY_EXCEPTION", "standardValue: at least one value is required")
        new = [PickVal(str(v["fullName"]), str(v.get("label") or v["fullName"]), True, bool(v.get("default")))
               for v in values]
        names = {p.value for p in new}
        for f in fields:
            old_inactive = [PickVal(p.value, p.label, False, False) for p in f.picklist if p.value not in names]
            f.picklist = [copy.copy(p) for p in new] + old_inactive
        self.value_sets[name] = [dict(v) for v in values]

    # -- persistence -----------------------------------------------------------------------------
    def customisations(self) -> dict[str, Any]:
        return {"custom_objects": self.custom_objects, "custom_fields": self.custom_fields,
                "value_sets": self.value_sets}

    @classmethod
    def from_customisations(cls, data: dict[str, Any] | None) -> "Schema":
        schema = cls()
        data = data or {}
        for co in data.get("custom_objects", []):
            schema.add_custom_object(co["id"], co["fullName"], co["metadata"])
        for cf in data.get("custom_fields", []):
            schema.add_custom_field(cf["id"], cf["fullName"], cf["metadata"])
        for name, values in data.get("value_sets", {}).items():
            schema.set_value_set(name, values)
        return schema


def describe_object(obj: SObjectType, base: str, schema: Schema | None = None) -> dict[str, Any]:
    info = describe_global_entry(obj, base)
    children = []
    if schema is not None:
        for other in schema.objects.values():
            for f in other.fields.values():
                if f.type == "reference" and obj.name in f.reference_to and f.relationship_name \
                        and f.name not in ("CreatedById", "LastModifiedById", "OwnerId"):
                    children.append({"cascadeDelete": f.cascade_delete, "childSObject": other.name,
                                     "deprecatedAndHidden": False, "field": f.name,
                                     "junctionIdListNames": [], "junctionReferenceTo": [],
                                     "relationshipName": None, "restrictedDelete": False})
    info.update({
        "actionOverrides": [], "childRelationships": children,
        "compactLayoutable": True, "defaultImplementation": None,
        "fields": [describe_field(f) for f in obj.fields.values()],
        "listviewable": None, "lookupLayoutable": None, "namedLayoutInfos": [],
        "networkScopeFieldName": None, "recordTypeInfos": [], "searchLayoutable": True,
        "supportedScopes": [{"label": "All " + obj.label_plural.lower(), "name": "everything"}],
        "sobjectDescribeOption": "FULL",
    })
    return info


def describe_global_entry(obj: SObjectType, base: str) -> dict[str, Any]:
    url = f"{base}/sobjects/{obj.name}"
    return {
        "activateable": False, "associateEntityType": None, "associateParentEntity": None,
        "createable": obj.createable, "custom": obj.custom, "customSetting": False,
        "deepCloneable": False, "deletable": obj.deletable, "deprecatedAndHidden": False,
        "feedEnabled": False, "hasSubtypes": False, "isInterface": False, "isSubtype": False,
        "keyPrefix": obj.key_prefix, "label": obj.label, "labelPlural": obj.label_plural,
        "layoutable": True, "mergeable": obj.name in ("Account", "Contact", "Lead", "Case"),
        "mruEnabled": True, "name": obj.name, "queryable": obj.queryable, "replicateable": True,
        "retrieveable": True, "searchable": True, "triggerable": True, "undeletable": obj.deletable,
        "updateable": obj.updateable,
        "urls": {"rowTemplate": url + "/{ID}", "describe": url + "/describe", "sobject": url},
    }
