"""Streaming a print run to an HTTP client (issue 5 item 3): the bytes a writer makes in its
own thread arrive in order and in bounded chunks, an error in the writer reaches the
response, and a client that goes away stops the writer, which then notes nothing."""

from __future__ import annotations

import threading
from typing import BinaryIO

import pytest

from onboard.entrypoints.labels import streamed


def test_the_bytes_arrive_in_order_in_bounded_chunks() -> None:
    def produce(out: BinaryIO) -> None:
        for n in range(1000):
            out.write(b"%04d," % n)

    chunks = list(streamed(produce, chunk_size=256))

    assert b"".join(chunks) == b"".join(b"%04d," % n for n in range(1000))
    assert max(len(c) for c in chunks) < 256 + 5
    assert len(chunks) > 10


def test_an_error_in_the_writer_reaches_the_reader() -> None:
    def produce(out: BinaryIO) -> None:
        out.write(b"start")
        raise ValueError("no such layout")

    with pytest.raises(ValueError, match="no such layout"):
        list(streamed(produce))


def test_a_reader_that_goes_away_stops_the_writer_before_it_finishes() -> None:
    finished = threading.Event()
    stopped = threading.Event()

    def produce(out: BinaryIO) -> None:
        try:
            for _ in range(100_000):
                out.write(b"x" * 1024)
        except BaseException:
            stopped.set()
            raise
        finished.set()  # what finish_print stands for: never reached

    stream = streamed(produce, chunk_size=1024, depth=2)
    assert next(stream) == b"x" * 1024
    stream.close()

    assert stopped.wait(5)
    assert not finished.is_set()


def test_completion_is_heard_only_after_the_reader_took_every_chunk() -> None:
    completed: list[int] = []
    taken: list[bytes] = []

    def produce(out: BinaryIO) -> None:
        for n in range(50):
            out.write(b"%03d" % n)

    for chunk in streamed(produce, on_complete=lambda: completed.append(len(taken)), chunk_size=8):
        assert completed == [], "not before the last chunk was taken"
        taken.append(chunk)

    assert completed == [len(taken)]
    assert b"".join(taken) == b"".join(b"%03d" % n for n in range(50))


def test_a_download_cut_short_is_never_complete() -> None:
    completed: list[bool] = []

    def produce(out: BinaryIO) -> None:
        for _ in range(1000):
            out.write(b"y" * 100)

    stream = streamed(produce, on_complete=lambda: completed.append(True), chunk_size=100)
    next(stream)
    next(stream)
    stream.close()

    assert completed == []
