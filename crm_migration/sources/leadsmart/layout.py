"""The objects a LeadSmart Channel Cloud org offers, and the fields read from each.

LeadSmart is built on Salesforce: its data is read through the Salesforce API (SOQL), not from an
export. Each object below is one sObject (``file`` is the sObject's API name, so a file alias is an
sObject alias) with the fields read from it (``columns``, Salesforce API names; a relationship path
such as ``Owner.Email`` is one column). A customer's org may name LeadSmart's custom fields and
objects differently: alias them in the pair's settings (``export.files`` for sObjects,
``export.columns`` for fields). A field the org does not have is read as an all-null column and
listed in the table's metadata (``missing_columns``), as the export readers do.

What an org gives, and what it cannot give:

- values are typed by Salesforce, so dates never come in mixed formats, e-mail fields always hold
  valid addresses (Salesforce validates them), ids are unique and no row is unparseable; the mess
  is elsewhere: free-text e-mail fields (``Alternate_Email__c``), websites and phones typed by
  hand, lead sources outside the picklist (Salesforce stores any value in an unrestricted picklist),
  duplicates, records owned by partner users or by people who have left, activities related to
  objects that are not migrated, notes in HTML;
- datetimes are UTC (``2024-05-01T10:00:00.000Z``), dates ``YYYY-MM-DD``, numbers without
  trailing ``.0``, booleans ``true``/``false``;
- ``users`` are the internal users (UserType Standard); ``partner_users`` (UserType PowerPartner)
  are external partner reps, who must never become internal users of the destination;
- ``files`` has one row per link of a file to a record (ContentDocumentLink) with the file's latest
  version; ``notes`` likewise for notes (their HTML body is the ``Content`` column);
  ``attachments`` are legacy Attachment records. File bodies are downloaded to a local folder
  (:data:`FILES_DIR` under the source's ``files_root``); ``local_file`` is the body's path
  relative to it (null for a web link, whose URL is ``ContentUrl``);
- ``accounts.WebsiteDomain`` is derived by the reader (the website's host, lower case, without
  ``www.``), for the name + domain duplicate check; it is not a Salesforce field.

Genius Feed and Genius GPT (LeadSmart's AI objects) are not migrated (:data:`NOT_MIGRATED`).
"""

from __future__ import annotations

from dataclasses import dataclass

from crm_migration.sources.base import SourceObjectLayout

FILES_DIR = "files"  # under files_root(location): the downloaded bodies; local_file is relative to it
SYSTEM = ("CreatedDate", "CreatedById", "LastModifiedDate", "SystemModstamp")
OWNED = ("OwnerId", "Owner.Email", "Owner.UserType")
MODIFIED_COLUMN = "SystemModstamp"  # every object's last-modified time (delta runs)


@dataclass(frozen=True)
class ApiObjectLayout(SourceObjectLayout):
    """One sObject read through the API: ``file`` is the sObject, ``where`` a fixed SOQL filter."""

    where: str = ""
    body: str | None = None  # "attachment", "file" or "note": rows carry a file body


def _layout(name: str, sobject: str, columns: tuple[str, ...], description: str, where: str = "",
            body: str | None = None) -> ApiObjectLayout:
    return ApiObjectLayout(name=name, file=sobject, id_column="Id", columns=("Id", *columns), description=description,
                           where=where, body=body)


USER_COLUMNS = ("Username", "Email", "FirstName", "LastName", "Name", "IsActive", "Title", "Department", "Phone",
                "UserType", "ProfileId", "Profile.Name", "ManagerId", "TimeZoneSidKey", *SYSTEM)
ADDRESS = ("Street", "City", "State", "PostalCode", "Country")

LAYOUTS: dict[str, ApiObjectLayout] = {
    layout.name: layout
    for layout in (
        _layout("users", "User", USER_COLUMNS, "Internal users (UserType Standard): the owners to match by e-mail.",
                where="UserType = 'Standard'"),
        _layout("partner_users", "User", (*USER_COLUMNS, "ContactId", "AccountId", "IsPortalEnabled"),
                "Partner portal users (UserType PowerPartner): external reps, dealers and distributors; "
                "their contact and account. Never internal users.", where="UserType = 'PowerPartner'"),
        _layout("accounts", "Account", (
            "Name", "ParentId", "Type", "Industry", "Website", "WebsiteDomain", "Phone",
            *("Billing" + a for a in ADDRESS), "NumberOfEmployees", "AnnualRevenue", "Description", "IsPartner",
            "Channel_Role__c", "Partner_Tier__c", *OWNED, *SYSTEM),
            "Companies: manufacturers, distributors and dealers (ParentId is the channel hierarchy) and end "
            "customers. WebsiteDomain is derived by the reader."),
        _layout("contacts", "Contact", (
            "AccountId", "Salutation", "FirstName", "LastName", "Email", "Alternate_Email__c", "Phone", "MobilePhone",
            "Title", "Department", *("Mailing" + a for a in ADDRESS), "LeadSource", "HasOptedOutOfEmail",
            "Distributor_Relationship_Type__c", "Dealer_Tier__c", "Authorization_Status__c", *OWNED, *SYSTEM),
            "People at accounts, partner contacts among them (distributor relationship, dealer tier, "
            "authorization status)."),
        _layout("leads", "Lead", (
            "Salutation", "FirstName", "LastName", "Company", "Title", "Email", "Alternate_Email__c", "Phone",
            "MobilePhone", "Website", "Status", "LeadSource", "Industry", "Rating", "AnnualRevenue",
            "NumberOfEmployees", *ADDRESS, "Description", "IsConverted", "Lead_Grade__c",
            "Qualification_Score__c", "Product_Interest__c", "Qualification_Notes__c", "Partner_Account__c",
            *OWNED, *SYSTEM),
            "Leads with LeadSmart's qualification fields; channel leads are owned by partner users and name "
            "the partner account. Qualification_Notes__c is HTML; Product_Interest__c is multi-select (;)."),
        _layout("opportunities", "Opportunity", (
            "AccountId", "Name", "StageName", "Amount", "Probability", "CloseDate", "Type", "LeadSource",
            "NextStep", "Description", "IsClosed", "IsWon", "ForecastCategoryName", "Pipeline__c",
            "Close_Reason__c", "Close_Reason_Details__c", "Partner_Account__c", *OWNED, *SYSTEM),
            "Deals in two pipelines (Pipeline__c: Direct, Channel) with their stages; closed deals carry "
            "Close_Reason__c."),
        _layout("tasks", "Task", (
            "WhoId", "Who.Type", "WhatId", "What.Type", "Subject", "ActivityDate", "Status", "Priority", "Type",
            "Description", "TaskSubtype", "CallType", "CallDurationInSeconds", "CallDisposition", "IsClosed",
            "CompletedDateTime", *OWNED, *SYSTEM),
            "Tasks; calls have TaskSubtype Call, CallType and CallDurationInSeconds. Who/What are polymorphic "
            "(Who.Type, What.Type name the object)."),
        _layout("events", "Event", (
            "WhoId", "Who.Type", "WhatId", "What.Type", "Subject", "Location", "StartDateTime", "EndDateTime",
            "DurationInMinutes", "IsAllDayEvent", "ActivityDate", "Description", "Type", "ShowAs",
            *OWNED, *SYSTEM),
            "Meetings and visits (start, end, duration, location)."),
        _layout("partner_access", "Partner_Access__c", (
            "Name", "Account__c", "Partner_Contact__c", "Partner_User__c", "Role__c", "Partner_Tier__c",
            "Authorization_Level__c", "Commission_Structure__c", "Commission_Rate__c", "Access_Start__c",
            "Access_End__c", "Mobile_Access__c", "Portal_Visibility__c", *OWNED, *SYSTEM),
            "LeadSmart's Partner Collaboration Portal records: which partner contact (and portal user) works "
            "an account, with role, tier, authorization level and commission structure."),
        _layout("campaigns", "Campaign", (
            "Name", "ParentId", "Type", "Status", "StartDate", "EndDate", "BudgetedCost", "ActualCost",
            "ExpectedRevenue", "ExpectedResponse", "NumberSent", "IsActive", "Description", *OWNED, *SYSTEM),
            "Marketing campaigns (ParentId: campaign hierarchy)."),
        _layout("campaign_member_statuses", "CampaignMemberStatus", (
            "CampaignId", "Label", "IsDefault", "HasResponded", "SortOrder", *SYSTEM),
            "Each campaign's member statuses (Sent, Responded and the campaign's own)."),
        _layout("campaign_members", "CampaignMember", (
            "CampaignId", "LeadId", "ContactId", "Type", "Status", "HasResponded", "FirstRespondedDate", *SYSTEM),
            "Leads and contacts in campaigns, with their member status."),
        _layout("attachments", "Attachment", (
            "ParentId", "Parent.Type", "Name", "ContentType", "BodyLength", "Description", "IsPrivate",
            "local_file", *OWNED, *SYSTEM),
            "Legacy attachments (before Files); local_file is the downloaded body.", body="attachment"),
        _layout("files", "ContentDocumentLink", (
            "LinkedEntityId", "LinkedEntity.Type", "ContentDocumentId", "ShareType", "Visibility",
            "ContentVersionId", "Title", "PathOnClient", "FileType", "FileExtension", "ContentSize", "Checksum",
            "ContentUrl", "VersionNumber", "Description", "local_file", *OWNED, *SYSTEM),
            "Files (ContentVersion, latest version) as linked to records: one row per link (Id is the "
            "ContentDocumentLink's). Owner and times are the version's; a web link has ContentUrl and no body.",
            body="file"),
        _layout("notes", "ContentDocumentLink", (
            "LinkedEntityId", "LinkedEntity.Type", "ContentDocumentId", "ShareType", "Visibility", "Title",
            "TextPreview", "Content", "ContentSize", *OWNED, *SYSTEM),
            "Notes (ContentNote) as linked to records: one row per link; Content is the note's HTML.",
            body="note"),
    )
}

# Objects of a LeadSmart org that are not migrated: sObject -> why (the rebuild reference lists them).
NOT_MIGRATED: dict[str, str] = {
    "Genius_Feed__c": "Genius Feed: LeadSmart's AI recommendations; the engine that produces them does not "
                      "transfer, so the records are documented, not migrated.",
    "Genius_GPT_Insight__c": "Genius GPT insights: generated text of LeadSmart's GPT layer; excluded from scope, "
                             "inventoried for the customer's admin.",
}

# Value domains of LeadSmart's picklists (what a default org holds; the generator plants values outside some).
LEAD_STATUSES = ("Open - Not Contacted", "Working - Contacted", "Partner Assigned", "Qualified",
                 "Closed - Not Converted")
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Trade Show", "Deal Registration",
                "Other")
LEAD_GRADES = ("A", "B", "C", "D")
PRODUCT_INTEREST = ("Forklifts", "Pallet Racking", "Conveyors", "Spare Parts", "Service Contracts", "Telematics")
PIPELINES = ("Direct", "Channel")
DIRECT_STAGES = ("Prospecting", "Qualification", "Needs Analysis", "Proposal/Price Quote", "Negotiation/Review",
                 "Closed Won", "Closed Lost")
CHANNEL_STAGES = ("Deal Registration", "Partner Qualified", "Joint Proposal", "Negotiation/Review", "Closed Won",
                  "Closed Lost")
CLOSE_REASONS = ("Price", "Competitor", "No Budget", "Timing", "Product Fit", "Partner Relationship",
                 "Won - Product Fit", "Won - Partner Relationship", "Won - Price")
CHANNEL_ROLES = ("Manufacturer", "Distributor", "Dealer", "End Customer")
PARTNER_TIERS = ("Platinum", "Gold", "Silver", "Bronze")
RELATIONSHIP_TYPES = ("Distributor", "Dealer", "Reseller", "Broker", "Manufacturer Rep")
AUTHORIZATION_STATUSES = ("Authorized", "Pending", "Suspended", "Revoked")
PARTNER_ROLES = ("Channel Rep", "Dealer Principal", "Distributor Manager", "Broker", "Reseller")
AUTHORIZATION_LEVELS = ("Read Only", "Read/Write", "Full Access")
COMMISSION_STRUCTURES = ("Flat Fee", "Percentage of Revenue", "Tiered")
PORTAL_VISIBILITY = ("Own Records", "Account Team", "All Channel")
CAMPAIGN_MEMBER_STATUSES = ("Registered", "Attended", "No Show")  # besides Sent and Responded


def _pick(values: tuple[str, ...], restricted: bool = True) -> dict:
    return {"type": "Picklist", "valueSet": {"restricted": restricted, "valueSetDefinition": {
        "value": [{"fullName": v, "label": v, "default": False} for v in values]}}}


def _text(length: int) -> dict:
    return {"type": "Text", "length": length}


def _lookup(target: str, relationship: str) -> dict:
    return {"type": "Lookup", "referenceTo": target, "relationshipName": relationship}


LONG = {"type": "LongTextArea", "length": 32768, "visibleLines": 5}

# LeadSmart's customisations of a Salesforce org, as Tooling API metadata (what the generator creates).
CUSTOM_OBJECTS: dict[str, dict] = {
    "Partner_Access__c": {"label": "Partner Access", "pluralLabel": "Partner Access",
                          "nameField": {"type": "Text", "label": "Partner Access Name"}},
    "Genius_Feed__c": {"label": "Genius Feed", "pluralLabel": "Genius Feed", "nameField": {"type": "Text", "label": "Title"}},
    "Genius_GPT_Insight__c": {"label": "Genius GPT Insight", "pluralLabel": "Genius GPT Insights",
                              "nameField": {"type": "Text", "label": "Insight"}},
}
CUSTOM_FIELDS: dict[str, dict] = {
    "Account.Channel_Role__c": _pick(CHANNEL_ROLES),
    "Account.Partner_Tier__c": _pick(PARTNER_TIERS),
    "Contact.Alternate_Email__c": _text(120),
    "Contact.Distributor_Relationship_Type__c": _pick(RELATIONSHIP_TYPES),
    "Contact.Dealer_Tier__c": _pick(PARTNER_TIERS),
    "Contact.Authorization_Status__c": _pick(AUTHORIZATION_STATUSES),
    "Lead.Alternate_Email__c": _text(120),
    "Lead.Lead_Grade__c": _pick(LEAD_GRADES),
    "Lead.Qualification_Score__c": {"type": "Number", "precision": 3, "scale": 0},
    "Lead.Product_Interest__c": {"type": "MultiselectPicklist", "visibleLines": 4, "valueSet": {
        "restricted": True, "valueSetDefinition": {"value": [{"fullName": v} for v in PRODUCT_INTEREST]}}},
    "Lead.Qualification_Notes__c": {"type": "Html", "length": 32768, "visibleLines": 10},
    "Lead.Partner_Account__c": _lookup("Account", "Partner_Leads"),
    "Opportunity.Pipeline__c": _pick(PIPELINES),
    "Opportunity.Close_Reason__c": _pick(CLOSE_REASONS),
    "Opportunity.Close_Reason_Details__c": LONG,
    "Opportunity.Partner_Account__c": _lookup("Account", "Partner_Opportunities"),
    "Partner_Access__c.Account__c": _lookup("Account", "Partner_Access"),
    "Partner_Access__c.Partner_Contact__c": _lookup("Contact", "Partner_Access"),
    "Partner_Access__c.Partner_User__c": _lookup("User", "Partner_Access"),
    "Partner_Access__c.Role__c": _pick(PARTNER_ROLES),
    "Partner_Access__c.Partner_Tier__c": _pick(PARTNER_TIERS),
    "Partner_Access__c.Authorization_Level__c": _pick(AUTHORIZATION_LEVELS),
    "Partner_Access__c.Commission_Structure__c": _pick(COMMISSION_STRUCTURES),
    "Partner_Access__c.Commission_Rate__c": {"type": "Percent", "precision": 5, "scale": 2},
    "Partner_Access__c.Access_Start__c": {"type": "Date"},
    "Partner_Access__c.Access_End__c": {"type": "Date"},
    "Partner_Access__c.Mobile_Access__c": {"type": "Checkbox", "defaultValue": "false"},
    "Partner_Access__c.Portal_Visibility__c": _pick(PORTAL_VISIBILITY),
    "Genius_Feed__c.Account__c": _lookup("Account", "Genius_Feed"),
    "Genius_Feed__c.Recommendation__c": LONG,
    "Genius_Feed__c.Score__c": {"type": "Number", "precision": 5, "scale": 2},
    "Genius_GPT_Insight__c.Opportunity__c": _lookup("Opportunity", "Genius_Insights"),
    "Genius_GPT_Insight__c.Prompt__c": LONG,
    "Genius_GPT_Insight__c.Response__c": LONG,
}
# Standard picklists LeadSmart extends (StandardValueSet name -> values added).
STANDARD_VALUES: dict[str, tuple[str, ...]] = {
    "LeadStatus": ("Partner Assigned", "Qualified"),
    "LeadSource": ("Trade Show", "Deal Registration"),
    "OpportunityStage": ("Deal Registration", "Partner Qualified", "Joint Proposal"),
}

# Load order of the objects (parents first).
OBJECT_ORDER: tuple[str, ...] = tuple(LAYOUTS)
