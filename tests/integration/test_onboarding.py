"""QR onboarding through the use cases, on SQLite and PostgreSQL (SPEC D5): batches of
labels numbered per group, the claim code on each label computed here with this test's
own HMAC and base32 from D5's text (not the product's code), claims into the group's own
organization, into an allowed one and by a refused one, a device onboarded already, a
wrong code and its rate limit, and each batch's progress."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from onboard.adapters.labels.sheets import STOCKS, StockName
from onboard.domain.access import Actor
from onboard.domain.devices import Template
from onboard.domain.errors import (
    AlreadyOnboarded,
    ClaimNotAllowed,
    Invalid,
    NotFound,
    NothingToLabel,
    NotRegistered,
    PermissionDenied,
    RateLimited,
    RegistrationDisabled,
)
from onboard.domain.provisioning import Registration
from onboard.services import audit, templates
from onboard.services.common import member_actor
from onboard.services.devices import get_device, list_devices
from onboard.services.ports import AuditFilter, DeviceFilter, PageRequest, Services
from onboard.services.provisioning.activation import activate
from onboard.services.provisioning.groups import GroupInput, NewGroup, create_group
from onboard.services.provisioning.onboarding import (
    batch_labels,
    batch_progress,
    check_claim,
    claim_device,
    claim_offer,
    create_onboarding_batch,
    onboarding_link,
)
from onboard.services.provisioning.registrations import set_registration_disabled
from tests.factories import Org, make_department, make_member, make_org, unique
from tests.integration.conftest import CLI_PUBLIC_URL
from tests.label_decoding import decoded_labels
from tests.provisioning import claim_code_of, key_of, signed


def new_group(svc: Services, org: Org, **settings: Any) -> NewGroup:
    group_id = unique("grp").replace(" ", "-")
    return create_group(svc, org.actor, group_id, GroupInput(name="Meters", **settings))


def register(svc: Services, made: NewGroup, *serials: str, **attributes: Any) -> None:
    now = svc.clock.now()
    with svc.uow() as uow:
        uow.registrations.add_many(
            [
                Registration(
                    svc.ids.new(), made.group.organization_id, made.group.id, s, attributes,
                    False, None, None, None, now,
                )
                for s in serials
            ]
        )  # fmt: skip
        uow.commit()


def registration(svc: Services, made: NewGroup, serial: str) -> Registration:
    with svc.uow() as uow:
        found = uow.registrations.get(made.group.id, serial)
    assert found is not None
    return found


def claim(svc: Services, actor: Actor, made: NewGroup, serial: str, **more: Any) -> Any:
    code = claim_code_of(made.secret, serial)
    return claim_device(svc, actor, made.group.group_id, serial, code, **more)


def labelled(svc: Services, org: Org, made: NewGroup, number: int) -> list[str]:
    return [t.token for t in batch_labels(svc, org.actor, made.group.id, number).labels()]


def meter_template(svc: Services, org: Org, *names: str) -> Template:
    fields = [{"name": n, "type": "string", "required": False, "public": False} for n in names]
    return templates.create_template(svc, org.actor, name=unique("Meter"), fields=fields)


def test_d5_batches_label_the_next_serials_without_a_label_and_are_numbered_per_group(
    svc: Services, org: Org
) -> None:
    """D5: by serial, disabled registrations left out; numbered 1, 2, ... in each group;
    a batch larger than what is left takes what is left; then nothing_to_label."""
    made = new_group(svc, org)
    register(svc, made, "SN-05", "SN-03", "SN-01", "SN-04", "SN-02", "SN-00")
    set_registration_disabled(svc, org.actor, made.group.id, "SN-00", disabled=True)

    first = create_onboarding_batch(svc, org.actor, made.group.group_id, 2)
    second = create_onboarding_batch(svc, org.actor, made.group.id, 10)

    assert (first.number, first.size) == (1, 2)
    assert (second.number, second.size) == (2, 3)
    assert labelled(svc, org, made, 1) == ["SN-01", "SN-02"]
    assert labelled(svc, org, made, 2) == ["SN-03", "SN-04", "SN-05"]
    with pytest.raises(NothingToLabel) as refused:
        create_onboarding_batch(svc, org.actor, made.group.id, 1)
    assert refused.value.code == "nothing_to_label"
    assert [p.batch.number for p in batch_progress(svc, org.actor, made.group.id)] == [2, 1]

    other = new_group(svc, org)
    register(svc, other, "X-1")
    assert create_onboarding_batch(svc, org.actor, other.group.id, 5).number == 1


@pytest.mark.parametrize("count", [0, -1, 100_001])
def test_d5_a_batch_of_an_impossible_size_is_refused_and_makes_nothing(
    svc: Services, org: Org, count: int
) -> None:
    made = new_group(svc, org)
    register(svc, made, "SN-1")
    with pytest.raises(Invalid) as refused:
        create_onboarding_batch(svc, org.actor, made.group.id, count)
    assert "count" in refused.value.fields
    assert batch_progress(svc, org.actor, made.group.id) == []


def test_d5_only_members_who_manage_provisioning_make_and_print_batches(
    svc: Services, org: Org
) -> None:
    made = new_group(svc, org)
    register(svc, made, "SN-1")
    create_onboarding_batch(svc, org.actor, made.group.id, 1)
    technician = member_actor(make_member(svc, org, roles=["technician"]))
    with pytest.raises(PermissionDenied):
        create_onboarding_batch(svc, technician, made.group.id, 1)
    with pytest.raises(PermissionDenied):
        batch_labels(svc, technician, made.group.id, 1)
    assert [p.printed for p in batch_progress(svc, technician, made.group.id)] == [1]


def test_p1_another_organization_neither_sees_nor_makes_nor_prints_a_groups_batches(
    svc: Services, org: Org
) -> None:
    made = new_group(svc, org)
    register(svc, made, "SN-1", "SN-2")
    create_onboarding_batch(svc, org.actor, made.group.id, 1)
    stranger = make_org(svc)
    for group_ref in (made.group.id, made.group.group_id):
        with pytest.raises(NotFound):
            batch_progress(svc, stranger.actor, group_ref)
        with pytest.raises(NotFound):
            create_onboarding_batch(svc, stranger.actor, group_ref, 1)
        with pytest.raises(NotFound):
            batch_labels(svc, stranger.actor, group_ref, 1)
    with pytest.raises(NotFound):
        batch_labels(svc, org.actor, made.group.id, 2)
    assert [p.printed for p in batch_progress(svc, org.actor, made.group.id)] == [1]


def test_d5_each_label_holds_the_onboarding_url_with_the_claim_code_and_its_texts(
    svc: Services, org: Org
) -> None:
    """D5: {PUBLIC_URL}/o/{group_id}/{serial}/{claim_code}; serial, group id and batch
    number as text. The QR upper-cases the URL (A2's alphanumeric mode), so a serial's
    lower-case letters are percent-encoded: the upper-cased URL still names it exactly."""
    made = new_group(svc, org)
    register(svc, made, "SN-7", "ab/c-9")
    create_onboarding_batch(svc, org.actor, made.group.id, 5)
    group_id = made.group.group_id
    base = svc.public_url.rstrip("/")

    texts = list(batch_labels(svc, org.actor, made.group.id, 1).labels())

    assert [(t.token, t.batch, t.organization) for t in texts] == [
        ("SN-7", "1", group_id),
        ("ab/c-9", "1", group_id),
    ]
    code = claim_code_of(made.secret, "SN-7")
    assert texts[0].url == f"{base}/o/{group_id}/SN-7/{code}"
    lower = claim_code_of(made.secret, "ab/c-9")
    assert texts[1].url == f"{base}/o/{group_id}/%61%62%2F%63-9/{lower}"
    for text, serial, expected in ((texts[0], "SN-7", code), (texts[1], "ab/c-9", lower)):
        link = onboarding_link(svc.public_url, text.url.upper())
        assert link is not None
        assert (link.group_id, link.serial, link.code) == (group_id, serial, expected)
    assert onboarding_link(svc.public_url, "https://elsewhere.example/o/g/s/c") is None
    entries = audit.list_audit(
        svc, org.actor, AuditFilter(action="onboarding_batch.printed"), PageRequest()
    )
    assert len(entries.items) == 1


def test_d5_a_member_onboards_a_device_into_their_own_organization_from_the_groups_defaults(
    svc: Services, org: Org
) -> None:
    """D5, D1: the twin from the group's defaults (template, departments, attributes, the
    registration's over them), with the name and location given, linked to the device's
    registration; claiming again shows the same device; audited device.onboarded."""
    department = make_department(svc, org)
    template = meter_template(svc, org, "site", "fw")
    made = new_group(
        svc, org, template_id=template.id, departments=(department.id,),
        attributes={"site": "plant", "fw": "1.0"},
    )  # fmt: skip
    register(svc, made, "SN-1", fw="1.2")

    offer = claim_offer(
        svc, org.actor, made.group.group_id, "SN-1", claim_code_of(made.secret, "SN-1")
    )
    device = claim(svc, org.actor, made, "SN-1", name="Boiler meter", location="Hall 2")

    assert (offer.organization, offer.device) == (org.organization.name, None)
    assert device.organization_id == org.organization.id
    assert (device.name, device.serial, device.location.text) == ("Boiler meter", "SN-1", "Hall 2")
    assert device.template_id == template.id
    assert device.departments == frozenset({department.id})
    assert device.attributes == {"site": "plant", "fw": "1.2"}
    assert registration(svc, made, "SN-1").device_id == device.id
    again = claim(svc, org.actor, made, "SN-1", name="Other name")
    assert (again.id, again.name) == (device.id, "Boiler meter")
    code = claim_code_of(made.secret, "SN-1")
    shown = claim_offer(svc, org.actor, made.group.group_id, "SN-1", code)
    assert shown.device is not None
    assert shown.device.id == device.id
    entries = audit.list_audit(
        svc, org.actor, AuditFilter(action="device.onboarded"), PageRequest()
    )
    assert [e.target_id for e in entries.items] == [device.id]


def test_d5_p5_a_restricted_member_onboards_into_their_own_departments(
    svc: Services, org: Org
) -> None:
    """P5: the group's departments within the member's own, else the member's."""
    theirs, others = make_department(svc, org), make_department(svc, org)
    made = new_group(svc, org, departments=(others.id,))
    register(svc, made, "SN-1")
    technician = member_actor(make_member(svc, org, roles=["technician"], departments=[theirs.id]))

    device = claim(svc, technician, made, "SN-1")

    assert device.name == "SN-1"
    assert device.departments == frozenset({theirs.id})
    assert get_device(svc, technician, device.id).id == device.id


def test_d5_an_allowed_organization_onboards_the_device_and_the_owner_cannot_claim_it_after(
    svc: Services, org: Org
) -> None:
    """D5: a claimant the group names gets the twin in its own organization (not the
    group's template or departments); the group's organization sees the claim in its
    audit log; it is then already_onboarded for everyone else."""
    customer = make_org(svc)
    department = make_department(svc, org)
    template = meter_template(svc, org, "model")
    made = new_group(
        svc, org, claimants=(customer.organization.id,), template_id=template.id,
        departments=(department.id,), attributes={"model": "M1"},
    )  # fmt: skip
    register(svc, made, "SN-1")

    device = claim(svc, customer.actor, made, "SN-1", location="Roof")

    assert device.organization_id == customer.organization.id
    assert (device.template_id, device.departments) == (None, frozenset())
    assert device.attributes == {"model": "M1"}
    assert get_device(svc, customer.actor, device.id).location.text == "Roof"
    claimed = audit.list_audit(
        svc, org.actor, AuditFilter(action="registration.claimed"), PageRequest()
    )
    assert len(claimed.items) == 1
    with pytest.raises(AlreadyOnboarded) as refused:
        claim(svc, org.actor, made, "SN-1")
    assert refused.value.code == "already_onboarded"
    assert list_devices(svc, org.actor, DeviceFilter(), PageRequest()).items == []


def test_d5_a_group_open_to_every_organization_lets_any_claim(svc: Services, org: Org) -> None:
    made = new_group(svc, org, open_claims=True)
    register(svc, made, "SN-1")
    stranger = make_org(svc)
    device = claim(svc, stranger.actor, made, "SN-1")
    assert device.organization_id == stranger.organization.id


def test_d5_an_organization_the_group_does_not_allow_is_refused_and_nothing_changes(
    svc: Services, org: Org
) -> None:
    made = new_group(svc, org, claimants=(make_org(svc).organization.id,))
    register(svc, made, "SN-1")
    stranger = make_org(svc)
    code = claim_code_of(made.secret, "SN-1")

    with pytest.raises(ClaimNotAllowed) as refused:
        claim(svc, stranger.actor, made, "SN-1")
    with pytest.raises(ClaimNotAllowed):
        claim_offer(svc, stranger.actor, made.group.group_id, "SN-1", code)

    assert refused.value.code == "claim_not_allowed"
    assert "not allowed" in refused.value.detail
    assert registration(svc, made, "SN-1").device_id is None
    assert list_devices(svc, stranger.actor, DeviceFilter(), PageRequest()).items == []


def test_d5_a_wrong_code_is_not_found_and_changes_nothing(svc: Services, org: Org) -> None:
    made = new_group(svc, org)
    register(svc, made, "SN-1", "SN-2")
    wrong = claim_code_of(made.secret, "SN-2")  # another device's code
    for group_id, serial, code in (
        (made.group.group_id, "SN-1", wrong),
        (made.group.group_id, "SN-1", wrong.lower()[:-1]),
        ("no-such-group", "SN-1", claim_code_of(made.secret, "SN-1")),
        (made.group.group_id, "SN 1", wrong),
    ):
        with pytest.raises(NotFound):
            claim_device(svc, org.actor, group_id, serial, code)
    assert registration(svc, made, "SN-1").device_id is None
    assert list_devices(svc, org.actor, DeviceFilter(), PageRequest()).items == []


def test_d5_wrong_codes_are_counted_per_source_address_and_then_limited(
    svc: Services, org: Org
) -> None:
    """§7: rate limits on every guessable thing: past the limit a minute, even the right
    code from that address is refused; another address is not."""
    made = new_group(svc, org)
    register(svc, made, "SN-1")
    right = claim_code_of(made.secret, "SN-1")
    group_id = made.group.group_id
    for _ in range(3):
        with pytest.raises(NotFound):
            check_claim(svc, group_id, "SN-1", "A" * 16, source_ip="192.0.2.1", limit=3)

    with pytest.raises(RateLimited) as limited:
        check_claim(svc, group_id, "SN-1", right, source_ip="192.0.2.1", limit=3)

    assert limited.value.retry_after == 60
    found = check_claim(svc, group_id, "SN-1", right, source_ip="192.0.2.2", limit=3)
    assert found.id == made.group.id
    # The right code is not counted: it never limits.
    for _ in range(5):
        check_claim(svc, group_id, "SN-1", right.lower(), source_ip="192.0.2.3", limit=3)


def test_d5_a_disabled_or_unregistered_serial_is_not_onboarded(svc: Services, org: Org) -> None:
    """D3, D4: a disabled registration is refused; in a preregistered group a serial not
    registered is refused even with its right code, while an open group registers it."""
    made = new_group(svc, org)
    register(svc, made, "SN-1")
    set_registration_disabled(svc, org.actor, made.group.id, "SN-1", disabled=True)
    with pytest.raises(RegistrationDisabled):
        claim(svc, org.actor, made, "SN-1")
    with pytest.raises(NotRegistered):
        claim(svc, org.actor, made, "SN-9")

    open_group = new_group(svc, org, registration_mode="open")
    device = claim(svc, org.actor, open_group, "SN-9")
    assert registration(svc, open_group, "SN-9").device_id == device.id


def test_d5_only_members_who_edit_devices_onboard_them(svc: Services, org: Org) -> None:
    made = new_group(svc, org)
    register(svc, made, "SN-1")
    viewer = member_actor(make_member(svc, org, roles=["viewer"]))
    with pytest.raises(PermissionDenied):
        claim(svc, viewer, made, "SN-1")
    assert registration(svc, made, "SN-1").device_id is None


def test_d5_a_bad_name_or_location_is_refused_and_changes_nothing(svc: Services, org: Org) -> None:
    made = new_group(svc, org)
    register(svc, made, "SN-1")
    with pytest.raises(Invalid) as refused:
        claim(svc, org.actor, made, "SN-1", name="x" * 201)
    assert "name" in refused.value.fields
    with pytest.raises(Invalid):
        claim(svc, org.actor, made, "SN-1", location="y" * 501)
    assert registration(svc, made, "SN-1").device_id is None


def test_d5_progress_counts_labels_printed_devices_onboarded_and_activated(
    svc: Services, org: Org
) -> None:
    """D5: per batch; a claimed device activates into the twin it was onboarded into (D4)."""
    made = new_group(svc, org)
    register(svc, made, "SN-1", "SN-2", "SN-3", "SN-4")
    create_onboarding_batch(svc, org.actor, made.group.id, 3)
    create_onboarding_batch(svc, org.actor, made.group.id, 1)

    claimed = claim(svc, org.actor, made, "SN-1")
    claim(svc, org.actor, made, "SN-2")
    done = activate(svc, **signed(made.group.group_id, "SN-1", key_of(made.secret, "SN-1")))
    activate(svc, **signed(made.group.group_id, "SN-3", key_of(made.secret, "SN-3")))

    assert done.device_id == claimed.id
    found = {
        p.batch.number: (p.printed, p.onboarded, p.activated)
        for p in batch_progress(svc, org.actor, made.group.id)
    }
    assert found == {1: (3, 3, 2), 2: (1, 0, 0)}


def test_d5_the_cli_makes_a_batch_writes_its_labels_and_shows_each_batchs_progress(
    svc: Services, org: Org, run: Callable[..., Result], tmp_path: Path
) -> None:
    """§5: `onboard onboarding batch` writes the batch's labels as a PDF whose QRs (read
    by PDFium and zxing-cpp) hold the onboarding URLs; `progress` lists the batches; a
    batch with nothing left to label exits 2 and writes no file."""
    group_id = unique("cli").replace(" ", "-")
    made = run("groups", "create", "--org", org.organization.id, group_id, "--name", "Meters")
    assert made.exit_code == 0, made.output
    (line,) = [x for x in made.stdout.splitlines() if x.startswith("secret: ")]
    secret = line.removeprefix("secret: ")
    with svc.uow() as uow:
        group = uow.provisioning_groups.by_group_id(group_id)
    assert group is not None
    register(svc, NewGroup(group, secret), "SN-2", "SN-1")
    where = ("--org", org.organization.name, "--group", group_id)
    output = tmp_path / "labels.pdf"

    made_batch = run("onboarding", "batch", *where, "--count", "5", "--output", str(output))

    assert made_batch.exit_code == 0, made_batch.output
    assert "batch 1: 2 serial(s)" in made_batch.stdout
    assert decoded_labels(output.read_bytes(), STOCKS[StockName.A4_24]) == [
        f"{CLI_PUBLIC_URL}/o/{group_id}/{s}/{claim_code_of(secret, s)}".upper()
        for s in ("SN-1", "SN-2")
    ]
    progress = run("onboarding", "progress", *where)
    assert progress.exit_code == 0, progress.output
    header, row = (line.split() for line in progress.stdout.splitlines())
    assert header == ["batch", "created", "printed", "onboarded", "activated"]
    assert (row[0], row[-3:]) == ("1", ["2", "0", "0"])  # the created time takes two
    again = tmp_path / "again.pdf"
    refused = run("onboarding", "batch", *where, "--count", "1", "--output", str(again))
    assert refused.exit_code == 2
    assert "in a batch already" in refused.stderr
    assert not again.exists()
    reprinted = run("onboarding", "labels", *where, "--batch", "1", "--output", str(again))
    assert reprinted.exit_code == 0, reprinted.output
    assert len(decoded_labels(again.read_bytes(), STOCKS[StockName.A4_24])) == 2
