"""Security regressions from the reliability campaign (issue 16): notation text is data, never a path; the OSC
reply socket listens on loopback for a local Live and hears Live's host only; HTTP refuses two Authorization
headers."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx2
import music21
import pytest
from helpers import call_err
from pythonosc.osc_message_builder import OscMessageBuilder
from test_transports import HEADERS, INIT

from liveloom.ableton_bridge.client import OSCClient

pytestmark = pytest.mark.anyio


# ------------------------------------------------------------------ notation text is data


async def test_abc_text_that_is_a_path_is_not_opened(client, outside: Path):
    tune = outside / "secret.abc"
    tune.write_text("X:1\nT:Secret tune\nM:4/4\nK:C\nCDEF GABc|\n")
    scratch = Path(music21.environment.Environment().getRootTempDir())  # where music21 pickles parsed files
    before = set(scratch.rglob("*")) if scratch.exists() else set()
    text = await call_err(client, "notation_to_clip", {"text": str(tune), "kind": "abc"})
    assert "Secret" not in text and "CDEF" not in text
    listed = await client.call_tool("list_artifacts", {})
    assert listed.structured_content["total"] == 0  # nothing was imported from the file
    after = set(scratch.rglob("*")) if scratch.exists() else set()
    assert not [p for p in after - before if p.suffix in (".p", ".pgz")]  # and no pickle was cached


async def test_abc_text_naming_a_system_file_quotes_nothing_of_it(client):
    passwd = Path("/etc/passwd")
    text = await call_err(client, "notation_to_clip", {"text": str(passwd), "kind": "abc"})
    if passwd.exists():
        first_line = passwd.read_text().splitlines()[0]
        assert first_line[:12] not in text  # e.g. "root:x:0:0:r"
    missing = await call_err(client, "notation_to_clip", {"text": "/no/such/file.abc", "kind": "abc"})
    assert "Cannot find file" not in missing and "not find" not in missing.lower()


# ------------------------------------------------------------------ the OSC reply socket


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.0.0.5"])
async def test_reply_socket_listens_on_loopback_for_a_local_live(host):
    client = OSCClient(host, 11000, _free_port())
    await client.start()
    try:
        assert client.bind_host == "127.0.0.1"
        assert client._transport.get_extra_info("sockname")[0] == "127.0.0.1"
    finally:
        await client.close()


async def test_reply_socket_listens_on_ipv6_loopback_for_an_ipv6_live():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    client = OSCClient("::1", 11000, _free_port())
    await client.start()
    try:
        assert client._transport.get_extra_info("sockname")[0] == "::1"
    finally:
        await client.close()


async def test_replies_from_another_host_are_dropped():
    """A datagram to the reply port from anywhere but Live's host is not read: here Live is 127.0.0.1 and the
    forged reply comes from 127.0.0.2 (another loopback address), so a query still times out."""
    live = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    live.bind(("127.0.0.1", 0))
    forger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    forger.bind(("127.0.0.2", 0))
    reply_port = _free_port()
    client = OSCClient("127.0.0.1", live.getsockname()[1], reply_port, timeout=0.3, retries=0)
    await client.start()
    try:
        forged = OscMessageBuilder(address="/live/song/get/tempo")
        forged.add_arg(999.0)
        query = asyncio.ensure_future(client.query("/live/song/get/tempo"))
        await asyncio.sleep(0.05)
        forger.sendto(forged.build().dgram, ("127.0.0.1", reply_port))
        with pytest.raises(Exception, match="no reply"):
            await query
        assert client.dropped >= 1
        # the same reply from Live's host is read
        query = asyncio.ensure_future(client.query("/live/song/get/tempo"))
        await asyncio.sleep(0.05)
        live.sendto(forged.build().dgram, ("127.0.0.1", reply_port))
        assert (await query) == [999.0]
    finally:
        await client.close()
        live.close()
        forger.close()


# ------------------------------------------------------------------ HTTP


async def test_two_authorization_headers_are_refused(http_server):  # noqa: F811 (the fixture)
    headers = [("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream"),
               ("Authorization", "Bearer wrong"), ("Authorization", "Bearer s3cret")]
    async with httpx2.AsyncClient(timeout=30) as http:
        r = await http.post(http_server, json=INIT, headers=headers)
        assert r.status_code == 401 and "more than one Authorization" in r.text
        headers.reverse()  # the right one last or first: refused either way
        r = await http.post(http_server, json=INIT, headers=headers)
        assert r.status_code == 401
        ok = await http.post(http_server, json=INIT, headers={**HEADERS, "Authorization": "Bearer s3cret"})
        assert ok.status_code == 200


async def test_a_request_without_accept_is_not_acceptable(http_server):  # noqa: F811 (the fixture)
    async with httpx2.AsyncClient(timeout=30) as http:
        del http.headers["accept"]  # the client's default is */*, which accepts both (RFC 9110)
        r = await http.post(http_server, json=INIT, headers={"Content-Type": "application/json",
                                                             "Authorization": "Bearer s3cret"})
        assert "accept" not in r.request.headers
        assert r.status_code == 406, (r.status_code, r.text[:200])
        assert "text/event-stream" in r.text
