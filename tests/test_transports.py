"""The server as a real subprocess: over stdio, and over streamable HTTP with its checks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import httpx2
import pytest
from helpers import http_client
from mcp import Client, StdioServerParameters

pytestmark = pytest.mark.anyio


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(home) -> dict[str, str]:
    return {**os.environ, "LIVELOOM_HOME": str(home), "LIVELOOM_LIVE": "sim", "PYTHONUNBUFFERED": "1"}


async def test_stdio_subprocess_lists_tools_and_calls_one(home):
    params = StdioServerParameters(command=sys.executable, args=["-m", "liveloom", "serve"], env=_env(home))
    async with Client(params) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"notation_to_clip", "get_clip", "piano_roll", "render_audio"} <= names
        result = await client.call_tool("notation_to_clip", {"text": "ii7 V7 Imaj7", "key": "Bb major"})
        assert not result.is_error
        assert [c["chord"] for c in result.structured_content["chords"]] == ["Cm7", "F7", "Bbmaj7"]
        bad = await client.call_tool("get_clip", {"id": "clip_missing"})
        assert bad.is_error and "no artifact" in bad.content[0].text
        again = await client.call_tool("list_artifacts", {})
        assert again.structured_content["total"] == 1
        # --live sim: the simulated Live set runs inside the server process
        written = await client.call_tool("write_clip", {"id": result.structured_content["id"], "track": 0, "slot": 0})
        assert not written.is_error, written.content[0].text
        assert written.structured_content["notes_verified"] == result.structured_content["notes"]
    assert (home / "index.sqlite").exists()


INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "t", "version": "0"}}}
HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


async def test_http_requires_the_bearer_token_and_checks_host_and_origin(http_server):
    async with httpx2.AsyncClient(timeout=10) as http:
        r = await http.post(http_server, json=INIT, headers=HEADERS)
        assert r.status_code == 401
        r = await http.post(http_server, json=INIT, headers={**HEADERS, "Authorization": "Bearer wrong"})
        assert r.status_code == 401
        good = {**HEADERS, "Authorization": "Bearer s3cret"}
        r = await http.post(http_server, json=INIT, headers={**good, "Host": "evil.example:80"})
        assert r.status_code == 421
        r = await http.post(http_server, json=INIT, headers={**good, "Origin": "http://evil.example"})
        assert r.status_code == 403
        r = await http.post(http_server, json=INIT, headers={**good, "Origin": "http://localhost:3000"})
        assert r.status_code == 200


async def test_http_client_session_works_with_the_token(http_server):
    async with http_client(http_server, "s3cret") as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert "notation_to_clip" in names
        made = await client.call_tool("notation_to_clip", {"text": "kick: x...x...", "name": "beat"})
        assert not made.is_error and made.structured_content["notes"] == 2


def test_http_refuses_a_public_bind_without_a_token(home):
    proc = subprocess.run([sys.executable, "-m", "liveloom", "serve", "--http", "--host", "0.0.0.0",
                           "--port", str(_free_port())], env=_env(home), capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "without a bearer token" in proc.stderr
