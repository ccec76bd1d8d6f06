"""Organizations, departments, people, members, customers, tokens and web sessions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    delete,
    insert,
    select,
    update,
)

from onboard.adapters.db import tables as t
from onboard.adapters.db.repositories.base import Linked, count, paginate
from onboard.adapters.db.scoping import visible
from onboard.domain.access import Role, Scope
from onboard.domain.identity import (
    ApiToken,
    Customer,
    CustomerUser,
    Department,
    Member,
    Organization,
    Person,
)
from onboard.services.ports import Page, PageRequest, WebSession


class SqlOrganizations:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, organization: Organization) -> None:
        self.conn.execute(
            insert(t.organizations).values(
                id=organization.id, name=organization.name, created_at=organization.created_at
            )
        )

    def _one(self, where: ColumnElement[bool]) -> Organization | None:
        row = self.conn.execute(select(t.organizations).where(where)).first()
        return Organization(row.id, row.name, row.created_at) if row else None

    def get(self, organization_id: str) -> Organization | None:
        return self._one(t.organizations.c.id == organization_id)

    def get_by_name(self, name: str) -> Organization | None:
        return self._one(t.organizations.c.name == name)

    def get_many(self, organization_ids: Sequence[str]) -> list[Organization]:
        rows = self.conn.execute(
            select(t.organizations).where(t.organizations.c.id.in_(set(organization_ids)))
        )
        return [Organization(r.id, r.name, r.created_at) for r in rows]


class SqlDepartments:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @staticmethod
    def _records(rows: Sequence[Row[Any]]) -> list[Department]:
        return [Department(r.id, r.organization_id, r.name, r.created_at) for r in rows]

    def add(self, department: Department) -> None:
        self.conn.execute(
            insert(t.departments).values(
                id=department.id,
                organization_id=department.organization_id,
                name=department.name,
                created_at=department.created_at,
            )
        )

    def get(self, scope: Scope, department_id: str) -> Department | None:
        rows = self.conn.execute(
            select(t.departments).where(
                visible(scope, t.departments), t.departments.c.id == department_id
            )
        ).all()
        return next(iter(self._records(rows)), None)

    def get_by_name(self, organization_id: str, name: str) -> Department | None:
        rows = self.conn.execute(
            select(t.departments).where(
                t.departments.c.organization_id == organization_id, t.departments.c.name == name
            )
        ).all()
        return next(iter(self._records(rows)), None)

    def list_page(self, scope: Scope, page: PageRequest) -> Page[Department]:
        query = select(t.departments).where(visible(scope, t.departments))
        return paginate(self.conn, query, t.departments.c.id, page, self._records)

    def count(self, scope: Scope) -> int:
        return count(self.conn, t.departments, visible(scope, t.departments))

    def existing_ids(self, organization_id: str, ids: frozenset[str]) -> frozenset[str]:
        rows = self.conn.execute(
            select(t.departments.c.id).where(
                t.departments.c.organization_id == organization_id,
                t.departments.c.id.in_(sorted(ids)),
            )
        )
        return frozenset(r.id for r in rows)

    def rename(self, department_id: str, name: str) -> None:
        self.conn.execute(
            update(t.departments).where(t.departments.c.id == department_id).values(name=name)
        )

    def delete(self, department_id: str) -> None:
        self.conn.execute(delete(t.departments).where(t.departments.c.id == department_id))

    def usage(self, department_id: str) -> int:
        """How many records link to the department (the log's links do not count)."""
        return sum(
            count(self.conn, links, links.c.department_id == department_id)
            for links in t.DEPARTMENT_USES
        )


class SqlPersons:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, person: Person) -> None:
        self.conn.execute(
            insert(t.persons).values(
                id=person.id,
                email=person.email,
                password_hash=person.password_hash,
                created_at=person.created_at,
            )
        )

    def _one(self, where: ColumnElement[bool]) -> Person | None:
        row = self.conn.execute(select(t.persons).where(where)).first()
        return Person(row.id, row.email, row.password_hash, row.created_at) if row else None

    def get(self, person_id: str) -> Person | None:
        return self._one(t.persons.c.id == person_id)

    def get_by_email(self, email: str) -> Person | None:
        return self._one(t.persons.c.email == email)

    def set_password_hash(self, person_id: str, password_hash: str) -> None:
        self.conn.execute(
            update(t.persons).where(t.persons.c.id == person_id).values(password_hash=password_hash)
        )


def _roles(text: str) -> frozenset[Role]:
    return frozenset(Role(r) for r in text.split(",") if r)


class SqlMembers:
    _query = select(t.members, t.persons.c.email).join(
        t.persons, t.persons.c.id == t.members.c.person_id
    )

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.links = Linked(conn, t.member_departments, "member_id")

    def _records(self, rows: Sequence[Row[Any]]) -> list[Member]:
        links = self.links.of(r.id for r in rows if not r.all_departments)
        return [
            Member(
                r.id,
                r.organization_id,
                r.person_id,
                r.email,
                _roles(r.roles),
                None if r.all_departments else links[r.id],
                r.created_at,
            )
            for r in rows
        ]

    def _one(self, *where: ColumnElement[bool]) -> Member | None:
        return next(iter(self._records(self.conn.execute(self._query.where(*where)).all())), None)

    def add(self, member: Member) -> None:
        self.conn.execute(
            insert(t.members).values(
                id=member.id,
                organization_id=member.organization_id,
                person_id=member.person_id,
                roles=",".join(sorted(member.roles)),
                all_departments=member.departments is None,
                created_at=member.created_at,
            )
        )
        self.links.replace(member.id, member.departments)

    def get(self, scope: Scope, member_id: str) -> Member | None:
        return self._one(visible(scope, t.members), t.members.c.id == member_id)

    def get_unscoped(self, member_id: str) -> Member | None:
        return self._one(t.members.c.id == member_id)

    def get_for_person(self, organization_id: str, person_id: str) -> Member | None:
        return self._one(
            t.members.c.organization_id == organization_id, t.members.c.person_id == person_id
        )

    def list_page(self, scope: Scope, page: PageRequest) -> Page[Member]:
        query = self._query.where(visible(scope, t.members))
        return paginate(self.conn, query, t.members.c.id, page, self._records)

    def count(self, scope: Scope) -> int:
        return count(self.conn, t.members, visible(scope, t.members))

    def all_in_organization(self, organization_id: str) -> list[Member]:
        rows = self.conn.execute(
            self._query.where(t.members.c.organization_id == organization_id)
        ).all()
        return self._records(rows)

    def of_person(self, person_id: str) -> list[Member]:
        rows = self.conn.execute(self._query.where(t.members.c.person_id == person_id)).all()
        return self._records(rows)

    def update(self, member: Member) -> None:
        self.conn.execute(
            update(t.members)
            .where(t.members.c.id == member.id)
            .values(
                roles=",".join(sorted(member.roles)), all_departments=member.departments is None
            )
        )
        self.links.replace(member.id, member.departments)

    def delete(self, member_id: str) -> None:
        self.conn.execute(delete(t.members).where(t.members.c.id == member_id))


class SqlCustomers:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.links = Linked(conn, t.customer_departments, "customer_id")

    def _records(self, rows: Sequence[Row[Any]]) -> list[Customer]:
        links = self.links.of(r.id for r in rows)
        return [Customer(r.id, r.organization_id, r.name, links[r.id], r.created_at) for r in rows]

    def _one(self, *where: ColumnElement[bool]) -> Customer | None:
        rows = self.conn.execute(select(t.customers).where(*where)).all()
        return next(iter(self._records(rows)), None)

    def add(self, customer: Customer) -> None:
        self.conn.execute(
            insert(t.customers).values(
                id=customer.id,
                organization_id=customer.organization_id,
                name=customer.name,
                created_at=customer.created_at,
            )
        )
        self.links.replace(customer.id, customer.departments)

    def get(self, scope: Scope, customer_id: str) -> Customer | None:
        return self._one(visible(scope, t.customers), t.customers.c.id == customer_id)

    def get_unscoped(self, customer_id: str) -> Customer | None:
        return self._one(t.customers.c.id == customer_id)

    def get_by_name(self, organization_id: str, name: str) -> Customer | None:
        return self._one(
            t.customers.c.organization_id == organization_id, t.customers.c.name == name
        )

    def list_page(self, scope: Scope, page: PageRequest) -> Page[Customer]:
        query = select(t.customers).where(visible(scope, t.customers))
        return paginate(self.conn, query, t.customers.c.id, page, self._records)

    def count(self, scope: Scope) -> int:
        return count(self.conn, t.customers, visible(scope, t.customers))

    def update(self, customer: Customer) -> None:
        self.conn.execute(
            update(t.customers).where(t.customers.c.id == customer.id).values(name=customer.name)
        )
        self.links.replace(customer.id, customer.departments)

    def delete(self, customer_id: str) -> None:
        self.conn.execute(delete(t.customers).where(t.customers.c.id == customer_id))


class SqlCustomerUsers:
    _query = select(t.customer_users, t.persons.c.email).join(
        t.persons, t.persons.c.id == t.customer_users.c.person_id
    )

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @staticmethod
    def _records(rows: Sequence[Row[Any]]) -> list[CustomerUser]:
        return [
            CustomerUser(r.id, r.organization_id, r.customer_id, r.person_id, r.email, r.created_at)
            for r in rows
        ]

    def _one(self, *where: ColumnElement[bool]) -> CustomerUser | None:
        return next(iter(self._records(self.conn.execute(self._query.where(*where)).all())), None)

    def add(self, user: CustomerUser) -> None:
        self.conn.execute(
            insert(t.customer_users).values(
                id=user.id,
                organization_id=user.organization_id,
                customer_id=user.customer_id,
                person_id=user.person_id,
                created_at=user.created_at,
            )
        )

    def get(self, customer_id: str, user_id: str) -> CustomerUser | None:
        return self._one(
            t.customer_users.c.customer_id == customer_id, t.customer_users.c.id == user_id
        )

    def get_unscoped(self, user_id: str) -> CustomerUser | None:
        return self._one(t.customer_users.c.id == user_id)

    def get_for_person(self, customer_id: str, person_id: str) -> CustomerUser | None:
        return self._one(
            t.customer_users.c.customer_id == customer_id, t.customer_users.c.person_id == person_id
        )

    def list_page(self, customer_id: str, page: PageRequest) -> Page[CustomerUser]:
        query = self._query.where(t.customer_users.c.customer_id == customer_id)
        return paginate(self.conn, query, t.customer_users.c.id, page, self._records)

    def of_person(self, person_id: str) -> list[CustomerUser]:
        rows = self.conn.execute(self._query.where(t.customer_users.c.person_id == person_id))
        return self._records(rows.all())

    def delete(self, user_id: str) -> None:
        self.conn.execute(delete(t.customer_users).where(t.customer_users.c.id == user_id))


class SqlTokens:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @staticmethod
    def _records(rows: Sequence[Row[Any]]) -> list[ApiToken]:
        return [
            ApiToken(
                r.id, r.organization_id, r.member_id, r.name, r.prefix, r.created_at, r.last_used_at
            )
            for r in rows
        ]

    def _one(self, *where: ColumnElement[bool]) -> ApiToken | None:
        rows = self.conn.execute(select(t.api_tokens).where(*where)).all()
        return next(iter(self._records(rows)), None)

    def add(self, token: ApiToken, token_hash: str) -> None:
        self.conn.execute(
            insert(t.api_tokens).values(
                id=token.id,
                organization_id=token.organization_id,
                member_id=token.member_id,
                name=token.name,
                prefix=token.prefix,
                token_hash=token_hash,
                created_at=token.created_at,
                last_used_at=None,
            )
        )

    def get(self, member_id: str, token_id: str) -> ApiToken | None:
        return self._one(t.api_tokens.c.member_id == member_id, t.api_tokens.c.id == token_id)

    def list_page(self, member_id: str, page: PageRequest) -> Page[ApiToken]:
        query = select(t.api_tokens).where(t.api_tokens.c.member_id == member_id)
        return paginate(self.conn, query, t.api_tokens.c.id, page, self._records)

    def find_by_hash(self, token_hash: str) -> ApiToken | None:
        return self._one(t.api_tokens.c.token_hash == token_hash)

    def touch(self, token_id: str, at: datetime) -> None:
        self.conn.execute(
            update(t.api_tokens).where(t.api_tokens.c.id == token_id).values(last_used_at=at)
        )

    def delete(self, token_id: str) -> None:
        self.conn.execute(delete(t.api_tokens).where(t.api_tokens.c.id == token_id))


class SqlSessions:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, session: WebSession, token_hash: str, created_at: datetime) -> None:
        self.conn.execute(
            insert(t.web_sessions).values(
                id=session.id,
                token_hash=token_hash,
                person_id=session.person_id,
                member_id=session.member_id,
                customer_user_id=session.customer_user_id,
                created_at=created_at,
                expires_at=session.expires_at,
            )
        )

    def find_by_hash(self, token_hash: str) -> WebSession | None:
        row = self.conn.execute(
            select(t.web_sessions).where(t.web_sessions.c.token_hash == token_hash)
        ).first()
        if row is None:
            return None
        return WebSession(
            row.id, row.person_id, row.member_id, row.customer_user_id, row.expires_at
        )

    def set_context(
        self, session_id: str, *, member_id: str | None, customer_user_id: str | None
    ) -> None:
        self.conn.execute(
            update(t.web_sessions)
            .where(t.web_sessions.c.id == session_id)
            .values(member_id=member_id, customer_user_id=customer_user_id)
        )

    def delete(self, session_id: str) -> None:
        self.conn.execute(delete(t.web_sessions).where(t.web_sessions.c.id == session_id))

    def delete_expired(self, now: datetime) -> int:
        result = self.conn.execute(delete(t.web_sessions).where(t.web_sessions.c.expires_at <= now))
        return int(result.rowcount)

    def delete_for_person(self, person_id: str) -> None:
        self.conn.execute(delete(t.web_sessions).where(t.web_sessions.c.person_id == person_id))
