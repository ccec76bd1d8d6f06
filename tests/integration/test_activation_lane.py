"""The activation lane's batches (SPEC D4, §7): activations that arrive while the lane's
threads are busy wait, and go together in the next batch, each answered with its own
outcome. The service is replaced by a recorder here, slow enough for requests to pile
up; the real service and server answer in tests/e2e/test_device_activation.py."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from onboard.bootstrap import Container
from onboard.domain.errors import DomainError, InvalidSignature
from onboard.entrypoints.app import create_app
from onboard.entrypoints.device_api import activation_lane
from onboard.entrypoints.device_api.schemas import ActivateRequest


class Recorder:
    """activated_many() as the lane calls it: answers each activation by its serial
    (``BAD-`` ones refused) after a pause, and keeps the batches it was given."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.lock = threading.Lock()

    def __call__(
        self, built: Container, asked: Sequence[tuple[ActivateRequest, str | None]]
    ) -> list[dict[str, Any] | DomainError]:
        with self.lock:
            self.batches.append([request.serial for request, _ in asked])
        time.sleep(0.2)
        return [
            InvalidSignature("no")
            if request.serial.startswith("BAD-")
            else {"serial": request.serial}
            for request, _ in asked
        ]


def recorded(container: Container, monkeypatch: pytest.MonkeyPatch) -> tuple[Recorder, Any]:
    """The application, its lane answering through a Recorder."""
    recorder = Recorder()
    monkeypatch.setattr(activation_lane, "activated_many", recorder)
    return recorder, create_app(container.settings, container=container)


def body(serial: str) -> bytes:
    return json.dumps({"group_id": "g", "serial": serial, "expires": 1, "signature": "s"}).encode()


def post_together(app: Any, bodies: list[bytes]) -> list[httpx.Response]:
    """The bodies posted to the activation path at once, through the ASGI application."""

    async def post_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        headers = {"Content-Type": "application/json"}
        async with httpx.AsyncClient(transport=transport, base_url="http://lane") as client:
            posts = [client.post(activation_lane.PATH, content=b, headers=headers) for b in bodies]
            return await asyncio.gather(*posts)

    # On a thread of its own: a worker that ran browser tests before has an event loop
    # running on this one.
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, post_all()).result()


def test_activations_arriving_together_go_in_batches_each_answered_its_own(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder, app = recorded(container, monkeypatch)
    serials = [f"SN-{n}" for n in range(20)] + ["BAD-1", "BAD-2"]

    answers = post_together(app, [body(s) for s in serials])

    for serial, answer in zip(serials, answers, strict=True):
        if serial.startswith("BAD-"):
            assert answer.status_code == 401
            assert answer.json()["code"] == "invalid_signature"
        else:
            assert answer.status_code == 200
            assert answer.json() == {"serial": serial}
    batched = sorted(s for batch in recorder.batches for s in batch)
    assert batched == sorted(serials)  # each activation in exactly one batch
    # The lane's threads took the first arrivals; the rest waited and went together.
    assert len(recorder.batches) < len(serials)
    assert max(len(b) for b in recorder.batches) > 1
    assert all(len(b) <= activation_lane.MAX_BATCH for b in recorder.batches)


def test_a_malformed_activation_is_answered_without_waiting_for_a_batch(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder, app = recorded(container, monkeypatch)

    (answer,) = post_together(app, [json.dumps({"serial": "SN-1"}).encode()])

    assert answer.status_code == 422
    assert recorder.batches == []


def test_a_batch_that_fails_unexpectedly_answers_each_of_its_activations_500(
    container: Container, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(built: Container, asked: Sequence[tuple[ActivateRequest, str | None]]) -> Any:
        raise RuntimeError("database gone")

    monkeypatch.setattr(activation_lane, "activated_many", broken)
    app = create_app(container.settings, container=container)

    answers = post_together(app, [body("SN-1"), body("SN-2")])

    assert [a.status_code for a in answers] == [500, 500]
    assert {a.json()["code"] for a in answers} == {"internal_error"}
    assert all(a.headers["content-type"] == "application/problem+json" for a in answers)
    assert "database gone" in caplog.text  # logged, as the application logs its errors
