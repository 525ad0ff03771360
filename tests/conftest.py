"""Shared fixtures: a fresh workspace per test, and a real in-process MCP client on the server. Helpers that
tests call (call_ok, call_err, ...) are in helpers.py."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mcp import Client

from liveloom.ableton_bridge.target import parse_target
from liveloom.server.app import build_server
from liveloom.server.config import Config


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder that is not allowed."""
    p = tmp_path / "outside"
    p.mkdir()
    return p


@pytest.fixture
def server(home: Path):
    return build_server(Config(home=home, allow=[], live=parse_target("sim")))


@pytest.fixture
async def client(server):
    async with Client(server) as c:
        yield c
    await server.services.live.close()


@pytest.fixture
def http_server(home):
    """`liveloom serve --http` as a subprocess (token s3cret, the simulated Live); yields its MCP URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "LIVELOOM_HOME": str(home), "LIVELOOM_LIVE": "sim", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "liveloom", "serve", "--http", "--port", str(port), "--token", "s3cret"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode())
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}/mcp"
    proc.terminate()
    proc.wait(timeout=10)
