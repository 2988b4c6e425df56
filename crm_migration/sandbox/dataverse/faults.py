"""Fault injection for the Dataverse sandbox: the Salesforce sandbox's fault model (see
``crm_migration.sandbox.salesforce.faults``) applied to the Web API (``/api/data``). Faults answer
in Dataverse's shapes: 429 service-protection errors with ``Retry-After``, 503/500, dropped
connections, and 401 with ``WWW-Authenticate`` for an expired (revoked) token."""

from __future__ import annotations

from dataclasses import dataclass

from crm_migration.sandbox.salesforce.faults import FaultConfig


@dataclass
class DataverseFaults(FaultConfig):
    path_prefix: str = "/api/data"
