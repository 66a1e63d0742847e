"""The optional malware scan: a ClamAV daemon spoken to over TCP (clamd's INSTREAM).

The protocol is three steps (clamd(8)): send ``zINSTREAM\\0``, then the file in chunks
each prefixed by its length as 4 big-endian bytes, then a zero length; the daemon
answers ``stream: OK`` or ``stream: <signature> FOUND``.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Iterator
from typing import BinaryIO

CHUNK = 64 * 1024
TIMEOUT_SECONDS = 30.0


class ScannerUnavailable(RuntimeError):
    pass


class Infected(ValueError):
    def __init__(self, signature: str) -> None:
        super().__init__(signature)
        self.signature = signature


class ClamAV:
    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        self.host, self.port = host or "127.0.0.1", int(port)

    async def _talk(self, send: Iterator[bytes]) -> str:
        """Send the pieces one at a time (a file is never held whole), read the answer."""
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                reader, writer = await asyncio.open_connection(self.host, self.port)
                try:
                    for piece in send:
                        writer.write(piece)
                        await writer.drain()
                    answer = await reader.read(4096)
                finally:
                    writer.close()
                    await writer.wait_closed()
        except (OSError, TimeoutError) as exc:
            raise ScannerUnavailable(type(exc).__name__) from exc
        return answer.rstrip(b"\0\n").decode("utf-8", "replace")

    async def ping(self) -> None:
        if await self._talk(iter([b"zPING\0"])) != "PONG":
            raise ScannerUnavailable("unexpected answer to PING")

    async def scan(self, source: BinaryIO) -> None:
        """Raise ``Infected`` if the daemon finds something; the source is rewound."""

        def pieces() -> Iterator[bytes]:
            yield b"zINSTREAM\0"
            source.seek(0)
            while chunk := source.read(CHUNK):
                yield struct.pack(">I", len(chunk)) + chunk
            yield struct.pack(">I", 0)

        answer = await self._talk(pieces())
        source.seek(0)
        if answer.endswith("FOUND"):
            raise Infected(answer.removeprefix("stream:").removesuffix("FOUND").strip())
        if not answer.endswith("OK"):
            raise ScannerUnavailable(f"unexpected answer: {answer[:100]}")
