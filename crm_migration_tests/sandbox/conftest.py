"""Fixtures: one Salesforce sandbox per test module, reached over verified TLS."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from simple_salesforce import Salesforce

from crm_migration.sandbox import SandboxHandle, start_sandbox

API_VERSION = "59.0"


def get_token(handle: SandboxHandle) -> str:
    creds = handle.credentials
    resp = requests.post(handle.token_url, data={"grant_type": "client_credentials", "client_id": creds["client_id"],
                                                 "client_secret": creds["client_secret"]},
                         verify=str(handle.ca_file), timeout=30)
    resp.raise_for_status()
    return resp.json()["access_token"]


def client_session(handle: SandboxHandle) -> requests.Session:
    """A session that trusts the sandbox CA. ``trust_env`` is off because requests lets
    REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from the environment override ``session.verify``."""
    session = requests.Session()
    session.verify = str(handle.ca_file)
    session.trust_env = False
    return session


def connect(handle: SandboxHandle) -> Salesforce:
    session = client_session(handle)
    return Salesforce(instance_url=handle.url, session_id=get_token(handle), session=session, version=API_VERSION)


@pytest.fixture(scope="module")
def sandbox_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sf-sandbox")


@pytest.fixture(scope="module")
def sandbox(sandbox_dir: Path):
    handle = start_sandbox("salesforce", sandbox_dir)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture()
def sf(sandbox: SandboxHandle) -> Salesforce:
    sandbox.clear_faults()
    return connect(sandbox)
