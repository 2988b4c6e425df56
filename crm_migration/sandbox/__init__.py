"""Local sandboxes of the destination CRMs (HTTPS servers on loopback).

See DESIGN.md, "The sandboxes". :func:`start_sandbox` launches one as its own process;
:class:`SandboxHandle` reaches it and drives its admin API.
"""

from crm_migration.sandbox.process import SandboxError, SandboxHandle, start_sandbox

__all__ = ["SandboxError", "SandboxHandle", "start_sandbox"]
