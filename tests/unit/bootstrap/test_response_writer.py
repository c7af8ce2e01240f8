"""A response's head and a small body leave in one transport write; nothing held is lost or reordered."""

from __future__ import annotations

import asyncio

from pyregistry_bootstrap.reason_phrases import JOINED_BODY_BYTES, ResponseWriter

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"


class RecordingTransport(asyncio.Transport):
    """Keeps every write and whether it was closed."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def write_eof(self) -> None:
        self.writes.append(b"<eof>")


def test_a_held_head_goes_out_with_a_small_body() -> None:
    async def scenario() -> list[bytes]:
        transport = RecordingTransport()
        writer = ResponseWriter(transport)
        writer.holding = True
        writer.write(HEAD)
        assert transport.writes == []
        writer.write(b"hello")
        return transport.writes

    assert asyncio.run(scenario()) == [HEAD + b"hello"]


def test_a_large_body_follows_the_head_uncopied() -> None:
    body = b"x" * (JOINED_BODY_BYTES + 1)

    async def scenario() -> list[bytes]:
        transport = RecordingTransport()
        writer = ResponseWriter(transport)
        writer.holding = True
        writer.write(HEAD)
        writer.write(body)
        return transport.writes

    assert asyncio.run(scenario()) == [HEAD, body]


def test_a_head_without_a_body_is_written_on_the_next_turn() -> None:
    async def scenario() -> tuple[list[bytes], list[bytes]]:
        transport = RecordingTransport()
        writer = ResponseWriter(transport)
        writer.holding = True
        writer.write(HEAD)
        during = list(transport.writes)
        await asyncio.sleep(0)
        return during, transport.writes

    during, after = asyncio.run(scenario())
    assert during == []
    assert after == [HEAD]


def test_closing_and_eof_write_what_is_held_first() -> None:
    async def scenario() -> tuple[RecordingTransport, RecordingTransport]:
        closing, ending = RecordingTransport(), RecordingTransport()
        for transport in (closing, ending):
            writer = ResponseWriter(transport)
            writer.holding = True
            writer.write(HEAD)
            if transport is closing:
                writer.close()
            else:
                writer.write_eof()
        return closing, ending

    closing, ending = asyncio.run(scenario())
    assert closing.writes == [HEAD]
    assert closing.closed
    assert ending.writes == [HEAD, b"<eof>"]


def test_only_the_write_after_a_hold_is_held() -> None:
    async def scenario() -> list[bytes]:
        transport = RecordingTransport()
        writer = ResponseWriter(transport)
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        writer.holding = True
        writer.write(HEAD)
        writer.write(b"hello")
        writer.write(b"more")
        return transport.writes

    assert asyncio.run(scenario()) == [b"HTTP/1.1 100 Continue\r\n\r\n", HEAD + b"hello", b"more"]
