"""A template's typed attribute fields as the back office and the mobile app read them from a
form (SPEC A4): one reading for both, forgiving where a person types naturally, and what
does not read as its type left for the domain to refuse next to the field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from onboard.domain.devices import FieldType, Template, TemplateField
from onboard.entrypoints.web.device_forms import attribute_texts, attributes_from

POWER = TemplateField("power_kw", FieldType.NUMBER)
OUTDOOR = TemplateField("outdoor", FieldType.BOOLEAN)
MODEL = TemplateField("model", FieldType.STRING, required=True)
PUMP = Template(
    "t1", "o1", "Pump", (POWER, OUTDOOR, MODEL), frozenset(), datetime(2024, 1, 1, tzinfo=UTC)
)


@pytest.mark.parametrize(
    ("typed", "read"),
    [("7", 7), ("-3", -3), ("7.5", 7.5), ("7,5", 7.5), (" 230 ", 230), ("1e3", 1000.0),
     ("1,000.5", "1,000.5"), ("1,2,3", "1,2,3"), ("high", "high")],
)  # fmt: skip
def test_a_number_field_reads_whole_numbers_decimals_and_a_decimal_comma(
    typed: str, read: object
) -> None:
    attributes = attributes_from(PUMP, {"attributes.power_kw": typed})

    assert attributes == {"power_kw": read}
    assert type(attributes["power_kw"]) is type(read)


@pytest.mark.parametrize(
    ("typed", "read"),
    [("yes", True), ("Yes", True), ("on", True), ("true", True), ("1", True),
     ("no", False), ("NO", False), ("off", False), ("0", False), ("maybe", "maybe")],
)  # fmt: skip
def test_a_boolean_field_reads_the_select_and_the_usual_words(typed: str, read: object) -> None:
    assert attributes_from(PUMP, {"attributes.outdoor": typed}) == {"outdoor": read}


def test_empty_fields_are_left_out_and_the_form_is_shown_again_as_typed() -> None:
    form = {"attributes.power_kw": " ", "attributes.model": "Aero 9", "attributes.outdoor": ""}

    assert attributes_from(PUMP, form) == {"model": "Aero 9"}
    assert attributes_from(None, form) == {}
    assert attribute_texts(PUMP, form) == {"power_kw": " ", "outdoor": "", "model": "Aero 9"}
