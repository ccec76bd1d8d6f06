"""A manufacturer's and a device's side of provisioning, written here from the rules of
SPEC D2 and §6 with the standard library, not with the product's code, so that a wrong
rule in the product cannot agree with itself; and groups with registered serials made
through the use cases."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from onboard.domain.provisioning import Registration
from onboard.services.ports import Services
from onboard.services.provisioning.activation import Activation, activate
from onboard.services.provisioning.environments import create_environment
from onboard.services.provisioning.groups import GroupInput, NewGroup, create_group
from tests.factories import Org, unique


def key_of(secret: str, serial: str) -> str:
    """D2: b64(HMAC-SHA256(key = b64decode(group secret), message = UTF-8 serial))."""
    mac = hmac.new(base64.b64decode(secret), serial.encode("utf-8"), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def signed(group_id: str, serial: str, key: str, *, ahead: int = 300) -> dict[str, Any]:
    """§6: an activation body signed with b64(HMAC-SHA256(device key, group_id + "\\n" +
    serial + "\\n" + str(expires))), expiring ``ahead`` seconds from now."""
    expires = int(time.time()) + ahead
    message = f"{group_id}\n{serial}\n{expires}".encode()
    signature = base64.b64encode(hmac.new(key.encode(), message, hashlib.sha256).digest())
    return {
        "group_id": group_id,
        "serial": serial,
        "expires": expires,
        "signature": signature.decode(),
    }


# --- a group and its serials, through the use cases ------------------------------------


def group_id() -> str:
    return unique("grp").replace(" ", "-")


def environment(svc: Services, *, up: bool = True, weight: int = 1) -> str:
    name = unique("env").replace(" ", "-")
    create_environment(
        svc, name=name, api_url=f"https://{name}.example.com", mqtt_url=f"mqtts://{name}.example.com",
        weight=weight, up=up,
    )  # fmt: skip
    return name


def new_group(svc: Services, org: Org, **settings: Any) -> NewGroup:
    return create_group(svc, org.actor, group_id(), GroupInput(name="Meters", **settings))


def register(svc: Services, made: NewGroup, *serials: str, **attributes: Any) -> None:
    now = svc.clock.now()
    with svc.uow() as uow:
        uow.registrations.add_many(
            [
                Registration(
                    svc.ids.new(), made.group.organization_id, made.group.id, s, attributes,
                    False, None, None, None, now,
                )
                for s in serials
            ]
        )  # fmt: skip
        uow.commit()


def activated(
    svc: Services, made: NewGroup, serial: str, *, key: str | None = None, **more: Any
) -> Activation:
    proof = signed(made.group.group_id, serial, key or key_of(made.secret, serial))
    return activate(svc, **proof, **more)


def claim_code_of(secret: str, serial: str) -> str:
    """D5: the first 16 characters of the RFC 4648 base32 (upper case, no padding) of
    HMAC-SHA256(b64decode(group secret), UTF-8 "claim\\n" + serial)."""
    mac = hmac.new(base64.b64decode(secret), f"claim\n{serial}".encode(), hashlib.sha256)
    return base64.b32encode(mac.digest()).decode().rstrip("=")[:16]
