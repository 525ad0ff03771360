"""The MCP Apps piano roll in a real headless browser (Debian's Chromium, driven by Playwright): a minimal host
page built on the official `@modelcontextprotocol/ext-apps` AppBridge renders liveloom's `ui://` app, whose tool
calls go to the real server over streamable HTTP. Load a clip, see its notes drawn, play (the AudioContext
runs), drag a note, save, and check the new artifact's notes on the server. A screenshot is kept in
test-artifacts/ (scripts/install.sh installs Chromium, Playwright and the harness)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import http_client

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[1]
HARNESS = ROOT / "tests" / "apps_harness"
ARTIFACTS = ROOT / "test-artifacts"


def chromium() -> str:
    for path in ("/usr/lib/chromium/chromium", shutil.which("chromium") or "", shutil.which("chromium-browser") or "",
                 shutil.which("google-chrome") or ""):
        if path and Path(path).exists():
            return path
    raise AssertionError("no Chromium: scripts/install.sh installs Debian's chromium package")


async def test_the_piano_roll_draws_plays_edits_and_saves(http_server):
    from playwright.async_api import async_playwright

    assert (HARNESS / "dist" / "bridge.js").exists(), "scripts/install.sh builds tests/apps_harness"
    async with http_client(http_server, "s3cret") as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        uri = tools["notation_to_clip"].meta["ui"]["resourceUri"]
        assert tools["edit_clip"].meta["ui"]["resourceUri"] == uri
        app_html = (await client.read_resource(uri)).contents[0]
        assert app_html.mime_type == "text/html;profile=mcp-app"
        made = await client.call_tool("notation_to_clip", {"text": "C4:1 E4:1 G4:1 C5:1 E5:2 D5:2", "tempo": 120})
        assert not made.is_error, made.content
        made_json = made.model_dump(mode="json", by_alias=True, exclude_none=True)
        clip_id = made.structured_content["id"]
        calls = []

        async def host_call_tool(name: str, arguments: dict) -> dict:
            calls.append(name)
            result = await client.call_tool(name, arguments)
            return result.model_dump(mode="json", by_alias=True, exclude_none=True)

        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium(), headless=True,
                                               args=["--autoplay-policy=no-user-gesture-required", "--no-sandbox"])
            page = await browser.new_page(viewport={"width": 1024, "height": 600})
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            await page.expose_function("hostCallTool", host_call_tool)
            await page.goto((HARNESS / "harness.html").as_uri())
            await page.evaluate("([html, result]) => window.startApp(html, result)", [app_html.text, made_json])
            app = page.frame_locator("#app")
            frame = page.frames[1]
            await frame.wait_for_function("window.__liveloom && window.__liveloom.drawn > 0", timeout=20_000)
            state = await frame.evaluate("({...window.__liveloom, notes: window.__liveloom.notes.length})")
            assert state["id"] == clip_id and state["notes"] == state["drawn"] == made.structured_content["notes"]
            assert await app.locator("rect.note").count() == state["notes"]

            await app.locator("#play").click()
            await frame.wait_for_function("window.__liveloom.audioState === 'running'", timeout=10_000)

            first = app.locator("rect.note").first  # C4 at beat 0: drag it one beat right and up a tone
            box = await first.bounding_box()
            x, y = box["x"] + 4, box["y"] + box["height"] / 2
            await page.mouse.move(x, y)
            await page.mouse.down()
            await page.mouse.move(x + 48, y - 2 * 9, steps=6)
            await page.mouse.up()
            moved = await frame.evaluate("window.__liveloom.notes[0]")
            assert moved["start"] == 1.0 and moved["pitch"] == 62

            await app.locator("#save").click()
            await frame.wait_for_function("window.__liveloom.savedId !== null", timeout=20_000)
            saved_id = await frame.evaluate("window.__liveloom.savedId")
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "piano_roll_app.png"))
            host_log = await page.evaluate("window.hostLog")
            await browser.close()
        assert not errors, errors
        assert host_log[0] == "initialized" and "tools/call edit_clip" in host_log
        assert calls[0] == "get_clip" and calls[-1] == "edit_clip"

        saved = (await client.call_tool("get_clip", {"id": saved_id, "notes": True})).structured_content
        original = (await client.call_tool("get_clip", {"id": clip_id, "notes": True})).structured_content
        notes = list(zip(saved["notes"]["pitch"], saved["notes"]["start"]))
        assert (62, 1.0) in notes and (60, 0.0) not in notes
        assert len(notes) == len(original["notes"]["pitch"]) and saved_id != clip_id
        assert (60, 0.0) in zip(original["notes"]["pitch"], original["notes"]["start"])  # the source is kept
        assert json.loads(json.dumps(saved["provenance"]))["tool"] == "edit_clip"
