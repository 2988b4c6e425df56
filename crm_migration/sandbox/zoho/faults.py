"""Fault injection, as in the Salesforce sandbox (see its ``faults.py`` for the draws and their order),
applied to the Zoho API paths (``/crm/...`` by default). ``expire_session_rate`` revokes the access
token and answers 401 INVALID_TOKEN, which is what Zoho answers for an expired token."""

from __future__ import annotations

from dataclasses import dataclass

from crm_migration.sandbox.salesforce.faults import FaultConfig as _FaultConfig


@dataclass
class FaultConfig(_FaultConfig):
    path_prefix: str = "/crm"
