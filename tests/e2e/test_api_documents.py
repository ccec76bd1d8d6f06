"""Documents and installation photos through a real server over HTTP, on SQLite and
PostgreSQL (SPEC A3, A12, §5.1): a multi-megabyte manual goes up as multipart and comes
back byte for byte, to members and, when public, to code users; an upload over the limit
is refused without the server taking it all in."""

from __future__ import annotations

import secrets

import httpx

from onboard.services import pairing
from onboard.services.devices import DeviceInput, create_device
from onboard.services.ports import Services
from tests.conftest import LiveServer
from tests.factories import Org

PDF = b"%PDF-1.7\n" + secrets.token_bytes(3 * 1024 * 1024)
PNG = b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(4096)


def test_a_manual_and_a_photo_make_the_round_trip_to_members_and_code_users(
    live_server: LiveServer, svc: Services, org: Org, api: httpx.Client
) -> None:
    device = create_device(svc, org.actor, DeviceInput("Chiller 3"))
    code = pairing.create_code_for_device(svc, org.actor, device.id)
    base = f"/api/v1/devices/{device.id}/documents"

    added = api.post(
        base,
        data={"title": "Service manual", "public": "true"},
        files={"file": ("manual.pdf", PDF, "application/octet-stream")},
    )
    internal = api.post(base, json={"url": "https://intranet.example/chiller", "title": "Wiki"})
    photo = api.put(
        f"/api/v1/devices/{device.id}/photo", files={"file": ("p.png", PNG, "image/png")}
    )

    assert (added.status_code, internal.status_code, photo.status_code) == (201, 201, 200)
    listed = api.get(base).json()["items"]
    assert [d["title"] for d in listed] == ["Service manual", "Wiki"]
    downloaded = api.get(added.json()["content_url"])
    assert downloaded.content == PDF
    assert downloaded.headers["content-type"] == "application/pdf"
    with live_server.client() as visitor:
        shown = visitor.get(f"/api/v1/public/codes/{code.token}").json()["device"]
        assert [d["title"] for d in shown["documents"]] == ["Service manual"]
        assert visitor.get(shown["documents"][0]["content_url"]).content == PDF
        assert visitor.get(shown["photo_url"]).content == PNG
        page = visitor.get(f"/c/{code.token}")
        assert "Service manual" in page.text
        assert "Wiki" not in page.text


def test_an_upload_over_the_limit_is_413_and_leaves_nothing(
    live_server: LiveServer, svc: Services, org: Org, api: httpx.Client
) -> None:
    device = create_device(svc, org.actor, DeviceInput("Chiller 4"))
    too_large = PDF + b"\x00" * (svc.upload_max_bytes - len(PDF) + 1)

    answer = api.post(
        f"/api/v1/devices/{device.id}/documents",
        data={"title": "Too big"},
        files={"file": ("big.pdf", too_large, "application/pdf")},
    )

    assert answer.status_code == 413, answer.text
    assert answer.json()["code"] == "file_too_large"
    assert api.get(f"/api/v1/devices/{device.id}/documents").json()["items"] == []
    timeline = api.get(f"/api/v1/devices/{device.id}/timeline").json()["items"]
    assert [e["action"] for e in timeline] == ["device.created"]
