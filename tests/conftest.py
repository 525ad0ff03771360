"""Shared fixtures: a fresh workspace per test, and a real in-process MCP client on the server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from mcp import Client

from liveloom.ableton_bridge.target import parse_target
from liveloom.server.app import build_server
from liveloom.server.config import Config

HAS_FLUIDSYNTH = shutil.which("fluidsynth") is not None


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


async def call_ok(client: Client, tool: str, args: dict) -> dict:
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.content[0].text if result.content else result
    return result.structured_content


async def call_err(client: Client, tool: str, args: dict) -> str:
    result = await client.call_tool(tool, args)
    assert result.is_error, f"{tool} should have failed but returned {result.structured_content}"
    text = result.content[0].text
    assert "Traceback" not in text
    return text
