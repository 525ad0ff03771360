"""Helpers the tests share: calling a tool through a real MCP client and expecting a result or a clean error,
and calling a tool function directly, without a server, with a context of its own."""

from __future__ import annotations

import os
import shutil
from contextlib import asynccontextmanager
from types import SimpleNamespace

from mcp import Client

HAS_FLUIDSYNTH = shutil.which("fluidsynth") is not None


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


class DirectContext:
    """Stands in for the SDK's Context when a test calls a tool function itself: the services come from
    `request_context.lifespan_context` as in a server, and progress reports are recorded."""

    def __init__(self, services):
        self.request_context = SimpleNamespace(lifespan_context=services)
        self.progress: list[tuple[float, float | None, str | None]] = []

    async def report_progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        self.progress.append((progress, total, message))


def process_alive(pid: int) -> bool:
    """Whether a process is still running (a zombie, exited but not reaped, is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return True


def note_rows(columns: dict | None) -> list[dict]:
    """get_clip's notes (columns, each field named once) as one dict per note."""
    if not columns:
        return []
    names = [k for k, v in columns.items() if v is not None]
    return [{k: columns[k][i] for k in names} for i in range(len(columns["pitch"]))]


@asynccontextmanager
async def http_client(url: str, token: str):
    """An MCP client over streamable HTTP with a bearer token."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        async with Client(streamable_http_client(url, http_client=http)) as client:
            yield client
