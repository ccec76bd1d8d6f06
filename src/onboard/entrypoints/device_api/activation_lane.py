"""The activation lane: POST /device/v1/activate answered ahead of the framework (SPEC D4,
§7: a thousand activations a second on two cores). Through the application and the
mounted device API, a request passes two stacks of middleware and two routers, which cost
as much CPU as the activation's own Python work; here, called by the application before
its middleware, it is matched on its path and method, its body read and checked with the
same model, and the same service and problem mapping answer it. Activations that arrive
while the lane's threads are busy go together in the next batch, which shares its two
database round trips. The route in ``provisioning.py`` stays as the operation's
description in the device API's OpenAPI document."""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor

from pydantic import ValidationError
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from onboard.bootstrap import Container
from onboard.domain.errors import DomainError
from onboard.entrypoints.api.errors import (
    domain_problem,
    internal_problem,
    invalid_problem,
    problem,
)
from onboard.entrypoints.device_api import PREFIX
from onboard.entrypoints.device_api.provisioning import activated_many
from onboard.entrypoints.device_api.schemas import ActivateRequest

PATH = PREFIX + "/activate"
# An activation's body is about 200 bytes; its fields allow under 400.
MAX_BODY = 16 * 1024
# Batches a process runs at once, on a thread each. One: the activations that arrive while
# it runs wait for the next batch, so the busier the process, the bigger its batches and
# the fewer round trips and interpreter-lock handovers per activation; while a batch waits
# for the database, the event loop reads the next requests and the other worker processes
# use the CPU. Two threads made smaller batches and 0-30 % fewer activations a second
# (docs/benchmarks.md).
THREADS = 1
# The most activations in one batch: a batch's answers all wait for its slowest part.
MAX_BATCH = 32

_Waiting = tuple[ActivateRequest, str | None, "asyncio.Future[Response]"]

log = logging.getLogger(__name__)


class ActivationLane:
    """Activations straight to the service, in batches of those that arrive together."""

    def __init__(self, built: Container) -> None:
        self.built = built
        # Its idle threads end when the application, and so the lane, is collected.
        self.threads = ThreadPoolExecutor(THREADS, "activation")
        self.waiting: list[_Waiting] = []
        self.running = 0

    @staticmethod
    def takes(scope: Scope) -> bool:
        """Whether the request is an activation, for the lane to answer."""
        return bool(scope["type"] == "http" and scope["path"] == PATH and scope["method"] == "POST")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer an activation (one the lane ``takes``)."""
        body = await _body(receive)
        client = scope.get("client")
        if body is None:
            response: Response = problem(
                413, "payload_too_large", "Payload too large", "An activation is under 16 KiB."
            )
        else:
            read = _read(body)
            if isinstance(read, Response):
                response = read
            else:
                response = await self._activated(read, client[0] if client else None)
        await response(scope, receive, send)

    async def _activated(self, request: ActivateRequest, source_ip: str | None) -> Response:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Response] = loop.create_future()
        self.waiting.append((request, source_ip, answer))
        if self.running < THREADS:
            self._start(loop)
        return await answer

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        batch, self.waiting = self.waiting[:MAX_BATCH], self.waiting[MAX_BATCH:]
        self.running += 1
        asked = [(request, source_ip) for request, source_ip, _ in batch]
        done = loop.run_in_executor(self.threads, self._answers, asked)
        done.add_done_callback(lambda _: self._finished(loop, batch, done))

    def _finished(
        self,
        loop: asyncio.AbstractEventLoop,
        batch: list[_Waiting],
        done: asyncio.Future[list[Response]],
    ) -> None:
        self.running -= 1
        if self.waiting:
            self._start(loop)
        failed = done.exception()
        answers: list[Response]
        if failed is not None:
            # As the application answers an unexpected error: logged, and a 500 problem.
            log.error("activations failed", exc_info=failed)
            answers = [internal_problem() for _ in batch]
        else:
            answers = done.result()
        for (_, _, answer), response in zip(batch, answers, strict=True):
            if not answer.done():  # else its request went away
                answer.set_result(response)

    def _answers(self, asked: list[tuple[ActivateRequest, str | None]]) -> list[Response]:
        return [
            domain_problem(answer) if isinstance(answer, DomainError) else JSONResponse(answer)
            for answer in activated_many(self.built, asked)
        ]


def _read(body: bytes) -> ActivateRequest | Response:
    """The request, read as the framework reads a JSON body: the same errors for the same
    bodies."""
    try:
        return ActivateRequest.model_validate(json.loads(body), from_attributes=True)
    except json.JSONDecodeError as error:
        return invalid_problem([{"type": "json_invalid", "ctx": {"error": error.msg}}])
    except ValidationError as error:
        return invalid_problem(error.errors())


async def _body(receive: Receive) -> bytes | None:
    """The request's body, or None past MAX_BODY."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
