"""What the pages that pair and unpair codes share, in the back office, the mobile app and on
the code page: a code's device as the member sees it, pairing a code with the device chosen
from a list, and what the confirmation of unpairing says (SPEC A6, A7, A9)."""

from __future__ import annotations

from onboard.domain.access import Actor
from onboard.domain.codes import Code
from onboard.domain.devices import Device
from onboard.domain.errors import DomainError, Invalid
from onboard.services import devices, pairing
from onboard.services.ports import Services

UNPAIR_TEXT = (
    "The sticker stops leading to the device. Neither the code nor the device is deleted. "
    "The code's notification history is cleared; the device keeps each message among its "
    "interactions."
)


def paired_device(svc: Services, actor: Actor, code: Code) -> Device | None:
    """The device the code is paired with, if the member sees it (a device of other
    departments not)."""
    if code.device_id is None:
        return None
    try:
        return devices.get_device(svc, actor, code.device_id)
    except DomainError:
        return None


def pair_chosen_device(svc: Services, actor: Actor, token: str, device_id: str) -> Code:
    """A7 from a code: pair it with the unpaired device chosen from the list; a form sent
    without a choice is refused next to it."""
    chosen = device_id.strip()
    if not chosen:
        raise Invalid("Choose the device to pair with.", fields={"device_id": "required"})
    return pairing.pair_code(svc, actor, token, chosen)


def unpair_title(svc: Services, actor: Actor, code: Code, *, code_name: str) -> str:
    """The question of the confirmation of unpairing (A9), the code named as the page names
    it (its token, or "this code" on its own page); its text is UNPAIR_TEXT."""
    device = paired_device(svc, actor, code)
    return f"Unpair {code_name} from {device.name if device is not None else 'its device'}?"
