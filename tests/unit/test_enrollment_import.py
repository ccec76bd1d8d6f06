"""Reading enrollment lists (SPEC C7): CSV and JSON lines row by row, numbered as people
find the rows, the shape of each row checked, a bad header refusing the whole list."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onboard.domain.enrollment_import import (
    MAX_LINE,
    ListFormat,
    ListRow,
    Rejection,
    RejectionCode,
    UnreadableList,
    check_kind,
    read_list,
)
from onboard.domain.errors import Invalid


def read(text: str, format: ListFormat = ListFormat.CSV) -> list[ListRow | Rejection]:
    return list(read_list(io.StringIO(text, newline=""), format))


def test_csv_rows_are_numbered_from_the_first_data_record_and_blank_ones_are_counted() -> None:
    found = read(
        "\ufeffSerial , KIND,access_key\n"
        "A-1,node,key-of-a-1\n"
        "\n"
        '"A,2",direct,"key ""quoted"""\n'
        "A-3,node,key,extra\n"
    )

    assert found == [
        ListRow(1, "A-1", "key-of-a-1", "node"),
        ListRow(3, "A,2", 'key "quoted"', "direct"),
        Rejection(4, RejectionCode.MALFORMED, "row: 4 cells where the header has 3 columns"),
    ]


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("serial,access_key\n", "no 'kind' column"),
        ("serial,access_key,kind,colour\n", "unknown column(s) 'colour'"),
        ("serial,access_key,kind,kind\n", "repeated column(s) 'kind'"),
        ("", "unknown column(s) 'a-1'"),
    ],
)
def test_a_bad_header_refuses_the_whole_list(header: str, problem: str) -> None:
    with pytest.raises(UnreadableList) as refused:
        read(header + "A-1,key-of-a-1,node\n")
    assert problem in refused.value.detail
    assert refused.value.code == "malformed"


def test_json_lines_are_numbered_by_line_and_each_refused_line_says_why() -> None:
    lines = [
        json.dumps({"serial": "J-1", "access_key": "key-of-j-1", "kind": "node", "name": None}),
        "",
        "{broken",
        json.dumps({"serial": "J-2", "kind": "node"}),
        json.dumps({"serial": 7, "access_key": "key-of-j-1", "kind": "node"}),
        json.dumps(["J-3"]),
        json.dumps({"serial": "J-4", "access_key": "k", "kind": "node", "colour": "red"}),
        "x" * (MAX_LINE + 10),
        json.dumps({"serial": "J-5", "access_key": "key-of-j-5", "kind": "gateway"}),
    ]
    found = read("\n".join(lines) + "\n", ListFormat.JSONL)

    assert found[0] == ListRow(1, "J-1", "key-of-j-1", "node")
    refused = {r.row: r.detail for r in found if isinstance(r, Rejection)}
    assert list(refused) == [3, 4, 5, 6, 7, 8]
    assert refused[3].startswith("line: not JSON")
    assert refused[4] == "access_key: required"
    assert refused[5] == "serial: a string"
    assert refused[6].startswith("line: a JSON object")
    assert refused[7].startswith("colour: not a field")
    assert refused[8] == f"line: longer than {MAX_LINE} characters"
    assert found[-1] == ListRow(9, "J-5", "key-of-j-5", "gateway")


def test_an_empty_list_is_refused() -> None:
    with pytest.raises(UnreadableList, match="empty"):
        read("\n\n")


def test_text_that_is_not_utf8_refuses_the_list() -> None:
    stream = io.TextIOWrapper(io.BytesIO(b"serial,access_key,kind\n\xff\xfe,x,y\n"), "utf-8")
    with pytest.raises(UnreadableList):
        list(read_list(stream, ListFormat.CSV))


def test_the_kind_is_read_in_any_case_and_anything_else_is_refused_naming_the_kinds() -> None:
    assert check_kind(" Gateway ").value == "gateway"
    with pytest.raises(Invalid) as refused:
        check_kind("toaster")
    assert refused.value.fields == {"kind": "one of gateway, node, direct"}


def test_the_format_follows_the_file_name() -> None:
    assert ListFormat.of_name("list.CSV") is ListFormat.CSV
    assert ListFormat.of_name("list.ndjson") is ListFormat.JSONL
    assert ListFormat.of_name("list.jsonl") is ListFormat.JSONL
    assert ListFormat.of_name("list.txt") is None


cell = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
rows = st.lists(
    st.tuples(cell, cell, st.sampled_from(["node", "gateway", "direct"]), cell, cell, cell),
    min_size=1,
    max_size=20,
)


@given(rows)
def test_any_list_written_as_csv_or_json_lines_reads_back_row_for_row(
    written: list[tuple[str, ...]],
) -> None:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(["serial", "access_key", "kind", "gateway_id", "name", "location"])
    writer.writerows(written)
    jsonl = "".join(
        json.dumps(dict(zip(("serial", "access_key", "kind", "gateway_id", "name", "location"),
                            row, strict=True))) + "\n"
        for row in written
    )  # fmt: skip

    from_csv = read(out.getvalue())
    from_jsonl = read(jsonl, ListFormat.JSONL)

    expected = [
        ListRow(n, s, k, kind, g.strip() or None, name, location)
        for n, (s, k, kind, g, name, location) in enumerate(written, start=1)
    ]
    # A row whose every cell is blank is skipped in CSV (it is not a row of the list).
    assert from_csv == [r for r, w in zip(expected, written, strict=True) if "".join(w).strip()]
    assert from_jsonl == expected
