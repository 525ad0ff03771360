"""Shared fixtures: a fresh workspace per test, and a real in-process MCP client on the server. Helpers that
tests call (call_ok, call_err, ...) are in helpers.py."""

from __future__ import annotations

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
