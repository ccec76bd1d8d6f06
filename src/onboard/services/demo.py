"""The demo organization's starting content: enough to walk through every pairing flow of
SPEC Part A right after `make run` (a template, devices, free stickers, one paired code),
and a licensed product to pair client devices with (Part B)."""

from __future__ import annotations

from dataclasses import dataclass

from onboard.domain.access import Actor
from onboard.domain.devices import Location
from onboard.services import codes, devices, licensing, pairing, templates
from onboard.services.devices import DeviceInput
from onboard.services.ports import Services

DEMO_BATCH = "DEMO-1"
DEMO_FIELDS = [
    {"name": "model", "type": "string", "required": True, "public": True},
    {"name": "heating_power_kw", "type": "number", "required": False, "public": True},
    {"name": "installed_on", "type": "date", "required": False, "public": False},
]
DEMO_DEVICES = (
    ("Heat pump, Town hall", "AW12-0001", "Rathausplatz 1, basement"),
    ("Heat pump, Library", "AW12-0002", "Marktstraße 4, roof"),
    ("Heat pump, School", "AW12-0003", None),
)
DEMO_PRODUCT = "Field Collector"
DEMO_LICENSES = 5
DEMO_CONFIGURATION = {"upload_interval_s": 300, "server": "https://collect.example.com"}


@dataclass(frozen=True)
class DemoContent:
    template_id: str
    device_ids: list[str]
    tokens: list[str]
    """The batch of stickers; the first is paired with the first device."""
    product_id: str
    """A client application with free licenses and a configuration, no device yet."""


def fill_demo(svc: Services, actor: Actor, *, stickers: int = 10) -> DemoContent:
    """A template "Heat pump AW-12", three devices made from it and a batch of stickers,
    the first paired with the first device: the rest are there to be paired (A6, A7). And
    the product "Field Collector" with five free licenses and a configuration, for client
    devices to pair with (B1-B8)."""
    template = templates.create_template(svc, actor, name="Heat pump AW-12", fields=DEMO_FIELDS)
    made = [
        devices.create_device(
            svc,
            actor,
            DeviceInput(
                name=name,
                serial=serial,
                template_id=template.id,
                attributes={"model": "AW-12", "heating_power_kw": 12},
                location=Location(text=place) if place else None,
            ),
        )
        for name, serial, place in DEMO_DEVICES
    ]
    batch = codes.create_codes(svc, actor, count=stickers, batch=DEMO_BATCH, label="Scan me")
    pairing.pair_code(svc, actor, batch[0].token, made[0].id)
    product = licensing.create_product(svc, actor, name=DEMO_PRODUCT)
    licensing.grant_licenses(svc, actor, product.id, count=DEMO_LICENSES, expires_at=None)
    licensing.create_configuration(svc, actor, product.id, name="Standard", body=DEMO_CONFIGURATION)
    return DemoContent(template.id, [d.id for d in made], [c.token for c in batch], product.id)
