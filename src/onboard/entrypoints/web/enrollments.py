"""Back-office pages of enrollment (SPEC Part C): the enrollments with state filters, one
enrollment with its history, its twin and capabilities (a gateway with its nodes and the
serials it sees nearby), enrolling one device, retrying a failed enrollment, and deleting
one after confirmation (C6)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response

from onboard.domain.access import Actor
from onboard.domain.enrollment import (
    DeviceKind,
    Enrollment,
    EnrollmentFilter,
    EnrollmentState,
    may_enroll,
    require_enroll,
)
from onboard.domain.errors import AlreadyEnrolled, DepartmentForbidden, Invalid, NotFound
from onboard.entrypoints import http
from onboard.entrypoints.http import status_of
from onboard.entrypoints.web.confirm import confirmed
from onboard.entrypoints.web.departments import all_departments
from onboard.entrypoints.web.forms import Choices, CsrfField, Cursor, Text, with_query
from onboard.entrypoints.web.rendering import FormErrors, form_errors, redirect, render
from onboard.entrypoints.web.routing import web_router
from onboard.entrypoints.web.session import MemberActor, Svc
from onboard.services import enrollments
from onboard.services.enrollments import EnrollmentInput
from onboard.services.ports import PageRequest, Services

router = web_router()

S = EnrollmentState
STATE_LABELS = {
    S.PENDING: "Pending",
    S.IN_PROGRESS: "In progress",
    S.DONE: "Enrolled",
    S.FAILED: "Failed",
    S.UNENROLL_PENDING: "Unenrolling",
    S.UNENROLLED: "Unenrolled",
}
KIND_LABELS = {
    DeviceKind.GATEWAY: "Gateway",
    DeviceKind.NODE: "Node",
    DeviceKind.DIRECT: "Direct",
}
KIND_HINTS = {
    DeviceKind.DIRECT: "reaches onboard itself and enrolls with its access key",
    DeviceKind.GATEWAY: "enrolls itself, then the nodes near it",
    DeviceKind.NODE: "enrolled by its gateway, or by the mobile app without one",
}
GATEWAYS_OFFERED = 200


def _path(enrollment_id: str) -> str:
    return f"/enrollments/{enrollment_id}"


def _labels() -> dict[str, Any]:
    return {"state_labels": STATE_LABELS, "kind_labels": KIND_LABELS}


# --- the list -----------------------------------------------------------------------------


def _state(raw: str) -> EnrollmentState | None:
    try:
        return EnrollmentState(raw)
    except ValueError:
        return None


def kind_of(raw: str) -> DeviceKind | None:
    try:
        return DeviceKind(raw)
    except ValueError:
        return None


@router.get("/enrollments")
def list_(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    paging: Cursor,
    state: str = "",
    kind: str = "",
    serial: str = "",
) -> Response:
    """Connected devices under management, newest first, by state and kind (C1, C2)."""
    chosen, sort = _state(state), kind_of(kind)
    wanted = EnrollmentFilter(
        frozenset({chosen}) if chosen else frozenset(), sort, None, serial.strip() or None
    )
    page = enrollments.list_enrollments(svc, actor, wanted, paging)
    gateways = _gateway_serials(svc, actor, page.items)
    return render(
        request,
        "enrollments/list.html",
        {
            "area": "enrollments",
            "page": page,
            "paged": paging.after is not None,
            "state": chosen.value if chosen else "",
            "kind": sort.value if sort else "",
            "serial": serial.strip(),
            "states": list(S),
            "kinds": list(DeviceKind),
            "gateways": gateways,
            "list_url": with_query(
                "/enrollments",
                state=chosen and chosen.value,
                kind=sort and sort.value,
                serial=serial.strip(),
            ),
            "can_enroll": may_enroll(actor),
            **_labels(),
        },
    )


def _gateway_serials(svc: Services, actor: Actor, found: Sequence[Enrollment]) -> dict[str, str]:
    """The serials of the gateways these enrollments name, for their rows; a gateway the
    member does not see (P5) stays unnamed."""
    serials: dict[str, str] = {}
    for gateway_id in {e.gateway_id for e in found if e.gateway_id}:
        with suppress(NotFound):
            serials[gateway_id] = enrollments.get_enrollment(svc, actor, gateway_id).serial
    return serials


# --- enrolling one device ------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    serial: str = ""
    access_key: str = ""
    kind: str = DeviceKind.DIRECT.value
    gateway_id: str = ""
    name: str = ""
    location: str = ""
    chosen: tuple[str, ...] = ()


def enrollable_gateways(svc: Services, actor: Actor) -> list[Enrollment]:
    """Gateways a node can be given: enrolled ones the member sees."""
    wanted = EnrollmentFilter(frozenset({S.DONE}), DeviceKind.GATEWAY)
    page = enrollments.list_enrollments(svc, actor, wanted, PageRequest(limit=GATEWAYS_OFFERED))
    return list(page.items)


def _new_form(
    request: Request,
    svc: Services,
    actor: Actor,
    draft: Draft,
    *,
    errors: FormErrors | None = None,
    status: int | None = None,
) -> Response:
    return render(
        request,
        "enrollments/new.html",
        {
            "area": "enrollments",
            "draft": draft,
            "kinds": [(k.value, KIND_LABELS[k], KIND_HINTS[k]) for k in DeviceKind],
            "gateways": enrollable_gateways(svc, actor),
            "departments": all_departments(svc, actor),
        },
        errors=errors or FormErrors(),
        status=status,
    )


@router.get("/enrollments/new")
def new_form(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    serial: str = "",
    gateway: str = "",
) -> Response:
    """The form; a serial a gateway saw nearby comes filled in, with that gateway."""
    require_enroll(actor)
    kind = DeviceKind.NODE.value if gateway else DeviceKind.DIRECT.value
    return _new_form(request, svc, actor, Draft(serial=serial[:100], kind=kind, gateway_id=gateway))


@router.post("/enrollments")
def create(
    request: Request,
    svc: Svc,
    actor: MemberActor,
    csrf: CsrfField = "",
    serial: Text = "",
    access_key: Text = "",
    kind: Text = "",
    gateway_id: Text = "",
    name: Text = "",
    location: Text = "",
    departments: Choices = None,
) -> Response:
    """C1: enroll one device; its access key is stored encrypted and not shown again."""
    http.check_csrf(request, csrf)
    chosen = [d for d in departments or [] if d]
    draft = Draft(serial, "", kind, gateway_id, name, location, tuple(chosen))
    try:
        sort = kind_of(kind)
        if sort is None:
            raise Invalid("Choose what kind of device it is.", fields={"kind": "choose one"})
        made = enrollments.create_enrollment(
            svc,
            actor,
            EnrollmentInput(
                serial,
                access_key,
                sort,
                gateway_id or None if sort is DeviceKind.NODE else None,
                name or None,
                location or None,
                chosen or None,
            ),
        )
    except (Invalid, AlreadyEnrolled, DepartmentForbidden) as refused:
        return _new_form(
            request,
            svc,
            actor,
            draft,
            errors=form_errors(refused),
            status=status_of(refused),
        )
    return redirect(request, _path(made.id), notice=f"Enrollment of {made.serial} created.")


def enrolled_card(svc: Services, actor: Actor, device_id: str) -> dict[str, Any]:
    """What a device's overview shows when it is an enrolled connected device: its
    enrollment and the capabilities it reported (C3-C5)."""
    wanted = EnrollmentFilter(device_id=device_id)
    found = enrollments.list_enrollments(svc, actor, wanted, PageRequest(limit=1)).items
    if not found:
        return {"enrolled": None}
    enrollment = found[0]
    return {
        "enrolled": enrollment,
        "enrolled_gateway": _gateway_serials(svc, actor, [enrollment]).get(
            enrollment.gateway_id or ""
        ),
        "enrolled_capabilities": _capabilities(enrollment),
        **_labels(),
    }


def _capabilities(found: Enrollment) -> str | None:
    if found.capabilities is None:
        return None
    return json.dumps(found.capabilities, indent=2, ensure_ascii=False)


# --- one enrollment ------------------------------------------------------------------------


def _detail(request: Request, svc: Services, actor: Actor, enrollment_id: str) -> dict[str, Any]:
    found = enrollments.get_enrollment(svc, actor, enrollment_id)
    context: dict[str, Any] = {
        "area": "enrollments",
        "enrollment": found,
        "history": enrollments.enrollment_history(svc, actor, enrollment_id),
        "gateway_serial": _gateway_serials(svc, actor, [found]).get(found.gateway_id or ""),
        "capabilities": _capabilities(found),
        "can_enroll": may_enroll(actor),
        "removable": found.state not in (S.UNENROLL_PENDING, S.UNENROLLED),
        "nodes": [],
        "nearby": [],
        **_labels(),
    }
    if found.kind is DeviceKind.GATEWAY:
        nodes = enrollments.list_enrollments(
            svc, actor, EnrollmentFilter(gateway_id=found.id), PageRequest(limit=200)
        )
        context["nodes"] = nodes.items
        context["nearby"] = enrollments.nearby(svc, actor, found.id)
    return context


@router.get("/enrollments/{enrollment_id}")
def detail(request: Request, svc: Svc, actor: MemberActor, enrollment_id: str) -> Response:
    """An enrollment: its facts, twin, capabilities and history; a gateway's nodes and
    what it sees nearby."""
    return render(request, "enrollments/detail.html", _detail(request, svc, actor, enrollment_id))


@router.post("/enrollments/{enrollment_id}/retry")
def retry(
    request: Request, svc: Svc, actor: MemberActor, enrollment_id: str, csrf: CsrfField = ""
) -> Response:
    """C2: a failed enrollment back to pending."""
    http.check_csrf(request, csrf)
    enrollments.retry_enrollment(svc, actor, enrollment_id)
    return redirect(
        request, _path(enrollment_id), notice="Pending again: it will be tried once more."
    )


def _delete_context(svc: Services, actor: Actor, enrollment_id: str) -> dict[str, Any]:
    found = enrollments.get_enrollment(svc, actor, enrollment_id)
    require_enroll(actor)
    reached = found.state in (S.IN_PROGRESS, S.DONE) or found.device_id is not None
    text = (
        "Its device is deleted now, and told to unenroll (factory-reset) the next time it, "
        "or its gateway, connects; the enrollment ends when it acknowledges."
        if reached
        else "It never reached its device: it ends at once."
    )
    return {
        "area": "enrollments",
        "confirm_title": f"Delete the enrollment of {found.serial}?",
        "confirm_text": f"{text} The serial can then be enrolled again.",
        "confirm_action": f"{_path(found.id)}/delete",
        "confirm_button": "Delete enrollment",
        "cancel_url": _path(found.id),
    }


@router.get("/enrollments/{enrollment_id}/delete")
def delete_form(request: Request, svc: Svc, actor: MemberActor, enrollment_id: str) -> Response:
    return render(request, "enrollments/delete.html", _delete_context(svc, actor, enrollment_id))


@router.post("/enrollments/{enrollment_id}/delete")
def delete(
    request: Request, svc: Svc, actor: MemberActor, enrollment_id: str, csrf: CsrfField = ""
) -> Response:
    """C6, after confirmation."""
    return confirmed(
        request,
        csrf,
        template="enrollments/delete.html",
        context=_delete_context(svc, actor, enrollment_id),
        action=lambda: enrollments.delete_enrollment(svc, actor, enrollment_id),
        back=_path(enrollment_id),
        notice="Enrollment deleted: its device is told at its next connection.",
    )
