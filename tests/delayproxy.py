#!/usr/bin/env python3
"""A loopback TCP proxy that adds latency, to measure s3page as if the
store were far away (bench/commit-latency.sh puts it in front of the test
S3 server).

  delayproxy.py UPSTREAM_PORT RTT_MS [LISTEN_PORT]

Listens on 127.0.0.1:LISTEN_PORT (0 or absent: any free port), prints the
port on the first line of stdout, and forwards every connection to
127.0.0.1:UPSTREAM_PORT. Each direction holds every chunk of bytes RTT_MS/2
after it arrived before passing it on, in order and without a bandwidth
limit, so one request and its answer take RTT_MS longer, however many
requests run at once on separate connections. A new connection waits one
extra RTT_MS before its first byte moves, standing in for the TCP handshake
of a real network. Runs until killed.
"""
import asyncio
import socket
import sys


def no_delay(writer):
    """Turns off Nagle's algorithm on the writer's socket."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def forward(reader, writer, one_way, start_at):
    """Copies reader to writer, each chunk due one_way seconds after it was
    read (and not before start_at); closes writer at the end."""
    loop = asyncio.get_running_loop()
    due = asyncio.Queue()

    async def pump():
        while True:
            try:
                chunk = await reader.read(1 << 18)
            except (ConnectionError, OSError):
                chunk = b""
            due.put_nowait((max(loop.time() + one_way, start_at), chunk))
            if not chunk:
                return

    task = asyncio.ensure_future(pump())
    try:
        while True:
            when, chunk = await due.get()
            wait = when - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not chunk:
                if writer.can_write_eof():
                    writer.write_eof()
                break
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        task.cancel()


def handler(upstream_port, rtt):
    """Returns the connection callback of the server."""
    async def serve(c_reader, c_writer):
        loop = asyncio.get_running_loop()
        start_at = loop.time() + rtt
        try:
            u_reader, u_writer = await asyncio.open_connection(
                "127.0.0.1", upstream_port)
        except OSError:
            c_writer.close()
            return
        no_delay(c_writer)
        no_delay(u_writer)
        await asyncio.gather(
            forward(c_reader, u_writer, rtt / 2, start_at),
            forward(u_reader, c_writer, rtt / 2, start_at))
        for w in (u_writer, c_writer):
            try:
                w.close()
            except (ConnectionError, OSError):
                pass
    return serve


async def main():
    """Parses the arguments and serves forever."""
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    upstream_port = int(sys.argv[1])
    rtt = float(sys.argv[2]) / 1000.0
    listen_port = int(sys.argv[3]) if len(sys.argv) == 4 else 0
    server = await asyncio.start_server(handler(upstream_port, rtt),
                                        "127.0.0.1", listen_port,
                                        backlog=512)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
