"""`onboard registrations` on each backend (SPEC D3, D4): a list of serials registered in
a group with a summary, its rejections printed and written to a report, nothing
registered when a row is rejected unless --valid-only; one registration disabled and
enabled; the group's registrations listed; and input that cannot be used refused."""

from __future__ import annotations

import csv
from pathlib import Path

from onboard.domain.provisioning import Registration
from onboard.services.ports import PageRequest, Services
from onboard.services.provisioning.groups import GroupInput, NewGroup, create_group
from onboard.services.provisioning.registrations import list_registrations
from tests import factories


def new_group(svc: Services, org: factories.Org) -> NewGroup:
    return create_group(
        svc, org.actor, factories.unique("cli").replace(" ", "-"), GroupInput(name="Meters")
    )


def registered(svc: Services, org: factories.Org, group: NewGroup) -> dict[str, Registration]:
    page = list_registrations(svc, org.actor, group.group.id, PageRequest(None, 200))
    return {r.serial: r for r in page.items}


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_d3_a_list_is_registered_with_a_summary(
    run, container, org: factories.Org, tmp_path: Path
) -> None:
    svc = container.services
    group = new_group(svc, org)
    rows = "".join(f"CLI-{n},plant,{n}\n" for n in range(1, 4))
    path = write(tmp_path, "serials.csv", "serial,site,floor\n" + rows)

    result = run(
        "registrations", "import", "--org", org.organization.name, "--group",
        group.group.group_id, str(path),
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["accepted: 3", "rejected: 0"]
    found = registered(svc, org, group)
    assert {s: r.attributes for s, r in found.items()} == {
        f"CLI-{n}": {"site": "plant", "floor": str(n)} for n in (1, 2, 3)
    }


def test_d3_a_rejected_row_refuses_the_list_unless_valid_only_and_the_report_has_them_all(
    run, container, org: factories.Org, tmp_path: Path
) -> None:
    svc = container.services
    group = new_group(svc, org)
    good = '{"serial": "V-1"}\n{"serial": "V-2", "attributes": {"fw": "1.0"}}\n'
    bad = "".join(f'{{"serial": "bad {n}"}}\n' for n in range(25))
    path = write(tmp_path, "serials.txt", good + bad)
    report = tmp_path / "rejected.csv"
    base = ("registrations", "import", "--org", org.organization.id, "--group", group.group.id)

    refused = run(*base, str(path), "--format", "jsonl")
    assert refused.exit_code == 2
    assert "25 of 27 row(s) rejected; nothing registered" in refused.stderr
    lines = refused.stdout.splitlines()
    assert lines[0].startswith("row 3: malformed: serial: ")
    assert lines[20] == "... and 5 more (--report FILE.csv lists them all)"
    assert lines[-1] == "rejected: 25 (malformed 25)"
    assert registered(svc, org, group) == {}

    applied = run(*base, str(path), "--format", "jsonl", "--valid-only", "--report", str(report))
    assert applied.exit_code == 0, applied.output
    assert applied.stdout.splitlines()[-2:] == ["accepted: 2", "rejected: 25 (malformed 25)"]
    with report.open(newline="") as written:
        table = list(csv.reader(written))
    assert table[0] == ["row", "code", "detail"]
    assert [row[:2] for row in table[1:]] == [[str(n), "malformed"] for n in range(3, 28)]
    assert set(registered(svc, org, group)) == {"V-1", "V-2"}

    again = run(*base, str(path), "--format", "jsonl", "--valid-only")
    assert again.exit_code == 0
    assert "rejected: 27 (already_registered 2, malformed 25)" in again.stdout


def test_d4_a_registration_is_disabled_enabled_and_listed(
    run, container, org: factories.Org, tmp_path: Path
) -> None:
    svc = container.services
    group = new_group(svc, org)
    path = write(tmp_path, "serials.csv", "serial,site\nL-1,plant\nL-2,\n")
    where = ("--org", org.organization.id, "--group", group.group.group_id)
    assert run("registrations", "import", *where, str(path)).exit_code == 0

    off = run("registrations", "disable", *where, "L-1")
    assert off.exit_code == 0, off.output
    assert off.stdout.strip() == "registration of L-1 disabled"
    assert registered(svc, org, group)["L-1"].disabled is True
    assert registered(svc, org, group)["L-2"].disabled is False

    listed = run("registrations", "list", *where)
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["SERIAL", "STATE", "DEVICE", "ACTIVATED", "ATTRIBUTES"]
    assert [line.split() for line in lines[1:]] == [
        ["L-1", "disabled", "-", "-", '{"site":', '"plant"}'],
        ["L-2", "enabled", "-", "-", "-"],
    ]

    on = run("registrations", "enable", *where, "L-1")
    assert on.exit_code == 0, on.output
    assert registered(svc, org, group)["L-1"].disabled is False

    short = run("registrations", "list", *where, "--limit", "1")
    assert [line.split()[0] for line in short.stdout.splitlines()] == ["SERIAL", "L-1"]
    assert "raise --limit" in short.stderr


def test_d3_what_cannot_be_used_is_refused_with_a_message_and_changes_nothing(
    run, container, org: factories.Org, tmp_path: Path
) -> None:
    svc = container.services
    group = new_group(svc, org)
    where = ("--org", org.organization.id, "--group", group.group.id)

    unknown_format = run("registrations", "import", *where, str(write(tmp_path, "a.txt", "x")))
    assert unknown_format.exit_code == 2
    assert "give --format csv or jsonl" in unknown_format.stderr

    bad_header = run(
        "registrations", "import", *where, str(write(tmp_path, "b.csv", "site\nplant\n"))
    )
    assert bad_header.exit_code == 2
    assert "no serial column" in bad_header.stderr

    no_group = run(
        "registrations", "import", "--org", org.organization.id, "--group", "no-such-group",
        str(write(tmp_path, "c.csv", "serial\nA-1\n")),
    )  # fmt: skip
    assert no_group.exit_code == 1
    assert "No provisioning group 'no-such-group'" in no_group.stderr

    not_registered = run("registrations", "disable", *where, "NOPE")
    assert not_registered.exit_code == 1
    assert "NOPE" in not_registered.stderr

    assert run("registrations", "list", *where).stdout.strip() == "no registrations"
    assert registered(svc, org, group) == {}
