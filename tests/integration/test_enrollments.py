"""Enrollment of connected devices through the use cases on SQLite and PostgreSQL (SPEC
C1-C6, C8, §6): creating enrollments with their access keys sealed, a direct device
enrolling with its proof, a gateway enrolling its nodes through jobs, the app enrolling a
node, and unenrollment reaching the device or its gateway at its next connection."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from onboard.adapters.db import tables as t
from onboard.bootstrap import Container
from onboard.domain.enrollment import (
    DeviceKind,
    EnrollmentFilter,
    EnrollmentState,
    Sighting,
    enroll_signature,
)
from onboard.domain.errors import (
    AlreadyEnrolled,
    EnrollmentForbidden,
    Invalid,
    InvalidSignature,
    InvalidTransition,
    NotEnrolled,
    NotFound,
    SignatureExpired,
    Unauthenticated,
)
from onboard.services import device_enrollment, enrollments
from onboard.services.common import member_actor
from onboard.services.devices import get_device
from onboard.services.enrollments import EnrollmentInput
from onboard.services.ports import PageRequest, Services
from tests.factories import Org, make_member, make_org

S = EnrollmentState
KEY = "k3y-0f-the-device"
# C8: who may create, import and delete enrollments, by their roles.
C8_CASES = [
    (["administrator"], True),
    (["device_manager", "iot_manager"], True),
    (["device_manager"], False),
    (["iot_manager"], False),
    (["technician"], False),
    (["viewer"], False),
    (["device_manager", "technician", "viewer"], False),
]


def proof(serial: str, key: str = KEY, *, ahead: int = 300) -> tuple[str, int, str]:
    expires = int(time.time()) + ahead
    return serial, expires, enroll_signature(key, serial, expires)


def states(svc: Services, org: Org, enrollment_id: str) -> list[S]:
    return [step.state for step in enrollments.enrollment_history(svc, org.actor, enrollment_id)]


def direct(svc: Services, org: Org, serial: str, kind: DeviceKind = DeviceKind.DIRECT) -> str:
    made = enrollments.create_enrollment(
        svc, org.actor, EnrollmentInput(serial, KEY, kind, name=f"Meter {serial}")
    )
    return made.id


def enrolled_gateway(svc: Services, org: Org, serial: str = "GW-1") -> str:
    """A gateway enrolled directly (C3, C4): its credential."""
    direct(svc, org, serial, DeviceKind.GATEWAY)
    got = device_enrollment.enroll(svc, *proof(serial))
    device_enrollment.complete(svc, got.credential, got.enrollment_id, {"ble": True})
    return got.credential


def test_an_enrollment_keeps_its_access_key_sealed_and_its_history(svc: Services) -> None:
    """C1: the key is stored encrypted, never in clear; the record starts pending."""
    org = make_org(svc)
    made = enrollments.create_enrollment(
        svc,
        org.actor,
        EnrollmentInput(" SN-100 ", KEY, DeviceKind.DIRECT, name=" Boiler  room ", location="B1"),
    )

    assert (made.serial, made.name, made.state) == ("SN-100", "Boiler room", S.PENDING)
    with svc.uow() as uow:
        sealed = uow.enrollments.sealed_key(made.id)
    assert KEY not in sealed
    assert sealed.startswith("v1.")
    assert states(svc, org, made.id) == [S.PENDING]
    with pytest.raises(AlreadyEnrolled):
        enrollments.create_enrollment(
            svc, org.actor, EnrollmentInput("SN-100", KEY, DeviceKind.DIRECT)
        )
    other = make_org(svc)  # a serial is another organization's own business
    enrollments.create_enrollment(
        svc, other.actor, EnrollmentInput("SN-100", KEY, DeviceKind.DIRECT)
    )


@pytest.mark.parametrize(("roles", "allowed"), C8_CASES)
def test_c8_who_creates_and_deletes_enrollments(
    svc: Services, roles: list[str], allowed: bool
) -> None:
    org = make_org(svc)
    actor = member_actor(make_member(svc, org, roles=roles))
    given = EnrollmentInput("SN-C8", KEY, DeviceKind.DIRECT)
    if not allowed:
        with pytest.raises(EnrollmentForbidden):
            enrollments.create_enrollment(svc, actor, given)
        made = enrollments.create_enrollment(svc, org.actor, given)
        with pytest.raises(EnrollmentForbidden):
            enrollments.delete_enrollment(svc, actor, made.id)
        assert enrollments.get_enrollment(svc, org.actor, made.id).state is S.PENDING
        return
    made = enrollments.create_enrollment(svc, actor, given)
    assert enrollments.delete_enrollment(svc, actor, made.id).state is S.UNENROLLED


def test_a_direct_device_enrolls_with_its_proof_and_completes_with_its_capabilities(
    svc: Services,
) -> None:
    """C3, §6: the proof gives a twin, a credential and settings; capabilities finish it.
    Enrolling again gives a new credential for the same twin."""
    org = make_org(svc)
    enrollment_id = direct(svc, org, "SN-200")

    got = device_enrollment.enroll(svc, *proof("SN-200"))
    assert got.enrollment_id == enrollment_id
    assert got.settings["name"] == "Meter SN-200"
    twin = get_device(svc, org.actor, got.device_id)
    assert (twin.serial, twin.name) == ("SN-200", "Meter SN-200")
    assert enrollments.get_enrollment(svc, org.actor, enrollment_id).state is S.IN_PROGRESS

    done = device_enrollment.complete(svc, got.credential, enrollment_id, {"relay": 2})
    assert (done.state, done.capabilities, done.device_id) == (S.DONE, {"relay": 2}, twin.id)
    assert states(svc, org, enrollment_id) == [S.PENDING, S.IN_PROGRESS, S.DONE]

    again = device_enrollment.enroll(svc, *proof("SN-200"))
    assert (again.device_id, again.enrollment_id) == (twin.id, enrollment_id)
    assert again.credential != got.credential
    with pytest.raises(Unauthenticated):
        device_enrollment.complete(svc, got.credential, enrollment_id, {})
    assert (
        device_enrollment.commands_for(enrollments.get_enrollment(svc, org.actor, enrollment_id))
        == ()
    )


def test_a_proof_is_refused_when_forged_expired_or_for_an_unknown_serial(svc: Services) -> None:
    org = make_org(svc)
    enrollment_id = direct(svc, org, "SN-300")
    serial, expires, _ = proof("SN-300")

    with pytest.raises(InvalidSignature):
        device_enrollment.enroll(svc, *proof("SN-300", "not-the-right-key"))
    with pytest.raises(InvalidSignature):
        device_enrollment.enroll(svc, serial, expires, "bm90IGEgc2lnbmF0dXJl")
    with pytest.raises(SignatureExpired):
        device_enrollment.enroll(svc, *proof("SN-300", ahead=-10))
    with pytest.raises(SignatureExpired):
        device_enrollment.enroll(svc, *proof("SN-300", ahead=3700))
    with pytest.raises(NotEnrolled):
        device_enrollment.enroll(svc, *proof("SN-NOBODY"))
    node = enrollments.create_enrollment(
        svc, org.actor, EnrollmentInput("NODE-1", KEY, DeviceKind.NODE)
    )
    with pytest.raises(NotEnrolled):  # nodes do not reach the platform themselves
        device_enrollment.enroll(svc, *proof(node.serial))
    assert states(svc, org, enrollment_id) == [S.PENDING]


def test_a_gateway_enrolls_its_nodes_through_jobs_and_retries_a_failed_one(
    svc: Services,
) -> None:
    """C4: pending nodes become jobs with their access keys (and in progress); results
    make them done with a twin or failed with the error; a retry makes a job again."""
    org = make_org(svc)
    gateway = enrolled_gateway(svc, org)
    gateway_id = (
        enrollments.list_enrollments(
            svc, org.actor, EnrollmentFilter(kind=DeviceKind.GATEWAY), PageRequest()
        )
        .items[0]
        .id
    )
    nodes = [
        enrollments.create_enrollment(
            svc,
            org.actor,
            EnrollmentInput(f"NODE-{i}", f"node-key-{i}", DeviceKind.NODE, gateway_id),
        )
        for i in range(3)
    ]

    jobs = device_enrollment.jobs(svc, gateway)
    assert [(j.type, j.serial, j.access_key) for j in jobs] == [
        ("enroll", f"NODE-{i}", f"node-key-{i}") for i in range(3)
    ]
    assert device_enrollment.jobs(svc, gateway) == jobs  # not reported yet: handed out again
    device_enrollment.job_result(svc, gateway, nodes[0].id, ok=True, capabilities={"temp": True})
    device_enrollment.job_result(svc, gateway, nodes[1].id, ok=False, error="no BLE answer")
    with pytest.raises(Invalid):
        device_enrollment.job_result(svc, gateway, nodes[2].id, ok=False, error=" ")
    with pytest.raises(InvalidTransition):
        device_enrollment.job_result(svc, gateway, nodes[0].id, ok=True, capabilities={})

    first = enrollments.get_enrollment(svc, org.actor, nodes[0].id)
    assert (first.state, first.capabilities) == (S.DONE, {"temp": True})
    assert get_device(svc, org.actor, first.device_id or "").serial == "NODE-0"
    failed = enrollments.get_enrollment(svc, org.actor, nodes[1].id)
    assert (failed.state, failed.reason) == (S.FAILED, "no BLE answer")
    assert [j.serial for j in device_enrollment.jobs(svc, gateway)] == ["NODE-2"]

    enrollments.retry_enrollment(svc, org.actor, nodes[1].id)
    assert [j.serial for j in device_enrollment.jobs(svc, gateway)] == ["NODE-1", "NODE-2"]
    assert states(svc, org, nodes[1].id) == [
        S.PENDING, S.IN_PROGRESS, S.FAILED, S.PENDING, S.IN_PROGRESS,
    ]  # fmt: skip
    with pytest.raises(InvalidTransition):
        enrollments.retry_enrollment(svc, org.actor, nodes[0].id)
    with pytest.raises(NotFound):  # another organization's gateway sees none of it
        device_enrollment.job_result(
            svc, enrolled_gateway(svc, make_org(svc)), nodes[2].id, ok=True
        )


def test_gateways_report_nearby_serials_offered_until_enrolled(svc: Services) -> None:
    """C4, C9: the latest report replaces the previous one; enrolled serials drop out."""
    org = make_org(svc)
    gateway = enrolled_gateway(svc, org)
    device_enrollment.report_nearby(svc, gateway, [Sighting("OLD-1", -90)])
    kept = device_enrollment.report_nearby(
        svc, gateway, [Sighting("N-1", -70), Sighting("N-2", -40), Sighting(" N-1 ", -60)]
    )

    assert kept == 2
    seen = enrollments.nearby(svc, org.actor)
    assert [(n.serial, n.rssi) for n in seen] == [("N-2", -40), ("N-1", -60)]
    enrollments.create_enrollment(svc, org.actor, EnrollmentInput("N-2", KEY, DeviceKind.NODE))
    assert [n.serial for n in enrollments.nearby(svc, org.actor)] == ["N-1"]
    assert enrollments.nearby(svc, make_org(svc).actor) == []


def test_the_app_enrolls_a_node_without_a_gateway(svc: Services) -> None:
    """C5: the record is done at once with its capabilities and a twin."""
    org = make_org(svc)
    node = enrollments.create_enrollment(
        svc, org.actor, EnrollmentInput("APP-1", KEY, DeviceKind.NODE, location="Hall 2")
    )
    done = enrollments.enroll_by_app(svc, org.actor, node.id, {"sensor": "co2"})

    assert (done.state, done.capabilities) == (S.DONE, {"sensor": "co2"})
    assert get_device(svc, org.actor, done.device_id or "").location.text == "Hall 2"
    direct_id = direct(svc, org, "DIRECT-1")
    with pytest.raises(Invalid):
        enrollments.enroll_by_app(svc, org.actor, direct_id, {})


def test_deleting_an_enrollment_removes_the_twin_and_unenrolls_at_the_next_connection(
    svc: Services,
) -> None:
    """C6: the twin goes at once; a direct device is told at check-in and its
    acknowledgement ends it; a gateway's node becomes an unenroll job; one that never
    reached its device is unenrolled at once; every serial can then enroll again."""
    org = make_org(svc)
    enrollment_id = direct(svc, org, "SN-600")
    got = device_enrollment.enroll(svc, *proof("SN-600"))
    device_enrollment.complete(svc, got.credential, enrollment_id, {})

    gone = enrollments.delete_enrollment(svc, org.actor, enrollment_id)
    assert (gone.state, gone.device_id) == (S.UNENROLL_PENDING, None)
    with pytest.raises(NotFound):
        get_device(svc, org.actor, got.device_id)
    holder = device_enrollment.holder(svc, got.credential)
    assert holder is not None
    (command,) = device_enrollment.commands_for(holder)
    assert command.type == "unenroll"
    device_enrollment.acknowledge(svc, got.credential, command.id, ok=False)  # asked again
    device_enrollment.acknowledge(svc, got.credential, command.id, ok=True)
    assert device_enrollment.holder(svc, got.credential) is None
    assert states(svc, org, enrollment_id)[-2:] == [S.UNENROLL_PENDING, S.UNENROLLED]
    again = direct(svc, org, "SN-600")
    assert again != enrollment_id

    gateway = enrolled_gateway(svc, org, "GW-6")
    gateway_id = (
        enrollments.list_enrollments(svc, org.actor, EnrollmentFilter(serial="GW-6"), PageRequest())
        .items[0]
        .id
    )
    node = enrollments.create_enrollment(
        svc, org.actor, EnrollmentInput("NODE-6", KEY, DeviceKind.NODE, gateway_id)
    )
    device_enrollment.jobs(svc, gateway)
    device_enrollment.job_result(svc, gateway, node.id, ok=True, capabilities={})
    enrollments.delete_enrollment(svc, org.actor, node.id)
    (job,) = device_enrollment.jobs(svc, gateway)
    assert (job.type, job.serial, job.access_key) == ("unenroll", "NODE-6", None)
    device_enrollment.job_result(svc, gateway, node.id, ok=True)
    assert enrollments.get_enrollment(svc, org.actor, node.id).state is S.UNENROLLED
    assert device_enrollment.jobs(svc, gateway) == []

    never = direct(svc, org, "SN-601")
    assert enrollments.delete_enrollment(svc, org.actor, never).state is S.UNENROLLED
    assert states(svc, org, never) == [S.PENDING, S.UNENROLL_PENDING, S.UNENROLLED]


def test_rows_hold_no_access_key_in_clear(svc: Services, container: Container) -> None:
    """C1 at the storage: nothing in the enrollments table reads as the key."""
    org = make_org(svc)
    direct(svc, org, "SN-700")
    with container.engine.connect() as conn:
        rows = conn.execute(select(t.enrollments)).all()
    assert rows
    assert all(KEY not in " ".join(str(v) for v in row) for row in rows)


def test_a_reset_device_whose_acknowledgement_was_lost_completes_its_unenrollment(
    svc: Services,
) -> None:
    """C6: a device that factory-reset without its acknowledgement arriving has no
    credential left to acknowledge with; when it proves its key again, the unenrollment
    completes and it is told it is not enrolled."""
    org = make_org(svc)
    enrollment_id = direct(svc, org, "SN-800")
    got = device_enrollment.enroll(svc, *proof("SN-800"))
    enrollments.delete_enrollment(svc, org.actor, enrollment_id)

    with pytest.raises(NotEnrolled):
        device_enrollment.enroll(svc, *proof("SN-800"))

    assert enrollments.get_enrollment(svc, org.actor, enrollment_id).state is S.UNENROLLED
    assert device_enrollment.holder(svc, got.credential) is None
    other_id = direct(svc, org, "SN-801")
    device_enrollment.enroll(svc, *proof("SN-801"))
    enrollments.delete_enrollment(svc, org.actor, other_id)
    with pytest.raises(InvalidSignature):  # a forged proof completes nothing
        device_enrollment.enroll(svc, *proof("SN-801", "not-the-right-key"))
    assert enrollments.get_enrollment(svc, org.actor, other_id).state is S.UNENROLL_PENDING


def test_a_deleted_node_is_the_gateway_s_first_job_however_many_enrollments_wait(
    svc: Services,
) -> None:
    """C6: the unenrollment reaches the node at the gateway's next connection, ahead of
    older enrollments that fill a whole round of jobs."""
    org = make_org(svc)
    gateway = enrolled_gateway(svc, org)
    (gateway_record,) = enrollments.list_enrollments(
        svc, org.actor, EnrollmentFilter(kind=DeviceKind.GATEWAY), PageRequest(None, 5)
    ).items
    waiting = [
        enrollments.create_enrollment(
            svc, org.actor, EnrollmentInput(f"OLD-{n:03d}", KEY, DeviceKind.NODE, gateway_record.id)
        )
        for n in range(device_enrollment.MAX_JOBS)
    ]
    for job in device_enrollment.jobs(svc, gateway):
        device_enrollment.job_result(svc, gateway, job.id, ok=False, error="busy")
    late = enrollments.create_enrollment(
        svc, org.actor, EnrollmentInput("LATE-1", KEY, DeviceKind.NODE, gateway_record.id)
    )
    (job,) = device_enrollment.jobs(svc, gateway)
    device_enrollment.job_result(svc, gateway, job.id, ok=True, capabilities={})
    for old in waiting:  # a whole round of older enrollments waits again
        enrollments.retry_enrollment(svc, org.actor, old.id)

    enrollments.delete_enrollment(svc, org.actor, late.id)
    first = device_enrollment.jobs(svc, gateway)

    assert (first[0].id, first[0].type) == (late.id, "unenroll")
    assert len(first) == device_enrollment.MAX_JOBS
