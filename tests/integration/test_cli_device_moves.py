"""`onboard devices reprovision` and `onboard devices replace` as the operator types them
(SPEC D6, D7), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

from typer.testing import Result

from onboard.bootstrap import Container
from onboard.services.devices import get_device
from onboard.services.provisioning import checkin
from tests import factories
from tests.provisioning import activated, environment, new_group, register


def test_the_operator_moves_a_device_to_another_environment_and_organization(
    run: Callable[..., Result], container: Container, org: factories.Org
) -> None:
    svc = container.services
    first, second = environment(svc), environment(svc)
    made = new_group(svc, org, environments=(first, second))
    register(svc, made, "SN-1")
    done = activated(svc, made, "SN-1")
    other = factories.make_org(svc)

    moved = run(
        "devices", "reprovision", "--org", org.organization.name, done.device_id,
        "--environment", second, "--to-org", other.organization.name,
    )  # fmt: skip

    assert moved.exit_code == 0, moved.output
    assert f"is now in organization {other.organization.id}, {second}" in moved.stdout
    assert get_device(svc, other.actor, done.device_id).serial == "SN-1"
    again = run("devices", "reprovision", "--org", other.organization.id, done.device_id,
                "--environment", "no-such-environment")  # fmt: skip
    assert again.exit_code == 1
    assert "No environment 'no-such-environment'" in again.stderr


def test_the_operator_replaces_a_devices_hardware_and_a_refusal_says_why(
    run: Callable[..., Result], container: Container, org: factories.Org
) -> None:
    svc = container.services
    made = new_group(svc, org, reprovision_policy="never")
    register(svc, made, "OLD-1", "NEW-1")
    done = activated(svc, made, "OLD-1")

    refused = run("devices", "reprovision", "--org", org.organization.id, done.device_id)
    assert refused.exit_code == 1
    assert "reprovision policy" in refused.stderr
    unknown = run("devices", "replace", "--org", org.organization.id, done.device_id,
                  "--serial", "NOT-REGISTERED")  # fmt: skip
    assert unknown.exit_code == 1
    assert "not registered" in unknown.stderr
    replaced = run("devices", "replace", "--org", org.organization.id, done.device_id,
                   "--serial", "NEW-1")  # fmt: skip

    assert replaced.exit_code == 0, replaced.output
    assert "is now serial 'NEW-1'" in replaced.stdout
    assert checkin.holder(svc, done.credential) is None
    assert activated(svc, made, "NEW-1").device_id == done.device_id
