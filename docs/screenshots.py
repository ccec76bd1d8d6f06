"""Regenerate the screenshots in docs/screenshots/ (`make screenshots`).

Serves onboard on a free loopback port over a fresh temporary SQLite database, fills a
believable demo organization through the use cases, then drives headless Chromium with
Playwright through the back office (1280x800), the customer portal, the mobile app and a
public code page (390x844) and saves one PNG per screen. A page that does not exist (yet)
is reported and skipped; the script fails only when no screenshot could be taken.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import os
import random
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from onboard.bootstrap import build
from onboard.config import get_settings
from onboard.domain.access import Actor
from onboard.domain.devices import Device, Location
from onboard.entrypoints.labels import BatchFormat, LabelOptions, write_run
from onboard.services import (
    batches,
    codes,
    customers,
    departments,
    devices,
    documents,
    licensing,
    organizations,
    pairing,
    public,
    records,
    templates,
)
from onboard.services.common import member_actor
from onboard.services.devices import DeviceInput
from onboard.services.documents import DocumentInput
from onboard.services.licensing import HardwareReport
from onboard.services.ports import Services

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP: Any = {"width": 1280, "height": 800}
PHONE: Any = {"width": 390, "height": 844}
PASSWORD = "nordwind-demo-2026"  # noqa: S105 - the demo accounts' password, on a throwaway database
ADMIN = "anna.berg@nordwind.example"
CUSTOMER_USER = "facility@stadtwerke-kiel.example"


# --- a deterministic demo organization ---------------------------------------------------


class SteppingClock:
    """A fixed start that moves a few minutes on each reading: believable creation times
    that are the same on every run."""

    def __init__(self, start: datetime, step: timedelta) -> None:
        self._now = start
        self._step = step

    def now(self) -> datetime:
        self._now += self._step
        return self._now

    def jump(self, to: datetime) -> None:
        """Let time pass (days between pairings): the next reading is ``to``."""
        if to - self._step < self._now:
            raise ValueError(f"the clock is at {self._now} already, too late for {to}")
        self._now = to - self._step


def photo_png(width: int = 960, height: int = 600) -> bytes:
    """An installation "photo": a grey unit with a display on a tiled wall, drawn by hand
    so that the script needs no image library."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            if 300 <= x < 660 and 110 <= y < 520:  # the unit
                shade = 215 - (y - 110) // 12
                red, green, blue = shade, shade + 3, shade + 8
                if 380 <= x < 580 and 170 <= y < 250:  # its display
                    red, green, blue = 24, 70, 120
                if 400 <= x < 470 and 195 <= y < 225:
                    red, green, blue = 120, 220, 160
            elif y >= 520:  # the floor
                red, green, blue = 120, 112, 104
            else:  # the wall, in tiles
                tile = (x // 80 + y // 80) % 2
                red, green, blue = (232, 228, 220) if tile else (224, 220, 212)
                if x % 80 == 0 or y % 80 == 0:
                    red, green, blue = 200, 196, 188
            rows += bytes((red, green, blue))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 6))
        + chunk(b"IEND", b"")
    )


MANUAL = (
    b"AW-12 heat pump - operating manual\n\n"
    b"1. Keep the air inlet free of leaves and snow.\n"
    b"2. Error E41: the outdoor unit is iced; it defrosts by itself within 30 minutes.\n"
    b"3. Service: once a year by Nordwind Facility Services.\n"
)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@dataclasses.dataclass(frozen=True)
class Demo:
    """What the screenshots open."""

    featured: Device
    template_id: str
    paired_token: str
    unpaired_token: str
    batch_id: str
    product_id: str


def _devices(
    svc: Services, actor: Actor, depts: dict[str, str], custs: dict[str, str], tpl: dict[str, str]
) -> list[Device]:
    heat, boiler, vent = tpl["heat"], tpl["boiler"], tpl["vent"]
    north, south = [depts["north"]], [depts["south"]]
    rows: list[tuple[str, str, str, dict[str, Any], str, list[str], str]] = [
        ("Heat pump, Town hall", "AW12-240117", heat,
         {"model": "AW-12", "heating_power_kw": 12, "refrigerant": "R290",
          "warranty_until": "2031-05-31", "service_contract": "SC-2291"},
         "stadtwerke", north, "Rathausplatz 1, Kiel (basement)"),
        ("Heat pump, Swimming pool", "AW12-240342", heat,
         {"model": "AW-12", "heating_power_kw": 16, "refrigerant": "R290",
          "warranty_until": "2030-11-30"},
         "stadtwerke", north, "Hörnbad, Kiel (plant room)"),
        ("Gas boiler, Library", "GB172-88120", boiler,
         {"model": "GB-172", "nominal_load_kw": 24, "last_flue_test": "2026-01-14"},
         "stadtwerke", north, "Stadtbibliothek, Kiel"),
        ("Ventilation, Library reading room", "V400-10077", vent,
         {"airflow_m3h": 400, "filter_class": "ePM1 55%"},
         "stadtwerke", north, "Stadtbibliothek, Kiel (2nd floor)"),
        ("Heat pump, Hotel spa", "AW12-239981", heat,
         {"model": "AW-12", "heating_power_kw": 16, "refrigerant": "R290",
          "warranty_until": "2029-08-31"},
         "seeblick", south, "Hotel Seeblick, Strandweg 8 (spa)"),
        ("Gas boiler, Hotel main house", "GB172-87004", boiler,
         {"model": "GB-172", "nominal_load_kw": 42, "last_flue_test": "2025-11-03"},
         "seeblick", south, "Hotel Seeblick, Strandweg 8 (cellar)"),
        ("Ventilation, Hotel kitchen", "V400-10012", vent,
         {"airflow_m3h": 1200, "filter_class": "ePM10 70%"},
         "seeblick", south, "Hotel Seeblick, kitchen roof"),
        ("Ventilation, Hotel conference room", "V400-10013", vent,
         {"airflow_m3h": 600, "filter_class": "ePM1 55%"},
         "seeblick", south, "Hotel Seeblick, 1st floor"),
        ("Gas boiler, Bakery", "GB172-86551", boiler,
         {"model": "GB-172", "nominal_load_kw": 24, "last_flue_test": "2026-02-20"},
         "hansen", north, "Bäckerei Hansen, Holstenstraße 12"),
        ("Ventilation, Bakery oven hall", "V400-09931", vent,
         {"airflow_m3h": 2400, "filter_class": "Coarse 60%"},
         "hansen", north, "Bäckerei Hansen, oven hall"),
        ("Heat pump, Depot", "AW12-240500", heat,
         {"model": "AW-12", "heating_power_kw": 8, "refrigerant": "R290",
          "warranty_until": "2031-09-30"},
         "", south, "Nordwind depot, Eckernförde"),
        ("Heat pump, Showroom", "AW12-240501", heat,
         {"model": "AW-12", "heating_power_kw": 8, "refrigerant": "R290",
          "warranty_until": "2031-09-30"},
         "", north, "Nordwind showroom, Kiel"),
    ]  # fmt: skip
    made: list[Device] = []
    for name, serial, template, attributes, customer, chosen, where in rows:
        given = DeviceInput(
            name=name, serial=serial, template_id=template, attributes=attributes,
            departments=chosen, customer_id=custs.get(customer), location=Location(where),
        )  # fmt: skip
        made.append(devices.create_device(svc, actor, given))
    return made


# The technicians' handhelds run Nordwind's own app; the office licenses it per device.
FIELD_SERVICE: dict[str, Any] = {
    "api_base_url": "https://service.nordwind.example/api",
    "sync_interval_minutes": 15,
    "offline_maps": ["Kiel", "Eckernförde"],
    "scanner": {"symbologies": ["QR", "DataMatrix", "GS1-128"], "beep": True},
    "service_report": {"require_photo": True, "require_signature": True},
}
WORKSHOP: dict[str, Any] = {
    **FIELD_SERVICE,
    "sync_interval_minutes": 5,
    "offline_maps": [],
    "kiosk_mode": True,
}
FIELD_SERVICE_2: dict[str, Any] = {
    **FIELD_SERVICE,
    "sync_interval_minutes": 10,
    "offline_maps": ["Kiel", "Eckernförde", "Rendsburg"],
    "service_report": {"require_photo": True, "require_signature": True, "checklist": "F-GAS"},
}
# name, hardware id, model, OS, app version, and when it paired (UTC, the morning
# briefing at the depot or the workshop)
HANDHELDS: list[tuple[str, str, str, str, str, datetime]] = [
    ("Handheld J. Petersen", "21194522502761", "Zebra TC52", "Android 11", "2.4.1",
     datetime(2026, 3, 3, 6, 52, tzinfo=UTC)),
    ("Handheld M. Schulz", "21194522502784", "Zebra TC52", "Android 11", "2.4.1",
     datetime(2026, 3, 3, 7, 45, tzinfo=UTC)),
    ("Handheld S. Nielsen", "R5CT71LMQ4J", "Samsung Galaxy XCover6 Pro", "Android 14",
     "2.4.1", datetime(2026, 3, 4, 6, 48, tzinfo=UTC)),
    ("Handheld T. Krüger", "R5CT71LMR2A", "Samsung Galaxy XCover6 Pro", "Android 14",
     "2.4.1", datetime(2026, 3, 4, 7, 31, tzinfo=UTC)),
    ("Workshop tablet Kiel", "R52TA0BX9KM", "Samsung Galaxy Tab Active4 Pro", "Android 14",
     "2.4.1", datetime(2026, 3, 4, 9, 40, tzinfo=UTC)),
    ("Spare handheld Eckernförde", "22164D82B7", "Honeywell CT40", "Android 11", "2.3.0",
     datetime(2026, 3, 5, 13, 15, tzinfo=UTC)),
    ("Handheld L. Hansen", "23078522500412", "Zebra TC53", "Android 13", "2.5.0",
     datetime(2026, 3, 12, 7, 35, tzinfo=UTC)),
    ("Handheld K. Awad", "F3A1C2D4-7B9E-4E21-9C55-2D8A6F0B1E37", "iPhone 15", "iOS 17.4",
     "2.5.0", datetime(2026, 3, 13, 9, 5, tzinfo=UTC)),
]  # fmt: skip
# The Friday morning the screenshots show: who checked in when (the spare lies in a
# drawer since it was paired; the iPhone has only just paired).
LAST_CHECKINS = [
    datetime(2026, 3, 13, 6, 41, tzinfo=UTC),
    datetime(2026, 3, 13, 6, 48, tzinfo=UTC),
    datetime(2026, 3, 13, 6, 58, tzinfo=UTC),
    datetime(2026, 3, 13, 7, 12, tzinfo=UTC),
    datetime(2026, 3, 13, 7, 30, tzinfo=UTC),
    None,
    datetime(2026, 3, 13, 8, 17, tzinfo=UTC),
]


def _licensing(svc: Services, actor: Actor, clock: SteppingClock) -> str:
    """The product Service Companion: 20 licenses (8 of them for a year), three
    configurations and eight handhelds paired over two weeks with a reusable code, most
    of them checked in since, some still on the older configuration. Its id."""
    product = licensing.create_product(svc, actor, name="Service Companion")
    licensing.grant_licenses(svc, actor, product.id, count=12, expires_at=None)
    # A second purchase, for the season: licenses for one year.
    licensing.grant_licenses(
        svc, actor, product.id, count=8, expires_at=datetime(2027, 4, 1, tzinfo=UTC)
    )
    licensing.create_configuration(
        svc, actor, product.id, name="Field service 2026.1", body=FIELD_SERVICE
    )
    code = licensing.create_pairing_code(svc, actor, product.id, valid_days=90)

    def pair(row: tuple[str, str, str, str, str, datetime]) -> licensing.Paired:
        name, hardware_id, model, system, version, when = row
        clock.jump(when)
        report = HardwareReport(hardware_id, model=model, os=system, app_version=version)
        paired = licensing.pair(svc, code.url, report, source_ip="198.51.100.23")
        devices.update_device(svc, actor, paired.device_id, {"name": name})
        return paired

    def checkin(paired: licensing.Paired) -> None:
        had = paired.configuration
        licensing.checkin(svc, paired.credential, configuration_etag=had.etag if had else None)

    paired: list[licensing.Paired] = []
    for row in HANDHELDS[:6]:
        paired.append(pair(row))
        checkin(paired[-1])  # a freshly paired app checks in at once
    clock.jump(datetime(2026, 3, 5, 15, 0, tzinfo=UTC))
    workshop = licensing.create_configuration(
        svc, actor, product.id, name="Workshop kiosk", body=WORKSHOP
    )
    licensing.assign_configuration(svc, actor, workshop.id, [paired[4].device_id])
    clock.jump(datetime(2026, 3, 10, 14, 0, tzinfo=UTC))
    newest = licensing.create_configuration(
        svc, actor, product.id, name="Field service 2026.2", body=FIELD_SERVICE_2
    )
    paired.append(pair(HANDHELDS[6]))
    checkin(paired[-1])
    # The office moves two of the older handhelds to the new configuration; the others
    # keep 2026.1 for now.
    clock.jump(datetime(2026, 3, 12, 10, 30, tzinfo=UTC))
    licensing.assign_configuration(
        svc, actor, newest.id, [paired[0].device_id, paired[2].device_id]
    )
    for device, when in zip(paired, LAST_CHECKINS, strict=True):
        if when is not None:
            clock.jump(when)
            checkin(device)
    pair(HANDHELDS[7])  # not checked in yet
    return product.id


def seed(svc: Services, clock: SteppingClock) -> Demo:
    """The organization Nordwind Facility Services, which looks after heating and
    ventilation in Kiel: departments, customers, templates, devices, codes and history."""
    org = organizations.init_organization(
        svc, name="Nordwind Facility Services", admin_email=ADMIN, password=PASSWORD
    )
    actor = member_actor(org.member)
    north = departments.create_department(svc, actor, name="Service North")
    south = departments.create_department(svc, actor, name="Service South")
    depts = {"north": north.id, "south": south.id}
    stadtwerke = customers.create_customer(
        svc, actor, name="Stadtwerke Kiel", departments=[north.id]
    )
    seeblick = customers.create_customer(svc, actor, name="Hotel Seeblick", departments=[south.id])
    hansen = customers.create_customer(svc, actor, name="Bäckerei Hansen", departments=[north.id])
    customers.add_customer_user(svc, actor, stadtwerke.id, email=CUSTOMER_USER, password=PASSWORD)
    custs = {"stadtwerke": stadtwerke.id, "seeblick": seeblick.id, "hansen": hansen.id}

    heat = templates.create_template(
        svc, actor, name="Heat pump AW-12", gtin="4006381333931",
        fields=[
            {"name": "model", "type": "string", "required": True, "public": True},
            {"name": "heating_power_kw", "type": "number", "required": True, "public": True},
            {"name": "refrigerant", "type": "string", "public": True},
            {"name": "warranty_until", "type": "date", "public": True},
            {"name": "service_contract", "type": "string"},
        ],
    )  # fmt: skip
    boiler = templates.create_template(
        svc, actor, name="Gas boiler GB-172", departments=[north.id],
        fields=[
            {"name": "model", "type": "string", "public": True},
            {"name": "nominal_load_kw", "type": "number", "required": True},
            {"name": "last_flue_test", "type": "date"},
        ],
    )  # fmt: skip
    vent = templates.create_template(
        svc, actor, name="Ventilation unit V-400",
        fields=[
            {"name": "airflow_m3h", "type": "number", "public": True},
            {"name": "filter_class", "type": "string", "public": True},
        ],
    )  # fmt: skip
    documents.add_template_document(
        svc, actor, heat.id, DocumentInput(title="Operating manual", public=True, content=MANUAL)
    )
    documents.add_template_document(
        svc, actor, heat.id,
        DocumentInput(title="Installation guide", url="https://example.com/aw-12/installation"),
    )  # fmt: skip
    tpl = {"heat": heat.id, "boiler": boiler.id, "vent": vent.id}

    made = _devices(svc, actor, depts, custs, tpl)
    featured = made[0]
    documents.set_photo(svc, actor, featured.id, photo_png())
    documents.add_document(
        svc, actor, featured.id,
        DocumentInput(title="Commissioning report", content=PDF),
    )  # fmt: skip

    north_codes = codes.create_codes(
        svc, actor, count=10, batch="2026-03 Kiel", label="Nordwind service", departments=[north.id]
    )
    south_codes = codes.create_codes(
        svc, actor, count=10, batch="2026-03 Eckernförde", label="Nordwind service",
        departments=[south.id],
    )  # fmt: skip
    # The Kiel stickers went through the office printer before they were paired.
    kiel = batches.find_batch(svc, actor, "2026-03 Kiel").batch
    run = batches.start_print(svc, actor, kiel.id)
    write_run(run, BatchFormat.PDF, LabelOptions(), io.BytesIO())
    batches.finish_print(svc, run, output="pdf a4-24")
    pairs = [
        (north_codes[0], made[0]), (north_codes[1], made[0]), (north_codes[2], made[1]),
        (north_codes[3], made[2]), (north_codes[4], made[8]), (south_codes[0], made[4]),
        (south_codes[1], made[5]), (south_codes[2], made[6]),
    ]  # fmt: skip
    for code, device in pairs:
        pairing.pair_code(svc, actor, code.token, device.id)
    codes.update_code(svc, actor, south_codes[9].token, {"active": False})

    records.add_service_record(
        svc, actor, featured.id,
        text="Annual maintenance: refrigerant circuit checked, air filter replaced, "
        "firmware updated to 3.4.1.",
        performed_at=svc.clock.now() - timedelta(days=30),
    )  # fmt: skip
    records.add_interaction(
        svc, actor, featured.id, kind="note",
        text="Caretaker Mr. Jensen has the key to the plant room (ext. 114).",
    )  # fmt: skip
    public.send_notification(
        svc, north_codes[0].token,
        message="The display shows error E41 since this morning and the radiators stay cold.",
        contact="Town hall caretaker, +49 431 555 0114", client="203.0.113.7",
    )  # fmt: skip
    product_id = _licensing(svc, actor, clock)
    return Demo(featured, heat.id, north_codes[0].token, north_codes[7].token, kiel.id, product_id)


# --- the server and the browser ------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(env: dict[str, str], url: str, port: int, log: Path) -> Iterator[None]:
    """`onboard serve` in a child process until the block ends."""
    command = [sys.executable, "-m", "onboard", "serve", "--host", "127.0.0.1"]
    with log.open("w") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            [*command, "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                if process.poll() is not None:
                    raise SystemExit(f"onboard serve stopped:\n{log.read_text()}")
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"onboard serve did not come up:\n{log.read_text()}")
                time.sleep(0.1)
            yield
        finally:
            process.terminate()
            process.wait(timeout=20)


@dataclasses.dataclass(frozen=True)
class Shot:
    """One screenshot: the file name, the page, and what to do there before taking it."""

    name: str
    path: str
    prepare: Callable[[Any], None] | None = None
    full_page: bool = False


class Camera:
    """Takes shots with one browser page, and keeps the list of what worked."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.taken: list[str] = []
        self.skipped: list[tuple[str, str]] = []

    def take(self, page: Any, shot: Shot) -> None:
        from playwright.sync_api import Error as PlaywrightError

        try:
            response = page.goto(shot.path)
            status = response.status if response is not None else 0
            if status != 200:
                self.skipped.append((shot.name, f"{shot.path} answered {status}"))
                return
            if "/login" in page.url and "/login" not in shot.path:
                self.skipped.append((shot.name, f"{shot.path} asked to sign in"))
                return
            if shot.prepare is not None:
                shot.prepare(page)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(self.out / f"{shot.name}.png"), full_page=shot.full_page)
        except (PlaywrightError, LookupError) as error:
            self.skipped.append((shot.name, f"{shot.path}: {str(error).splitlines()[0]}"))
            return
        self.taken.append(shot.name)


def sign_in(page: Any, email: str, login_path: str) -> None:
    page.goto(login_path)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.wait_for_load_state("networkidle")


_MENU_TOGGLES = (
    "[data-menu-toggle]",
    ".m-fab",
    "button[aria-haspopup]",
    "details.m-menu > summary",
    "details > summary",
    "button[aria-expanded='false']",
)


def open_action_menu(page: Any) -> None:
    """The mobile device page's action menu (the floating action button)."""
    for selector in _MENU_TOGGLES:
        toggle = page.locator(selector).first
        if toggle.count() and toggle.is_visible():
            toggle.click()
            page.wait_for_timeout(300)  # let the menu's transition end before the shot
            return
    raise LookupError("no action menu toggle found on the mobile device page")


def assign_first_free(page: Any) -> None:
    """Press "Assign device" on the first free license: the page with a single-use QR."""
    page.get_by_role("button", name="Assign device").first.click()
    page.wait_for_load_state("networkidle")
    if not page.locator("[data-assign] [data-pairing-code]").count():
        raise LookupError("Assign device showed no pairing code")
    page.wait_for_timeout(1500)  # let the countdown run a little


def phone_context(browser: Any, url: str) -> Any:
    """A fresh browser profile held like a phone."""
    return browser.new_context(
        base_url=url, viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2
    )


def shoot(url: str, out: Path, chromium: str, demo: Demo) -> Camera:
    from playwright.sync_api import sync_playwright

    camera = Camera(out)
    device = f"/devices/{demo.featured.id}"
    product = f"/products/{demo.product_id}"
    desktop = [
        Shot("dashboard", "/"),
        Shot("codes-list", "/codes"),
        Shot("code-detail", f"/codes/{demo.paired_token}"),
        Shot("batches-list", "/batches"),
        Shot("batch-detail", f"/batches/{demo.batch_id}", full_page=True),
        Shot("device-overview", device),
        Shot("device-codes", f"{device}/codes"),
        Shot("device-timeline", f"{device}/timeline"),
        Shot("templates-list", "/templates"),
        Shot("template-detail", f"/templates/{demo.template_id}"),
        Shot("licenses", product, full_page=True),
        Shot("licensed-devices", f"{product}/devices", full_page=True),
        Shot("assign-device", f"{product}?status=free", assign_first_free, full_page=True),
    ]
    phone = [
        Shot("mobile-home", "/m"),
        Shot("mobile-scan", "/m/scan"),
        Shot("mobile-code-not-paired", f"/m/codes/{demo.unpaired_token}"),
        Shot("mobile-device-menu", f"/m/devices/{demo.featured.id}", open_action_menu),
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=url, viewport=DESKTOP)
            page = context.new_page()
            sign_in(page, ADMIN, "/login")
            for shot in desktop:
                camera.take(page, shot)
            context.close()

            context = browser.new_context(base_url=url, viewport=DESKTOP)
            page = context.new_page()
            sign_in(page, CUSTOMER_USER, "/login")
            camera.take(page, Shot("portal-device", f"/portal/devices/{demo.featured.id}"))
            context.close()

            context = phone_context(browser, url)
            page = context.new_page()
            sign_in(page, ADMIN, "/m/login")
            for shot in phone:
                camera.take(page, shot)
            context.close()

            context = phone_context(browser, url)
            camera.take(context.new_page(), Shot("public-code-page", f"/c/{demo.paired_token}"))
            context.close()
        finally:
            browser.close()
    return camera


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="onboard-screenshots-") as temporary:
        var_dir = Path(temporary)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "ONBOARD_DATABASE_URL": f"sqlite:///{var_dir / 'onboard.db'}",
            "ONBOARD_VAR_DIR": str(var_dir),
            "ONBOARD_SECRET_KEY": "screenshots-" + os.urandom(16).hex(),
            "ONBOARD_PUBLIC_URL": url,
            "ONBOARD_LOG_LEVEL": "warning",
        }
        upgrade = [sys.executable, "-m", "onboard", "db", "upgrade"]
        subprocess.run(upgrade, env=env, check=True, capture_output=True)  # noqa: S603
        settings = get_settings(
            var_dir=var_dir,
            database_url=env["ONBOARD_DATABASE_URL"],
            secret_key=env["ONBOARD_SECRET_KEY"],
            public_url=url,
        )
        clock = SteppingClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC), timedelta(minutes=7))
        container = build(settings, clock=clock)
        try:
            # Code tokens from a seeded generator: the same stickers on every run.
            seeded = random.Random(2026)  # noqa: S311 - demo stickers, not secrets
            svc = dataclasses.replace(container.services, entropy=seeded.randbytes)
            demo = seed(svc, clock)
        finally:
            container.close()
        with serving(env, url, port, var_dir / "server.log"):
            camera = shoot(url, args.out, args.chromium, demo)

    for name in camera.taken:
        print(f"saved    {args.out / name}.png")
    for name, reason in camera.skipped:
        print(f"skipped  {name}: {reason}")
    return 0 if camera.taken else 1


if __name__ == "__main__":
    sys.exit(main())
