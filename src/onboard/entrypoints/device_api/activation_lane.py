"""The activation lane: POST /device/v1/activate answered ahead of the framework's routing
(SPEC D4, §7: a thousand activations a second on two cores). Through the application and
the mounted device API, a request passes two stacks of middleware and two routers, which
cost as much CPU as the activation's own Python work; here it is matched on its path and
method, its body read and checked with the same model, and the same service and problem
mapping answer it. The route in ``provisioning.py`` stays as the operation's description
in the device API's OpenAPI document."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

from pydantic import ValidationError
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from onboard.bootstrap import Container
from onboard.domain.errors import DomainError
from onboard.entrypoints.api.errors import domain_problem, invalid_problem, problem
from onboard.entrypoints.device_api import PREFIX
from onboard.entrypoints.device_api.provisioning import activated
from onboard.entrypoints.device_api.schemas import ActivateRequest

PATH = PREFIX + "/activate"
# An activation's body is about 200 bytes; its fields allow under 400.
MAX_BODY = 16 * 1024
# Threads a process runs activations on. Each holds the interpreter lock only between its
# two round trips, so a few keep two cores busy; the framework's pool (forty threads)
# spent more CPU handing the lock and its work queue between threads than it gained
# (docs/benchmarks.md: 1,000 a second with 16 connections, p99 under 40 ms).
THREADS = 4


class ActivationLane:
    """ASGI middleware: activations go straight to the service, the rest on to ``app``."""

    def __init__(self, app: ASGIApp, built: Container) -> None:
        self.app = app
        self.built = built
        # Its idle threads end when the application, and so the lane, is collected.
        self.threads = ThreadPoolExecutor(THREADS, "activation")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body = await _body(receive)
        client = scope.get("client")
        if body is None:
            response: Response = problem(
                413, "payload_too_large", "Payload too large", "An activation is under 16 KiB."
            )
        else:
            response = await asyncio.get_running_loop().run_in_executor(
                self.threads, self._answer, body, client[0] if client else None
            )
        await response(scope, receive, send)

    def _answer(self, body: bytes, source_ip: str | None) -> Response:
        # Read as the framework reads a JSON body: the same errors for the same bodies.
        try:
            request = ActivateRequest.model_validate(json.loads(body), from_attributes=True)
        except json.JSONDecodeError as error:
            return invalid_problem([{"type": "json_invalid", "ctx": {"error": error.msg}}])
        except ValidationError as error:
            return invalid_problem(error.errors())
        try:
            return JSONResponse(activated(self.built, request, source_ip))
        except DomainError as error:
            return domain_problem(error)


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
