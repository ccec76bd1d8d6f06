"""Code batches through the use cases on SQLite and PostgreSQL (issue 5, SPEC A1, A2, A11,
P5, P8): one transaction however large, numbers, PIN policy, progress (printed, paired),
print runs that stream every code in order and note them printed only when complete."""

from __future__ import annotations

import pytest

from onboard.domain.batches import Progress
from onboard.domain.codes import code_url
from onboard.domain.errors import BatchNumberTaken, Invalid, NotFound, PermissionDenied
from onboard.services import audit, batches, codes, pairing
from onboard.services.common import member_actor
from onboard.services.devices import DeviceInput, create_device
from onboard.services.ports import AuditFilter, CodeFilter, PageRequest, Services
from tests.factories import Org, make_department, make_member, make_org

ALL = PageRequest(limit=1000)


def batch_codes(svc: Services, org: Org, number: str) -> list[codes.Code]:
    return list(codes.list_codes(svc, org.actor, CodeFilter(batch=number), ALL).items)


def test_a_batch_holds_its_codes_with_number_name_label_departments_and_pin(
    svc: Services,
) -> None:
    org = make_org(svc)
    department = make_department(svc, org)

    made = batches.create_batch(
        svc, org.actor, count=25, number="2026-11-A", name="Pumps for Müller",
        label="Scan me", departments=[department.id], pin="4711",
    )  # fmt: skip

    assert made.batch.number == "2026-11-A"
    assert made.batch.name == "Pumps for Müller"
    assert made.batch.pin_protected
    assert made.progress == Progress(codes=25)
    found = batch_codes(svc, org, "2026-11-A")
    assert len(found) == 25
    assert len({c.token for c in found}) == 25
    for code in found:
        assert (code.batch, code.label, code.active) == ("2026-11-A", "Scan me", True)
        assert code.departments == {department.id}
        assert (code.device_id, code.printed_at) == (None, None)
        assert svc.passwords.verify(code.pin_hash or "", "4711")
    assert codes.effective_departments_of(svc, found[0]) == {department.id}  # A8, unpaired


def test_batches_without_a_number_are_numbered_in_order(svc: Services) -> None:
    org = make_org(svc)

    first = batches.create_batch(svc, org.actor, count=1)
    second = batches.create_batch(svc, org.actor, count=1)

    assert (first.batch.number, second.batch.number) == ("B0001", "B0002")
    listed = batches.list_batches(svc, org.actor, ALL).items
    assert [v.batch.number for v in listed] == ["B0002", "B0001"]  # newest first


def test_automatic_numbers_step_over_numbers_people_chose(svc: Services) -> None:
    org = make_org(svc)
    batches.create_batch(svc, org.actor, count=1, number="B0002")

    made = batches.create_batch(svc, org.actor, count=1)

    assert made.batch.number == "B0003"


def test_codes_joining_a_batch_follow_its_pin_policy(svc: Services) -> None:
    org = make_org(svc)
    batches.create_batch(svc, org.actor, count=1, number="LOCKED", pin="2468")

    joined = codes.create_codes(svc, org.actor, count=2, batch="LOCKED")
    own = codes.create_codes(svc, org.actor, count=1, batch="LOCKED", pin="1357")

    assert all(svc.passwords.verify(c.pin_hash or "", "2468") for c in joined)
    assert svc.passwords.verify(own[0].pin_hash or "", "1357")
    plain = codes.create_codes(svc, org.actor, count=1, batch="OPEN")
    assert plain[0].pin_hash is None
    assert not batches.find_batch(svc, org.actor, "OPEN").batch.pin_protected


def test_a_batch_number_is_taken_once_per_organization(svc: Services) -> None:
    org, other = make_org(svc), make_org(svc)
    batches.create_batch(svc, org.actor, count=2, number="SPRING")

    with pytest.raises(BatchNumberTaken):
        batches.create_batch(svc, org.actor, count=3, number="SPRING")

    assert len(batch_codes(svc, org, "SPRING")) == 2  # the refused batch added nothing
    assert batches.create_batch(svc, other.actor, count=1, number="SPRING").progress.codes == 1


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"count": 0}, "count"),
        ({"count": 1_000_001}, "count"),
        ({"count": 1, "number": "   "}, "number"),
        ({"count": 1, "number": "x" * 101}, "batch"),
        ({"count": 1, "name": "n" * 201}, "name"),
        ({"count": 1, "pin": "12"}, "pin"),
        ({"count": 1, "label": "l" * 101}, "label"),
    ],
)
def test_bad_batch_input_is_refused_and_changes_nothing(
    svc: Services, arguments: dict[str, object], field: str
) -> None:
    org = make_org(svc)

    with pytest.raises(Invalid) as refused:
        batches.create_batch(svc, org.actor, **arguments)  # type: ignore[arg-type]

    assert field in refused.value.fields
    assert batches.list_batches(svc, org.actor, ALL).items == []
    assert codes.list_codes(svc, org.actor, CodeFilter(), ALL).items == []


def test_an_interrupted_batch_leaves_no_batch_and_no_code(
    svc: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = make_org(svc)
    monkeypatch.setattr(batches, "CREATE_STEP", 10)
    written: list[int] = []

    def stop_after_two_steps(made: int) -> None:
        written.append(made)
        if made >= 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        batches.create_batch(
            svc, org.actor, count=35, number="CUT", on_progress=stop_after_two_steps
        )

    assert written == [10, 20]  # two steps were written inside the transaction...
    assert batch_codes(svc, org, "CUT") == []  # ...and rolled back with it
    assert batches.list_batches(svc, org.actor, ALL).items == []
    again = batches.create_batch(svc, org.actor, count=35, number="CUT")  # run it again
    assert again.progress.codes == 35


def test_creating_a_batch_is_one_audit_entry(svc: Services) -> None:
    org = make_org(svc)

    made = batches.create_batch(svc, org.actor, count=30, number="AUDITED", pin="1234")

    entries = audit.list_audit(svc, org.actor, AuditFilter(action="code_batch.created"), ALL).items
    assert len(entries) == 1
    assert entries[0].target_id == made.batch.id
    assert entries[0].after is not None
    assert (entries[0].after["count"], entries[0].after["pin_protected"]) == (30, True)
    assert "pin" not in entries[0].after  # the PIN itself is never written down


def test_viewers_cannot_create_or_print_batches(svc: Services) -> None:
    org = make_org(svc)
    viewer = member_actor(make_member(svc, org, roles=["viewer"]))
    made = batches.create_batch(svc, org.actor, count=1)

    with pytest.raises(PermissionDenied):
        batches.create_batch(svc, viewer, count=1)
    with pytest.raises(PermissionDenied):
        batches.start_print(svc, viewer, made.batch.id)
    assert batches.get_batch(svc, viewer, made.batch.id).progress.codes == 1


def test_codes_made_in_a_named_batch_start_its_record_and_join_it_later(svc: Services) -> None:
    org = make_org(svc)

    codes.create_codes(svc, org.actor, count=3, batch="FIELD-7")
    codes.create_codes(svc, org.actor, count=2, batch="FIELD-7")

    view = batches.find_batch(svc, org.actor, "FIELD-7")
    assert view.progress.codes == 5
    assert [v.batch.number for v in batches.list_batches(svc, org.actor, ALL).items] == ["FIELD-7"]
    with pytest.raises(NotFound):
        batches.find_batch(svc, org.actor, "NO-SUCH")


def test_progress_counts_printed_and_paired_codes(svc: Services) -> None:
    org = make_org(svc)
    made = batches.create_batch(svc, org.actor, count=6, number="P")
    device = create_device(svc, org.actor, DeviceInput("Pump"))
    tokens = [c.token for c in batch_codes(svc, org, "P")]
    pairing.pair_code(svc, org.actor, tokens[0], device.id)
    pairing.pair_code(svc, org.actor, tokens[1], device.id)

    run = batches.start_print(svc, org.actor, made.batch.id)
    assert run.total == 6
    printed = [label.token for label in run.labels()]
    first = batches.finish_print(svc, run, output="pdf a4-24")

    assert printed == tokens
    assert first == 6
    assert batches.get_batch(svc, org.actor, made.batch.id).progress == Progress(6, 6, 2)
    again = batches.start_print(svc, org.actor, made.batch.id)
    assert [label.token for label in again.labels()] == tokens  # a reprint prints all
    assert batches.finish_print(svc, again, output="pdf a4-24") == 0  # none for the first time


def test_a_print_run_streams_every_code_in_order_with_its_url(
    svc: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batches, "PRINT_PAGE", 7)  # several pages
    org = make_org(svc)
    made = batches.create_batch(svc, org.actor, count=30, number="STREAM")
    tokens = [c.token for c in batch_codes(svc, org, "STREAM")]

    run = batches.start_print(svc, org.actor, made.batch.id)
    labels = list(run.labels())

    assert [label.token for label in labels] == tokens
    assert {label.url for label in labels} == {code_url(svc.public_url, t) for t in tokens}
    assert {label.batch for label in labels} == {"STREAM"}
    assert {label.organization for label in labels} == {org.organization.name}


def test_a_large_run_is_noted_in_steps_with_one_audit_entry(
    svc: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batches, "PRINT_PAGE", 3)
    monkeypatch.setattr(batches, "MARK_STEP", 4)
    org = make_org(svc)
    made = batches.create_batch(svc, org.actor, count=10, number="STEPS")
    run = batches.start_print(svc, org.actor, made.batch.id)
    assert len(list(run.labels())) == 10

    assert batches.finish_print(svc, run, output="pdf a4-65") == 10

    assert len(run.ends) == 3  # steps of 4, 4 and 2 codes
    assert batches.get_batch(svc, org.actor, made.batch.id).progress.printed == 10
    entries = audit.list_audit(svc, org.actor, AuditFilter(action="code_batch.printed"), ALL)
    assert [e.after for e in entries.items] == [
        {"number": "STEPS", "labels": 10, "output": "pdf a4-65"}
    ]


def test_a_print_run_that_stops_half_way_notes_nothing(
    svc: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batches, "PRINT_PAGE", 4)
    org = make_org(svc)
    made = batches.create_batch(svc, org.actor, count=10, number="JAM")

    run = batches.start_print(svc, org.actor, made.batch.id)
    stream = run.labels()
    for _ in range(5):
        next(stream)
    stream.close()  # the printer jammed; finish_print is never called

    assert batches.get_batch(svc, org.actor, made.batch.id).progress.printed == 0


def test_printing_only_the_unprinted_codes_after_a_partial_run(
    svc: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = make_org(svc)
    made = batches.create_batch(svc, org.actor, count=5, number="REST")
    first_run = batches.start_print(svc, org.actor, made.batch.id)
    first_labels = list(first_run.labels())
    batches.finish_print(svc, first_run, output="zpl")
    codes.create_codes(svc, org.actor, count=3, batch="REST")  # added to the batch later

    rest = batches.start_print(svc, org.actor, made.batch.id, unprinted_only=True)
    rest_labels = [label.token for label in rest.labels()]

    assert rest.total == 3
    assert len(rest_labels) == 3
    assert not set(rest_labels) & {label.token for label in first_labels}
    assert batches.finish_print(svc, rest, output="pdf") == 3
    assert batches.get_batch(svc, org.actor, made.batch.id).progress == Progress(8, 8, 0)
    printed = audit.list_audit(svc, org.actor, AuditFilter(action="code_batch.printed"), ALL)
    assert sorted(e.after["labels"] for e in printed.items if e.after) == [3, 5]


def test_a_restricted_member_sees_and_prints_only_the_codes_of_their_departments(
    svc: Services,
) -> None:
    org = make_org(svc)
    north, south = make_department(svc, org), make_department(svc, org)
    made = batches.create_batch(svc, org.actor, count=4, number="MIXED", departments=[north.id])
    codes.create_codes(svc, org.actor, count=2, batch="MIXED", departments=[south.id])
    in_north = member_actor(make_member(svc, org, departments=[north.id]))
    in_south = member_actor(make_member(svc, org, departments=[south.id]))

    assert batches.get_batch(svc, in_north, made.batch.id).progress.codes == 4
    assert batches.get_batch(svc, in_south, made.batch.id).progress.codes == 2
    run = batches.start_print(svc, in_south, made.batch.id)
    assert len(list(run.labels())) == 2
    batches.finish_print(svc, run, output="csv")
    assert batches.get_batch(svc, org.actor, made.batch.id).progress == Progress(6, 2, 0)


def test_another_organization_sees_no_batch(svc: Services) -> None:
    org, other = make_org(svc), make_org(svc)
    made = batches.create_batch(svc, org.actor, count=2, number="MINE")

    with pytest.raises(NotFound):
        batches.get_batch(svc, other.actor, made.batch.id)
    with pytest.raises(NotFound):
        batches.start_print(svc, other.actor, made.batch.id)
    with pytest.raises(NotFound):
        batches.find_batch(svc, other.actor, "MINE")
    assert batches.list_batches(svc, other.actor, ALL).items == []


def test_the_label_of_one_code(svc: Services) -> None:
    org = make_org(svc)
    (code,) = codes.create_codes(svc, org.actor, count=1, batch="ONE")

    label = batches.code_label(svc, org.actor, code.token.lower())

    assert (label.token, label.batch) == (code.token, "ONE")
    assert label.url == code_url(svc.public_url, code.token)
    with pytest.raises(NotFound):
        batches.code_label(svc, make_org(svc).actor, code.token)
