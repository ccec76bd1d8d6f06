"""The `onboard codes` commands for batches on each backend (issue 5, SPEC A1, A2, A11, P5,
P10): `create` makes a numbered batch in one go or adds to one, `batches` shows their
progress, and `print` writes PDF, ZPL or CSV whose labels decode, with zxing-cpp, to
exactly the batch's code URLs, noting them printed only when the file is complete."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
import zxingcpp
from click.testing import Result

from onboard.adapters.labels.sheets import STOCKS, StockName
from onboard.bootstrap import Container
from onboard.domain.codes import code_url
from onboard.domain.errors import NotFound
from onboard.entrypoints.cli import batches as batches_cli
from onboard.services import batches, codes, pairing
from onboard.services.devices import DeviceInput, create_device
from onboard.services.ports import CodeFilter, PageRequest, Services
from tests import factories
from tests.integration.conftest import CLI_PUBLIC_URL
from tests.label_decoding import DPI, QR, decoded_labels


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Where the labels go: a folder of their own, so every file left in it shows."""
    made = tmp_path / "labels"
    made.mkdir()
    return made


def tokens_of(svc: Services, org: factories.Org, number: str) -> list[str]:
    """The batch's tokens in creation order, the order labels are printed in."""
    page = codes.list_codes(svc, org.actor, CodeFilter(batch=number), PageRequest(limit=20_000))
    return [c.token for c in page.items]


def all_codes(svc: Services, org: factories.Org) -> int:
    return len(codes.list_codes(svc, org.actor, CodeFilter(), PageRequest(limit=20_000)).items)


def printed_lines(result: Result) -> dict[str, str]:
    """The token and URL of each stdout line."""
    return dict(line.split("\t") for line in result.stdout.splitlines())


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def test_codes_create_with_a_new_batch_number_makes_the_batch_with_its_policy_and_prints_it(
    run, container: Container, org: factories.Org
) -> None:
    svc = container.services
    department = factories.make_department(svc, org)

    result = run(
        "codes", "create", "--org", org.organization.name, "--count", "5", "--batch", "2026-W14",
        "--name", "Pumps for Müller", "--label", "Scan me", "--department", department.id,
        "--pin", "4711",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    printed = printed_lines(result)
    assert list(printed) == tokens_of(svc, org, "2026-W14")
    assert all(url == code_url(CLI_PUBLIC_URL, token) for token, url in printed.items())
    assert "5 code(s) created in batch '2026-W14'" in result.stderr
    view = batches.find_batch(svc, org.actor, "2026-W14")
    assert (view.batch.name, view.batch.pin_protected, view.progress.codes) == (
        "Pumps for Müller",
        True,
        5,
    )
    code = codes.get_code(svc, org.actor, next(iter(printed)))
    assert (code.label, code.departments) == ("Scan me", {department.id})
    assert svc.passwords.verify(code.pin_hash or "", "4711")


def test_codes_create_without_a_number_starts_batches_numbered_in_order(
    run, container: Container, org: factories.Org
) -> None:
    first = run("codes", "create", "--org", org.organization.id, "--count", "3", "--new-batch",
                "--quiet")  # fmt: skip
    second = run("codes", "create", "--org", org.organization.id, "--count", "2",
                 "--name", "Spare stickers", "-q")  # fmt: skip

    assert first.exit_code == 0, first.output
    assert first.stdout.strip() == "3 code(s) created in batch 'B0001'"
    assert second.exit_code == 0, second.output
    assert second.stdout.strip() == "2 code(s) created in batch 'B0002'"
    svc = container.services
    assert len(tokens_of(svc, org, "B0001")) == 3
    assert batches.find_batch(svc, org.actor, "B0002").batch.name == "Spare stickers"


def test_codes_create_into_an_existing_batch_adds_its_codes_and_says_so(
    run, container: Container, org: factories.Org
) -> None:
    svc = container.services
    batches.create_batch(svc, org.actor, count=4, number="R-1")
    before = tokens_of(svc, org, "R-1")

    result = run("codes", "create", "--org", org.organization.name, "--count", "3",
                 "--batch", "R-1")  # fmt: skip

    assert result.exit_code == 0, result.output
    added = list(printed_lines(result))
    assert len(added) == 3
    after = tokens_of(svc, org, "R-1")
    assert after[:4] == before
    assert sorted(after[4:]) == sorted(added)
    assert "3 code(s) added to batch 'R-1', which holds 7 now" in result.stderr
    assert len(batches.list_batches(svc, org.actor, PageRequest()).items) == 1


def test_a_bad_count_a_taken_number_or_an_unknown_department_is_refused_and_creates_nothing(
    run, container: Container, org: factories.Org
) -> None:
    svc = container.services
    batches.create_batch(svc, org.actor, count=2, number="R-1")
    name = org.organization.name

    none = run("codes", "create", "--org", name, "--count", "0", "--batch", "New")
    too_many = run("codes", "create", "--org", name, "--count", "1000001", "--batch", "New")
    too_many_added = run("codes", "create", "--org", name, "--count", "100001", "--batch", "R-1")
    taken = run("codes", "create", "--org", name, "--count", "2", "--batch", "R-1", "--new-batch")
    renamed = run("codes", "create", "--org", name, "--count", "2", "--batch", "R-1",
                  "--name", "Another name")  # fmt: skip
    unknown = run("codes", "create", "--org", name, "--count", "2", "--batch", "New",
                  "--department", "no-such-department")  # fmt: skip
    blank = run("codes", "create", "--org", name, "--count", "2", "--batch", "  ")

    for refused in (none, too_many, too_many_added, unknown, blank):
        assert refused.exit_code == 2, refused.output
    assert "1 to 1,000,000 codes" in too_many.output
    assert "1 to 100,000 codes" in too_many_added.output
    assert "Unknown department(s): no-such-department" in unknown.output
    for conflict in (taken, renamed):
        assert conflict.exit_code == 1, conflict.output
        assert "Batch R-1 exists already" in conflict.output
    assert "Creating" not in too_many.stderr, "no progress for work refused up front"
    assert all_codes(svc, org) == 2
    with pytest.raises(NotFound):
        batches.find_batch(svc, org.actor, "New")
    assert batches.find_batch(svc, org.actor, "R-1").batch.name is None


def test_a_batch_of_ten_thousand_shows_progress_on_stderr_and_keeps_stdout_one_code_a_line(
    run, container: Container, org: factories.Org
) -> None:
    result = run("codes", "create", "--org", org.organization.name, "--count", "10000",
                 "--batch", "Big")  # fmt: skip

    assert result.exit_code == 0, result.output
    printed = printed_lines(result)
    assert len(printed) == 10_000
    assert list(printed) == tokens_of(container.services, org, "Big")
    assert "Creating 10,000 codes in batch Big" in result.stderr
    assert "10000 code(s) created in batch 'Big'" in result.stderr


def test_codes_batches_lists_each_batch_with_its_progress_newest_first(
    run, container: Container, org: factories.Org
) -> None:
    svc = container.services
    batches.create_batch(svc, org.actor, count=3, number="A-1", name="Lobby doors")
    batches.create_batch(svc, org.actor, count=2, number="A-2")
    device = create_device(svc, org.actor, DeviceInput(name="Door 1"))
    pairing.pair_code(svc, org.actor, tokens_of(svc, org, "A-1")[0], device.id)
    assert run("codes", "print", "--org", org.organization.name, "--batch", "A-1",
               "-o", "-", "--format", "csv").exit_code == 0  # fmt: skip

    listed = run("codes", "batches", "--org", org.organization.name)
    limited = run("codes", "batches", "--org", org.organization.name, "--limit", "1")
    other = factories.make_org(svc)
    empty = run("codes", "batches", "--org", other.organization.name)

    assert listed.exit_code == 0, listed.output
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["NUMBER", "NAME", "CODES", "PRINTED", "PAIRED", "CREATED"]
    assert [row.split()[:-2] for row in rows] == [
        ["A-2", "-", "2", "0", "0"],
        ["A-1", "Lobby", "doors", "3", "3", "1"],
    ]
    assert [row.split()[0] for row in limited.stdout.splitlines()[1:]] == ["A-2"]
    assert "raise --limit" in limited.stderr
    assert empty.stdout.strip() == "no batches"


def test_printing_a_batch_to_pdf_decodes_to_its_code_urls_in_order_and_notes_them_printed(
    run, container: Container, org: factories.Org, folder: Path
) -> None:
    svc = container.services
    batches.create_batch(svc, org.actor, count=26, number="P-1")
    target = folder / "labels.pdf"

    result = run("codes", "print", "--org", org.organization.name, "--batch", "P-1",
                 "--layout", "a4-24", "-o", str(target))  # fmt: skip

    assert result.exit_code == 0, result.output
    tokens = tokens_of(svc, org, "P-1")
    decoded = decoded_labels(target.read_bytes(), STOCKS[StockName.A4_24])
    assert decoded == [code_url(CLI_PUBLIC_URL, token).upper() for token in tokens]
    assert len(pypdfium2.PdfDocument(target.read_bytes())) == 2
    assert result.stdout.strip() == (
        f"26 label(s) of batch P-1 written to {target}, 2 page(s) of a4-24; "
        "26 printed for the first time"
    )
    assert "Printing 26 label(s) of batch P-1" in result.stderr
    assert batches.find_batch(svc, org.actor, "P-1").progress.printed == 26
    assert leftovers(folder) == []


def test_a_pdf_on_letter_stock_has_the_chosen_error_correction_instruction_and_no_organization(
    run, container: Container, org: factories.Org, folder: Path
) -> None:
    svc = container.services
    batches.create_batch(svc, org.actor, count=2, number="L-1")
    target = folder / "letter.pdf"

    result = run("codes", "print", "--org", org.organization.name, "--batch", "L-1",
                 "--layout", "letter-30", "--error", "h", "--no-organization",
                 "--instruction", "  Call  0800 123  ", "-o", str(target))  # fmt: skip

    assert result.exit_code == 0, result.output
    page = pypdfium2.PdfDocument(target.read_bytes())[0]
    text = page.get_textpage().get_text_range()
    assert "Call 0800 123" in text
    assert org.organization.name not in text
    image = page.render(scale=DPI / 72).to_pil().convert("L")
    read = zxingcpp.read_barcodes(image, formats=QR)
    assert sorted(r.text for r in read) == sorted(
        code_url(CLI_PUBLIC_URL, t).upper() for t in tokens_of(svc, org, "L-1")
    )
    assert {r.ec_level for r in read} == {"H"}
    assert "1 page(s) of letter-30" in result.stdout


def test_printing_zpl_and_csv_writes_every_code_with_its_uppercase_url(
    run, container: Container, org: factories.Org, folder: Path
) -> None:
    svc = container.services
    batches.create_batch(svc, org.actor, count=4, number="Z_1")
    tokens = tokens_of(svc, org, "Z_1")
    urls = [code_url(CLI_PUBLIC_URL, token).upper() for token in tokens]
    zpl_file, csv_file = folder / "labels.zpl", folder / "for-the-shop.txt"

    zpl = run("codes", "print", "--org", org.organization.name, "--batch", "Z_1",
              "--layout", "roll-50x30", "--error", "Q", "-o", str(zpl_file))  # fmt: skip
    as_csv = run("codes", "print", "--org", org.organization.name, "--batch", "Z_1",
                 "--format", "csv", "-o", str(csv_file))  # fmt: skip
    to_stdout = run("codes", "print", "--org", org.organization.name, "--batch", "Z_1",
                    "--format", "csv", "-o", "-")  # fmt: skip

    assert zpl.exit_code == 0, zpl.output
    text = zpl_file.read_text(encoding="utf-8")
    assert text.count("^XA") == text.count("^XZ") == 4
    assert f"^PW{50 * 8}\n^LL{30 * 8}\n" in text
    payloads = [line for line in text.splitlines() if line.startswith("^FH^FDQM,A")]
    assert payloads == [f"^FH^FDQM,A{url}^FS" for url in urls]
    assert all(f"^FH^FD{token}^FS" in text for token in tokens)
    assert "Batch Z_5F1" in text, "the underscore is escaped, as ^FH wants"
    assert zpl.stdout.strip() == (
        f"4 label(s) of batch Z_1 written to {zpl_file}; 4 printed for the first time"
    )
    assert as_csv.exit_code == 0, as_csv.output
    rows = list(csv.reader(io.StringIO(csv_file.read_text(encoding="utf-8"))))
    assert rows == [
        ["token", "url", "batch"],
        *([t, u, "Z_1"] for t, u in zip(tokens, urls, strict=True)),
    ]
    assert to_stdout.exit_code == 0, to_stdout.output
    assert list(csv.reader(io.StringIO(to_stdout.stdout))) == rows
    assert "4 label(s) of batch Z_1 written to stdout; 0 printed" in to_stdout.stderr
    assert "Printing" not in to_stdout.stderr, "no progress bar when the labels go to stdout"
    assert batches.find_batch(svc, org.actor, "Z_1").progress.printed == 4


def test_unprinted_prints_only_the_codes_added_since_the_last_run(
    run, container: Container, org: factories.Org, folder: Path
) -> None:
    svc = container.services
    name = org.organization.name
    assert run("codes", "create", "--org", name, "--count", "5", "--batch", "U-1").exit_code == 0
    first = run("codes", "print", "--org", name, "--batch", "U-1", "-o", str(folder / "1.csv"))
    added = run("codes", "create", "--org", name, "--count", "3", "--batch", "U-1")
    second = run("codes", "print", "--org", name, "--batch", "U-1", "--unprinted",
                 "-o", str(folder / "2.csv"))  # fmt: skip
    third = run("codes", "print", "--org", name, "--batch", "U-1", "--unprinted",
                "-o", str(folder / "3.csv"))  # fmt: skip

    assert first.exit_code == 0, first.output
    assert "5 printed for the first time" in first.stdout
    assert second.exit_code == 0, second.output
    rows = list(csv.DictReader(io.StringIO((folder / "2.csv").read_text(encoding="utf-8"))))
    assert sorted(row["token"] for row in rows) == sorted(printed_lines(added))
    assert "3 label(s) of batch U-1" in second.stdout
    assert "3 printed for the first time" in second.stdout
    assert batches.find_batch(svc, org.actor, "U-1").progress.printed == 8
    assert third.exit_code == 0, third.output
    assert "nothing to print in batch U-1" in third.stderr
    assert not (folder / "3.csv").exists()


def test_an_unknown_batch_a_bad_layout_or_a_missing_folder_leaves_no_file_and_notes_nothing(
    run, container: Container, org: factories.Org, folder: Path
) -> None:
    svc = container.services
    batches.create_batch(svc, org.actor, count=3, number="K-1")
    kept = folder / "kept.pdf"
    kept.write_bytes(b"yesterday's labels")
    name = org.organization.name

    unknown = run("codes", "print", "--org", name, "--batch", "NOPE", "-o", str(kept))
    bad_layout = run("codes", "print", "--org", name, "--batch", "K-1", "--layout", "a5",
                     "-o", str(folder / "a5.pdf"))  # fmt: skip
    bad_error = run("codes", "print", "--org", name, "--batch", "K-1", "--error", "X",
                    "-o", str(folder / "x.pdf"))  # fmt: skip
    no_folder = run("codes", "print", "--org", name, "--batch", "K-1",
                    "-o", str(folder / "missing" / "labels.pdf"))  # fmt: skip
    a_folder = run("codes", "print", "--org", name, "--batch", "K-1", "-o", str(folder))

    assert unknown.exit_code == 1
    assert "No batch 'NOPE'" in unknown.output
    assert kept.read_bytes() == b"yesterday's labels"
    for refused in (bad_layout, bad_error, no_folder, a_folder):
        assert refused.exit_code == 2, refused.output
    assert f"cannot write {folder / 'missing' / 'labels.pdf'}" in no_folder.output
    assert f"cannot write {folder}: it is a directory" in a_folder.output
    assert sorted(p.name for p in folder.iterdir()) == ["kept.pdf"]
    assert batches.find_batch(svc, org.actor, "K-1").progress.printed == 0


def test_an_interrupted_print_leaves_no_half_file_and_notes_nothing_printed(
    run, container: Container, org: factories.Org, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = container.services
    batches.create_batch(svc, org.actor, count=30, number="I-1")
    target = folder / "labels.pdf"
    target.write_bytes(b"the previous run")
    real_write_run = batches_cli.write_run
    pages: list[int] = []

    def interrupted(*args: Any, **kwargs: Any) -> int:
        def stop_after_a_page(done: int) -> None:
            pages.append(done)
            raise KeyboardInterrupt

        return real_write_run(*args, **{**kwargs, "on_progress": stop_after_a_page})

    monkeypatch.setattr(batches_cli, "write_run", interrupted)

    result = run("codes", "print", "--org", org.organization.name, "--batch", "I-1",
                 "-o", str(target))  # fmt: skip

    assert pages == [24], "stopped once the first page was written"
    assert result.exit_code != 0
    assert target.read_bytes() == b"the previous run"
    assert leftovers(folder) == []
    assert batches.find_batch(svc, org.actor, "I-1").progress.printed == 0
