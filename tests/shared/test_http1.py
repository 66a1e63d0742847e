"""The lean HTTP/1.1 client against a raw server that misbehaves on purpose."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from shared import http1
from shared.http1 import ConnectionPool, UpstreamClosed, UpstreamConnectError
from shared.logging import set_request_id
from tests.infra import free_port

Handler = Callable[[bytes, asyncio.StreamWriter, "RawServer"], Awaitable[bool]]
OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok"


@dataclass
class RawServer:
    port: int
    connections: int = 0
    open_now: int = 0
    most_open: int = 0
    requests: list[bytes] = field(default_factory=list)


@contextlib.asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[RawServer]:
    """Reads request heads; ``handler`` answers and says whether to keep the connection."""
    state = RawServer(free_port())

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.connections += 1
        state.open_now += 1
        state.most_open = max(state.most_open, state.open_now)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                state.requests.append(head)
                if not await handler(head, writer, state):
                    return
        finally:
            state.open_now -= 1
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", state.port)
    try:
        yield state
    finally:
        server.close()
        await server.wait_closed()


def pool_for(server: RawServer, **options: float) -> ConnectionPool:
    return ConnectionPool("127.0.0.1", server.port, **options)  # type: ignore[arg-type]


async def get(pool: ConnectionPool, method: bytes = b"GET") -> tuple[int, bytes]:
    exchange = await pool.request(method + b" / HTTP/1.1\r\nhost: t\r\n\r\n", None)
    if method == b"HEAD":
        exchange.abandon()
        return exchange.head.status, b""
    return exchange.head.status, b"".join([chunk async for chunk in exchange.body()])


async def answer_ok(_head: bytes, writer: asyncio.StreamWriter, _state: RawServer) -> bool:
    writer.write(OK)
    await writer.drain()
    return True


class TestKeepAlive:
    async def test_sequential_requests_share_one_connection(self) -> None:
        async with raw_server(answer_ok) as server:
            pool = pool_for(server)
            for _ in range(5):
                assert await get(pool) == (200, b"ok")
            assert server.connections == 1
            await pool.close()

    async def test_a_connection_the_service_closed_while_idle_is_replaced_transparently(
        self,
    ) -> None:
        async def answer_then_hang_up(
            head: bytes, writer: asyncio.StreamWriter, s: RawServer
        ) -> bool:
            await answer_ok(head, writer, s)
            return False  # closes after answering, without saying so

        async with raw_server(answer_then_hang_up) as server:
            pool = pool_for(server)
            assert await get(pool) == (200, b"ok")
            await asyncio.sleep(0.05)  # the close reaches the idle connection
            assert await get(pool) == (200, b"ok")
            assert server.connections == 2
            await pool.close()

    async def test_a_request_dropped_unanswered_on_a_reused_connection_is_sent_again_once(
        self,
    ) -> None:
        served: dict[int, int] = {}

        async def second_request_dropped(
            head: bytes, writer: asyncio.StreamWriter, s: RawServer
        ) -> bool:
            count = served[id(writer)] = served.get(id(writer), 0) + 1
            if count == 2:
                return False  # the keep-alive race: closed as the request arrived
            return await answer_ok(head, writer, s)

        async with raw_server(second_request_dropped) as server:
            pool = pool_for(server)
            assert await get(pool) == (200, b"ok")
            assert await get(pool) == (200, b"ok")
            assert (server.connections, len(server.requests)) == (2, 3)
            await pool.close()

    async def test_the_number_of_connections_is_capped(self) -> None:
        async def slow(head: bytes, writer: asyncio.StreamWriter, s: RawServer) -> bool:
            await asyncio.sleep(0.05)
            return await answer_ok(head, writer, s)

        async with raw_server(slow) as server:
            pool = pool_for(server, max_connections=2)
            answers = await asyncio.gather(*(get(pool) for _ in range(6)))
            assert answers == [(200, b"ok")] * 6
            assert server.most_open == 2
            await pool.close()


class TestAnswers:
    async def test_a_head_answer_does_not_wait_for_the_body_it_announces(self) -> None:
        async def head_answer(_h: bytes, writer: asyncio.StreamWriter, _s: RawServer) -> bool:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n")
            return True

        async with raw_server(head_answer) as server:
            pool = pool_for(server, read_timeout=1)
            assert await asyncio.wait_for(get(pool, b"HEAD"), 2) == (200, b"")
            await pool.close()

    async def test_a_chunked_answer_is_reassembled(self) -> None:
        async def chunked(_h: bytes, writer: asyncio.StreamWriter, _s: RawServer) -> bool:
            writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
            for part in (b"xin ", b"ch\xc3\xa0o"):
                writer.write(b"%x\r\n%b\r\n" % (len(part), part))
                await asyncio.sleep(0.01)
            writer.write(b"0\r\n\r\n")
            return True

        async with raw_server(chunked) as server:
            pool = pool_for(server)
            assert await get(pool) == (200, "xin chào".encode())
            assert await get(pool) == (200, "xin chào".encode())  # and the connection is reusable
            assert server.connections == 1
            await pool.close()

    async def test_a_malformed_answer_is_a_closed_upstream(self) -> None:
        async def garbage(_h: bytes, writer: asyncio.StreamWriter, _s: RawServer) -> bool:
            writer.write(b"NOT HTTP AT ALL\r\n\r\n")
            return True

        async with raw_server(garbage) as server:
            pool = pool_for(server)
            with pytest.raises(UpstreamClosed):
                await get(pool)
            await pool.close()

    async def test_a_connection_lost_mid_body_is_an_error_not_a_short_body(self) -> None:
        async def cut(_h: bytes, writer: asyncio.StreamWriter, _s: RawServer) -> bool:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly part")
            await writer.drain()
            return False

        async with raw_server(cut) as server:
            pool = pool_for(server)
            with pytest.raises(UpstreamClosed):
                await get(pool)
            await pool.close()

    async def test_a_silent_service_times_out(self) -> None:
        async def silent(_h: bytes, _w: asyncio.StreamWriter, _s: RawServer) -> bool:
            await asyncio.sleep(1)
            return False

        async with raw_server(silent) as server:
            pool = pool_for(server, read_timeout=0.2)
            with pytest.raises(TimeoutError):
                await get(pool)
            await pool.close()

    async def test_nobody_listening_is_a_connect_error(self) -> None:
        pool = ConnectionPool("127.0.0.1", free_port())
        with pytest.raises(UpstreamConnectError):
            await get(pool)


class TestGet:
    async def test_a_get_sends_its_headers_and_reads_the_whole_answer(self) -> None:
        async with raw_server(answer_ok) as server:
            pool = pool_for(server)
            set_request_id("req-7")  # this test's task only: a context variable
            try:
                answer = await pool.get("/api/v1/x?id=1&id=2", {"authorization": "Bearer t.k.n"})
            finally:
                set_request_id(None)
            assert answer == (200, b"ok")
            head = server.requests[0].decode()
            assert head.startswith("GET /api/v1/x?id=1&id=2 HTTP/1.1\r\n")
            assert f"host: 127.0.0.1:{server.port}\r\n" in head
            assert "authorization: Bearer t.k.n\r\n" in head
            assert "x-request-id: req-7\r\n" in head
            await pool.close()

    @pytest.mark.parametrize(
        ("target", "headers"),
        [("/x\r\nX-Evil: 1", {}), ("/x", {"authorization": "a\r\nX-Evil: 1"})],
        ids=["target", "header"],
    )
    async def test_a_line_break_is_refused_before_anything_is_sent(
        self, target: str, headers: dict[str, str]
    ) -> None:
        async with raw_server(answer_ok) as server:
            pool = pool_for(server)
            with pytest.raises(ValueError, match="line break"):
                await pool.get(target, headers)
            assert server.connections == 0
            await pool.close()


@pytest.mark.parametrize(
    ("url", "address"),
    [("http://127.0.0.1:8001", ("127.0.0.1", 8001)), ("http://documents/", ("documents", 80)),
     ("https://documents:8443", None), ("http://documents:8000/prefix", None),
     ("documents:8000", None)],
)  # fmt: skip
def test_a_pool_is_made_for_plain_http_host_and_port_only(
    url: str, address: tuple[str, int] | None
) -> None:
    pool = http1.pool_for(url)
    assert (pool.host, pool.port) == address if pool else address is None


async def post(pool: ConnectionPool, *headers: bytes) -> tuple[int, bytes]:
    head = b"POST /dossiers HTTP/1.1\r\nhost: t\r\ncontent-length: 0\r\n"
    exchange = await pool.request(head + b"".join(h + b"\r\n" for h in headers) + b"\r\n", b"")
    return exchange.head.status, b"".join([chunk async for chunk in exchange.body()])


class TestNoSecondDelivery:
    """A service that reads a request, commits, and dies before answering: the client
    cannot tell it from a connection closed while idle. Only what is safe to deliver
    twice is sent again."""

    @staticmethod
    async def commits_then_drops_the_second(
        head: bytes, writer: asyncio.StreamWriter, s: RawServer
    ) -> bool:
        if len(s.requests) == 2:
            return False  # read it (and, say, filed it), then died without a word
        return await answer_ok(head, writer, s)

    async def test_a_post_is_not_sent_again(self) -> None:
        async with raw_server(self.commits_then_drops_the_second) as server:
            pool = pool_for(server)
            assert await post(pool) == (200, b"ok")
            with pytest.raises(UpstreamClosed):
                await post(pool)
            assert [r.split(b" ")[0] for r in server.requests] == [b"POST", b"POST"]
            await pool.close()

    async def test_a_post_with_an_idempotency_key_is_sent_again_once(self) -> None:
        async with raw_server(self.commits_then_drops_the_second) as server:
            pool = pool_for(server)
            assert await post(pool) == (200, b"ok")
            assert await post(pool, b"idempotency-key: 3f1c") == (200, b"ok")
            assert len(server.requests) == 3
            await pool.close()

    async def test_a_put_is_sent_again_once(self) -> None:
        async with raw_server(self.commits_then_drops_the_second) as server:
            pool = pool_for(server)
            assert await get(pool) == (200, b"ok")
            assert await get(pool, b"PUT") == (200, b"ok")
            assert len(server.requests) == 3
            await pool.close()


class TestTimeouts:
    async def test_waiting_for_a_free_connection_is_bounded(self) -> None:
        async def slow(head: bytes, writer: asyncio.StreamWriter, s: RawServer) -> bool:
            await asyncio.sleep(1)
            return await answer_ok(head, writer, s)

        async with raw_server(slow) as server:
            pool = ConnectionPool("127.0.0.1", server.port, max_connections=1, acquire_timeout=0.1)
            first = asyncio.create_task(get(pool))
            await asyncio.sleep(0.05)
            with pytest.raises(http1.UpstreamBusy):
                await get(pool)
            assert await first == (200, b"ok")
            await pool.close()

    async def test_a_service_that_stops_reading_times_the_write_out(self) -> None:
        async def never_reads(_h: bytes, _w: asyncio.StreamWriter, _s: RawServer) -> bool:
            await asyncio.sleep(3)
            return False

        async with raw_server(never_reads) as server:
            pool = ConnectionPool("127.0.0.1", server.port, write_timeout=0.2)
            head = b"POST / HTTP/1.1\r\nhost: t\r\ncontent-length: %d\r\n\r\n"
            body = b"x" * (64 * 1024 * 1024)
            with pytest.raises(TimeoutError):
                await pool.request(head % len(body), body)
            await pool.close()


async def test_an_answer_not_read_to_the_end_does_not_leak_into_the_next() -> None:
    async def slow_body(_h: bytes, writer: asyncio.StreamWriter, _s: RawServer) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"first-part")  # arrives after the caller gave up on it
        await writer.drain()
        return True

    async with raw_server(slow_body) as server:
        pool = pool_for(server)
        exchange = await pool.request(b"GET / HTTP/1.1\r\nhost: t\r\n\r\n", None)
        exchange.release()  # the body is not wanted: the connection must not be reused
        assert await get(pool) == (200, b"first-part")
        assert server.connections == 2
        await pool.close()
