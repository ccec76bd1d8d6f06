"""Documents, installation photos and the files behind them, over HTTP on SQLite and
PostgreSQL (SPEC A3, A4, A12, §5.1): uploads and links, what the bytes are, the size limit,
template defaults, files shared by several records, the timeline, departments, and what
code users see on the public API and the code page."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from onboard.bootstrap import Container
from onboard.domain.codes import Code
from onboard.domain.devices import Device
from onboard.entrypoints import http
from onboard.entrypoints.app import create_app
from onboard.services import auth, codes, documents, pairing, templates
from onboard.services.devices import DeviceInput, create_device
from tests.answers import problem_of
from tests.factories import PASSWORD, Org, make_department, make_member, make_org, token_for
from tests.integration.test_isolation_matrix import _rows

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 32
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
PIN = "4711"


@dataclass
class Api:
    """The application over the test's database, an organization and its Administrator's
    token, and the folder the files land in."""

    container: Container
    client: TestClient
    org: Org
    token: str

    @property
    def files_dir(self) -> Path:
        return self.container.settings.effective_files_dir

    def stored(self) -> list[str]:
        """The keys of the files in the storage."""
        return sorted(p.name for p in self.files_dir.rglob("*") if p.is_file())

    def call(
        self, method: str, path: str, *, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.token}", **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def upload(
        self,
        path: str,
        data: bytes,
        *,
        title: str = "Manual",
        public: bool = False,
        name: str = "manual.pdf",
        content_type: str = "application/pdf",
        token: str | None = None,
    ) -> httpx.Response:
        return self.call(
            "POST",
            path,
            token=token,
            data={"title": title, "public": "true" if public else "false"},
            files={"file": (name, data, content_type)},
        )

    def put_photo(self, device_id: str, data: bytes, *, token: str | None = None) -> Any:
        return self.call(
            "PUT",
            f"/api/v1/devices/{device_id}/photo",
            token=token,
            files={"file": ("photo.png", data, "image/png")},
        )


def _api(container: Container) -> Iterator[Api]:
    svc = container.services
    org = make_org(svc)
    with TestClient(create_app(container.settings, container=container)) as client:
        yield Api(container, client, org, token_for(svc, org.admin))


@pytest.fixture
def api(container: Container) -> Iterator[Api]:
    yield from _api(container)


def _device(api: Api, **given: Any) -> Device:
    return create_device(api.container.services, api.org.actor, DeviceInput("Pump 7", **given))


def _docs(api: Api, device: Device) -> str:
    return f"/api/v1/devices/{device.id}/documents"


# --- documents of a device -----------------------------------------------------------


def test_a_file_document_is_uploaded_listed_and_downloaded_as_it_was(api: Api) -> None:
    device = _device(api)

    added = api.upload(_docs(api, device), PDF, title="Operating manual Ü", public=True)

    assert added.status_code == 201, added.text
    document = added.json()
    assert document["title"] == "Operating manual Ü"
    assert (document["public"], document["url"]) == (True, None)
    assert (document["content_type"], document["size"]) == ("application/pdf", len(PDF))
    listed = api.call("GET", _docs(api, device)).json()
    assert [d["id"] for d in listed["items"]] == [document["id"]]
    assert listed["next_cursor"] is None
    downloaded = api.call("GET", document["content_url"])
    assert downloaded.status_code == 200
    assert downloaded.content == PDF
    assert downloaded.headers["content-type"] == "application/pdf"
    assert downloaded.headers["x-content-type-options"] == "nosniff"
    disposition = downloaded.headers["content-disposition"]
    assert disposition.startswith('inline; filename="Operating manual _.pdf"')
    assert "filename*=UTF-8''Operating%20manual%20%C3%9C.pdf" in disposition


def test_the_content_type_comes_from_the_bytes_not_from_the_client(api: Api) -> None:
    device = _device(api)

    added = api.upload(
        _docs(api, device), b"Torque: 12 Nm\n", name="notes.exe", content_type="image/gif"
    )

    assert added.json()["content_type"] == "text/plain"
    downloaded = api.call("GET", added.json()["content_url"])
    assert downloaded.headers["content-type"] == "text/plain; charset=utf-8"
    assert downloaded.headers["content-disposition"].startswith('inline; filename="Manual.txt"')


def test_a_link_document_is_added_as_json_and_has_no_file(api: Api) -> None:
    device = _device(api)

    added = api.call(
        "POST",
        _docs(api, device),
        json={"url": "https://example.com/pump-7.pdf", "title": "Vendor page", "public": True},
    )

    assert added.status_code == 201, added.text
    link = added.json()
    assert link["url"] == "https://example.com/pump-7.pdf"
    assert (link["content_url"], link["content_type"], link["size"]) == (None, None, None)
    no_file = api.call("GET", f"{_docs(api, device)}/{link['id']}/content")
    problem_of(no_file, 404, "not_found")
    assert api.stored() == []


def test_lists_of_documents_page_by_cursor(api: Api) -> None:
    device = _device(api)
    for n in range(3):
        api.call("POST", _docs(api, device), json={"url": f"https://e.com/{n}", "title": f"D{n}"})

    first = api.call("GET", f"{_docs(api, device)}?limit=2").json()
    rest = api.call("GET", f"{_docs(api, device)}?limit=2&cursor={first['next_cursor']}").json()

    assert [d["title"] for d in first["items"] + rest["items"]] == ["D0", "D1", "D2"]
    assert rest["next_cursor"] is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"json": {"url": "javascript:alert(1)", "title": "x"}}, "url"),
        ({"json": {"url": "ftp://example.com/m.pdf", "title": "x"}}, "url"),
        ({"json": {"url": "https://example.com"}}, "title"),
        ({"json": {"url": "https://example.com", "title": "   "}}, "title"),
        ({"json": {"url": "https://example.com", "title": "x", "owner": "me"}}, "owner"),
        ({"json": {"url": "https://example.com", "title": "x" * 201}}, "title"),
        ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}, "body"),
        ({"data": {"title": "x"}, "files": {"file": ("m.pdf", b"", "application/pdf")}}, "file"),
        ({"data": {"public": "true"}, "files": {"file": ("m.pdf", PDF, "x/y")}}, "title"),
        ({"data": {"title": "x", "public": "maybe"}, "files": {"file": ("m", PDF, "x/y")}},
         "public"),
        ({"data": {"title": "x"}, "files": {"other": ("m.pdf", PDF, "x/y")}}, "other"),
        ({"data": {"title": "bell\x07"}, "files": {"file": ("m.pdf", PDF, "x/y")}}, "title"),
        ({"data": {"title": "x", "url": "https://e.com"}, "files": {"file": ("m", PDF, "x/y")}},
         "file"),
        ({"content": b"--nope\r\nbroken", "headers": {"Content-Type": "multipart/form-data"}},
         "body"),
    ],
    ids=[
        "javascript-url", "ftp-url", "no-title", "blank-title", "extra-field", "long-title",
        "malformed-json", "empty-file", "form-without-title", "public-not-a-flag",
        "file-under-another-name", "control-character-title", "file-and-url",
        "broken-multipart",
    ],
)  # fmt: skip
def test_bad_document_input_is_422_with_field_errors_and_stores_nothing(
    api: Api, kwargs: dict[str, Any], field: str
) -> None:
    device = _device(api)
    before = _rows(api.container.engine)

    answer = api.call("POST", _docs(api, device), **kwargs)

    body = problem_of(answer, 422, "invalid")
    assert field in {e["field"] for e in body.get("errors", [])}, body
    assert _rows(api.container.engine) == before
    assert api.stored() == []


def test_a_body_that_is_neither_a_form_nor_json_is_415(api: Api) -> None:
    device = _device(api)

    answer = api.call(
        "POST", _docs(api, device), content=PDF, headers={"Content-Type": "application/pdf"}
    )

    problem_of(answer, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    ("data", "name", "content_type"),
    [
        (EXE, "manual.pdf", "application/pdf"),
        (HTML, "manual.pdf", "application/pdf"),
        (HTML, "notes.txt", "text/plain"),
        (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "x.png", "image/png"),
    ],
    ids=["exe-named-pdf", "html-named-pdf", "html-named-txt", "svg-named-png"],
)
def test_a_program_or_web_page_under_a_harmless_name_is_415_and_changes_nothing(
    api: Api, data: bytes, name: str, content_type: str
) -> None:
    device = _device(api)
    before = _rows(api.container.engine)

    answer = api.upload(_docs(api, device), data, name=name, content_type=content_type)

    body = problem_of(answer, 415, "unsupported_file_type")
    assert body["errors"] == [{"field": "file", "message": "unsupported file type"}]
    assert _rows(api.container.engine) == before
    assert api.stored() == []


@pytest.fixture
def small_api(container: Container) -> Iterator[Api]:
    """The application with a 4 KiB upload limit."""
    limited = replace(container, services=replace(container.services, upload_max_bytes=4096))
    yield from _api(limited)


def test_a_file_over_the_limit_is_413_and_changes_nothing(small_api: Api) -> None:
    api = small_api
    device = _device(api)
    before = _rows(api.container.engine)

    just_fits = api.upload(_docs(api, device), PDF + b"x" * (4096 - len(PDF)))
    assert just_fits.status_code == 201, just_fits.text
    before = _rows(api.container.engine)
    stored = api.stored()

    too_large = api.upload(_docs(api, device), PDF + b"x" * (4097 - len(PDF)))
    far_too_large = api.upload(_docs(api, device), PDF + b"x" * 1_000_000)
    photo = api.put_photo(device.id, PNG + b"x" * 5000)

    for answer in (too_large, far_too_large, photo):
        body = problem_of(answer, 413, "file_too_large")
        assert body["errors"][0]["field"] == "file"
    assert _rows(api.container.engine) == before
    assert api.stored() == stored


def test_a_streamed_upload_without_a_length_is_cut_off_at_the_limit(small_api: Api) -> None:
    """Straight at the ASGI application (the test client would read the whole body first):
    a chunked body of 640 MB stops being read just past the limit."""
    api = small_api
    device = _device(api)
    boundary = b"b0undary"
    head = (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="title"\r\n\r\nBig\r\n'
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; '
        b'filename="big.pdf"\r\nContent-Type: application/pdf\r\n\r\n' + PDF
    )
    chunks = [head, *([b"x" * 65536] * 10_000)]
    read: list[int] = []
    answer: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        read.append(1)
        more = len(read) < len(chunks)
        return {"type": "http.request", "body": chunks[len(read) - 1], "more_body": more}

    async def send(message: dict[str, Any]) -> None:
        answer.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": _docs(api, device), "raw_path": _docs(api, device).encode(),
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1),
        "server": ("testserver", 80), "app": api.client.app,
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", f"Bearer {api.token}".encode()),
            (b"content-type", b"multipart/form-data; boundary=" + boundary),
            (b"transfer-encoding", b"chunked"),
        ],
    }  # fmt: skip
    # A thread of its own: other tests in this process may hold a running event loop.
    call = threading.Thread(target=asyncio.run, args=(api.client.app(scope, receive, send),))
    call.start()
    call.join()

    assert answer[0]["status"] == 413
    assert b'"code":"file_too_large"' in answer[1]["body"]
    assert len(read) < 5, "the body was read on after the limit"
    assert api.stored() == []


def test_deleting_a_document_removes_it_and_its_file(api: Api) -> None:
    device = _device(api)
    document = api.upload(_docs(api, device), PDF).json()

    deleted = api.call("DELETE", f"{_docs(api, device)}/{document['id']}")

    assert deleted.status_code == 204
    assert api.call("GET", _docs(api, device)).json()["items"] == []
    problem_of(api.call("GET", document["content_url"]), 404, "not_found")
    assert api.stored() == []
    again = api.call("DELETE", f"{_docs(api, device)}/{document['id']}")
    problem_of(again, 404, "not_found")


# --- the installation photo ----------------------------------------------------------


def test_the_installation_photo_is_set_replaced_read_and_removed(api: Api) -> None:
    device = _device(api)
    assert api.call("GET", f"/api/v1/devices/{device.id}").json()["photo_url"] is None

    first = api.put_photo(device.id, PNG)
    assert first.status_code == 200, first.text
    photo_url = first.json()["photo_url"]
    assert photo_url == f"/api/v1/devices/{device.id}/photo"
    shown = api.call("GET", photo_url)
    assert (shown.content, shown.headers["content-type"]) == (PNG, "image/png")
    assert shown.headers["x-content-type-options"] == "nosniff"

    assert api.put_photo(device.id, JPEG).status_code == 200
    replaced = api.call("GET", photo_url)
    assert (replaced.content, replaced.headers["content-type"]) == (JPEG, "image/jpeg")
    assert len(api.stored()) == 1, "the replaced photo's file is gone"

    refused = api.put_photo(device.id, PDF)
    problem_of(refused, 415, "unsupported_file_type")
    assert api.call("GET", photo_url).content == JPEG

    assert api.call("DELETE", photo_url).status_code == 204
    assert api.call("GET", f"/api/v1/devices/{device.id}").json()["photo_url"] is None
    problem_of(api.call("GET", photo_url), 404, "not_found")
    problem_of(api.call("DELETE", photo_url), 404, "not_found")
    assert api.stored() == []


@pytest.mark.parametrize(
    ("role", "photo", "document"),
    [
        ("technician", 200, 201),
        ("device_manager", 200, 201),
        ("viewer", 403, 403),
        ("iot_manager", 403, 403),
    ],
)
def test_technicians_take_photos_and_add_documents_viewers_only_read(
    api: Api, role: str, photo: int, document: int
) -> None:
    svc = api.container.services
    token = token_for(svc, make_member(svc, api.org, roles=[role]))
    device = _device(api)
    existing = api.upload(_docs(api, device), PDF).json()

    assert api.put_photo(device.id, PNG, token=token).status_code == photo
    assert api.upload(_docs(api, device), PDF + b"2", token=token).status_code == document
    assert api.call("GET", _docs(api, device), token=token).status_code == 200
    assert api.call("GET", existing["content_url"], token=token).status_code == 200
    deleted = api.call("DELETE", f"{_docs(api, device)}/{existing['id']}", token=token)
    assert deleted.status_code == (204 if document == 201 else 403)


# --- default documents of templates (A4) ---------------------------------------------


def test_a_device_created_from_a_template_gets_its_default_documents(api: Api) -> None:
    svc = api.container.services
    template = templates.create_template(svc, api.org.actor, name="Pump", fields=[])
    base = f"/api/v1/templates/{template.id}/documents"
    manual = api.upload(base, PDF, title="Manual", public=True).json()
    link = api.call("POST", base, json={"url": "https://e.com/spare-parts", "title": "Parts"})
    assert link.status_code == 201, link.text
    assert [d["title"] for d in api.call("GET", base).json()["items"]] == ["Manual", "Parts"]
    assert api.call("GET", manual["content_url"]).content == PDF

    created = api.call("POST", "/api/v1/devices", json={"name": "P1", "template_id": template.id})
    device_id = created.json()["id"]
    copies = api.call("GET", f"/api/v1/devices/{device_id}/documents").json()["items"]

    assert [(d["title"], d["public"], d["url"]) for d in copies] == [
        ("Manual", True, None),
        ("Parts", False, "https://e.com/spare-parts"),
    ]
    assert {copies[0]["id"], copies[1]["id"]}.isdisjoint({manual["id"], link.json()["id"]})
    assert api.stored() == [svc.files.key_for(PDF)], "the file is shared, not copied"
    timeline = api.call("GET", f"/api/v1/devices/{device_id}/timeline").json()["items"]
    added = [e for e in timeline if e["action"] == "device.document_added"]
    assert {e["after"]["title"] for e in added} == {"Manual", "Parts"}
    assert {e["after"]["template_id"] for e in added} == {template.id}

    # Deleting the default leaves the device's copy and its file.
    assert api.call("DELETE", f"{base}/{manual['id']}").status_code == 204
    assert api.call("GET", copies[0]["content_url"]).content == PDF
    plain = _device(api)
    assert api.call("GET", _docs(api, plain)).json()["items"] == []


def test_template_documents_are_managed_by_template_managers_and_read_by_all(api: Api) -> None:
    svc = api.container.services
    template = templates.create_template(svc, api.org.actor, name="Valve", fields=[])
    base = f"/api/v1/templates/{template.id}/documents"
    technician = token_for(svc, make_member(svc, api.org, roles=["technician"]))
    document = api.upload(base, PDF).json()

    refused = api.upload(base, PDF + b"2", token=technician)
    problem_of(refused, 403, "permission_denied")
    assert api.call("GET", base, token=technician).status_code == 200
    assert api.call("GET", document["content_url"], token=technician).status_code == 200
    deleted = api.call("DELETE", f"{base}/{document['id']}", token=technician)
    problem_of(deleted, 403, "permission_denied")


def test_deleting_a_template_or_a_device_deletes_the_files_no_one_else_uses(api: Api) -> None:
    svc = api.container.services
    template = templates.create_template(svc, api.org.actor, name="Fan", fields=[])
    api.upload(f"/api/v1/templates/{template.id}/documents", PDF, title="Shared manual")
    device = _device(api, template_id=template.id)
    api.upload(_docs(api, device), b"Only this device's notes\n")
    api.put_photo(device.id, PNG)
    assert len(api.stored()) == 3

    assert api.call("DELETE", f"/api/v1/devices/{device.id}").status_code == 204
    assert api.stored() == [svc.files.key_for(PDF)], "the template still uses its manual"

    assert api.call("DELETE", f"/api/v1/templates/{template.id}").status_code == 204
    assert api.stored() == []


# --- files shared by several records -------------------------------------------------


def test_a_shared_file_is_kept_until_the_last_document_or_photo_using_it_is_gone(
    api: Api,
) -> None:
    one, two = _device(api), _device(api)
    first = api.upload(_docs(api, one), PNG, name="a.png").json()
    second = api.upload(_docs(api, two), PNG, name="b.png").json()
    api.put_photo(two.id, PNG)
    assert api.stored() == [api.container.services.files.key_for(PNG)]

    api.call("DELETE", f"{_docs(api, one)}/{first['id']}")
    assert api.call("GET", second["content_url"]).content == PNG
    api.call("DELETE", f"{_docs(api, two)}/{second['id']}")
    assert api.call("GET", f"/api/v1/devices/{two.id}/photo").content == PNG
    assert len(api.stored()) == 1

    api.call("DELETE", f"/api/v1/devices/{two.id}/photo")
    assert api.stored() == []


def test_a_change_that_fails_after_storing_its_file_leaves_no_file_behind(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = api.container.services
    device = _device(api)
    shared = api.upload(_docs(api, device), PNG).json()

    def broken(*_: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr("onboard.adapters.db.repositories.documents.SqlDocuments.add", broken)
    with pytest.raises(RuntimeError):
        documents.add_document(
            svc, api.org.actor, device.id, documents.DocumentInput("M", content=PDF)
        )
    with pytest.raises(RuntimeError):  # same bytes as a document that stays
        documents.add_document(
            svc, api.org.actor, device.id, documents.DocumentInput("M", content=PNG)
        )

    assert api.stored() == [svc.files.key_for(PNG)]
    assert api.call("GET", shared["content_url"]).content == PNG


def test_concurrent_uploads_and_deletions_of_one_file_never_lose_a_referenced_file(
    api: Api,
) -> None:
    """The last holder deleting the file and a new holder adding it take turns."""
    svc = api.container.services
    devices = [_device(api) for _ in range(4)]
    errors: list[BaseException] = []

    def churn(device: Device) -> None:
        try:
            for _ in range(5):
                added = documents.add_document(
                    svc, api.org.actor, device.id, documents.DocumentInput("M", content=PDF)
                )
                documents.delete_document(svc, api.org.actor, device.id, added.id)
        except BaseException as exc:  # reported below
            errors.append(exc)

    keeper = documents.add_document(
        svc, api.org.actor, devices[0].id, documents.DocumentInput("Kept", content=PDF)
    )
    threads = [threading.Thread(target=churn, args=(d,)) for d in devices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    _, kept = documents.document_file(svc, api.org.actor, devices[0].id, keeper.id)
    assert kept.content == PDF
    documents.delete_document(svc, api.org.actor, devices[0].id, keeper.id)
    assert api.stored() == []


# --- the timeline and departments ----------------------------------------------------


def test_document_and_photo_changes_appear_in_the_device_timeline(api: Api) -> None:
    device = _device(api)
    document = api.upload(_docs(api, device), PDF, title="Manual").json()
    api.put_photo(device.id, PNG)
    api.call("DELETE", f"/api/v1/devices/{device.id}/photo")
    api.call("DELETE", f"{_docs(api, device)}/{document['id']}")

    timeline = api.call("GET", f"/api/v1/devices/{device.id}/timeline").json()["items"]

    assert [e["action"] for e in timeline] == [
        "device.document_deleted",
        "device.photo_removed",
        "device.photo_set",
        "device.document_added",
        "device.created",
    ]
    assert timeline[3]["after"]["title"] == "Manual"
    assert timeline[3]["after"]["document_id"] == document["id"]
    assert timeline[0]["before"]["document_id"] == document["id"]
    assert all(e["actor"]["label"].startswith(api.org.admin.email) for e in timeline)


def test_a_member_of_another_department_sees_and_changes_none_of_it(api: Api) -> None:
    svc = api.container.services
    a, b = make_department(svc, api.org), make_department(svc, api.org)
    device = _device(api, departments=[a.id])
    document = api.upload(_docs(api, device), PDF, title="Secret wiring").json()
    api.put_photo(device.id, PNG)
    outsider = token_for(
        svc, make_member(svc, api.org, roles=["administrator"], departments=[b.id])
    )
    stranger = token_for(svc, make_org(svc).admin)
    before, stored = _rows(api.container.engine), api.stored()

    for token in (outsider, stranger):
        attempts = [
            api.call("GET", _docs(api, device), token=token),
            api.call("GET", document["content_url"], token=token),
            api.call("DELETE", f"{_docs(api, device)}/{document['id']}", token=token),
            api.upload(_docs(api, device), PDF + b"mine", token=token),
            api.call("GET", f"/api/v1/devices/{device.id}/photo", token=token),
            api.put_photo(device.id, JPEG, token=token),
            api.call("DELETE", f"/api/v1/devices/{device.id}/photo", token=token),
        ]
        for answer in attempts:
            problem_of(answer, 404, "not_found")
            assert "Secret wiring" not in answer.text
    assert _rows(api.container.engine) == before
    assert api.stored() == stored


# --- what code users see (A12) ---------------------------------------------------------


@dataclass
class Sticker:
    device: Device
    code: Code
    public_doc: dict[str, Any]
    internal_doc: dict[str, Any]
    public_link: dict[str, Any]


def _sticker(api: Api, *, pin: str | None = None) -> Sticker:
    svc = api.container.services
    device = _device(api)
    public_doc = api.upload(_docs(api, device), PDF, title="User guide", public=True).json()
    internal = api.upload(_docs(api, device), b"Service PIN 0000\n", title="Service sheet").json()
    link = api.call(
        "POST",
        _docs(api, device),
        json={"url": "https://example.com/faq", "title": "FAQ", "public": True},
    ).json()
    api.put_photo(device.id, PNG)
    code = pairing.create_code_for_device(svc, api.org.actor, device.id)
    if pin:
        code = codes.update_code(svc, api.org.actor, code.token, {"pin": pin})
    return Sticker(device, code, public_doc, internal, link)


def _public(api: Api, path: str, **headers: str) -> httpx.Response:
    return api.client.get(path, headers=headers)


def test_code_users_get_the_photo_and_the_public_documents_only(api: Api) -> None:
    sticker = _sticker(api)
    token = sticker.code.token

    page = _public(api, f"/api/v1/public/codes/{token.lower()}").json()

    shown = page["device"]
    assert page["state"] == "paired"
    assert shown["photo_url"] == f"/api/v1/public/codes/{token}/photo"
    assert [(d["title"], d["url"]) for d in shown["documents"]] == [
        ("User guide", None),
        ("FAQ", "https://example.com/faq"),
    ]
    assert "Service sheet" not in str(page)
    assert sticker.internal_doc["id"] not in str(page)
    photo = _public(api, shown["photo_url"])
    assert (photo.status_code, photo.content) == (200, PNG)
    assert photo.headers["x-content-type-options"] == "nosniff"
    guide = _public(api, shown["documents"][0]["content_url"])
    assert (guide.content, guide.headers["content-type"]) == (PDF, "application/pdf")
    internal = _public(api, f"/api/v1/public/codes/{token}/documents/{sticker.internal_doc['id']}")
    problem_of(internal, 404, "not_found")
    assert b"Service PIN" not in internal.content
    link = _public(api, f"/api/v1/public/codes/{token}/documents/{sticker.public_link['id']}")
    problem_of(link, 404, "not_found")


def test_another_devices_document_is_not_served_under_this_code(api: Api) -> None:
    mine, other = _sticker(api), _sticker(api)

    answer = _public(
        api, f"/api/v1/public/codes/{mine.code.token}/documents/{other.public_doc['id']}"
    )

    problem_of(answer, 404, "not_found")


def test_a_pin_protected_code_shows_no_photo_or_document_until_the_pin_is_entered(
    api: Api,
) -> None:
    sticker = _sticker(api, pin=PIN)
    token = sticker.code.token
    photo = f"/api/v1/public/codes/{token}/photo"
    guide = f"/api/v1/public/codes/{token}/documents/{sticker.public_doc['id']}"

    page = _public(api, f"/api/v1/public/codes/{token}").json()
    assert (page["state"], page["device"]) == ("pin_required", None)
    for path in (photo, guide):
        problem_of(_public(api, path), 403, "pin_required")
    wrong = _public(api, photo, **{"X-Code-Pin": "0000"})
    assert wrong.status_code == 403
    assert wrong.content != PNG

    assert _public(api, photo, **{"X-Code-Pin": PIN}).content == PNG
    entered = api.client.post(f"/api/v1/public/codes/{token}/pin", json={"pin": PIN})
    assert entered.status_code == 204
    assert _public(api, photo).content == PNG
    assert _public(api, guide).content == PDF
    assert _public(api, f"/api/v1/public/codes/{token}").json()["device"]["photo_url"] == photo


def test_unknown_deactivated_and_unpaired_codes_serve_no_file(api: Api) -> None:
    svc = api.container.services
    sticker = _sticker(api)
    token = sticker.code.token
    guide = f"/documents/{sticker.public_doc['id']}"

    problem_of(_public(api, "/api/v1/public/codes/0000000000000000/photo"), 404, "not_found")
    codes.update_code(svc, api.org.actor, token, {"active": False})
    for suffix in ("/photo", guide):
        problem_of(_public(api, f"/api/v1/public/codes/{token}{suffix}"), 404, "not_found")
    codes.update_code(svc, api.org.actor, token, {"active": True})
    assert _public(api, f"/api/v1/public/codes/{token}/photo").status_code == 200
    pairing.unpair_code(svc, api.org.actor, token)
    for suffix in ("/photo", guide):
        problem_of(_public(api, f"/api/v1/public/codes/{token}{suffix}"), 404, "not_found")


def test_the_code_page_shows_code_users_the_photo_and_public_documents_only(api: Api) -> None:
    sticker = _sticker(api)
    token = sticker.code.token

    page = api.client.get(f"/c/{token}")

    assert page.status_code == 200
    assert f'src="/api/v1/public/codes/{token}/photo"' in page.text
    assert "User guide" in page.text
    assert f"/api/v1/public/codes/{token}/documents/{sticker.public_doc['id']}" in page.text
    assert 'href="https://example.com/faq"' in page.text
    assert "Service sheet" not in page.text
    assert sticker.internal_doc["id"] not in page.text


def test_the_code_page_hides_photo_and_documents_behind_the_pin(api: Api) -> None:
    sticker = _sticker(api, pin=PIN)
    token = sticker.code.token

    page = api.client.get(f"/c/{token}")

    assert "User guide" not in page.text
    assert "/photo" not in page.text


def test_a_signed_in_member_sees_every_document_on_the_code_page(api: Api) -> None:
    sticker = _sticker(api)
    signed = auth.sign_in(
        api.container.services,
        api.container.sign_in_policy,
        email=api.org.admin.email,
        password=PASSWORD,
        source_ip=None,
    )
    api.client.cookies.set(http.SESSION_COOKIE, signed.token)

    page = api.client.get(f"/c/{sticker.code.token}")

    assert "Staff view" in page.text
    for title in ("User guide", "Service sheet", "FAQ"):
        assert title in page.text
    device = sticker.device.id
    assert f"/api/v1/devices/{device}/documents/{sticker.internal_doc['id']}/content" in page.text
    assert f'src="/api/v1/devices/{device}/photo"' in page.text
    # The session reads the member's files from the API with no token.
    internal = api.client.get(
        f"/api/v1/devices/{device}/documents/{sticker.internal_doc['id']}/content"
    )
    assert internal.content == b"Service PIN 0000\n"
