"""What the mobile app does to enroll a device, through the use cases on SQLite and
PostgreSQL (SPEC C9, C5): reading the QR on a device's back by the default formats and by
the organization's own pattern, enrolling with the installation photo in one step, the
photo reaching the twin once a gateway has enrolled the node, and the gateways with what
they see nearby."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from onboard.domain.enrollment import DeviceKind, EnrollmentState, Sighting
from onboard.domain.errors import (
    EnrollmentForbidden,
    Invalid,
    NotFound,
    UnsupportedFileType,
)
from onboard.services import device_enrollment, dynamic_codes, enrollments
from onboard.services.common import member_actor
from onboard.services.devices import get_device
from onboard.services.documents import photo_of, release_files
from onboard.services.enrollments import EnrollmentInput
from onboard.services.ports import PageRequest, Services
from tests.factories import make_member, make_org
from tests.integration.test_enrollments import KEY, enrolled_gateway

S = EnrollmentState
PATTERN = r"ACME\|SN=(?P<serial>[A-Z0-9-]+)\|AK=(?P<key>[A-Za-z0-9]{8,})"


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "#3366aa").save(out, "JPEG")
    return out.getvalue()


def test_a_device_qr_is_read_as_serial_colon_key_or_as_json(svc: Services) -> None:
    """C9's default formats: SERIAL:ACCESSKEY, or JSON {"serial", "key"}."""
    org = make_org(svc)

    plain = enrollments.read_label(svc, org.actor, " SN-1:abcdefgh12 ")
    as_json = enrollments.read_label(
        svc, org.actor, json.dumps({"serial": "SN-2", "key": "k3y-0f-sn-2"})
    )

    assert (plain.label.serial, plain.label.access_key) == ("SN-1", "abcdefgh12")
    assert (as_json.label.serial, as_json.label.access_key) == ("SN-2", "k3y-0f-sn-2")
    assert plain.enrollment is None
    for unreadable in ("just-a-serial", '{"serial": "SN-3"}', ":nokey", "SN-4:short"):
        with pytest.raises(Invalid):
            enrollments.read_label(svc, org.actor, unreadable)


def test_the_organizations_own_pattern_reads_its_labels_and_only_its_own(svc: Services) -> None:
    """C9: an organization-defined regular expression with the groups serial and key,
    stored as a rule of kind enrollment; other organizations keep the default formats,
    and scans of codes ignore the rule."""
    org, other = make_org(svc), make_org(svc)
    dynamic_codes.create_rule(
        svc, org.actor, name="ACME labels", kind="enrollment", pattern=PATTERN
    )
    label = "ACME|SN=AC-77|AK=Secret99x"

    found = enrollments.read_label(svc, org.actor, label)

    assert (found.label.serial, found.label.access_key) == ("AC-77", "Secret99x")
    assert enrollments.read_label(svc, org.actor, "AC-78:fallback-key").label.serial == "AC-78"
    with pytest.raises(Invalid):  # the pattern is the organization's, not everybody's
        enrollments.read_label(svc, other.actor, label)
    assert dynamic_codes.scan(svc, org.actor, label).result.value == "unknown"


def test_an_enrollment_pattern_needs_both_named_groups(svc: Services) -> None:
    org = make_org(svc)
    with pytest.raises(Invalid) as refused:
        dynamic_codes.create_rule(
            svc, org.actor, name="half", kind="enrollment", pattern=r"(?P<serial>\d+)"
        )
    assert refused.value.fields == {"pattern": "needs the named group key"}


def test_a_scanned_serial_that_is_enrolled_already_names_its_enrollment(svc: Services) -> None:
    org = make_org(svc)
    made = enrollments.create_enrollment(
        svc, org.actor, EnrollmentInput("SN-9", KEY, DeviceKind.DIRECT)
    )
    assert enrollments.read_label(svc, org.actor, f"SN-9:{KEY}").enrollment == made
    enrollments.delete_enrollment(svc, org.actor, made.id)  # never reached: unenrolled at once
    assert enrollments.read_label(svc, org.actor, f"SN-9:{KEY}").enrollment is None


def test_the_app_enrolls_a_node_with_its_photo_in_one_step(svc: Services) -> None:
    """C5, C9: done at once; the twin has the installation photo and the capabilities."""
    org = make_org(svc)
    photo = jpeg()

    made = enrollments.enroll_on_site(
        svc,
        org.actor,
        EnrollmentInput("ND-1", KEY, DeviceKind.NODE, name="Sensor 1", location="Hall 2"),
        photo=photo,
        enrolled_by_app={"temperature": True},
    )

    assert made.state is S.DONE
    assert made.device_id is not None
    twin = get_device(svc, org.actor, made.device_id)
    assert (twin.name, twin.location.text) == ("Sensor 1", "Hall 2")
    stored = photo_of(svc, org.actor, twin.id)
    assert (stored.content, stored.content_type) == (photo, "image/jpeg")
    assert made.capabilities == {"temperature": True}


def test_a_photo_taken_before_the_gateway_enrolls_the_node_reaches_its_twin(
    svc: Services,
) -> None:
    """C9 with C4: the enrollment keeps the photo until the twin appears; the file stays
    stored while the enrollment refers to it."""
    org = make_org(svc)
    gateway = enrolled_gateway(svc, org, "GW-P")
    (gateway_record,) = enrollments.list_gateways(svc, org.actor, PageRequest(None, 10)).items
    photo = jpeg()

    made = enrollments.enroll_on_site(
        svc,
        org.actor,
        EnrollmentInput("ND-2", KEY, DeviceKind.NODE, gateway_id=gateway_record.id),
        photo=photo,
    )
    assert made.state is S.PENDING
    assert made.photo_key is not None
    release_files(svc, [made.photo_key])  # still referred to: kept
    (job,) = device_enrollment.jobs(svc, gateway)
    done = device_enrollment.job_result(svc, gateway, job.id, ok=True, capabilities={})

    assert done.device_id is not None
    assert photo_of(svc, org.actor, done.device_id).content == photo


def test_a_refused_photo_leaves_no_enrollment_behind(svc: Services) -> None:
    org = make_org(svc)
    with pytest.raises(UnsupportedFileType):
        enrollments.enroll_on_site(
            svc, org.actor, EnrollmentInput("ND-3", KEY, DeviceKind.DIRECT), photo=b"%PDF-1.4 x"
        )
    assert enrollments.read_label(svc, org.actor, f"ND-3:{KEY}").enrollment is None


def test_only_who_may_enroll_enrolls_from_the_app(svc: Services) -> None:
    """C8 holds in the app's flow; a technician may still read a label."""
    org = make_org(svc)
    actor = member_actor(make_member(svc, org, roles=["technician"]))

    assert enrollments.read_label(svc, actor, f"ND-4:{KEY}").label.serial == "ND-4"
    with pytest.raises(EnrollmentForbidden):
        enrollments.enroll_on_site(
            svc, actor, EnrollmentInput("ND-4", KEY, DeviceKind.NODE), enrolled_by_app={}
        )
    made = enrollments.create_enrollment(
        svc, org.actor, EnrollmentInput("ND-5", KEY, DeviceKind.NODE)
    )
    with pytest.raises(EnrollmentForbidden):
        enrollments.set_enrollment_photo(svc, actor, made.id, jpeg())


def test_gateways_and_what_each_sees_by_its_device_or_enrollment_id(svc: Services) -> None:
    """§5.1 /gateways: the gateways, and one gateway's nearby serials."""
    org = make_org(svc)
    credential = enrolled_gateway(svc, org, "GW-N")
    device_enrollment.report_nearby(svc, credential, [Sighting("NB-1", -50)])
    (gateway,) = enrollments.list_gateways(svc, org.actor, PageRequest(None, 10)).items
    assert gateway.device_id is not None

    by_device = enrollments.nearby(svc, org.actor, gateway.device_id)
    by_enrollment = enrollments.nearby(svc, org.actor, gateway.id)

    assert [n.serial for n in by_device] == [n.serial for n in by_enrollment] == ["NB-1"]
    with pytest.raises(NotFound):
        enrollments.nearby(svc, make_org(svc).actor, gateway.device_id)
    node = enrollments.create_enrollment(
        svc, org.actor, EnrollmentInput("NB-2", KEY, DeviceKind.DIRECT)
    )
    with pytest.raises(NotFound):  # not a gateway
        enrollments.nearby(svc, org.actor, node.id)
