"""LeadSmart Channel Cloud: a channel-sales CRM built on Salesforce, read through the Salesforce API.

Unlike the export-folder sources, a LeadSmart source's location is its org's URL
(``https://yourcompany.my.salesforce.com``, or a local Salesforce sandbox's URL); the credentials
come from ``LEADSMART_CLIENT_ID``, ``LEADSMART_CLIENT_SECRET`` and, for a private CA,
``LEADSMART_CA_FILE``, read when a read starts. See :mod:`.layout` for the objects and fields,
:mod:`.reader` for how they are read, and :mod:`.generator` for the seeded demo org.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from crm_migration.sources.base import ExportAliases, ExportRead
from crm_migration.sources.leadsmart.layout import LAYOUTS, ApiObjectLayout


class LeadSmartSource:
    """The LeadSmart API source (satisfies :class:`crm_migration.sources.base.Source`).

    ``bulk_threshold``: from this many records on, an object is read with a Bulk API 2.0 query job
    (REST queries below it). ``bulk_poll_seconds``: how long to wait between polls of a job
    (simple-salesforce waits 5 s unless told otherwise).
    """

    name = "leadsmart"
    layouts: dict[str, ApiObjectLayout] = LAYOUTS

    def __init__(self, bulk_threshold: int = 10_000, bulk_poll_seconds: float = 0.2) -> None:
        self.bulk_threshold = bulk_threshold
        self.bulk_poll_seconds = bulk_poll_seconds

    def _reader(self, location):
        from crm_migration.sources.leadsmart.reader import Reader

        return Reader(str(location), self.bulk_threshold, self.bulk_poll_seconds)

    def read(self, location: str | Path, object_name: str, aliases: ExportAliases | None = None,
             since: str | None = None) -> ExportRead:
        """One object of the org as text; ``since`` (ISO 8601): only records modified after it."""
        from crm_migration.sources.leadsmart.reader import read_object

        try:
            layout = self.layouts[object_name]
        except KeyError:
            raise KeyError(f"{self.name} has no object {object_name!r}; objects: {sorted(self.layouts)}") from None
        return read_object(self._reader(location), layout, aliases or ExportAliases(), since)

    def watermark(self, location: str | Path, aliases: ExportAliases | None = None) -> str:
        """ISO 8601 UTC: the newest SystemModstamp across the objects read."""
        from crm_migration.sources.leadsmart.reader import watermark

        return watermark(self._reader(location), aliases or ExportAliases())

    def files_root(self, location: str | Path) -> Path:
        """The local folder the bodies are downloaded to (``local_file`` is relative to its ``files/``)."""
        from crm_migration.sources.leadsmart.reader import files_root

        return files_root(str(location))

    def generate(self, out_dir: Path, *, seed: int = 7, scale: float = 1.0, with_files: bool = True) -> Path:
        """Seed a new local Salesforce sandbox under ``out_dir/org`` as a LeadSmart org, then stop it.

        An API source has no export to write: the result is the sandbox's state (served again with
        ``crm-migration sandbox serve salesforce --state-dir OUT/org``; its credentials are in
        ``OUT/org/credentials.json``) and ``OUT/_generator_truth.json``. Returns ``out_dir``.
        """
        from crm_migration.sandbox import start_sandbox
        from crm_migration.sources.leadsmart.generator import seed_org

        out_dir = Path(out_dir)
        with start_sandbox("salesforce", out_dir / "org") as org:
            creds = org.credentials
            seed_org(org.url, creds["client_id"], creds["client_secret"], str(org.ca_file), seed=seed, scale=scale,
                     out_dir=out_dir, with_files=with_files)
        return out_dir

    def demo_input(self, state_dir: Path, *, seed: int, scale: float, stack) -> tuple[str, list[dict]]:
        """For the demo: a local sandbox as the LeadSmart org (seeded once), its URL and the destination users.

        Sets ``LEADSMART_CLIENT_ID`` / ``_CLIENT_SECRET`` / ``_CA_FILE`` for the run; the sandbox
        stops with ``stack``. The port is kept between demos so that the org's URL (the runs'
        location) stays the same.
        """
        from crm_migration.sandbox import SandboxError, start_sandbox
        from crm_migration.sources.leadsmart.generator import TRUTH_FILE, destination_users, seed_org

        state_dir = Path(state_dir)
        port_file = state_dir / "port.json"
        port = json.loads(port_file.read_text())["port"] if port_file.exists() else 0
        try:
            org = stack.enter_context(start_sandbox("salesforce", state_dir / "org", port=port))
        except SandboxError:
            org = stack.enter_context(start_sandbox("salesforce", state_dir / "org"))
        state_dir.mkdir(parents=True, exist_ok=True)
        port_file.write_text(json.dumps({"port": int(org.url.rsplit(":", 1)[1])}))
        creds = org.credentials
        os.environ.update({"LEADSMART_CLIENT_ID": creds["client_id"], "LEADSMART_CLIENT_SECRET": creds["client_secret"],
                           "LEADSMART_CA_FILE": str(org.ca_file)})
        if not (state_dir / TRUTH_FILE).exists():
            seed_org(org.url, creds["client_id"], creds["client_secret"], str(org.ca_file), seed=seed, scale=scale,
                     out_dir=state_dir)
        return org.url, destination_users(state_dir)

    def __repr__(self) -> str:
        return f"<Source {self.name}>"


SOURCE = LeadSmartSource()

__all__ = ["SOURCE", "LeadSmartSource"]
