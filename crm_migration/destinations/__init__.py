"""Destination CRMs: one module each, behind the interface in :mod:`.base`.

This registry is the one place that names them all: for each destination, its resource class, the
environment variables its settings come from (read when a run builds the resource, never at
import), and which variables a local sandbox of that kind fills in (the demo and the tests point a
destination at a sandbox exactly as a user points it at a real org: through the environment).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field

from dagster import EnvVar


@dataclass(frozen=True)
class DestinationKind:
    name: str
    resource_class: str  # "module:Class"
    settings: dict[str, str]  # required resource setting -> environment variable; the first is the org's URL
    # Settings a real org may leave unset: the CLI passes them when set; a Dagster run's resource reads
    # them itself when it connects (an unset EnvVar would fail the run).
    optional: dict[str, str] = field(default_factory=dict)
    sandbox: dict[str, str] = field(default_factory=dict)  # environment variable -> sandbox value ("url", "ca_file", credential name)
    automation_tool: str = ""  # where the rebuild reference tells an admin to rebuild workflows

    def cls(self):
        module, name = self.resource_class.split(":")
        return getattr(importlib.import_module(module), name)

    def resource(self):
        """The Dagster resource: every required setting an EnvVar, resolved when a run builds it."""
        return self.cls()(**{k: EnvVar(v) for k, v in self.settings.items()})

    def from_env(self):
        """The destination built from the environment now (the CLI's commands)."""
        missing = [v for v in self.settings.values() if not os.environ.get(v)]
        if missing:
            raise SystemExit(f"{self.name}: set {', '.join(missing)} (or run `crm-migration demo`, which uses the local sandbox)")
        values = {k: os.environ[v] for k, v in self.settings.items()}
        values |= {k: os.environ[v] for k, v in self.optional.items() if os.environ.get(v)}
        return self.cls()(**values)

    def point_at_sandbox(self, handle) -> None:
        """Fill this destination's environment variables from a running sandbox."""
        for var, what in self.sandbox.items():
            if what == "url":
                value = handle.url
            elif what == "ca_file":
                value = str(handle.ca_file)
            elif what.startswith("url+"):
                value = handle.url + what[len("url+"):].format(**handle.credentials)
            else:
                value = handle.credentials[what]
            os.environ[var] = value


KINDS: dict[str, DestinationKind] = {
    k.name: k
    for k in (
        DestinationKind(
            "salesforce", "crm_migration.destinations.salesforce:SalesforceDestination",
            settings={"instance_url": "SALESFORCE_INSTANCE_URL", "client_id": "SALESFORCE_CLIENT_ID",
                      "client_secret": "SALESFORCE_CLIENT_SECRET"},
            optional={"ca_file": "SALESFORCE_CA_FILE"},
            sandbox={"SALESFORCE_INSTANCE_URL": "url", "SALESFORCE_CLIENT_ID": "client_id",
                     "SALESFORCE_CLIENT_SECRET": "client_secret", "SALESFORCE_CA_FILE": "ca_file"},
            automation_tool="Salesforce Flow (record-triggered or scheduled flows; Apex where Flow cannot)",
        ),
        DestinationKind(
            "zoho", "crm_migration.destinations.zoho:ZohoDestination",
            settings={"api_domain": "ZOHO_API_DOMAIN", "accounts_url": "ZOHO_ACCOUNTS_URL",
                      "file_upload_url": "ZOHO_FILE_UPLOAD_URL", "client_id": "ZOHO_CLIENT_ID",
                      "client_secret": "ZOHO_CLIENT_SECRET"},
            optional={"refresh_token": "ZOHO_REFRESH_TOKEN", "ca_file": "ZOHO_CA_FILE"},
            sandbox={"ZOHO_API_DOMAIN": "url", "ZOHO_ACCOUNTS_URL": "url", "ZOHO_FILE_UPLOAD_URL": "url",
                     "ZOHO_CLIENT_ID": "client_id", "ZOHO_CLIENT_SECRET": "client_secret",
                     "ZOHO_REFRESH_TOKEN": "refresh_token", "ZOHO_CA_FILE": "ca_file"},
            automation_tool="Zoho CRM Blueprint and Workflow Rules",
        ),
        DestinationKind(
            "dataverse", "crm_migration.destinations.dataverse:DataverseDestination",
            settings={"environment_url": "DATAVERSE_ENVIRONMENT_URL", "authority": "DATAVERSE_AUTHORITY",
                      "client_id": "DATAVERSE_CLIENT_ID", "client_secret": "DATAVERSE_CLIENT_SECRET"},
            optional={"ca_file": "DATAVERSE_CA_FILE"},
            sandbox={"DATAVERSE_ENVIRONMENT_URL": "url", "DATAVERSE_AUTHORITY": "url+/{tenant_id}",
                     "DATAVERSE_CLIENT_ID": "client_id", "DATAVERSE_CLIENT_SECRET": "client_secret",
                     "DATAVERSE_CA_FILE": "ca_file"},
            automation_tool="Power Automate (cloud flows) and Dataverse business rules",
        ),
    )
}


def destination_kind(name: str) -> DestinationKind:
    try:
        return KINDS[name]
    except KeyError:
        raise KeyError(f"unknown destination {name!r}; known: {sorted(KINDS)}") from None
