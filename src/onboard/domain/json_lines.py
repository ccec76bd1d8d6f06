"""JSON lines read in constant memory (SPEC C7, D3): each line as it comes, a line longer
than a limit read past in pieces and refused rather than held whole, and a line holding
one JSON value parsed at C speed.

Generalized from domain.enrollment_import's reading of JSON lines, so that other lists
(pre-registration, D3) read JSON lines the same way."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, TextIO

_JSON_SPACE = " \t\n\r"
# json.loads's own scanner (C), called on a line as loads calls it.
_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def lines(stream: TextIO, max_line: int) -> Iterator[str | None]:
    """Each line of the stream, or None for one longer than ``max_line`` characters (read
    past in pieces)."""
    while True:
        line = stream.readline(max_line + 1)
        if not line:
            return
        if len(line) <= max_line or line.endswith("\n"):
            yield line
            continue
        while line and not line.endswith("\n"):
            line = stream.readline(max_line)
        yield None


def json_value(line: str) -> Any:
    """What json.loads makes of the line, without its overhead per call when the line is
    one value (the same JSON whitespace around it); json.loads itself says what is wrong
    with one that is not (ValueError)."""
    text = line.strip(_JSON_SPACE)
    try:
        found, end = _scan(text, 0)
    except (StopIteration, ValueError):
        end = -1
    if end == len(text):
        return found
    return json.loads(line)
