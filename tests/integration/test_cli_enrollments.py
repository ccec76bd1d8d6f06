"""`onboard enrollments import` on each backend (SPEC C7): a list enrolled in one go with a
summary, its rejections printed and written to a report, nothing enrolled when a row is
rejected unless --valid-only, and a list that cannot be read refused whole."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from onboard.domain.enrollment import EnrollmentFilter
from onboard.services import enrollments
from onboard.services.ports import PageRequest, Services
from tests import factories

HEADER = "serial,access_key,kind,gateway_id,name,location\n"


def enrolled(svc: Services, org: factories.Org) -> dict[str, frozenset[str]]:
    page = enrollments.list_enrollments(svc, org.actor, EnrollmentFilter(), PageRequest(None, 500))
    return {e.serial: e.departments for e in page.items}


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_list_is_enrolled_with_a_summary_into_the_departments_given(
    run, container, org: factories.Org, tmp_path: Path
) -> None:
    svc = container.services
    department = factories.make_department(svc, org)
    rows = "".join(f"CLI-{n},key-of-cli-{n},direct,,Meter {n},\n" for n in range(1, 4))
    path = write(tmp_path, "list.csv", HEADER + rows)

    result = run(
        "enrollments", "import", "--org", org.organization.name, str(path),
        "--department", department.id,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["accepted: 3", "rejected: 0"]
    assert enrolled(svc, org) == {f"CLI-{n}": frozenset({department.id}) for n in (1, 2, 3)}


def test_a_rejected_row_refuses_the_list_unless_valid_only_and_the_report_has_them_all(
    run, container, org: factories.Org, tmp_path: Path
) -> None:
    svc = container.services
    good = "".join(f"V-{n},key-of-v-{n},direct,,,\n" for n in range(1, 3))
    bad = "".join(f"bad {n},key-of-it,direct,,,\n" for n in range(25))
    path = write(tmp_path, "list.csv", HEADER + good + bad)
    report = tmp_path / "rejected.csv"

    refused = run("enrollments", "import", "--org", org.organization.id, str(path))
    assert refused.exit_code == 2
    assert "25 of 27 row(s) rejected; nothing enrolled" in refused.stderr
    lines = refused.stdout.splitlines()
    assert lines[0].startswith("row 3: malformed: serial: ")
    assert lines[20] == "... and 5 more (--report FILE.csv lists them all)"
    assert lines[-1] == "rejected: 25 (malformed 25)"
    assert enrolled(svc, org) == {}

    applied = run(
        "enrollments", "import", "--org", org.organization.id, str(path), "--valid-only",
        "--report", str(report),
    )  # fmt: skip
    assert applied.exit_code == 0, applied.output
    assert applied.stdout.splitlines()[-2:] == ["accepted: 2", "rejected: 25 (malformed 25)"]
    with report.open(newline="") as written:
        table = list(csv.reader(written))
    assert table[0] == ["row", "code", "detail"]
    assert [row[:2] for row in table[1:]] == [[str(n), "malformed"] for n in range(3, 28)]
    assert set(enrolled(svc, org)) == {"V-1", "V-2"}

    again = run("enrollments", "import", "--org", org.organization.id, str(path), "--valid-only")
    assert again.exit_code == 0
    assert "rejected: 27 (already_enrolled 2, malformed 25)" in again.stdout


def test_json_lines_by_suffix_or_by_format(
    run, container, org: factories.Org, tmp_path: Path
) -> None:
    line = json.dumps({"serial": "J-1", "access_key": "key-of-j-1", "kind": "node"}) + "\n"
    by_suffix = write(tmp_path, "list.ndjson", line)
    by_option = write(tmp_path, "list.txt", line.replace("J-1", "J-2"))

    assert run("enrollments", "import", "--org", org.organization.id, str(by_suffix)).exit_code == 0
    unknown = run("enrollments", "import", "--org", org.organization.id, str(by_option))
    assert unknown.exit_code == 2
    assert "--format" in unknown.stderr
    chosen = run(
        "enrollments", "import", "--org", org.organization.id, str(by_option), "--format", "jsonl"
    )
    assert chosen.exit_code == 0, chosen.output
    assert set(enrolled(container.services, org)) == {"J-1", "J-2"}


def test_a_list_that_cannot_be_read_is_refused_with_exit_2(
    run, org: factories.Org, tmp_path: Path
) -> None:
    path = write(tmp_path, "list.csv", "serial,secret\nA,B\n")

    result = run("enrollments", "import", "--org", org.organization.id, str(path))

    assert result.exit_code == 2
    assert "unknown column(s) 'secret'" in result.stderr
