"""Pre-registration and disabling registrations through the use cases on SQLite and
PostgreSQL (SPEC D3, D4): a list of serials with attributes checked as a whole with a
per-row report, applied in one transaction (every row or the valid ones), safe to run
again; one registration disabled without touching its group; who may do it; and a group
of another organization that is not there."""

from __future__ import annotations

import io
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from onboard.adapters.db.repositories import registration_import as repository
from onboard.domain.enrollment_import import ImportMode, ListFormat
from onboard.domain.errors import Conflict, NotFound, PermissionDenied, RegistrationDisabled
from onboard.domain.provisioning import Registration
from onboard.domain.registrations import RegistrationRejectionCode
from onboard.services.audit import list_audit
from onboard.services.common import member_actor
from onboard.services.ports import AuditFilter, PageRequest, Services
from onboard.services.provisioning.activation import activate
from onboard.services.provisioning.groups import GroupInput, NewGroup, create_group
from onboard.services.provisioning.registrations import (
    RegistrationImportRefused,
    RegistrationImportReport,
    list_registrations,
    register_serials,
    set_registration_disabled,
)
from tests.factories import Org, make_member, make_org, unique
from tests.provisioning import key_of, signed

C = RegistrationRejectionCode


def csv_list(header: str, *rows: str) -> io.BytesIO:
    return io.BytesIO((header + "\n" + "".join(f"{row}\n" for row in rows)).encode())


def jsonl_list(*rows: dict[str, Any] | str) -> io.BytesIO:
    lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
    return io.BytesIO("".join(f"{line}\n" for line in lines).encode())


def new_group(svc: Services, org: Org) -> NewGroup:
    return create_group(svc, org.actor, unique("grp").replace(" ", "-"), GroupInput(name="Meters"))


def registered(svc: Services, org: Org, group: NewGroup) -> dict[str, Registration]:
    page = list_registrations(svc, org.actor, group.group.id, PageRequest(None, 200))
    return {r.serial: r for r in page.items}


def rejected(report: RegistrationImportReport) -> list[tuple[int, RegistrationRejectionCode]]:
    return [(r.row, r.code) for r in report.rejections()]


def run(
    svc: Services, org: Org, group: NewGroup, source: io.BytesIO, **options: Any
) -> RegistrationImportReport:
    options.setdefault("format", ListFormat.CSV)
    return register_serials(svc, org.actor, group.group.id, source, **options)


def activation(svc: Services, group: NewGroup, serial: str) -> str:
    proof = signed(group.group.group_id, serial, key_of(group.secret, serial))
    return activate(svc, **proof).device_id


@pytest.fixture
def group(svc: Services, org: Org) -> NewGroup:
    return new_group(svc, org)


def test_d3_a_csv_list_registers_every_serial_enabled_with_its_attributes_and_one_audit_entry(
    svc: Services, org: Org, group: NewGroup
) -> None:
    report = run(
        svc, org, group,
        csv_list("serial,site,fw", "SN-1,plant,1.2", "SN-2,,", " SN-3 , hall ,"),
    )  # fmt: skip

    assert (report.accepted, report.rejected, rejected(report)) == (3, 0, [])
    found = registered(svc, org, group)
    assert {s: r.attributes for s, r in found.items()} == {
        "SN-1": {"site": "plant", "fw": "1.2"},
        "SN-2": {},
        "SN-3": {"site": "hall"},
    }
    assert {r.disabled for r in found.values()} == {False}
    assert {r.device_id for r in found.values()} == {None}
    audit = list_audit(svc, org.actor, AuditFilter(action="registration.imported"), PageRequest())
    assert [(e.target_type, e.target_id, e.after) for e in audit.items] == [
        (
            "provisioning_group",
            group.group.id,
            {
                "group_id": group.group.group_id,
                "format": "csv",
                "mode": "all",
                "accepted": 3,
                "rejected": 0,
                "rejections": {},
            },
        )
    ]


def test_d3_d4_a_json_lines_list_by_public_group_id_gives_the_twin_its_attributes(
    svc: Services, org: Org, group: NewGroup
) -> None:
    source = jsonl_list(
        {"serial": "J-1", "attributes": {"floor": 3, "metered": True, "site": "plant"}},
        "",
        {"serial": "J-2"},
        {"serial": "J-3", "attributes": {"site": None}},
    )

    report = register_serials(svc, org.actor, group.group.group_id, source, format=ListFormat.JSONL)

    assert report.accepted == 3
    found = registered(svc, org, group)
    assert found["J-1"].attributes == {"floor": 3, "metered": True, "site": "plant"}
    assert found["J-2"].attributes == found["J-3"].attributes == {}
    device_id = activation(svc, group, "J-1")
    assert registered(svc, org, group)["J-1"].device_id == device_id


def test_d3_every_rejection_kind_is_reported_by_row_and_mode_all_registers_nothing(
    svc: Services, org: Org, group: NewGroup
) -> None:
    run(svc, org, group, csv_list("serial", "TAKEN"))
    source = csv_list(
        "serial,site",
        "OK-1,plant",  # row 1
        "bad serial,plant",  # 2: malformed serial
        f"OK-2,{'x' * 2001}",  # 3: an attribute too long
        "OK-3,plant,extra",  # 4: more cells than columns
        "DUP,a",  # 5
        "",  # 6: blank, skipped but counted
        "DUP,b",  # 7
        "TAKEN,c",  # 8
    )

    with pytest.raises(RegistrationImportRefused) as refused:
        run(svc, org, group, source)

    report = refused.value.report
    assert refused.value.code == "import_refused"
    assert rejected(report) == [
        (2, C.MALFORMED), (3, C.MALFORMED), (4, C.MALFORMED), (5, C.DUPLICATE_IN_LIST),
        (7, C.DUPLICATE_IN_LIST), (8, C.ALREADY_REGISTERED),
    ]  # fmt: skip
    details = {r.row: r.detail for r in report.rejections()}
    assert details[2].startswith("serial: ")
    assert details[3].startswith("attributes.site: ")
    assert details[4].startswith("row: 3 cells")
    assert "row 7" in details[5]
    assert "row 5" in details[7]
    assert "TAKEN" in details[8]
    assert report.counts == {C.MALFORMED: 3, C.DUPLICATE_IN_LIST: 2, C.ALREADY_REGISTERED: 1}
    assert (report.valid, report.accepted) == (1, 0)
    assert set(registered(svc, org, group)) == {"TAKEN"}


def test_d3_json_lines_rows_of_the_wrong_shape_are_malformed(
    svc: Services, org: Org, group: NewGroup
) -> None:
    too_many = {f"a{n}": n for n in range(65)}
    report = run(
        svc, org, group,
        jsonl_list(
            {"serial": "OK-1", "attributes": {f"a{n}": n for n in range(64)}},  # 1: 64 is fine
            "{not json",  # 2
            '["OK-2"]',  # 3
            {"serial": "OK-3", "colour": "red"},  # 4
            {"serial": "OK-4", "attributes": ["red"]},  # 5
            {"serial": "OK-5", "attributes": too_many},  # 6
            {"serial": "OK-6", "attributes": {"1st": "x"}},  # 7: not a name
            {"serial": "OK-7", "attributes": {"a": {"nested": 1}}},  # 8: not a plain value
            {"serial": 12345},  # 9
            {"serial": "OK-8", "attributes": {"a": "x" * 9000}},  # 10: a line too long
            {"serial": "OK-5"},  # 11: row 6's serial was valid: a duplicate
        ),
        format=ListFormat.JSONL,
        mode=ImportMode.VALID,
    )  # fmt: skip

    assert rejected(report) == [
        *[(n, C.MALFORMED) for n in range(2, 11)], (11, C.DUPLICATE_IN_LIST),
    ]  # fmt: skip
    details = {r.row: r.detail for r in report.rejections()}
    assert details[4] == "colour: not a field (the fields are serial, attributes)"
    assert details[5] == "attributes: an object"
    assert details[6] == "attributes: at most 64 keys"
    assert details[7].startswith("attributes.1st: ")
    assert details[9] == "serial: a string, required"
    assert set(registered(svc, org, group)) == {"OK-1"}


def test_d3_mode_valid_registers_the_valid_rows_and_running_again_is_safe(
    svc: Services, org: Org, group: NewGroup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(repository, "ANALYZE_AFTER", 1)  # statistics renewed in the import
    rows = ("A-1,x", "A-2,y", "bad one,z")

    first = run(svc, org, group, csv_list("serial,site", *rows), mode=ImportMode.VALID)
    again = run(svc, org, group, csv_list("serial,site", *rows, "A-3,w"), mode=ImportMode.VALID)

    assert (first.accepted, rejected(first)) == (2, [(3, C.MALFORMED)])
    assert (again.accepted, rejected(again)) == (
        1,
        [(1, C.ALREADY_REGISTERED), (2, C.ALREADY_REGISTERED), (3, C.MALFORMED)],
    )
    assert set(registered(svc, org, group)) == {"A-1", "A-2", "A-3"}
    nothing_new = run(svc, org, group, csv_list("serial", "A-1", "A-2"), mode=ImportMode.VALID)
    assert (nothing_new.accepted, nothing_new.rejected) == (0, 2)
    audit = list_audit(svc, org.actor, AuditFilter(action="registration.imported"), PageRequest())
    assert len(audit.items) == 2  # the run that registered nothing changed nothing


def test_d3_a_serial_is_registered_once_per_group_and_other_groups_are_apart(
    svc: Services, org: Org, group: NewGroup
) -> None:
    other = new_group(svc, org)
    run(svc, org, group, csv_list("serial", "S-1"))

    assert run(svc, org, other, csv_list("serial", "S-1")).accepted == 1
    assert set(registered(svc, org, other)) == {"S-1"}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"site,fw\nplant,1\n",  # no serial column
        b"serial,site,site\nA,b,c\n",  # a repeated column
        b"serial,Serial\nA,B\n",
        b"serial,my site\nA,b\n",  # not an attribute name
        ("serial," + ",".join(f"a{n}" for n in range(65)) + "\nA\n").encode(),
        b"serial,site\n",  # no rows
        b"serial\n\xff\xfe\n",  # not UTF-8
    ],
)
def test_d3_an_unusable_list_is_refused_whole_and_changes_nothing(
    svc: Services, org: Org, group: NewGroup, body: bytes
) -> None:
    with pytest.raises(Exception) as refused:  # noqa: PT011 - the code is what matters
        run(svc, org, group, io.BytesIO(body))
    assert getattr(refused.value, "code", None) == "malformed", refused.value
    assert registered(svc, org, group) == {}


def test_d3_an_import_interrupted_while_applying_leaves_nothing(
    svc: Services, org: Org, group: NewGroup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One transaction: a failure after some rows were written undoes them all."""
    monkeypatch.setattr(repository, "APPLY_STEP", 2)
    told: list[tuple[str, int, int]] = []

    def progress(phase: str, done: int, total: int) -> None:
        told.append((phase, done, total))
        if phase == "applying" and done >= 2:
            raise RuntimeError("the power went out")

    rows = [f"I-{n}" for n in range(1, 6)]
    with pytest.raises(RuntimeError):
        run(svc, org, group, csv_list("serial", *rows), progress=progress)

    assert ("applying", 2, 5) in told
    assert registered(svc, org, group) == {}
    assert run(svc, org, group, csv_list("serial", *rows)).accepted == 5


def test_d3_progress_tells_bytes_read_then_rows_applied(
    svc: Services, org: Org, group: NewGroup
) -> None:
    told: list[tuple[str, int, int]] = []
    source = csv_list("serial", "P-1", "P-2", "P-3")
    size = len(source.getvalue())

    run(svc, org, group, source, progress=lambda *step: told.append(step))

    assert told[0] == ("reading", size, size)
    assert told[-1] == ("applying", 3, 3)


def test_d4_a_disabled_registration_refuses_its_device_and_leaves_the_group_alone(
    svc: Services, org: Org, group: NewGroup
) -> None:
    run(svc, org, group, csv_list("serial", "D-1", "D-2"))
    first = activation(svc, group, "D-1")

    off = set_registration_disabled(svc, org.actor, group.group.group_id, "D-1", disabled=True)

    assert (off.serial, off.disabled, off.device_id) == ("D-1", True, first)
    with pytest.raises(RegistrationDisabled):
        activation(svc, group, "D-1")
    activation(svc, group, "D-2")  # the group's other devices still activate
    assert registered(svc, org, group)["D-2"].disabled is False

    on = set_registration_disabled(svc, org.actor, group.group.id, "D-1", disabled=False)
    assert on.disabled is False
    assert activation(svc, group, "D-1") == first  # the same twin again
    again = set_registration_disabled(svc, org.actor, group.group.id, "D-1", disabled=False)
    assert again.disabled is False
    actions = [
        (e.action, e.target_id, e.before, e.after)
        for e in list_audit(svc, org.actor, AuditFilter(target="registration"), PageRequest()).items
    ]
    facts = {"group_id": group.group.group_id, "serial": "D-1"}
    assert sorted(actions, key=lambda a: a[0]) == [
        ("registration.disabled", off.id, {"disabled": False}, {"disabled": True, **facts}),
        ("registration.enabled", off.id, {"disabled": True}, {"disabled": False, **facts}),
    ]


def test_d4_disabling_a_serial_not_registered_is_not_found_and_a_bad_serial_invalid(
    svc: Services, org: Org, group: NewGroup
) -> None:
    with pytest.raises(NotFound):
        set_registration_disabled(svc, org.actor, group.group.id, "NOPE", disabled=True)
    with pytest.raises(Exception) as invalid:  # noqa: PT011 - the code is what matters
        set_registration_disabled(svc, org.actor, group.group.id, "a b", disabled=True)
    assert getattr(invalid.value, "code", None) == "invalid"


@pytest.mark.parametrize(
    ("roles", "writes"),
    [
        (["administrator"], True),
        (["iot_manager"], True),
        (["device_manager"], False),
        (["technician"], False),
        (["viewer"], False),
    ],
)
def test_d3_only_members_who_manage_provisioning_register_and_disable_everyone_lists(
    svc: Services, org: Org, group: NewGroup, roles: list[str], writes: bool
) -> None:
    run(svc, org, group, csv_list("serial", "R-0"))
    actor = member_actor(make_member(svc, org, roles=roles))
    page = list_registrations(svc, actor, group.group.id, PageRequest())
    assert [r.serial for r in page.items] == ["R-0"]
    if not writes:
        with pytest.raises(PermissionDenied):
            register_serials(
                svc, actor, group.group.id, csv_list("serial", "R-1"), format=ListFormat.CSV
            )
        with pytest.raises(PermissionDenied):
            set_registration_disabled(svc, actor, group.group.id, "R-0", disabled=True)
        assert set(registered(svc, org, group)) == {"R-0"}
        assert registered(svc, org, group)["R-0"].disabled is False
        return
    source = csv_list("serial", "R-1")
    assert register_serials(svc, actor, group.group.id, source, format=ListFormat.CSV).accepted
    assert set_registration_disabled(svc, actor, group.group.id, "R-0", disabled=True).disabled


def test_d3_a_group_of_another_organization_is_not_found_by_either_id(
    svc: Services, org: Org, group: NewGroup
) -> None:
    run(svc, org, group, csv_list("serial", "X-1"))
    other = make_org(svc)
    for ref in (group.group.id, group.group.group_id):
        with pytest.raises(NotFound):
            register_serials(
                svc, other.actor, ref, csv_list("serial", "X-2"), format=ListFormat.CSV
            )
        with pytest.raises(NotFound):
            set_registration_disabled(svc, other.actor, ref, "X-1", disabled=True)
        with pytest.raises(NotFound):
            list_registrations(svc, other.actor, ref, PageRequest())
    assert set(registered(svc, org, group)) == {"X-1"}
    assert registered(svc, org, group)["X-1"].disabled is False


def test_d3_the_list_pages_by_cursor_in_the_order_of_the_serials(
    svc: Services, org: Org, group: NewGroup
) -> None:
    run(svc, org, group, csv_list("serial", *[f"L-{n}" for n in (4, 0, 3, 1, 2)]))
    run(svc, org, new_group(svc, org), csv_list("serial", "L-0", "L-5"))  # another group's

    first = list_registrations(svc, org.actor, group.group.id, PageRequest(None, 3))
    rest = list_registrations(svc, org.actor, group.group.id, PageRequest(first.next_after, 3))

    assert [r.serial for r in first.items] == ["L-0", "L-1", "L-2"]
    assert first.next_after == first.items[-1].id
    assert [r.serial for r in rest.items] == ["L-3", "L-4"]
    assert rest.next_after is None


def test_d3_two_imports_of_one_list_at_once_register_each_serial_once(
    svc: Services, org: Org, group: NewGroup
) -> None:
    """§7 reliability: the second waits for the first (SQLite), or clashes with it on the
    group's unique serials (PostgreSQL): either way it registers nothing."""
    rows = [f"CC-{n}" for n in range(200)]

    def one() -> int | str:
        try:
            return run(svc, org, group, csv_list("serial", *rows)).accepted
        except (Conflict, RegistrationImportRefused) as refused:
            return refused.code

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(lambda _: one(), range(2)))

    assert sorted(outcomes, key=str)[0] == 200
    assert sorted(outcomes, key=str)[1] in ("conflict", "import_refused")
    assert (
        len(list_registrations(svc, org.actor, group.group.id, PageRequest(None, 500)).items) == 200
    )
