"""The web pages' template filters."""

from __future__ import annotations

from onboard.entrypoints.web.rendering import build_environment


def test_a_field_message_starts_a_sentence_without_lowering_its_acronyms() -> None:
    env = build_environment()
    shown = env.from_string("{{ message | sentence }}")
    assert shown.render(message="not JSON (line 2, column 5)") == "Not JSON (line 2, column 5)"
    assert shown.render(message="4 to 8 digits of PIN") == "4 to 8 digits of PIN"
    assert shown.render(message="") == ""
