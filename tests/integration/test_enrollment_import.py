"""Batch enrollment through the use case on SQLite and PostgreSQL (SPEC C7, C8): a list
checked as a whole with a per-row report, applied in one transaction (every row or the
valid ones), safe to run again, and leaving nothing behind when refused or interrupted."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from onboard.adapters.db import tables as t
from onboard.adapters.db.repositories import enrollments as repository
from onboard.domain.enrollment import DeviceKind, EnrollmentFilter, EnrollmentState
from onboard.domain.enrollment_import import ImportMode, ListFormat, RejectionCode
from onboard.domain.errors import DepartmentForbidden, EnrollmentForbidden, InUse, Invalid
from onboard.services import departments, enrollments
from onboard.services.audit import list_audit
from onboard.services.common import member_actor
from onboard.services.enrollment_import import (
    EnrollmentImportRefused,
    EnrollmentImportReport,
    import_enrollments,
)
from onboard.services.enrollments import EnrollmentInput, key_context
from onboard.services.ports import AuditFilter, PageRequest, Services
from tests.factories import Org, make_department, make_member, make_org
from tests.integration.test_enrollments import C8_CASES

KEY = "k3y-0f-the-device"
HEADER = "serial,access_key,kind,gateway_id,name,location\n"
C = RejectionCode


def csv_list(*rows: str) -> io.BytesIO:
    return io.BytesIO((HEADER + "".join(f"{row}\n" for row in rows)).encode())


def jsonl_list(*rows: dict[str, Any] | str) -> io.BytesIO:
    lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
    return io.BytesIO("".join(f"{line}\n" for line in lines).encode())


def serials(svc: Services, org: Org) -> dict[str, Any]:
    page = enrollments.list_enrollments(svc, org.actor, EnrollmentFilter(), PageRequest(None, 500))
    return {e.serial: e for e in page.items}


def rejected(report: EnrollmentImportReport) -> list[tuple[int, RejectionCode]]:
    return [(r.row, r.code) for r in report.rejections()]


def run(svc: Services, org: Org, source: io.BytesIO, **options: Any) -> EnrollmentImportReport:
    options.setdefault("format", ListFormat.CSV)
    return import_enrollments(svc, org.actor, source, **options)


def gateway(svc: Services, org: Org, serial: str = "GW-1") -> str:
    made = enrollments.create_enrollment(
        svc, org.actor, EnrollmentInput(serial, KEY, DeviceKind.GATEWAY)
    )
    return made.id


def test_a_valid_list_enrolls_every_row_pending_with_sealed_keys_history_and_audit(
    svc: Services,
) -> None:
    org = make_org(svc)
    gw = gateway(svc, org)
    report = run(
        svc,
        org,
        csv_list(
            "SN-1,key-of-sn-1,direct,,Boiler,Cellar",
            f"SN-2,key-of-sn-2,node,{gw},,",
            "SN-3,key-of-sn-3,node,GW-1,,",  # the gateway by its serial
            "GW-2,key-of-gw-2,gateway,,,",
            "SN-4,key-of-sn-4,NODE,GW-2,,",  # a gateway of the list itself
        ),
    )

    assert (report.accepted, report.rejected, rejected(report)) == (5, 0, [])
    found = serials(svc, org)
    assert {s: e.state for s, e in found.items()} == {
        s: EnrollmentState.PENDING for s in ("GW-1", "SN-1", "SN-2", "SN-3", "GW-2", "SN-4")
    }
    assert (found["SN-1"].name, found["SN-1"].location) == ("Boiler", "Cellar")
    assert found["SN-2"].gateway_id == gw
    assert found["SN-3"].gateway_id == gw
    assert found["SN-4"].gateway_id == found["GW-2"].id
    history = enrollments.enrollment_history(svc, org.actor, found["SN-4"].id)
    assert [step.state for step in history] == [EnrollmentState.PENDING]
    with svc.uow() as uow:
        sealed = uow.enrollments.sealed_key(found["SN-1"].id)
    assert "key-of-sn-1" not in sealed
    assert svc.secrets.open(sealed, context=key_context(found["SN-1"].id)) == "key-of-sn-1"
    audit = list_audit(svc, org.actor, AuditFilter(action="enrollment.imported"), PageRequest())
    assert [e.after for e in audit.items] == [
        {
            "format": "csv",
            "mode": "all",
            "accepted": 5,
            "rejected": 0,
            "rejections": {},
            "departments": [],
        }
    ]


def test_every_rejection_code_is_reported_row_by_row_and_mode_all_applies_nothing(
    svc: Services,
) -> None:
    org = make_org(svc)
    gateway(svc, org)
    enrollments.create_enrollment(svc, org.actor, EnrollmentInput("TAKEN", KEY, DeviceKind.DIRECT))
    source = csv_list(
        "OK-1,key-of-ok-1,direct,,,",  # row 1
        "bad serial,key-of-it,direct,,,",  # 2: malformed serial
        "OK-2,short,direct,,,",  # 3: malformed key
        "OK-3,key-of-ok-3,toaster,,,",  # 4: malformed kind
        "DUP,key-of-dup,direct,,,",  # 5
        "",  # 6: blank, skipped but counted
        "DUP,key-of-dup,node,,,",  # 7
        "TAKEN,key-of-taken,direct,,,",  # 8
        "OK-4,key-of-ok-4,node,NO-SUCH-GW,,",  # 9
        "OK-5,key-of-ok-5,direct,GW-1,,",  # 10: only nodes have a gateway
        "OK-6,key-of-ok-6,direct,,,,extra",  # 11: more cells than columns
    )

    with pytest.raises(EnrollmentImportRefused) as refused:
        run(svc, org, source)

    report = refused.value.report
    assert refused.value.code == "import_refused"
    assert rejected(report) == [
        (2, C.MALFORMED), (3, C.MALFORMED), (4, C.MALFORMED), (5, C.DUPLICATE_IN_LIST),
        (7, C.DUPLICATE_IN_LIST), (8, C.ALREADY_ENROLLED), (9, C.UNKNOWN_GATEWAY),
        (10, C.MALFORMED), (11, C.MALFORMED),
    ]  # fmt: skip
    details = {r.row: r.detail for r in report.rejections()}
    assert details[2].startswith("serial: ")
    assert details[3].startswith("access_key: ")
    assert details[4].startswith("kind: ")
    assert "row 7" in details[5]
    assert "row 5" in details[7]
    assert "NO-SUCH-GW" in details[9]
    assert details[10].startswith("gateway_id: ")
    assert report.counts == {
        C.MALFORMED: 5, C.DUPLICATE_IN_LIST: 2, C.ALREADY_ENROLLED: 1, C.UNKNOWN_GATEWAY: 1
    }  # fmt: skip
    assert (report.valid, report.accepted) == (1, 0)
    assert set(serials(svc, org)) == {"GW-1", "TAKEN"}


def test_mode_valid_enrolls_the_valid_rows_and_running_again_is_safe(svc: Services) -> None:
    org = make_org(svc)
    rows = ("A-1,key-of-a-1,direct,,,", "A-2,key-of-a-2,direct,,,", "bad one,key-of-it,node,,,")

    first = run(svc, org, csv_list(*rows), mode=ImportMode.VALID)
    again = run(svc, org, csv_list(*rows, "A-3,key-of-a-3,direct,,,"), mode=ImportMode.VALID)

    assert (first.accepted, rejected(first)) == (2, [(3, C.MALFORMED)])
    assert (again.accepted, rejected(again)) == (
        1,
        [(1, C.ALREADY_ENROLLED), (2, C.ALREADY_ENROLLED), (3, C.MALFORMED)],
    )
    assert set(serials(svc, org)) == {"A-1", "A-2", "A-3"}
    nothing_new = run(svc, org, csv_list(*rows[:2]), mode=ImportMode.VALID)
    assert (nothing_new.accepted, nothing_new.rejected) == (0, 2)


def test_json_lines_are_numbered_by_line_and_checked_like_csv(svc: Services) -> None:
    org = make_org(svc)
    report = run(
        svc,
        org,
        jsonl_list(
            {"serial": "J-1", "access_key": "key-of-j-1", "kind": "direct", "name": "One"},
            "",
            "{not json",
            {"serial": "J-2", "access_key": "key-of-j-2", "kind": "node", "gateway_id": None},
            {"serial": "J-3", "access_key": 12345678, "kind": "node"},
            ["J-4"],
            {"serial": "J-1", "access_key": "key-of-j-1", "kind": "direct", "colour": "red"},
        ),
        format=ListFormat.JSONL,
        mode=ImportMode.VALID,
    )

    assert report.accepted == 2
    assert rejected(report) == [(3, C.MALFORMED), (5, C.MALFORMED), (6, C.MALFORMED),
                                (7, C.MALFORMED)]  # fmt: skip
    assert set(serials(svc, org)) == {"J-1", "J-2"}
    assert serials(svc, org)["J-1"].name == "One"


def test_a_gateway_being_unenrolled_or_of_another_organization_is_unknown(
    svc: Services,
) -> None:
    org, other = make_org(svc), make_org(svc)
    leaving = gateway(svc, org, "GW-OLD")
    enrollments.delete_enrollment(svc, org.actor, leaving)
    foreign = gateway(svc, other, "GW-FOREIGN")
    nodes = ("N-1,key-of-n-1,node,GW-OLD,,", f"N-2,key-of-n-2,node,{foreign},,")

    report = run(svc, org, csv_list(*nodes), mode=ImportMode.VALID)

    assert rejected(report) == [(1, C.UNKNOWN_GATEWAY), (2, C.UNKNOWN_GATEWAY)]


def test_rows_join_the_departments_chosen_and_a_restricted_member_sees_them(
    svc: Services,
) -> None:
    org = make_org(svc)
    north, south = make_department(svc, org), make_department(svc, org)
    restricted = member_actor(
        make_member(svc, org, roles=["administrator"], departments=[north.id])
    )

    run(svc, org, csv_list("D-1,key-of-d-1,direct,,,"), departments=[south.id])
    import_enrollments(svc, restricted, csv_list("D-2,key-of-d-2,direct,,,"), format=ListFormat.CSV)

    assert serials(svc, org)["D-1"].departments == frozenset({south.id})
    assert serials(svc, org)["D-2"].departments == frozenset({north.id})
    seen = enrollments.list_enrollments(svc, restricted, EnrollmentFilter(), PageRequest())
    assert [e.serial for e in seen.items] == ["D-2"]
    with pytest.raises(DepartmentForbidden):
        import_enrollments(
            svc, restricted, csv_list("D-3,key-of-d-3,direct,,,"), format=ListFormat.CSV,
            departments=[south.id],
        )  # fmt: skip
    with pytest.raises(Invalid):
        run(svc, org, csv_list("D-4,key-of-d-4,direct,,,"), departments=["no-such-department"])


def test_a_restricted_member_names_only_gateways_it_sees(svc: Services) -> None:
    org = make_org(svc)
    north, south = make_department(svc, org), make_department(svc, org)
    enrollments.create_enrollment(
        svc, org.actor, EnrollmentInput("GW-S", KEY, DeviceKind.GATEWAY, departments=[south.id])
    )
    restricted = member_actor(
        make_member(svc, org, roles=["administrator"], departments=[north.id])
    )

    report = import_enrollments(
        svc, restricted, csv_list("N-1,key-of-n-1,node,GW-S,,"), format=ListFormat.CSV,
        mode=ImportMode.VALID,
    )  # fmt: skip

    assert rejected(report) == [(1, C.UNKNOWN_GATEWAY)]


@pytest.mark.parametrize(("roles", "allowed"), C8_CASES)
def test_c8_who_imports_enrollments(svc: Services, roles: list[str], allowed: bool) -> None:
    org = make_org(svc)
    actor = member_actor(make_member(svc, org, roles=roles))
    source = csv_list("C8-1,key-of-c8-1,direct,,,")
    if not allowed:
        with pytest.raises(EnrollmentForbidden):
            import_enrollments(svc, actor, source, format=ListFormat.CSV)
        assert serials(svc, org) == {}
        return
    assert import_enrollments(svc, actor, source, format=ListFormat.CSV).accepted == 1


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"serial,kind\nA,direct\n",
        b"serial,access_key,kind,colour\n",
        HEADER.encode(),
        b"\xff\xfe" + HEADER.encode(),
    ],
)
def test_an_unusable_list_is_refused_whole(svc: Services, body: bytes) -> None:
    org = make_org(svc)
    with pytest.raises(Invalid) as refused:
        run(svc, org, io.BytesIO(body))
    assert refused.value.code == "malformed"


def test_an_import_interrupted_while_applying_leaves_nothing(
    svc: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One transaction: a failure after some rows were written undoes them all."""
    org = make_org(svc)
    monkeypatch.setattr(repository, "APPLY_STEP", 2)
    told: list[tuple[str, int, int]] = []

    def progress(phase: str, done: int, total: int) -> None:
        told.append((phase, done, total))
        if phase == "applying" and done >= 2:
            raise RuntimeError("the power went out")

    rows = [f"I-{n},key-of-i-{n},direct,,," for n in range(1, 6)]
    field = make_department(svc, org).id
    with pytest.raises(RuntimeError):
        run(svc, org, csv_list(*rows), progress=progress, departments=[field])

    assert ("applying", 2, 5) in told
    assert serials(svc, org) == {}
    with svc.uow() as uow:
        conn = uow.enrollments.conn  # type: ignore[attr-defined]
        links = t.enrollment_departments
        assert (
            conn.execute(select(func.count()).where(links.c.department_id == field)).scalar() == 0
        )
    report = run(svc, org, csv_list(*rows))  # and the same list goes in afterwards
    assert report.accepted == 5


def test_progress_tells_bytes_read_then_rows_applied(svc: Services) -> None:
    org = make_org(svc)
    told: list[tuple[str, int, int]] = []
    source = csv_list(*[f"P-{n},key-of-p-{n},direct,,," for n in range(1, 4)])
    size = len(source.getvalue())

    run(svc, org, source, progress=lambda *step: told.append(step))

    assert told[0] == ("reading", size, size)
    assert told[-1] == ("applying", 3, 3)
    assert [p for p, _, _ in told].count("checking") == 2


def test_an_imported_enrollments_history_starts_pending_when_its_record_was_made(
    svc: Services,
) -> None:
    """The first step is implied by the record (no row of its own), then the moves follow."""
    org = make_org(svc)
    run(svc, org, csv_list(f"H-1,{KEY},direct,,,", f"H-2,{KEY},direct,,,"))
    found = serials(svc, org)["H-1"]
    enrollments.delete_enrollment(svc, org.actor, found.id)

    history = enrollments.enrollment_history(svc, org.actor, found.id)
    assert [(step.state, step.reason) for step in history] == [
        (EnrollmentState.PENDING, None),
        (EnrollmentState.UNENROLL_PENDING, None),
        (EnrollmentState.UNENROLLED, None),
    ]
    assert history[0].at == found.created_at
    with svc.uow() as uow:
        conn = uow.enrollments.conn  # type: ignore[attr-defined]
        h = t.enrollment_history.c
        stored = conn.execute(select(h.state).where(h.enrollment_id == found.id).order_by(h.id))
        assert [state for (state,) in stored] == ["unenroll_pending", "unenrolled"]


def test_deleting_an_organization_leaves_no_enrollment_rows_behind(svc: Services) -> None:
    """The department links have no foreign key on their enrollment: they go with the
    organization's departments, its records and their history with the organization."""
    org, other = make_org(svc), make_org(svc)
    for owner in (org, other):
        field = make_department(svc, owner).id
        run(svc, owner, csv_list(f"O-1,{KEY},direct,,,", f"O-2,{KEY},node,,,"), departments=[field])
        enrollments.delete_enrollment(svc, owner.actor, serials(svc, owner)["O-1"].id)

    def left() -> dict[str, int]:
        with svc.uow() as uow:
            conn = uow.enrollments.conn  # type: ignore[attr-defined]
            e, h, d = t.enrollments.c, t.enrollment_history.c, t.enrollment_departments.c
            ids = select(e.id).where(e.organization_id == org.organization.id)
            kept = {
                "enrollments": select(func.count()).where(e.id.in_(ids)),
                "history": select(func.count()).where(h.enrollment_id.in_(ids)),
                "links": select(func.count()).where(d.enrollment_id.in_(ids)),
                "orphan history": select(func.count()).where(h.enrollment_id.not_in(select(e.id))),
                "orphan links": select(func.count()).where(d.enrollment_id.not_in(select(e.id))),
            }
            return {name: conn.execute(query).scalar_one() for name, query in kept.items()}

    assert left() == {
        "enrollments": 2, "history": 2, "links": 2, "orphan history": 0, "orphan links": 0,
    }  # fmt: skip
    with svc.uow() as uow:
        conn = uow.enrollments.conn  # type: ignore[attr-defined]
        conn.execute(delete(t.organizations).where(t.organizations.c.id == org.organization.id))
        uow.commit()

    assert left() == {
        "enrollments": 0, "history": 0, "links": 0, "orphan history": 0, "orphan links": 0,
    }  # fmt: skip
    assert set(serials(svc, other)) == {"O-1", "O-2"}


def test_a_department_the_imported_rows_have_is_not_deleted(svc: Services) -> None:
    org = make_org(svc)
    field = make_department(svc, org).id
    run(svc, org, csv_list(f"U-1,{KEY},direct,,,"), departments=[field])

    with pytest.raises(InUse):
        departments.delete_department(svc, org.actor, field)
    assert serials(svc, org)["U-1"].departments == frozenset({field})
