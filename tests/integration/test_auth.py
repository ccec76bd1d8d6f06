"""Signing in, sessions, API tokens and the sign-in rate limit (SPEC P4, P7, §7 security)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from onboard.bootstrap import Container
from onboard.domain.errors import InvalidCredentials, SignInLocked, Unauthenticated
from onboard.services import auth, tokens
from onboard.services.common import member_actor
from onboard.services.ports import PageRequest
from tests.factories import PASSWORD, make_member, make_org, token_for


def sign_in(
    container: Container, email: str, password: str = PASSWORD, ip: str | None = "10.0.0.1"
) -> auth.SignedIn:
    return auth.sign_in(
        container.services, container.sign_in_policy, email=email, password=password, source_ip=ip
    )


def test_a_member_of_one_organization_signs_in_straight_into_it(container: Container) -> None:
    org = make_org(container.services)

    signed_in = sign_in(container, org.admin.email.upper())

    assert signed_in.session.member_id == org.admin.id
    _, actor = auth.authenticate_session(container.services, signed_in.token, source_ip="10.0.0.1")
    assert actor is not None
    assert actor.member_id == org.admin.id
    assert actor.source_ip == "10.0.0.1"


def test_a_person_in_two_organizations_chooses_where_to_work(container: Container) -> None:
    first, second = make_org(container.services), make_org(container.services)
    joined = make_member(container.services, second, roles=["viewer"], email=first.admin.email)

    signed_in = sign_in(container, first.admin.email)
    assert signed_in.session.member_id is None
    assert {c.id for c in signed_in.contexts} == {first.admin.id, joined.id}

    chosen = auth.choose_context(container.services, signed_in.session, joined.id)
    _, actor = auth.authenticate_session(container.services, signed_in.token, source_ip=None)
    assert chosen.member_id == joined.id
    assert actor is not None
    assert actor.scope is not None
    assert actor.scope.organization_id == second.organization.id


def test_a_wrong_password_and_an_unknown_email_fail_the_same_way(container: Container) -> None:
    org = make_org(container.services)
    with pytest.raises(InvalidCredentials) as wrong:
        sign_in(container, org.admin.email, "wrong password!")
    with pytest.raises(InvalidCredentials) as unknown:
        sign_in(container, "nobody@example.com")
    assert wrong.value.detail == unknown.value.detail


def test_too_many_failures_lock_the_email_even_for_the_right_password(
    container: Container,
) -> None:
    org = make_org(container.services)
    limited = replace(container, sign_in_policy=auth.SignInPolicy(attempts=3, window_seconds=60))
    for _ in range(3):
        with pytest.raises(InvalidCredentials):
            sign_in(limited, org.admin.email, "wrong password!")

    with pytest.raises(SignInLocked) as locked:
        sign_in(limited, org.admin.email)
    assert locked.value.retry_after == 60


def test_failures_from_one_address_lock_that_address_across_emails(
    container: Container,
) -> None:
    org = make_org(container.services)
    limited = replace(container, sign_in_policy=auth.SignInPolicy(attempts=1, window_seconds=60))
    for n in range(5):
        with pytest.raises(InvalidCredentials):
            sign_in(limited, f"guess{n}@example.com", ip="10.9.9.9")

    with pytest.raises(SignInLocked):
        sign_in(limited, org.admin.email, ip="10.9.9.9")
    assert sign_in(limited, org.admin.email, ip="10.1.1.1").session.member_id == org.admin.id


def test_signing_out_ends_the_session(container: Container) -> None:
    org = make_org(container.services)
    signed_in = sign_in(container, org.admin.email)

    auth.sign_out(container.services, signed_in.session.id)

    with pytest.raises(Unauthenticated):
        auth.authenticate_session(container.services, signed_in.token, source_ip=None)


def test_an_expired_session_is_refused(container: Container) -> None:
    org = make_org(container.services)
    short = replace(container, sign_in_policy=auth.SignInPolicy(session_hours=1))
    signed_in = sign_in(short, org.admin.email)

    class Later:
        def now(self):  # type: ignore[no-untyped-def]
            return container.services.clock.now() + timedelta(hours=2)

    later = replace(container.services, clock=Later())
    with pytest.raises(Unauthenticated):
        auth.authenticate_session(later, signed_in.token, source_ip=None)


def test_changing_the_password_ends_other_sessions_and_the_old_password(
    container: Container,
) -> None:
    org = make_org(container.services)
    signed_in = sign_in(container, org.admin.email)

    auth.change_password(
        container.services, org.admin.person_id, current=PASSWORD, new="a brand new passphrase"
    )

    with pytest.raises(Unauthenticated):
        auth.authenticate_session(container.services, signed_in.token, source_ip=None)
    with pytest.raises(InvalidCredentials):
        sign_in(container, org.admin.email)
    assert sign_in(container, org.admin.email, "a brand new passphrase").session


def test_a_revoked_token_stops_working_and_tokens_are_stored_hashed(
    container: Container,
) -> None:
    org = make_org(container.services)
    secret = token_for(container.services, org.admin)
    listed = tokens.list_tokens(container.services, org.actor, PageRequest()).items

    tokens.revoke_token(container.services, org.actor, listed[0].id)

    with pytest.raises(Unauthenticated):
        auth.authenticate_token(container.services, secret, source_ip=None)
    with container.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT token_hash FROM api_tokens").scalars().all()
    assert secret not in stored


def test_a_token_acts_with_its_members_current_roles_and_departments(
    container: Container,
) -> None:
    org = make_org(container.services)
    viewer = make_member(container.services, org, roles=["viewer"])
    secret = token_for(container.services, viewer)

    actor = auth.authenticate_token(container.services, secret, source_ip="10.0.0.2")

    assert actor.roles == member_actor(viewer).roles
    assert actor.scope == member_actor(viewer).scope
    assert actor.source_ip == "10.0.0.2"
