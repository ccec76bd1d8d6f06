"""Regular expressions that organizations write (SPEC A14's dynamic-code rules), run by
RE2: matching takes time linear in the payload whatever the pattern, so no rule can stall
a scan (no catastrophic backtracking)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import re2


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is the caller's answer, not a log line
    return options


_OPTIONS = _options()


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> Any:
    return re2.compile(pattern, _OPTIONS)


class Re2Patterns:
    def check(self, pattern: str) -> frozenset[str]:
        """The pattern's named groups; ValueError when RE2 cannot run it (backreferences
        and lookarounds, which need backtracking, are not RE2)."""
        try:
            compiled = _compiled(pattern)
        except re2.error as error:
            reason = error.args[0] if error.args else error
            text = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
            raise ValueError(text) from None
        return frozenset(compiled.groupindex)

    def fullmatch(self, pattern: str, text: str) -> Mapping[str, str | None] | None:
        found = _compiled(pattern).fullmatch(text)
        if found is None:
            return None
        groups: dict[str, str | None] = found.groupdict()
        return groups
