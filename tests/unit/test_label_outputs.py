"""Labels for thermal printers (ZPL) and print shops (CSV), issue 5 items 2 and 4: the
right commands, the QR payload exactly the uppercase URL in alphanumeric mode at the
chosen error correction, and nothing a text field holds can break out of its field."""

from __future__ import annotations

import csv
import io
import re

import pytest

from onboard.adapters.labels.listing import labels_csv
from onboard.adapters.labels.single import Label
from onboard.adapters.labels.symbol import ErrorCorrection, code_symbol
from onboard.adapters.labels.zpl import label_zpl, labels_zpl

URL = "https://onboard.example.com/c/7K3M9Q2RTW5XA"
LABEL = Label(URL, "7K3M9Q2RTW5XA", batch="2026-11", organization="Nordwind")


def _unescape(field: str) -> str:
    return re.sub(r"_([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), field)


@pytest.mark.parametrize("error", list(ErrorCorrection))
def test_a_zpl_label_has_the_printer_draw_the_uppercase_url_in_alphanumeric_mode(
    error: ErrorCorrection,
) -> None:
    zpl = label_zpl(LABEL, error=error)
    lines = zpl.splitlines()

    assert (lines[0], lines[-1]) == ("^XA", "^XZ")
    assert "^PW400" in lines
    assert "^LL240" in lines
    qr = re.fullmatch(r"\^BQN,2,(\d+)", next(x for x in lines if x.startswith("^BQ")))
    assert qr is not None
    module = int(qr.group(1))
    assert module * code_symbol(URL, error).size <= 240 - 2 * 12, "the QR fits the label"
    data = next(x for x in lines if x.startswith("^FH^FD"))
    assert data == f"^FH^FD{error.value}M,A{URL.upper()}^FS"


def test_a_zpl_label_prints_token_batch_organization_and_instruction() -> None:
    fields = re.findall(r"\^A0N,(\d+),\d+\^FB\d+,1,0,L\^FH\^FD(.*?)\^FS", label_zpl(LABEL))

    assert [_unescape(text) for _, text in fields] == [
        "7K3M9Q2RTW5XA",
        "Batch 2026-11",
        "Nordwind",
        "Scan for service and information",
    ]


def test_zpl_control_characters_in_text_cannot_end_a_field_or_start_a_command() -> None:
    zpl = label_zpl(Label(URL, "7K3M9Q2RTW5XA", batch="^XZ~JA_x", organization=None))

    batch = next(x for x in zpl.splitlines() if "Batch" in x)
    assert batch.count("^") == 6, "only ^FO ^A0N ^FB ^FH ^FD ^FS: none from the text"
    assert "~" not in batch
    assert _unescape(batch.split("^FD")[1].removesuffix("^FS")) == "Batch ^XZ~JA_x"
    assert zpl.count("^XZ") == 1


def test_a_300_dpi_printer_gets_a_larger_label_in_dots() -> None:
    zpl = label_zpl(LABEL, dots_per_mm=12, width=62, height=29)

    assert "^PW744" in zpl
    assert "^LL348" in zpl


def test_zpl_labels_stream_one_after_another() -> None:
    labels = [Label(f"{URL[:-1]}{n}", f"7K3M9Q2RTW5X{n}") for n in range(3)]

    printed = list(labels_zpl(labels, error=ErrorCorrection.H))
    assert len(printed) == 3
    assert [p.count("^XA") for p in printed] == [1, 1, 1]
    assert all(f"HM,A{label.url.upper()}" in p for p, label in zip(printed, labels, strict=True))


def test_the_csv_lists_token_uppercase_url_and_batch_and_defuses_formulas() -> None:
    labels = [LABEL, Label(URL.replace("7K3", "8K3"), "8K3M9Q2RTW5XA", batch="=HYPERLINK(1)")]

    rows = list(csv.reader(io.StringIO("".join(labels_csv(labels)))))

    assert rows == [
        ["token", "url", "batch"],
        ["7K3M9Q2RTW5XA", URL.upper(), "2026-11"],
        ["8K3M9Q2RTW5XA", URL.replace("7K3", "8K3").upper(), "'=HYPERLINK(1)"],
    ]


def test_a_large_csv_comes_in_chunks() -> None:
    labels = (Label(f"{URL}{n:06d}", f"T{n:06d}") for n in range(5000))

    chunks = list(labels_csv(labels))

    assert len(chunks) > 1
    assert "".join(chunks).count("\r\n") == 5001
