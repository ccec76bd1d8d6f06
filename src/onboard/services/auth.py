"""Signing in and authenticating requests: passwords, web sessions, API tokens (SPEC P4, P7)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from onboard.domain.access import Actor, ActorKind, Scope
from onboard.domain.errors import (
    Invalid,
    InvalidCredentials,
    NotFound,
    SignInLocked,
    Unauthenticated,
)
from onboard.domain.identity import Member
from onboard.domain.values import check_password, digest_secret, normalize_email
from onboard.services.common import member_actor
from onboard.services.ports import Services, UnitOfWork, WebSession

_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class SignInPolicy:
    """Failed sign-ins allowed per email in a window (and five times that per address)."""

    attempts: int = 10
    window_seconds: int = 900
    session_hours: int = 12


@dataclass(frozen=True)
class WorkContext:
    """Somewhere a signed-in person can work: a membership or a customer account."""

    kind: str  # "member" or "customer"
    id: str
    organization_id: str
    organization_name: str
    label: str


@dataclass(frozen=True)
class SignedIn:
    session: WebSession
    token: str
    """The cookie value; only its digest is stored."""
    contexts: list[WorkContext]


def _dummy_hash(svc: Services) -> str:
    return svc.passwords.hash("not-a-password-of-anyone")


def sign_in(
    svc: Services, policy: SignInPolicy, *, email: str, password: str, source_ip: str | None
) -> SignedIn:
    """Check email and password, rate-limited per email and per address; open a session,
    chosen for the person's only work context when there is just one."""
    try:
        email = normalize_email(email)
    except Invalid:
        raise InvalidCredentials("Wrong email or password.") from None
    keys = [(f"signin:email:{email}", policy.attempts)]
    if source_ip:
        keys.append((f"signin:ip:{source_ip}", policy.attempts * 5))
    now = svc.clock.now()
    with svc.uow() as uow:
        for key, limit in keys:
            if uow.rate_limits.count(key, now=now, window_seconds=policy.window_seconds) >= limit:
                raise SignInLocked(
                    "Too many failed sign-ins. Try again later.",
                    retry_after=policy.window_seconds,
                )
        person = uow.persons.get_by_email(email)
        stored = person.password_hash if person else _dummy_hash(svc)
        if person is None or not svc.passwords.verify(stored, password):
            for key, _ in keys:
                uow.rate_limits.hit(key, now=now, window_seconds=policy.window_seconds)
            uow.commit()
            raise InvalidCredentials("Wrong email or password.")
        if svc.passwords.needs_rehash(person.password_hash):
            uow.persons.set_password_hash(person.id, svc.passwords.hash(password))
        uow.rate_limits.reset(keys[0][0])
        contexts = _contexts(uow, person.id)
        token = secrets.token_urlsafe(32)
        only = contexts[0] if len(contexts) == 1 else None
        session = WebSession(
            id=svc.ids.new(),
            person_id=person.id,
            member_id=only.id if only and only.kind == "member" else None,
            customer_user_id=only.id if only and only.kind == "customer" else None,
            expires_at=now + timedelta(hours=policy.session_hours),
        )
        uow.sessions.add(session, digest_secret(token), now)
        uow.sessions.delete_expired(now)
        uow.commit()
    return SignedIn(session, token, contexts)


def _contexts(uow: UnitOfWork, person_id: str) -> list[WorkContext]:
    members = uow.members.of_person(person_id)
    users = uow.customer_users.of_person(person_id)
    org_ids = [m.organization_id for m in members] + [u.organization_id for u in users]
    names = {o.id: o.name for o in uow.organizations.get_many(org_ids)}
    contexts = [
        WorkContext(
            "member",
            m.id,
            m.organization_id,
            names[m.organization_id],
            ", ".join(sorted(r.value.replace("_", " ") for r in m.roles)),
        )
        for m in members
    ]
    for user in users:
        customer = uow.customers.get_unscoped(user.customer_id)
        label = f"customer {customer.name}" if customer else "customer"
        contexts.append(
            WorkContext(
                "customer", user.id, user.organization_id, names[user.organization_id], label
            )
        )
    return sorted(contexts, key=lambda c: (c.organization_name, c.kind))


def work_contexts(svc: Services, session: WebSession) -> list[WorkContext]:
    with svc.uow() as uow:
        return _contexts(uow, session.person_id)


def choose_context(svc: Services, session: WebSession, context_id: str) -> WebSession:
    """Switch the session to one of the person's memberships or customer accounts."""
    with svc.uow() as uow:
        chosen = next((c for c in _contexts(uow, session.person_id) if c.id == context_id), None)
        if chosen is None:
            raise NotFound("You have no such organization or customer account.")
        member_id = chosen.id if chosen.kind == "member" else None
        customer_user_id = chosen.id if chosen.kind == "customer" else None
        uow.sessions.set_context(session.id, member_id=member_id, customer_user_id=customer_user_id)
        uow.commit()
    return WebSession(
        session.id, session.person_id, member_id, customer_user_id, session.expires_at
    )


def authenticate_session(
    svc: Services, token: str, *, source_ip: str | None
) -> tuple[WebSession, Actor | None]:
    """The session behind a cookie and, once a context is chosen, the actor it acts as."""
    now = svc.clock.now()
    with svc.uow() as uow:
        session = uow.sessions.find_by_hash(digest_secret(token))
        if session is None or session.expires_at <= now:
            raise Unauthenticated("Your session has ended; sign in again.")
        actor: Actor | None = None
        if session.member_id is not None:
            member = uow.members.get_unscoped(session.member_id)
            if member is not None:
                actor = member_actor(member, source_ip=source_ip)
        elif session.customer_user_id is not None:
            user = uow.customer_users.get_unscoped(session.customer_user_id)
            if user is not None:
                actor = Actor(
                    kind=ActorKind.CUSTOMER_USER,
                    id=user.id,
                    label=user.email,
                    customer_id=user.customer_id,
                    source_ip=source_ip,
                )
    return session, actor


def authenticate_token(svc: Services, token: str, *, source_ip: str | None) -> Actor:
    """The member behind a bearer API token."""
    now = svc.clock.now()
    with svc.uow() as uow:
        api_token = uow.tokens.find_by_hash(digest_secret(token))
        member: Member | None = None
        if api_token is not None:
            member = uow.members.get_unscoped(api_token.member_id)
        if api_token is None or member is None:
            raise Unauthenticated("The API token is not valid.")
        if api_token.last_used_at is None or now - api_token.last_used_at > _TOUCH_EVERY:
            uow.tokens.touch(api_token.id, now)
            uow.commit()
    return Actor(
        kind=ActorKind.TOKEN,
        id=api_token.id,
        label=f"{member.email} (token {api_token.name})",
        scope=Scope(member.organization_id, member.departments),
        roles=member.roles,
        member_id=member.id,
        source_ip=source_ip,
    )


def sign_out(svc: Services, session_id: str) -> None:
    with svc.uow() as uow:
        uow.sessions.delete(session_id)
        uow.commit()


def change_password(svc: Services, person_id: str, *, current: str, new: str) -> None:
    """A person changes their own password; every session of theirs ends, this one too,
    so a stolen session does not outlive the change."""
    check_password(new)
    with svc.uow() as uow:
        person = uow.persons.get(person_id)
        if person is None or not svc.passwords.verify(person.password_hash, current):
            raise InvalidCredentials(
                "The current password is wrong.", fields={"current_password": "wrong password"}
            )
        uow.persons.set_password_hash(person.id, svc.passwords.hash(new))
        uow.sessions.delete_for_person(person.id)
        uow.commit()
