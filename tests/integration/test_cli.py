"""The `onboard` CLI on each backend: init, tokens, demo, config, errors and exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from onboard.adapters.db.migrate import alembic_config
from onboard.bootstrap import Container
from onboard.domain.errors import Unauthenticated
from onboard.services import auth, codes, devices
from onboard.services.ports import CodeFilter, DeviceFilter, PageRequest
from tests.factories import make_org


def test_init_creates_an_organization_whose_one_time_password_signs_in(
    run, container: Container
) -> None:
    result = run("init", "--org", "Acme Field Service", "--admin", "Boss@Example.com")

    assert result.exit_code == 0, result.output
    password = result.output.split("one-time password: ")[1].split()[0]
    signed_in = auth.sign_in(
        container.services,
        container.sign_in_policy,
        email="boss@example.com",
        password=password,
        source_ip=None,
    )
    assert [c.organization_name for c in signed_in.contexts] == ["Acme Field Service"]


def test_init_with_an_existing_person_adds_a_membership_and_keeps_the_password(
    run, container: Container
) -> None:
    first = run("init", "--org", "First", "--admin", "ops@example.com")
    password = first.output.split("one-time password: ")[1].split()[0]

    second = run("init", "--org", "Second", "--admin", "ops@example.com")

    assert second.exit_code == 0, second.output
    assert "already had an account" in second.output
    signed_in = auth.sign_in(
        container.services,
        container.sign_in_policy,
        email="ops@example.com",
        password=password,
        source_ip=None,
    )
    assert sorted(c.organization_name for c in signed_in.contexts) == ["First", "Second"]


def test_init_refuses_a_taken_name_and_a_bad_email_with_a_message_and_status(run) -> None:
    assert run("init", "--org", "Taken", "--admin", "a@example.com").exit_code == 0

    taken = run("init", "--org", "Taken", "--admin", "b@example.com")
    bad_email = run("init", "--org", "Other", "--admin", "not-an-email")

    assert taken.exit_code == 1
    assert "exists already" in taken.output
    assert bad_email.exit_code == 2
    assert "valid email" in bad_email.output


def test_tokens_create_prints_a_token_that_authenticates_as_the_member(
    run, container: Container
) -> None:
    org = make_org(container.services)

    result = run("tokens", "create", "--email", org.admin.email, "--name", "deploy script")

    assert result.exit_code == 0, result.output
    token = result.output.strip()
    actor = auth.authenticate_token(container.services, token, source_ip=None)
    assert actor.member_id == org.admin.id
    with pytest.raises(Unauthenticated):
        auth.authenticate_token(container.services, token + "x", source_ip=None)


def test_tokens_create_for_an_unknown_email_fails(run) -> None:
    result = run("tokens", "create", "--email", "nobody@example.com")
    assert result.exit_code == 1
    assert "nobody@example.com" in result.output


def test_demo_creates_the_demo_organization_once_with_content_to_pair(
    run, container: Container, tmp_path: Path
) -> None:
    first = run("demo")
    second = run("demo")

    assert first.exit_code == 0, first.output
    assert "first run: the password is" in first.output
    assert "10 stickers in batch DEMO-1" in first.output
    assert "5 free licenses of 'Field Collector'" in first.output
    assert second.exit_code == 0
    assert "first run" not in second.output
    saved = (tmp_path / "demo-admin.txt").read_text().split()
    assert saved[0] == "admin@example.com"
    assert saved[1] in first.output
    # A6/A7: one sticker paired with a device, the rest and two devices free to pair.
    svc = container.services
    token = run("tokens", "create", "--email", "admin@example.com").output.strip()
    admin = auth.authenticate_token(svc, token, source_ip=None)
    batch = codes.list_codes(svc, admin, CodeFilter(batch="DEMO-1"), PageRequest(None, 50))
    assert len(batch.items) == 10
    assert sum(c.device_id is not None for c in batch.items) == 1
    free = devices.list_devices(svc, admin, DeviceFilter(paired=False), PageRequest(None, 50))
    assert len(free.items) == 2


def test_config_show_masks_the_secret_key(run) -> None:
    result = run("config", "show")
    assert result.exit_code == 0
    assert "ONBOARD_SECRET_KEY=********" in result.output
    assert "cli-test-key" not in result.output


def test_db_upgrade_reports_the_revision(run, container: Container) -> None:
    result = run("db", "upgrade")
    assert result.exit_code == 0, result.output
    head = ScriptDirectory.from_config(alembic_config(container.engine)).get_current_head()
    assert f"revision {head}" in result.output
