"""An async OSC client for AbletonOSC's protocol and LiveloomOSC's extensions (python-osc, UDP).

AbletonOSC has no request ids: a getter's reply comes on the query's own address with the index
arguments first, so replies are matched by address and index prefix, oldest request first.
Setters and methods are fire-and-forget; writes are proven by reading back, never by retrying
(a retried stock write could apply twice). Getters are retried on timeout — reading twice is
harmless. `/live/error` messages are collected and, where one names a pending query's address,
fail that query at once.

LiveloomOSC's `/liveloom/*` extensions carry a request id and are acknowledged; the script
applies an id once, so they are retried safely.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import logging
import socket
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket, ParseError

from liveloom.music.errors import LiveloomError

log = logging.getLogger("liveloom.bridge")

MAX_DATAGRAM = 8192  # bytes: well under UDP's limit, and AbletonOSC reads 64 KiB at a time


class LiveUnavailable(LiveloomError):
    """Live (or its Remote Script) is not answering."""


class LiveCommandError(LiveloomError):
    """Live answered with an error (`/live/error`, or an extension's error acknowledgement)."""


def build_message(address: str, args: tuple, doubles: bool = False) -> bytes:
    b = OscMessageBuilder(address=address)
    for a in args:
        if isinstance(a, bool):
            b.add_arg(a, OscMessageBuilder.ARG_TYPE_TRUE if a else OscMessageBuilder.ARG_TYPE_FALSE)
        elif isinstance(a, int):
            b.add_arg(a, OscMessageBuilder.ARG_TYPE_INT)
        elif isinstance(a, float):
            b.add_arg(a, OscMessageBuilder.ARG_TYPE_DOUBLE if doubles else OscMessageBuilder.ARG_TYPE_FLOAT)
        else:
            b.add_arg(a)
    try:
        return b.build().dgram
    except Exception as exc:  # pythonosc: BuildError, or struct's OverflowError for a float past 3.4e38
        raise LiveloomError(f"{address}: a value cannot be sent to Live ({exc}); OSC numbers are 32-bit") from None


async def _resolve(loop: asyncio.AbstractEventLoop, host: str, port: int):
    """Live's addresses (replies are accepted from these only) and the address family to listen in."""
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except OSError as exc:
        raise LiveUnavailable(f"cannot resolve Live's host {host!r} ({exc}); check --live / LIVELOOM_LIVE") from None
    family = infos[0][0]
    ips = set()
    for fam, *_rest, sockaddr in infos:
        ip = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        ips.add(ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped else ip)
    return frozenset(ips), family


def _listen_host(peers, family) -> str:
    """Loopback of Live's family when Live is on this machine (nothing else can then reach the reply port);
    every interface of that family only when Live is on another machine, whose replies must get in."""
    if peers and all(ip.is_loopback for ip in peers):
        return "::1" if family == socket.AF_INET6 else "127.0.0.1"
    return "::" if family == socket.AF_INET6 else "0.0.0.0"


@dataclass
class _Pending:
    address: str
    prefix: tuple
    future: asyncio.Future
    accept: Any = None  # optional check on the reply's values (replies carry no ids)


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, client: OSCClient):
        self.client = client

    def datagram_received(self, data: bytes, addr) -> None:
        if self.client.accepts(addr):
            self.client._on_datagram(data)
        else:  # replies come from Live's host only; anything else on the reply port is dropped unread
            self.client.dropped += 1

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable etc.
        log.debug("UDP error: %s", exc)


class OSCClient:
    """One UDP socket bound to the reply port; requests go to Live's host and port from it."""

    def __init__(self, host: str, port: int, reply_port: int, *, timeout: float = 1.0, retries: int = 2,
                 bind_host: str | None = None):
        self.host, self.port, self.reply_port = host, port, reply_port
        self.timeout, self.retries = timeout, retries
        self._bind_host = bind_host
        self._peers: frozenset[ipaddress.IPv4Address | ipaddress.IPv6Address] = frozenset()
        self.dropped = 0  # datagrams from other hosts, ignored
        self._transport: asyncio.DatagramTransport | None = None
        self._pending: list[_Pending] = []
        self._acks: dict[int, asyncio.Future] = {}
        self._ack_address: dict[int, str] = {}
        self._ids = itertools.count(int(time.time() * 1000) % 1_000_000_000)
        self.errors: deque[tuple[float, str]] = deque(maxlen=200)
        self.round_trips = 0
        self.datagrams_sent = 0

    async def start(self) -> None:
        if self._transport is not None:
            return
        loop = asyncio.get_running_loop()
        self._peers, family = await _resolve(loop, self.host, self.port)
        self.bind_host = self._bind_host or _listen_host(self._peers, family)
        try:
            self._transport, _ = await loop.create_datagram_endpoint(
                lambda: _Protocol(self), local_addr=(self.bind_host, self.reply_port))
        except OSError as exc:
            raise LiveUnavailable(
                f"cannot listen for Live's replies on {self.bind_host}:{self.reply_port} ({exc.strerror}); another "
                "program (another liveloom, or an OSC tool) holds that port. Close it, or set "
                "LIVELOOM_LIVE_REPLY_PORT and the Remote Script's reply port to a free one."
            ) from None

    async def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        for p in self._pending:
            if not p.future.done():
                p.future.cancel()
        self._pending.clear()

    # ------------------------------------------------------------------ receiving

    def accepts(self, addr) -> bool:
        """Whether a datagram's source is Live's host (by IP; Live may reply from any port)."""
        try:
            ip = ipaddress.ip_address(str(addr[0]).split("%", 1)[0])
        except (ValueError, IndexError, TypeError):
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return ip in self._peers

    def _on_datagram(self, data: bytes) -> None:
        try:
            messages = OscPacket(data).messages
        except ParseError as exc:
            log.debug("unparseable datagram from Live: %s", exc)
            return
        for timed in messages:
            msg = timed.message
            self._on_message(msg.address, list(msg.params))

    def _on_message(self, address: str, args: list) -> None:
        if address == "/liveloom/ack" and args and isinstance(args[0], int):
            fut = self._acks.pop(args[0], None)
            if fut is not None and not fut.done():
                fut.set_result(args[1:])
            return  # an ack nobody waits for is a duplicate: ignore it
        if address == "/live/error":
            text = " ".join(str(a) for a in args)
            self.errors.append((time.monotonic(), text))
            for p in list(self._pending):
                if p.address in text and not p.future.done():
                    p.future.set_exception(LiveCommandError(f"Live reported: {text}"))
                    self._pending.remove(p)
                    return
            for req, address in list(self._ack_address.items()):
                fut = self._acks.get(req)
                if address in text and fut is not None and not fut.done():
                    fut.set_exception(LiveCommandError(f"Live reported: {text}"))
                    return
            return
        for p in self._pending:
            if p.address == address and not p.future.done() and len(args) >= len(p.prefix) and all(
                    _same(a, b) for a, b in zip(args, p.prefix)) and (
                    p.accept is None or p.accept(args[len(p.prefix):])):
                p.future.set_result(args[len(p.prefix):])
                self._pending.remove(p)
                return
        # a reply with no pending query: a duplicate, or late after a timeout. Ignored.

    # ------------------------------------------------------------------ sending

    def _send_bytes(self, data: bytes) -> None:
        if self._transport is None:
            raise LiveUnavailable("the Live connection is closed")
        if len(data) > 65000:
            raise LiveloomError(f"an OSC datagram of {len(data)} bytes is too large for UDP")
        self._transport.sendto(data, (self.host, self.port))
        self.datagrams_sent += 1

    def send(self, address: str, *args: Any, doubles: bool = False) -> None:
        """Fire and forget (AbletonOSC setters and methods)."""
        self._send_bytes(build_message(address, args, doubles))

    async def query(self, address: str, *args: Any, index_count: int | None = None,
                    timeout: float | None = None, retries: int | None = None, accept=None) -> list:
        """A getter: send, await the reply whose leading args equal the index args, return the rest."""
        prefix = tuple(args[: len(args) if index_count is None else index_count])
        attempts = 1 + (self.retries if retries is None else retries)
        for attempt in range(attempts):
            fut = asyncio.get_running_loop().create_future()
            pending = _Pending(address, prefix, fut, accept)
            self._pending.append(pending)
            self.send(address, *args)
            try:
                result = await asyncio.wait_for(asyncio.shield(fut), timeout or self.timeout)
                self.round_trips += 1
                return result
            except asyncio.TimeoutError:
                if pending in self._pending:
                    self._pending.remove(pending)
                continue
            finally:
                if not fut.done():
                    fut.cancel()
        raise LiveUnavailable(f"no reply from Live to {address} after {attempts} tries")

    def next_id(self) -> int:
        return next(self._ids) % 2_000_000_000

    def prepare(self, address: str, *args: Any) -> tuple[int, bytes]:
        """An extension request with a fresh id, encoded (doubles for times)."""
        req = self.next_id()
        self._ack_address[req] = address
        while len(self._ack_address) > 10_000:
            self._ack_address.pop(next(iter(self._ack_address)))
        return req, build_message(address, (req, *args), doubles=True)

    async def await_ack(self, req: int, data: bytes, *, timeout: float | None = None,
                        retries: int | None = None, sent: bool = False) -> list:
        """Wait for request `req`'s acknowledgement, re-sending the same datagram (same id) on timeout."""
        attempts = 1 + (self.retries if retries is None else retries)
        for attempt in range(attempts):
            fut = self._acks.get(req)
            if fut is None or fut.done():
                fut = asyncio.get_running_loop().create_future()
                self._acks[req] = fut
            if attempt > 0 or not sent:
                self._send_bytes(data)
            try:
                ack = await asyncio.wait_for(asyncio.shield(fut), timeout or self.timeout)
            except asyncio.TimeoutError:
                continue
            except LiveCommandError:
                self._acks.pop(req, None)
                raise
            self.round_trips += 1
            if ack and ack[0] == "ok":
                return ack[1:]
            raise LiveCommandError(f"Live reported: {ack[1] if len(ack) > 1 else 'an error'}")
        self._acks.pop(req, None)
        raise LiveUnavailable(f"no acknowledgement from Live for request {req} after {attempts} tries")

    async def request(self, address: str, *args: Any, timeout: float | None = None,
                      retries: int | None = None) -> list:
        req, data = self.prepare(address, *args)
        return await self.await_ack(req, data, timeout=timeout, retries=retries)

    def errors_since(self, t0: float) -> list[str]:
        return [text for t, text in self.errors if t >= t0]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) < 1e-9
    return a == b
