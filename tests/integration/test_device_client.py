"""The reference device client (`onboard device pair`) against a real server over HTTP, on
SQLite and PostgreSQL (SPEC B5, B7, §5, §6): it keeps the credential in a file only its
owner may read, never prints it, and explains a refusal with the server's detail."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from onboard.device import store
from onboard.device.client import server_of
from onboard.domain.values import digest_secret
from onboard.entrypoints.cli import app
from onboard.services import licensing
from onboard.services.devices import delete_device
from onboard.services.ports import Services
from tests.conftest import LiveServer
from tests.factories import Org, make_org, unique


@pytest.fixture
def svc(live_server: LiveServer) -> Services:
    """The services over the live server's database (not a database of the test's own)."""
    return live_server.container.services


@pytest.fixture
def org(svc: Services) -> Org:
    return make_org(svc)


def device(*args: str) -> Result:
    """`onboard device ...` as a person types it."""
    return CliRunner().invoke(app, ["device", *args])


def product_with_licenses(svc: Services, org: Org, count: int) -> str:
    product = licensing.create_product(svc, org.actor, name=unique("Handheld app"))
    licensing.grant_licenses(svc, org.actor, product.id, count=count, expires_at=None)
    return product.id


def test_pairing_from_the_scanned_link_stores_the_credential_in_a_private_file(
    svc: Services, org: Org, live_server: LiveServer, tmp_path: Path
) -> None:
    """B5: the server comes from the link; the file is 0600 and holds the credential the
    server knows; the output names the device and the file, never the credential."""
    product_id = product_with_licenses(svc, org, 1)
    made = licensing.create_configuration(svc, org.actor, product_id, name="v1", body={"a": 1})
    issued = licensing.create_pairing_code(svc, org.actor, product_id)
    state_file = tmp_path / "state" / "device.json"

    result = device(
        "pair", issued.url, "--hardware-id", "HW-CLI-1", "--state-file", str(state_file)
    )

    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    saved = json.loads(state_file.read_text())
    assert saved["server"] == live_server.url
    assert saved["configuration"] == {"id": made.id, "etag": made.etag, "body": {"a": 1}}
    assert saved["device_id"] in result.output
    assert str(state_file) in result.output
    assert saved["credential"] not in result.output
    with svc.uow() as uow:
        known = uow.client_devices.by_credential(digest_secret(saved["credential"]))
    assert known is not None
    assert (known.device_id, known.hardware_id) == (saved["device_id"], "HW-CLI-1")
    assert store.load(state_file) == store.DeviceState(**saved)


def test_pairing_again_replaces_the_stored_credential_and_keeps_the_file_private(
    svc: Services, org: Org, tmp_path: Path
) -> None:
    """B5: the same hardware again keeps its device; the new credential replaces the old,
    even over a file someone made readable meanwhile."""
    product_id = product_with_licenses(svc, org, 2)
    issued = licensing.create_pairing_code(svc, org.actor, product_id)
    state_file = tmp_path / "device.json"
    args = ["pair", issued.url, "--hardware-id", "HW-CLI-2", "--state-file", str(state_file)]
    assert device(*args).exit_code == 0
    first = json.loads(state_file.read_text())
    state_file.chmod(0o644)

    result = device(*args)

    assert result.exit_code == 0, result.output
    again = json.loads(state_file.read_text())
    assert again["device_id"] == first["device_id"]
    assert again["credential"] != first["credential"]
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600


def test_a_bare_code_needs_the_server_given(
    svc: Services, org: Org, live_server: LiveServer, tmp_path: Path
) -> None:
    product_id = product_with_licenses(svc, org, 1)
    issued = licensing.create_pairing_code(svc, org.actor, product_id)
    state_file = tmp_path / "device.json"

    without = device("pair", issued.text, "--hardware-id", "HW-3", "--state-file", str(state_file))
    with_server = device(
        "pair", issued.text, "--server", live_server.url, "--hardware-id", "HW-3",
        "--state-file", str(state_file),
    )  # fmt: skip

    assert without.exit_code == 2
    assert "--server" in without.output
    assert with_server.exit_code == 0, with_server.output
    assert json.loads(state_file.read_text())["server"] == live_server.url


def test_a_refused_pairing_exits_non_zero_with_the_servers_detail_and_stores_nothing(
    svc: Services, org: Org, tmp_path: Path
) -> None:
    """B7: the problem's detail and code reach the person; no state file is written."""
    product_id = product_with_licenses(svc, org, 1)
    issued = licensing.create_pairing_code(svc, org.actor, product_id)
    licensing.revoke_pairing_code(svc, org.actor, issued.code.id)
    state_file = tmp_path / "device.json"

    result = device("pair", issued.url, "--hardware-id", "HW-4", "--state-file", str(state_file))

    assert result.exit_code == 1
    assert "This pairing code was revoked; ask for a new one." in result.output
    assert "pairing_code_revoked" in result.output
    assert not state_file.exists()


def test_an_unreachable_server_exits_non_zero_with_a_message(tmp_path: Path) -> None:
    state_file = tmp_path / "device.json"

    result = device(
        "pair", "0" * 20, "--server", "http://127.0.0.1:9", "--hardware-id", "HW-5",
        "--state-file", str(state_file),
    )  # fmt: skip

    assert result.exit_code == 1
    assert "cannot be reached" in result.output
    assert not state_file.exists()


@pytest.mark.parametrize(
    ("scanned", "server"),
    [
        ("https://onboard.example.com/p/0123456789ABCDEFGHJK", "https://onboard.example.com"),
        ("HTTP://10.0.0.5:8000/p/0123456789ABCDEFGHJK", "http://10.0.0.5:8000"),
        ("0123456789ABCDEFGHJK", None),
        ("onboard.example.com/p/0123456789ABCDEFGHJK", None),
    ],
)
def test_the_server_is_the_scheme_host_and_port_of_a_scanned_link(
    scanned: str, server: str | None
) -> None:
    assert server_of(scanned) == server


def test_run_applies_a_changed_configuration_and_forgets_the_credential_once_removed(
    svc: Services, org: Org, tmp_path: Path
) -> None:
    """§6, B8, B9: `onboard device run` checks in; a new configuration lands in the state
    file; after the device is removed it acknowledges `unpair` and deletes the file."""
    product_id = product_with_licenses(svc, org, 1)
    licensing.create_configuration(svc, org.actor, product_id, name="v1", body={"a": 1})
    issued = licensing.create_pairing_code(svc, org.actor, product_id)
    state_file = tmp_path / "device.json"
    assert (
        device(
            "pair", issued.url, "--hardware-id", "HW-RUN", "--state-file", str(state_file)
        ).exit_code
        == 0
    )
    device_id = json.loads(state_file.read_text())["device_id"]

    quiet = device("run", "--once", "--state-file", str(state_file))
    assert quiet.exit_code == 0, quiet.output
    assert quiet.output == ""  # nothing changed
    newer = licensing.create_configuration(svc, org.actor, product_id, name="v2", body={"a": 2})
    licensing.assign_configuration(svc, org.actor, newer.id, [device_id])
    applied = device("run", "--once", "--state-file", str(state_file))
    assert applied.exit_code == 0, applied.output
    assert f"configuration {newer.id} applied" in applied.output
    assert json.loads(state_file.read_text())["configuration"]["etag"] == newer.etag

    delete_device(svc, org.actor, device_id)
    removed = device("run", "--state-file", str(state_file), "--interval", "1")
    assert removed.exit_code == 0, removed.output
    assert "unpaired" in removed.output
    assert not state_file.exists()
    after = device("run", "--once", "--state-file", str(state_file))
    assert after.exit_code == 1
    assert "Not paired" in after.output
