"""A deterministic, deliberately messy LeadSmart org, created through the Salesforce API.

``seed_org(url, client_id, client_secret, ca_file, seed=7, scale=1.0, out_dir=...)`` turns a
Salesforce org (in practice a fresh local sandbox) into a LeadSmart Channel Cloud org: LeadSmart's
custom fields and objects through the Tooling API (:data:`.layout.CUSTOM_FIELDS`), its picklist
values through ``StandardValueSet``, then the data through sObject Collections (200 records a
call), and writes ``_generator_truth.json`` to ``out_dir``: every planted defect with the reason
code the pipeline is expected to give it, the owners without (or with a disabled) Dynamics user,
the partner users, HTML and non-ASCII samples and the counts per object.

Determinism: every choice comes from ``random.Random(seed)`` and a fixed "today" (2024-09-30); the
same seed and scale create the same records in the same order, so a fresh sandbox even gives them
the same Ids. Only what Salesforce stamps itself differs (CreatedDate, SystemModstamp...).

At scale 1.0: 12 internal users, 8 partner users, ~320 accounts (4 manufacturers -> 12 distributors
-> 40 dealers; end customers), ~760 contacts, 800 leads, 350 opportunities in two pipelines, 900
tasks, 300 events, 60 partner access records, 10 campaigns with ~500 members, 30 attachments, 30
files, 50 notes and 65 Genius records: about 4,200 records, a few seconds against the sandbox.
Users grow with the square root of the scale, the rest with the scale (floors keep every defect).

What a real org makes impossible is not planted (the truth file says so under ``not_plantable``):
bad e-mails in e-mail fields (Salesforce validates them: the bad ones are in the free-text
``Alternate_Email__c``), mixed date formats, duplicate ids, unparseable rows, hierarchy cycles and
files missing from an export. The over-size file is over ``file_limit_bytes`` (5 MiB by default:
Dynamics 365's default attachment limit, Organization.MaxUploadFileSize; pass another value to
match a destination configured otherwise).
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import math
import random
import re
from pathlib import Path
from typing import Any

from crm_migration.sources.leadsmart import layout as L
from crm_migration.sources.perfect_portal.generator import ascii_slug, attachment_body, html_to_text

TRUTH_FILE = "_generator_truth.json"
DEFAULT_FILE_LIMIT = 5 << 20  # Dataverse's default MaxUploadFileSize
TODAY = dt.date(2024, 9, 30)
COMPANY_DOMAIN = "northwind-lifts.example"
BATCH = 200

INTERNAL_USERS = [
    ("Hannah", "Whitaker", "VP Sales"), ("Jürgen", "Weiß", "Channel Director"), ("Priya", "Raman", "Account Executive"),
    ("Marcus", "Okafor", "Account Executive"), ("Chloé", "Dubois", "Channel Manager"), ("Tomás", "Ibáñez", "Channel Manager"),
    ("Grace", "Lindqvist", "Sales Engineer"), ("Owen", "Price", "Inside Sales"), ("Zoë", "Ångström", "Marketing Manager"),
    ("Daniel", "O'Connor", "Account Executive"), ("Sofia", "Rossi", "Inside Sales"), ("Liam", "Fitzgerald", "Account Executive"),
]
FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "William",
         "Barbara", "Thomas", "Sarah", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Emily", "Zoë", "Łukasz", "José",
         "Björn", "Søren", "François", "Siobhán", "Mateo", "Wei", "Aiko", "Olga", "Małgorzata", "Anaïs", "Øystein",
         "Inés", "Fatima", "Kwame", "Amara", "Leila", "Omar"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Martinez", "Wilson", "Anderson",
        "Taylor", "Moore", "Jackson", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis", "Walker", "Young", "King",
        "Ångström", "Żółkiewski", "Núñez", "Müller", "Schröder", "Østergaard", "Lefèvre", "O'Brien", "Peña",
        "Kowalczyk", "Dvořák", "Nguyễn", "Tanaka", "Kim"]
WORDS = ["Atlas", "Summit", "Harbor", "Granite", "Pioneer", "Keystone", "Redwood", "Beacon", "Meridian", "Cobalt",
         "Falcon", "Sterling", "Evergreen", "Northgate", "Riverside", "Ironwood", "Lakeshore", "Crescent", "Bluewater",
         "Highland", "Prairie", "Copperfield", "Westbrook", "Silverline", "Oakmont", "Brightwater", "Stonebridge"]
SUFFIX = ["Logistics", "Distribution", "Warehousing", "Foods", "Manufacturing", "Retail", "Supply", "Freight",
          "Materials", "Cold Storage", "Building Products", "Paper"]
SPECIAL_ACCOUNTS = ["Müller Fördertechnik GmbH", "Åkerlund Logistik AB", "Société Générale de Manutention",
                    "Łódź Magazyny Sp. z o.o.", "São Paulo Armazéns Ltda", "Nørrebro Lager ApS"]
MAKERS = ["Northwind Lift Trucks", "Kestrel Material Handling", "Vantage Conveyor Systems", "Orion Racking"]
CITIES = [("Chicago", "IL", "60607", "USA"), ("Dallas", "TX", "75201", "United States"), ("Atlanta", "GA", "30303", "US"),
          ("Denver", "CO", "80202", "USA"), ("Columbus", "OH", "43215", "USA"), ("Toronto", "ON", "M5V 2T6", "Canada"),
          ("Hamburg", None, "20095", "Germany"), ("Lyon", None, "69002", "France"), ("Göteborg", None, "411 04", "Sweden")]
INDUSTRIES = ["Manufacturing", "Retail", "Transportation", "Food & Beverage", "Construction", "Shipping", "Chemicals"]
OPP_TYPES = ["New Customer", "Existing Customer - Upgrade", "Existing Customer - Replacement"]
PROBABILITY = {"Prospecting": 10, "Qualification": 20, "Needs Analysis": 30, "Proposal/Price Quote": 60,
               "Negotiation/Review": 80, "Deal Registration": 10, "Partner Qualified": 30, "Joint Proposal": 60,
               "Closed Won": 100, "Closed Lost": 0}
BAD_EMAILS = ["jane.doe@", "bob at dealer-supply.com", "sales@@granite-freight.com", "m.keller@kestrel", "n/a - ask rep"]
UNKNOWN_SOURCES = ["Tradeshow 2019", "webinar", "LinkedIn Ads"]
NOTE_LINES = ["Discussed fleet renewal for {co}", "Asked for pricing on {item} & service contract",
              "Dealer will follow up next week", "Budget approved <b>Q4</b>", "Wants a demo at the {city} site",
              "Competitor quote is 8% lower", "Follow up after trade show"]


class _Org:
    """The org through the Salesforce destination's connection (simple-salesforce, retries)."""

    def __init__(self, url: str, client_id: str, client_secret: str, ca_file: str | None) -> None:
        from crm_migration.destinations.salesforce import SalesforceDestination

        self.dest = SalesforceDestination(instance_url=url, client_id=client_id, client_secret=client_secret,
                                          ca_file=ca_file or None)
        self.sf = self.dest.sf

    def call(self, fn):
        return self.dest._call(fn)

    def create(self, records: list[dict]) -> list[str]:
        """Insert records (each with attributes.type) 200 a call, all or none per call; their Ids in order."""
        ids: list[str] = []
        for i in range(0, len(records), BATCH):
            chunk = records[i:i + BATCH]
            res = self.call(lambda sf: sf.restful("composite/sobjects", method="POST",
                                                  json={"allOrNone": True, "records": chunk}))
            bad = [(r, c) for r, c in zip(res, chunk) if not r["success"] and r["errors"][0]["statusCode"]
                   != "ALL_OR_NONE_OPERATION_ROLLED_BACK"]
            if bad:
                raise RuntimeError(f"seeding {bad[0][1]['attributes']['type']} failed: {bad[0][0]['errors']}")
            ids += [r["id"] for r in res]
        return ids

    def update(self, records: list[dict]) -> None:
        for i in range(0, len(records), BATCH):
            chunk = records[i:i + BATCH]
            res = self.call(lambda sf: sf.restful("composite/sobjects", method="PATCH",
                                                  json={"allOrNone": True, "records": chunk}))
            if not all(r["success"] for r in res):
                raise RuntimeError(f"updating failed: {[r['errors'] for r in res if not r['success']][:1]}")

    def query(self, soql: str) -> list[dict]:
        return self.call(lambda sf: sf.query_all(soql))["records"]

    def tooling(self, path: str, method: str = "GET", data: Any = None) -> Any:
        return self.call(lambda sf: sf.toolingexecute(path, method=method, data=data))


def _rec(sobject: str, **values: Any) -> dict:
    return {"attributes": {"type": sobject}, **{k: v for k, v in values.items() if v is not None}}


def _b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def apply_leadsmart_schema(org: _Org) -> None:
    """LeadSmart's custom objects, fields and picklist values (skipping what the org already has)."""
    have = {o["name"] for o in org.call(lambda sf: sf.describe())["sobjects"]}
    for name, md in L.CUSTOM_OBJECTS.items():
        if name not in have:
            org.tooling("sobjects/CustomObject/", "POST", {"FullName": name, "Metadata": md})
    fields: dict[str, set[str]] = {}
    for full, md in L.CUSTOM_FIELDS.items():
        obj, _, name = full.partition(".")
        if obj not in fields:
            fields[obj] = {f["name"] for f in org.call(lambda sf: getattr(sf, obj).describe())["fields"]}
        if name not in fields[obj]:
            org.tooling("sobjects/CustomField/", "POST", {"FullName": full, "Metadata": dict(md, label=name[:-3].replace("_", " "))})
    for value_set, added in L.STANDARD_VALUES.items():
        found = org.tooling(f"query/?q=SELECT+Id+FROM+StandardValueSet+WHERE+MasterLabel='{value_set}'")["records"]
        current = org.tooling(f"sobjects/StandardValueSet/{found[0]['Id']}")["Metadata"]["standardValue"]
        names = {v["fullName"] for v in current}
        values = [{"fullName": v["fullName"], "label": v["label"], "default": v["default"]} for v in current]
        if all(a in names for a in added):
            continue
        values += [{"fullName": a, "label": a, "default": False} for a in added if a not in names]
        org.tooling(f"sobjects/StandardValueSet/{found[0]['Id']}", "PATCH", {"Metadata": {"standardValue": values}})


class _Seeder:
    def __init__(self, org: _Org, seed: int, scale: float, with_files: bool, file_limit: int) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.emails: set[str] = set()
        self.org, self.seed, self.scale, self.with_files, self.file_limit = org, seed, scale, with_files, file_limit
        self.rng = random.Random(seed)
        self.defects: list[dict] = []
        self.ids: dict[str, list[str]] = {}  # layout object -> ids created
        self.html_samples: list[dict] = []
        self.non_ascii: list[dict] = []

    def n(self, base: int, floor: int) -> int:
        return max(floor, int(round(base * self.scale)))

    def defect(self, obj: str, rid: str, field: str, code: str, note: str, value: Any) -> None:
        self.defects.append({"object": obj, "source_id": rid, "field": field, "reason_code": code, "note": note,
                             "value": value})

    def day(self, back: int, forward: int = 0) -> str:
        return (TODAY + dt.timedelta(days=self.rng.randint(-back, forward))).isoformat()

    def phone(self) -> str:
        a, b, c = self.rng.randint(200, 989), self.rng.randint(200, 999), self.rng.randint(0, 9999)
        return self.rng.choice([f"({a}) {b}-{c:04d}", f"{a}-{b}-{c:04d}", f"+1 {a} {b} {c:04d}", f"{a}.{b}.{c:04d}",
                                f"{a}{b}{c:04d} ext. {self.rng.randint(10, 99)}"])

    def person(self) -> tuple[str, str]:
        return self.rng.choice(FIRST), self.rng.choice(LAST)

    # -- users ---------------------------------------------------------------------------------
    def users(self) -> None:
        profiles = {r["Name"]: r["Id"] for r in self.org.query("SELECT Id, Name FROM Profile")}
        self.profiles = profiles
        n = max(8, int(round(len(INTERNAL_USERS) * math.sqrt(self.scale))))
        people = list(INTERNAL_USERS[:n])
        while len(people) < n:
            first, last = self.person()
            people.append((first, last, "Account Executive"))
        emails, seen = [], set()
        for first, last, _ in people:
            local = f"{ascii_slug(first)}.{ascii_slug(last)}"
            k = 2
            while local in seen:
                local, k = f"{ascii_slug(first)}.{ascii_slug(last)}{k}", k + 1
            seen.add(local)
            emails.append(f"{local}@{COMPANY_DOMAIN}")
        records = [_rec("User", Username=e, Email=e, FirstName=f, LastName=la, Title=t, Alias=(ascii_slug(f)[:1] + ascii_slug(la)[:4]),
                        TimeZoneSidKey="America/Chicago", LocaleSidKey="en_US", EmailEncodingKey="UTF-8",
                        LanguageLocaleKey="en_US", ProfileId=profiles["System Administrator" if i == 0 else "Standard User"],
                        Department="Sales" if "Marketing" not in t else "Marketing")
                   for i, ((f, la, t), e) in enumerate(zip(people, emails))]
        self.user_ids = self.org.create(records)
        self.user_people = [{"email": e, "first_name": f, "last_name": la, "title": t}
                            for (f, la, t), e in zip(people, emails)]
        # The last two never got a Dynamics user (the last has also left: deactivated at the end); one is disabled there.
        self.unmatched = [n - 2, n - 1]
        self.disabled = [n - 3]
        self.left = n - 1
        weights = [1.0] * n
        weights[0] = 0.3  # the VP owns little
        self.user_weights = weights
        self.ids["users"] = list(self.user_ids)

    def owner(self) -> str:
        return self.rng.choices(self.user_ids, weights=self.user_weights)[0]

    def clean_owner(self) -> str:
        """An owner that resolves (records carrying another defect keep their owner out of the way)."""
        good = [u for i, u in enumerate(self.user_ids) if i not in self.unmatched and i not in self.disabled]
        return self.rng.choice(good)

    # -- accounts ------------------------------------------------------------------------------
    def website(self, domain: str) -> str:
        return self.rng.choice([f"https://www.{domain}", f"http://{domain}", f"www.{domain}", domain,
                                f"https://{domain}/", f"WWW.{domain.upper()}"])

    def address(self, prefix: str) -> dict:
        city, state, postal, country = self.rng.choice(CITIES)
        return {f"{prefix}Street": f"{self.rng.randint(1, 9999)} {self.rng.choice(WORDS)} {self.rng.choice(['Ave', 'St', 'Blvd', 'Road'])}",
                f"{prefix}City": city, f"{prefix}State": state, f"{prefix}PostalCode": postal, f"{prefix}Country": country}

    def accounts(self) -> None:
        rng = self.rng
        n_dist, n_dealer, n_end = self.n(12, 4), self.n(40, 8), self.n(260, 30)
        records, self.acc_kind, names = [], [], set()

        def name_for(kind: str, i: int) -> str:
            while True:
                base = f"{rng.choice(WORDS)} {rng.choice(SUFFIX)}"
                if kind == "Distributor":
                    base = f"{rng.choice(WORDS)} Equipment Distributors"
                elif kind == "Dealer":
                    base = f"{rng.choice(WORDS)} Lift & Rack {rng.choice(['Sales', 'Dealers', 'Supply'])}"
                if base not in names:
                    names.add(base)
                    return base
                base += f" {i}"
                if base not in names:
                    names.add(base)
                    return base

        plan = ([("Manufacturer", m) for m in MAKERS] + [("Distributor", None)] * n_dist + [("Dealer", None)] * n_dealer
                + [("End Customer", None)] * n_end)
        special = iter(SPECIAL_ACCOUNTS)
        for i, (kind, fixed) in enumerate(plan):
            name = fixed or (next(special, None) if kind == "End Customer" and i % 37 == 5 else None) or name_for(kind, i)
            domain = ascii_slug(name)[:24] + ".example"
            partner = kind in ("Distributor", "Dealer")
            rec = _rec("Account", Name=name, Website=self.website(domain) if rng.random() > 0.08 else None,
                       Phone=self.phone(), Industry=rng.choice(INDUSTRIES),
                       Type={"Manufacturer": "Technology Partner", "Distributor": "Channel Partner / Reseller",
                             "Dealer": "Channel Partner / Reseller"}.get(kind, rng.choice(["Customer - Channel", "Customer - Direct", "Prospect"])),
                       Channel_Role__c=kind, Partner_Tier__c=rng.choice(L.PARTNER_TIERS) if partner else None,
                       IsPartner=partner, NumberOfEmployees=rng.randint(5, 5000), AnnualRevenue=rng.randint(1, 900) * 100000,
                       OwnerId=self.owner(), **self.address("Billing"))
            if any(ord(ch) > 127 for ch in name):
                self.non_ascii.append({"object": "accounts", "index": i, "field": "Name", "value": name})
            records.append(rec)
            self.acc_kind.append(kind)
        # the channel hierarchy: manufacturer -> distributor -> dealer (created parents first)
        ids = self.org.create(records[:len(MAKERS)])
        dist_at = len(MAKERS)
        for r in records[dist_at:dist_at + n_dist]:
            r["ParentId"] = rng.choice(ids[:len(MAKERS)])
        ids += self.org.create(records[dist_at:dist_at + n_dist])
        for r in records[dist_at + n_dist:dist_at + n_dist + n_dealer]:
            r["ParentId"] = rng.choice(ids[dist_at:dist_at + n_dist])
        ids += self.org.create(records[dist_at + n_dist:])
        self.acc_ids, self.acc_records = ids, records
        # duplicates by name + website domain: the same company typed in again, its website in another form
        dup_src = [i for i in range(len(records)) if self.acc_kind[i] == "End Customer" and records[i].get("Website")][:3]
        dups = []
        for i in dup_src:
            domain = _domain(records[i]["Website"])
            dups.append(dict(records[i], Website=f"http://{domain}/contact" if i % 2 else domain.upper(),
                             Phone=self.phone(), OwnerId=self.clean_owner()))
        dup_ids = self.org.create(dups)
        for i, did in zip(dup_src, dup_ids):
            self.defect("accounts", did, "Name+WebsiteDomain", "DUPLICATE_SUSPECTED",
                        f"same name and website domain as {ids[i]} (website typed differently)", records[i]["Name"])
        self.acc_ids += dup_ids
        self.acc_kind += ["End Customer"] * len(dup_ids)
        self.ids["accounts"] = list(self.acc_ids)
        for s in self.non_ascii:
            s["source_id"] = self.acc_ids[s.pop("index")]

    def of_kind(self, *kinds: str) -> list[str]:
        return [a for a, k in zip(self.acc_ids, self.acc_kind) if k in kinds]

    # -- contacts and partner users --------------------------------------------------------------
    def email_for(self, first: str, last: str, account_name: str) -> str:
        """A person's address at their company; a namesake at a same-named company (the planted duplicate
        accounts) gets a number, so that no duplicate arises that was not planted."""
        local, domain = f"{ascii_slug(first)[:1]}{ascii_slug(last) or 'x'}", f"{ascii_slug(account_name)[:20]}.example"
        email, n = f"{local}@{domain}", 1
        while email in self.emails:
            n += 1
            email = f"{local}{n}@{domain}"
        self.emails.add(email)
        return email

    def contacts(self) -> None:
        rng = self.rng
        name_of = {a: r["Name"] for a, r in zip(self.acc_ids, self.acc_records)}
        records, partner_flags = [], []
        for acc, kind in zip(self.acc_ids, self.acc_kind):
            partner = kind in ("Distributor", "Dealer")
            for _ in range(3 if partner else rng.choice([1, 2, 2, 3])):
                first, last = self.person()
                records.append(_rec(
                    "Contact", AccountId=acc, FirstName=first, LastName=last, Salutation=rng.choice(["Mr.", "Ms.", "Dr.", None]),
                    Email=self.email_for(first, last, name_of.get(acc, "x")) if rng.random() > 0.05 else None,
                    Phone=self.phone(), MobilePhone=self.phone() if rng.random() > 0.6 else None,
                    Title=rng.choice(["Owner", "Purchasing Manager", "Operations Director", "Warehouse Manager",
                                      "Sales Rep", "Fleet Manager", "CFO"]),
                    LeadSource=rng.choice(L.LEAD_SOURCES),
                    Distributor_Relationship_Type__c=rng.choice(L.RELATIONSHIP_TYPES) if partner else None,
                    Dealer_Tier__c=rng.choice(L.PARTNER_TIERS) if partner else None,
                    Authorization_Status__c=rng.choice(L.AUTHORIZATION_STATUSES) if partner else None,
                    HasOptedOutOfEmail=rng.random() < 0.07, OwnerId=self.owner(), **self.address("Mailing")))
                partner_flags.append(partner)
        bad = [i for i in range(5, len(records), max(1, len(records) // 3))][:2]
        for i, value in zip(bad, BAD_EMAILS[3:]):
            records[i]["Alternate_Email__c"] = value
            records[i]["OwnerId"] = self.clean_owner()
        for r in records[1::9]:
            r.setdefault("Alternate_Email__c", r.get("Email") and r["Email"].replace("@", ".home@"))
        ids = self.org.create(records)
        for i, value in zip(bad, BAD_EMAILS[3:]):
            self.defect("contacts", ids[i], "Alternate_Email__c", "INVALID_EMAIL",
                        "free-text alternate e-mail (Salesforce validates only e-mail fields)", value)
        # the same person entered twice at the same account
        src = [i for i, r in enumerate(records) if r.get("Email") and not partner_flags[i]][:2]
        dups = [dict(records[i], Phone=self.phone(), Alternate_Email__c=None, OwnerId=self.clean_owner()) for i in src]
        dup_ids = self.org.create(dups)
        for i, did in zip(src, dup_ids):
            self.defect("contacts", did, "Email", "DUPLICATE_SUSPECTED", f"same e-mail as {ids[i]}", records[i]["Email"])
        self.con_ids = ids + dup_ids
        self.con_records = records + dups
        self.con_partner = partner_flags + [False] * len(dups)
        self.con_account = [r["AccountId"] for r in self.con_records]
        self.ids["contacts"] = list(self.con_ids)
        for i, r in enumerate(self.con_records):
            if any(ord(ch) > 127 for ch in r["LastName"]):
                self.non_ascii.append({"object": "contacts", "source_id": self.con_ids[i], "field": "LastName",
                                       "value": r["LastName"]})
                break

    def partner_users(self) -> None:
        n = max(4, int(round(8 * math.sqrt(self.scale))))
        candidates = [i for i, p in enumerate(self.con_partner) if p and self.con_records[i].get("Email")]
        picked = candidates[::max(1, len(candidates) // n)][:n]
        records = []
        for i in picked:
            c = self.con_records[i]
            records.append(_rec("User", Username=c["Email"] + ".partner", Email=c["Email"], FirstName=c["FirstName"],
                                LastName=c["LastName"], Alias=(ascii_slug(c["FirstName"])[:1] + ascii_slug(c["LastName"])[:4]) or "prt",
                                TimeZoneSidKey="America/Chicago", LocaleSidKey="en_US", EmailEncodingKey="UTF-8",
                                LanguageLocaleKey="en_US", ProfileId=self.profiles["Partner Community User"],
                                ContactId=self.con_ids[i], CompanyName="Partner"))
        self.partner_ids = self.org.create(records)
        self.partner_emails = [r["Email"] for r in records]
        self.partner_account = {u: self.con_account[i] for u, i in zip(self.partner_ids, picked)}
        self.partner_contact = {u: self.con_ids[i] for u, i in zip(self.partner_ids, picked)}
        self.ids["partner_users"] = list(self.partner_ids)

    # -- leads ---------------------------------------------------------------------------------
    def qualification_notes(self, company: str) -> str:
        rng = self.rng
        items = [html.escape(rng.choice(NOTE_LINES).format(co=company, item=rng.choice(L.PRODUCT_INTEREST),
                                                           city=rng.choice(CITIES)[0]), quote=False).replace("&lt;b&gt;", "<b>").replace("&lt;/b&gt;", "</b>")
                 for _ in range(rng.randint(1, 3))]
        return "<p>" + "</p><p>".join(items) + "</p>" + ("<ul><li>Fleet: " + str(rng.randint(3, 80)) + " trucks</li></ul>"
                                                        if rng.random() < 0.5 else "")

    def leads(self) -> None:
        rng = self.rng
        n = self.n(800, 60)
        dealers = self.of_kind("Dealer", "Distributor")
        by_account = {}
        for u, a in self.partner_account.items():
            by_account.setdefault(a, []).append(u)
        records = []
        for i in range(n):
            first, last = self.person()
            company = f"{rng.choice(WORDS)} {rng.choice(SUFFIX)}"
            channel = rng.random() < 0.3
            partner_acc = rng.choice(list(by_account) if by_account and rng.random() < 0.5 else dealers) if channel else None
            owner = rng.choice(by_account[partner_acc]) if partner_acc in by_account and rng.random() < 0.7 else self.owner()
            status = rng.choices(L.LEAD_STATUSES, weights=[30, 30, 15 if channel else 2, 15, 10])[0]
            records.append(_rec(
                "Lead", FirstName=first, LastName=last, Company=company, Title=rng.choice(["Owner", "Buyer", "Ops Manager", None]),
                Email=f"{ascii_slug(first)}.{ascii_slug(last) or 'x'}{i}@{ascii_slug(company)[:18]}.example" if rng.random() > 0.1 else None,
                Phone=self.phone(), Website=self.website(ascii_slug(company)[:20] + ".example") if rng.random() > 0.5 else None,
                Status=status, LeadSource="Deal Registration" if channel and rng.random() < 0.5 else rng.choice(L.LEAD_SOURCES),
                Industry=rng.choice(INDUSTRIES), Rating=rng.choice(["Hot", "Warm", "Cold", None]),
                NumberOfEmployees=rng.randint(5, 2000), AnnualRevenue=rng.randint(1, 200) * 50000,
                Lead_Grade__c=rng.choice(L.LEAD_GRADES), Qualification_Score__c=rng.randint(0, 100),
                Product_Interest__c=";".join(rng.sample(L.PRODUCT_INTEREST, rng.randint(1, 3))),
                Qualification_Notes__c=self.qualification_notes(company) if rng.random() < 0.12 else None,
                Partner_Account__c=partner_acc, OwnerId=owner, **{k[len("Billing"):]: v for k, v in self.address("Billing").items()}))
        bad_email = [7, 19 % n, 41 % n]
        for i, value in zip(bad_email, BAD_EMAILS[:3]):
            records[i].update(Alternate_Email__c=value, OwnerId=self.clean_owner(), LeadSource="Web")
        unknown = [11, 23 % n, 47 % n]
        for i, value in zip(unknown, UNKNOWN_SOURCES):
            records[i].update(LeadSource=value, OwnerId=self.clean_owner())
        ids = self.org.create(records)
        for i, value in zip(bad_email, BAD_EMAILS[:3]):
            self.defect("leads", ids[i], "Alternate_Email__c", "INVALID_EMAIL",
                        "free-text alternate e-mail (Salesforce validates only e-mail fields)", value)
        for i, value in zip(unknown, UNKNOWN_SOURCES):
            self.defect("leads", ids[i], "LeadSource", "UNMAPPED_VALUE",
                        "LeadSource is an unrestricted picklist: the API kept a value that is not in its list", value)
        src = [i for i, r in enumerate(records) if r.get("Email") and i not in bad_email + unknown][:3]
        dups = [dict(records[i], Phone=self.phone(), OwnerId=self.clean_owner(), Qualification_Notes__c=None) for i in src]
        dup_ids = self.org.create(dups)
        for i, did in zip(src, dup_ids):
            self.defect("leads", did, "Email", "DUPLICATE_SUSPECTED", f"the same lead entered again ({ids[i]})", records[i]["Email"])
        self.lead_ids = ids + dup_ids
        self.ids["leads"] = list(self.lead_ids)
        notes = [(rid, r["Qualification_Notes__c"]) for rid, r in zip(ids, records) if r.get("Qualification_Notes__c")]
        for rid, body in notes[:2]:
            self.html_samples.append({"object": "leads", "source_id": rid, "field": "Qualification_Notes__c", "html": body,
                                      "expected_text": html_to_text(body)})

    # -- opportunities -----------------------------------------------------------------------------
    def opportunities(self) -> None:
        rng = self.rng
        customers = self.of_kind("End Customer")
        dealers = list(self.partner_account.values()) or self.of_kind("Dealer")
        records = []
        for i in range(self.n(350, 30)):
            channel = rng.random() < 0.4
            stages = L.CHANNEL_STAGES if channel else L.DIRECT_STAGES
            stage = rng.choices(stages, weights=[3] * (len(stages) - 2) + [4, 3])[0]
            closed = stage.startswith("Closed")
            won = stage == "Closed Won"
            acc = rng.choice(customers)
            partner = rng.choice(dealers) if channel else None
            owner = next((u for u, a in self.partner_account.items() if a == partner), None) if channel and rng.random() < 0.3 else None
            reasons = [r for r in L.CLOSE_REASONS if r.startswith("Won") == won]
            records.append(_rec(
                "Opportunity", AccountId=acc, Name=f"{rng.choice(L.PRODUCT_INTEREST)} - {rng.randint(2, 60)} units",
                StageName=stage, Amount=rng.randint(5, 900) * 1000, Probability=PROBABILITY[stage],
                CloseDate=self.day(400, 0) if closed else self.day(-1, 240), Type=rng.choice(OPP_TYPES),
                LeadSource=rng.choice(L.LEAD_SOURCES), NextStep=None if closed else rng.choice(["Send quote", "Site visit", "Demo", None]),
                Pipeline__c="Channel" if channel else "Direct",
                Close_Reason__c=rng.choice(reasons) if closed else None,
                Close_Reason_Details__c=rng.choice(["Lost on price to a regional competitor.", "Budget moved to next year.",
                                                    "Partner relationship decided it.", None]) if closed else None,
                Partner_Account__c=partner, OwnerId=owner or self.owner()))
        self.opp_ids = self.org.create(records)
        self.ids["opportunities"] = list(self.opp_ids)

    # -- campaigns -----------------------------------------------------------------------------------
    def campaigns(self) -> None:
        rng = self.rng
        n = self.n(10, 6)
        parents = self.org.create([
            _rec("Campaign", Name=f"{y} Channel Marketing", Type="Partners", Status="Completed" if y == 2023 else "In Progress",
                 StartDate=f"{y}-01-01", EndDate=f"{y}-12-31", BudgetedCost=250000, IsActive=y == 2024, OwnerId=self.user_ids[8 % len(self.user_ids)])
            for y in (2023, 2024)])
        records = []
        for i in range(n - 2):
            start = TODAY - dt.timedelta(days=rng.randint(10, 600))
            ctype = rng.choice(["Trade Show", "Webinar", "Email", "Direct Mail", "Partners", "Conference"])
            budget = rng.randint(5, 80) * 1000
            records.append(_rec("Campaign", Name=f"{ctype} {start:%b %Y} - {rng.choice(WORDS)}", Type=ctype,
                                Status="Completed" if start < TODAY - dt.timedelta(days=60) else rng.choice(["Planned", "In Progress"]),
                                StartDate=start.isoformat(), EndDate=(start + dt.timedelta(days=rng.randint(1, 45))).isoformat(),
                                BudgetedCost=budget, ActualCost=round(budget * rng.uniform(0.6, 1.2), 2),
                                ExpectedRevenue=budget * rng.randint(3, 12), ExpectedResponse=rng.randint(1, 15),
                                NumberSent=rng.randint(100, 5000), IsActive=True, ParentId=parents[i % 2],
                                Description=f"{ctype} for the {rng.choice(L.PRODUCT_INTEREST).lower()} line",
                                OwnerId=self.owner()))
        ids = self.org.create(records)
        self.camp_ids = parents + ids
        self.ids["campaigns"] = list(self.camp_ids)
        extra = [_rec("CampaignMemberStatus", CampaignId=cid, Label=label, HasResponded=label == "Attended", SortOrder=3 + k)
                 for cid, r in zip(ids, records) if r["Type"] in ("Trade Show", "Conference", "Webinar")
                 for k, label in enumerate(L.CAMPAIGN_MEMBER_STATUSES)]
        self.org.create(extra)
        statuses: dict[str, list[str]] = {}
        for s in self.org.query("SELECT CampaignId, Label FROM CampaignMemberStatus ORDER BY Id"):
            statuses.setdefault(s["CampaignId"], []).append(s["Label"])
        members, seen = [], set()
        for _ in range(self.n(500, 40)):
            cid = rng.choice(ids)
            lead = rng.random() < 0.6
            who = rng.choice(self.lead_ids if lead else self.con_ids)
            if (cid, who) in seen:
                continue
            seen.add((cid, who))
            members.append(_rec("CampaignMember", CampaignId=cid, **{"LeadId" if lead else "ContactId": who},
                                Status=rng.choice(statuses[cid])))
        self.ids["campaign_members"] = self.org.create(members)

    # -- activities ------------------------------------------------------------------------------------
    def activities(self) -> None:
        rng = self.rng
        accounts = self.of_kind("End Customer", "Dealer", "Distributor")
        tasks = []
        for i in range(self.n(900, 60)):
            on_lead = rng.random() < 0.35
            kind = rng.choices(["Call", "Email", "Task"], weights=[40, 25, 35])[0]
            done = rng.random() < 0.6
            rec = _rec("Task", WhoId=rng.choice(self.lead_ids if on_lead else self.con_ids),
                       WhatId=None if on_lead else rng.choice(self.opp_ids + accounts) if rng.random() < 0.7 else None,
                       Subject={"Call": rng.choice(["Call", "Follow-up call", "Intro call"]), "Email": "Email: quote follow-up",
                                "Task": rng.choice(["Send quote", "Prepare demo", "Update forecast", "Send Letter"])}[kind],
                       ActivityDate=self.day(300, 30), Status="Completed" if done else rng.choice(["Not Started", "In Progress", "Deferred"]),
                       Priority=rng.choice(["High", "Normal", "Normal", "Low"]), Type=kind if kind != "Task" else rng.choice(["Meeting", "Other"]),
                       TaskSubtype=kind, Description=rng.choice([None, "Left a message.", "Customer asked for references.",
                                                                 "Talked about the service plan; call back in Q4."]),
                       OwnerId=self.owner())
            if kind == "Call":
                rec.update(CallType=rng.choice(["Outbound", "Outbound", "Inbound", "Internal"]),
                           CallDurationInSeconds=rng.randint(15, 2400) if done else None,
                           CallDisposition=rng.choice(["Connected", "Left voicemail", "No answer", "Wrong number"]) if done else None)
            tasks.append(rec)
        insights = self.ids["_genius_gpt"]
        orphan_rows = [3, 17 % len(tasks), 29 % len(tasks)]
        for i, gid in zip(orphan_rows, insights):
            tasks[i].update(WhoId=rng.choice(self.con_ids), WhatId=gid, Subject="Review Genius GPT insight", OwnerId=self.clean_owner())
        self.ids["tasks"] = ids = self.org.create(tasks)
        for i, gid in zip(orphan_rows, insights):
            self.defect("tasks", ids[i], "WhatId", "ORPHAN_REFERENCE",
                        "related to a Genius GPT insight: an object that is not migrated", gid)
        events = []
        for i in range(self.n(300, 30)):
            on_lead = rng.random() < 0.25
            start = dt.datetime.combine(TODAY + dt.timedelta(days=rng.randint(-300, 60)), dt.time(rng.randint(7, 17), rng.choice([0, 15, 30, 45])))
            rec = _rec("Event", WhoId=rng.choice(self.lead_ids if on_lead else self.con_ids),
                       WhatId=None if on_lead else rng.choice(self.opp_ids + accounts) if rng.random() < 0.6 else None,
                       Subject=rng.choice(["Site visit", "Product demo", "Quarterly business review", "Dealer training", "Meeting"]),
                       Location=rng.choice(["Customer site", "Dealer showroom", "Teams", "HQ - Room 2", None]),
                       Type="Meeting", ShowAs="Busy", OwnerId=self.owner(),
                       Description=rng.choice([None, "Bring the telematics brochure.", "Agenda: fleet renewal, financing."]))
            if rng.random() < 0.07:
                rec.update(IsAllDayEvent=True, ActivityDate=start.date().isoformat(), Subject="Trade fair")
            elif rng.random() < 0.5:
                rec.update(StartDateTime=start.strftime("%Y-%m-%dT%H:%M:%SZ"), DurationInMinutes=rng.choice([30, 45, 60, 90, 120, 240]))
            else:
                end = start + dt.timedelta(minutes=rng.choice([30, 60, 90, 180]))
                rec.update(StartDateTime=start.strftime("%Y-%m-%dT%H:%M:%SZ"), EndDateTime=end.strftime("%Y-%m-%dT%H:%M:%SZ"))
            events.append(rec)
        self.ids["events"] = self.org.create(events)

    # -- partner access, Genius ---------------------------------------------------------------------
    def partner_access(self) -> None:
        rng = self.rng
        partner_contacts = [c for c, p in zip(self.con_ids, self.con_partner) if p]
        user_of = {c: u for u, c in self.partner_contact.items()}
        targets = self.of_kind("End Customer", "Dealer")
        records = []
        for i in range(self.n(60, 12)):
            contact = rng.choice(partner_contacts)
            start = TODAY - dt.timedelta(days=rng.randint(30, 900))
            structure = rng.choice(L.COMMISSION_STRUCTURES)
            records.append(_rec(
                "Partner_Access__c", Name=f"PA-{i + 1:05d}", Account__c=rng.choice(targets), Partner_Contact__c=contact,
                Partner_User__c=user_of.get(contact), Role__c=rng.choice(L.PARTNER_ROLES), Partner_Tier__c=rng.choice(L.PARTNER_TIERS),
                Authorization_Level__c=rng.choice(L.AUTHORIZATION_LEVELS), Commission_Structure__c=structure,
                Commission_Rate__c=None if structure == "Flat Fee" else rng.choice([2.5, 5, 7.5, 10, 12.5]),
                Access_Start__c=start.isoformat(), Access_End__c=(start + dt.timedelta(days=730)).isoformat() if rng.random() < 0.4 else None,
                Mobile_Access__c=rng.random() < 0.5, Portal_Visibility__c=rng.choice(L.PORTAL_VISIBILITY), OwnerId=self.owner()))
        blank = [4, 9]
        for i in blank:
            records[i].update(Partner_Contact__c=None, Partner_User__c=None, OwnerId=self.clean_owner())
        ids = self.org.create(records)
        for i in blank:
            self.defect("partner_access", ids[i], "Partner_Contact__c", "REQUIRED_MISSING",
                        "a portal record without its partner contact (not required in LeadSmart)", None)
        self.ids["partner_access"] = ids

    def genius(self) -> None:
        rng = self.rng
        feed = [_rec("Genius_Feed__c", Name=f"Recommendation {i + 1}", Account__c=rng.choice(self.acc_ids),
                     Recommendation__c=rng.choice(["Offer a service contract renewal.", "Cross-sell telematics.",
                                                   "Engage the dealer principal."]), Score__c=round(rng.uniform(0, 100), 2))
                for i in range(self.n(40, 5))]
        gpt = [_rec("Genius_GPT_Insight__c", Name=f"Insight {i + 1}", Opportunity__c=rng.choice(self.opp_ids),
                    Prompt__c="Summarise the deal risk.", Response__c=rng.choice(["Competitor pressure on price.",
                                                                                   "Champion left the company.",
                                                                                   "Strong partner relationship."]))
               for i in range(self.n(25, 5))]
        self.excluded = {"Genius_Feed__c": len(self.org.create(feed))}
        self.ids["_genius_gpt"] = self.org.create(gpt)
        self.excluded["Genius_GPT_Insight__c"] = len(self.ids["_genius_gpt"])

    # -- files, attachments, notes ---------------------------------------------------------------------------
    def content(self) -> None:
        rng = self.rng
        parents = self.opp_ids[:200] + self.of_kind("End Customer")[:200] + self.con_ids[:100]
        if self.with_files:
            attachments = []
            for i in range(self.n(30, 8)):
                ftype = rng.choice(["pdf", "txt", "png"])
                title = rng.choice(["Signed quote", "Site survey", "Floor plan", "Credit application", "Photo"])
                size = rng.randint(600, 12000)
                body = attachment_body(ftype, title, f"ATT-{i}", size)
                attachments.append(_rec("Attachment", ParentId=rng.choice(parents), Name=f"{title} {i + 1}.{ftype}",
                                        Body=_b64(body), ContentType={"pdf": "application/pdf", "txt": "text/plain",
                                                                      "png": "image/png"}[ftype], OwnerId=self.owner()))
            for i in range(0, len(attachments), 20):  # bodies make big requests: fewer records a call
                self.ids.setdefault("attachments", []).extend(self.org.create(attachments[i:i + 20]))
            files = []
            for i in range(self.n(30, 8)):
                ftype = rng.choice(["pdf", "docx", "xlsx", "txt"])
                title = rng.choice(["Price list", "Brochure", "Service agreement", "Fleet analysis", "Proposal"])
                body = attachment_body(ftype, title, f"DOC-{i}", rng.randint(1500, 30000))
                files.append(_rec("ContentVersion", Title=f"{title} {i + 1}", PathOnClient=f"{title} {i + 1}.{ftype}",
                                  VersionData=_b64(body), FirstPublishLocationId=rng.choice(parents), OwnerId=self.owner()))
            big_parent = self.opp_ids[0]
            files.append(_rec("ContentVersion", Title="Warehouse walkthrough video", PathOnClient="walkthrough.mp4",
                              VersionData=_b64(b"\0" * (self.file_limit + 4096)), FirstPublishLocationId=big_parent,
                              OwnerId=self.clean_owner()))
            files.append(_rec("ContentVersion", Title="Shared drive: CAD drawings", ContentUrl="https://drive.example.com/cad/rack-layout",
                              FirstPublishLocationId=big_parent, OwnerId=self.clean_owner()))
            version_ids = []
            for i in range(0, len(files), 10):
                version_ids += self.org.create(files[i:i + 10])
            docs = {v["Id"]: v["ContentDocumentId"] for v in self._in("ContentVersion", "Id, ContentDocumentId", version_ids)}
            doc_ids = [docs[v] for v in version_ids]
            # a few files shared with a second record
            self.org.create([_rec("ContentDocumentLink", ContentDocumentId=d, LinkedEntityId=rng.choice(self.con_ids), ShareType="V")
                             for d in doc_ids[:3]])
            links = self._links(doc_ids)
            self.ids["files"] = [lid for d in doc_ids for lid in links[d]]
            self.defect("files", links[doc_ids[-2]][0], "local_file", "FILE_TOO_LARGE",
                        f"{self.file_limit + 4096} bytes: over the {self.file_limit}-byte limit this demo gives the destination",
                        files[-2]["PathOnClient"])
            self.defect("files", links[doc_ids[-1]][0], "local_file", "FILE_LINKED",
                        "a web link (ContentUrl): no body to download, loaded as a link", files[-1]["ContentUrl"])
        notes = []
        for i in range(self.n(50, 8)):
            lines = [html.escape(rng.choice(NOTE_LINES).format(co=rng.choice(WORDS), item=rng.choice(L.PRODUCT_INTEREST),
                                                                city=rng.choice(CITIES)[0]), quote=False)
                     .replace("&lt;b&gt;", "<b>").replace("&lt;/b&gt;", "</b>") for _ in range(rng.randint(1, 4))]
            body = "<p>" + "</p><p>".join(lines) + "</p>"
            if i % 7 == 3:
                body += "<p>Contact: J\u00fcrgen Wei\u00df &amp; Zo\u00eb \u00c5ngstr\u00f6m</p>"
            notes.append((rng.choice(self.lead_ids + self.con_ids + self.opp_ids), body))
        note_ids = self.org.create([_rec("ContentNote", Title=f"Note {i + 1}", Content=_b64(body), OwnerId=self.owner())
                                    for i, (_, body) in enumerate(notes)])
        self.org.create([_rec("ContentDocumentLink", ContentDocumentId=nid, LinkedEntityId=parent, ShareType="V")
                         for nid, (parent, _) in zip(note_ids, notes)]
                        + [_rec("ContentDocumentLink", ContentDocumentId=note_ids[0], LinkedEntityId=self.acc_ids[-1], ShareType="V")])
        links = self._links(note_ids)
        self.ids["notes"] = [lid for d in note_ids for lid in links[d]]
        for nid, (_, body) in list(zip(note_ids, notes))[:2]:
            self.html_samples.append({"object": "notes", "source_id": links[nid][0], "field": "Content", "html": body,
                                      "expected_text": html_to_text(body)})

    def _in(self, sobject: str, fields: str, ids: list[str], key: str = "Id") -> list[dict]:
        out = []
        for i in range(0, len(ids), BATCH):
            quoted = ",".join(f"'{x}'" for x in ids[i:i + BATCH])
            out += self.org.query(f"SELECT {fields} FROM {sobject} WHERE {key} IN ({quoted})")
        return out

    def _links(self, doc_ids: list[str]) -> dict[str, list[str]]:
        """Each document's links to records (not to users), in Id order."""
        out: dict[str, list[str]] = {d: [] for d in doc_ids}
        for r in sorted(self._in("ContentDocumentLink", "Id, ContentDocumentId, LinkedEntity.Type", doc_ids, "ContentDocumentId"),
                        key=lambda r: r["Id"]):
            if (r.get("LinkedEntity") or {}).get("Type") != "User":
                out[r["ContentDocumentId"]].append(r["Id"])
        return out

    # -- everything ---------------------------------------------------------------------------------------
    def run(self) -> dict:
        apply_leadsmart_schema(self.org)
        self.users()
        self.accounts()
        self.contacts()
        self.partner_users()
        self.leads()
        self.opportunities()
        self.genius()
        self.campaigns()
        self.activities()
        self.partner_access()
        self.content()
        # someone has left: their records stay theirs, their user is deactivated
        self.org.update([_rec("User", Id=self.user_ids[self.left], IsActive=False)])
        return self.truth()

    def truth(self) -> dict:
        rows = {name: {rid: n for n, rid in enumerate(sorted(ids), 1)} for name, ids in self.ids.items()}
        for d in self.defects:
            d["source_row"] = rows[d["object"]][d["source_id"]]
        counts = {}
        for name, lay in L.LAYOUTS.items():
            if lay.body in ("file", "note"):
                counts[name] = len(self.ids.get(name, []))
            else:
                where = f" WHERE {lay.where}" if lay.where else ""
                counts[name] = self.org.call(lambda sf: sf.query(f"SELECT COUNT() FROM {lay.file}{where}"))["totalSize"]
        users = self.user_people
        return {
            "seed": self.seed, "scale": self.scale, "with_files": self.with_files, "file_limit_bytes": self.file_limit,
            "counts": counts, "excluded_counts": self.excluded, "defects": self.defects,
            "internal_users": users,
            "unmatched_owner_emails": [users[i]["email"] for i in self.unmatched],
            "inactive_owner_emails": [users[i]["email"] for i in self.disabled],
            "source_inactive_user_emails": [users[self.left]["email"]],
            "partner_owner_emails": self.partner_emails,
            "html_samples": self.html_samples, "non_ascii_samples": self.non_ascii[:4],
            "html_text_rule": "<br> and closing p/div/li/tr/h*/blockquote -> line break; other tags removed; entities "
                              "decoded (&nbsp; -> space); spaces collapsed per line; lines trimmed; blank lines dropped",
            "not_plantable": {
                "INVALID_EMAIL in e-mail fields": "Salesforce validates e-mail fields; bad addresses are in Alternate_Email__c",
                "INVALID_DATE": "dates are typed fields: one format (ISO 8601)",
                "DUPLICATE_SOURCE_ID": "Salesforce Ids are unique",
                "UNPARSEABLE_ROW": "records come from the API, not a CSV file",
                "HIERARCHY_CYCLE": "Salesforce refuses an account hierarchy cycle",
                "FILE_MISSING": "an org has every body it lists; a body that cannot be downloaded keeps its path and is "
                                "reported missing by the pipeline",
            },
        }


def _domain(website: str) -> str:
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", website.strip().lower())
    return re.sub(r"^www\d*\.", "", re.sub(r"[/?#:].*$", "", host))


# ---------------------------------------------------------------------------------------------
# Public entry points


def seed_org(url: str, client_id: str, client_secret: str, ca_file: str | None, seed: int = 7, scale: float = 1.0,
             out_dir: Path | str = ".", *, with_files: bool = True, file_limit_bytes: int = DEFAULT_FILE_LIMIT) -> Path:
    """Make the org at ``url`` a messy LeadSmart org; write ``out_dir/_generator_truth.json`` and return its path.

    Run it once against a fresh org (a second run adds a second data set). ``file_limit_bytes``: the
    destination's file limit the over-size file is planted against.
    """
    org = _Org(url, client_id, client_secret, ca_file)
    truth = _Seeder(org, int(seed), float(scale), with_files, int(file_limit_bytes)).run()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / TRUTH_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(truth, indent=1, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    tmp.replace(path)
    return path


def load_truth(out_dir: Path | str) -> dict:
    return json.loads((Path(out_dir) / TRUTH_FILE).read_text(encoding="utf-8"))


def destination_users(out_dir: Path | str) -> list[dict]:
    """The Dynamics 365 users the demo destination should have: the internal users, except those without a
    Dynamics user; the disabled one is there with ``IsActive`` false. Partner users are never among them."""
    truth = load_truth(out_dir)
    missing = {e.casefold() for e in truth["unmatched_owner_emails"]}
    disabled = {e.casefold() for e in truth["inactive_owner_emails"]}
    return [{"Email": u["email"], "FirstName": u["first_name"], "LastName": u["last_name"],
             "IsActive": u["email"].casefold() not in disabled}
            for u in truth["internal_users"] if u["email"].casefold() not in missing]


TOUCHED = {"leads": ("Lead", {"Rating": "Hot"}), "accounts": ("Account", {"Description": "Updated during cutover"}),
           "opportunities": ("Opportunity", {"NextStep": "Cutover follow-up"})}


def touch_records(url: str, client_id: str, client_secret: str, ca_file: str | None, per_object: int = 2) -> dict[str, list[str]]:
    """Change a few records of some objects (their SystemModstamp moves); returns object -> the ids touched."""
    org = _Org(url, client_id, client_secret, ca_file)
    touched = {}
    for name, (sobject, values) in TOUCHED.items():
        ids = [r["Id"] for r in org.query(f"SELECT Id FROM {sobject} ORDER BY Id LIMIT {per_object}")]
        org.update([_rec(sobject, Id=i, **values) for i in ids])
        touched[name] = ids
    return touched
