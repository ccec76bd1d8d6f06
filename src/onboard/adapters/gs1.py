"""GS1 payloads read with biip: Digital Link URIs and element strings (SPEC A14)."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit, urlunsplit

import biip
from biip.gs1_element_strings import GS1ElementStrings
from biip.gs1_messages import GS1Message

from onboard.domain.dynamic_codes import DeviceIdentity, clean_serial, parse_gtin

log = logging.getLogger(__name__)


def _element_strings(payload: str) -> GS1ElementStrings | None:
    text = payload.strip()
    if text.startswith("("):
        # Human-readable form, (01)09506000134352(21)ABC123: biip.parse() reads only the
        # scanner forms, its HRI parser this one.
        return GS1Message.parse_hri(text).element_strings
    if text[:4].lower() == "http":
        # QR alphanumeric mode prints URLs uppercase; biip expects a lowercase scheme.
        parts = urlsplit(text)
        text = urlunsplit(parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower()))
    result = biip.parse(text)
    if result.gs1_digital_link_uri is not None:
        return result.gs1_digital_link_uri.element_strings
    if result.gs1_message is not None:
        return result.gs1_message.element_strings
    return None


class BiipGs1Reader:
    """Reads the GTIN (AI 01) and serial (AI 21) of a GS1 Digital Link URI of any domain
    (``https://id.example.com/01/09506000134352/21/ABC123``) or of a GS1 element string,
    with parentheses or with FNC1/GS separators; anything else is None, never an error."""

    def read(self, payload: str) -> DeviceIdentity | None:
        try:
            found = _element_strings(payload)
        except Exception:  # whatever biip makes of a stranger's payload means "not GS1"
            log.debug("not a GS1 payload: %r", payload[:100])
            return None
        if found is None:
            return None
        gtin_element, serial_element = found.get(ai="01"), found.get(ai="21")
        if gtin_element is None or serial_element is None:
            return None
        gtin, serial = parse_gtin(gtin_element.value), clean_serial(serial_element.value)
        if gtin is None or serial is None:
            return None
        return DeviceIdentity(gtin, serial)
