"""`liveloom agent`: the real Anthropic SDK, the real MCP client and the real tools, against a local
stand-in for the Messages API that replays scripted turns."""

from __future__ import annotations

import io
import os
import signal
import stat
import subprocess
import sys
import time

import pytest
from fake_messages_api import FakeMessagesAPI, last_result_data, last_tool_results, text, tool_use

from liveloom.server.agent import SYSTEM_PROMPT, AgentError, AgentOptions, run_agent

pytestmark = pytest.mark.anyio


@pytest.fixture
def api():
    servers = []

    def make(script, repeat_last=False):
        s = FakeMessagesAPI(script, repeat_last)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


async def _run(server, fake, prompts, **opts):
    out = io.StringIO()
    report = await run_agent(prompts, server=server, options=AgentOptions(model="claude-test", **opts), out=out,
                             api_key="test-key", base_url=fake.url)
    return report, out.getvalue()


LOOP_SCRIPT = [
    [text("I'll write the chords first."),
     tool_use("notation_to_clip", {"text": "Dm9 | Gm9 | Bbmaj7 | A7b9", "key": "D minor", "tempo": 82,
                                   "rhythm": "charleston", "repeat": 2})],
    lambda body: [tool_use("piano_roll", {"id": last_result_data(body)["id"]})],
    lambda body: [tool_use("live_status", {})],
    lambda body: [tool_use("write_clip", {"id": body["messages"][2]["content"][0]["content"][0]["text"]
                                          and __import__("json").loads(
                                              body["messages"][2]["content"][0]["content"][0]["text"])["id"],
                                          "track": 0, "slot": 0, "name": "Lo-fi keys"})],
    [text("Done: an 8-bar progression is in Live on track 1, slot 1.")],
]


async def test_scripted_session_makes_artifacts_and_writes_to_live(server, api):
    fake = api(LOOP_SCRIPT)
    report, out = await _run(server, fake, ["make an 8-bar lo-fi loop in D minor and put it in Live"])
    assert report.turns == 5 and report.tool_calls == 4 and report.errors == 0 and not report.stopped
    kinds = [k for _, k, _ in report.artifacts]
    assert kinds == ["clip", "image"]  # write_clip names the clip it wrote; it is listed once
    clip_id = report.artifacts[0][0]
    # what landed in the (simulated) Live set is exactly the clip the agent made
    sim = server.services.live.sim
    live_clip = sim.host.call(lambda: sim.song.tracks[0].clip_slots[0].clip)
    stored = server.services.workspace.load_clip(clip_id)[1]
    assert live_clip.name == "Lo-fi keys"
    assert len(sim.host.call(live_clip.get_all_notes_extended)) == len(stored.notes)
    # the transcript a person reads
    assert "→ notation_to_clip(text=" in out and "chords Dm9 Gm9 Bbmaj7 A7(b9)" in out
    assert f"wrote {len(stored.notes)} notes to track 0, slot 0 ({len(stored.notes)} verified)" in out
    assert "piano roll: " in out and "written to Live: write_clip" in out
    # what the model was given: the system prompt, every tool, and each result fed back with its id
    first = fake.requests[0]
    assert first["system"] == SYSTEM_PROMPT and first["model"] == "claude-test"
    assert {t["name"] for t in first["tools"]} >= {"notation_to_clip", "write_clip", "live_status", "get_session"}
    assert all("input_schema" in t for t in first["tools"])
    assert last_result_data(fake.requests[1])["id"] == clip_id
    image_result = last_tool_results(fake.requests[2])[0]
    assert any(block["type"] == "image" for block in image_result["content"])


async def test_dry_run_refuses_live_writes_and_destructive_tools(server, api):
    fake = api([
        [tool_use("notation_to_clip", {"text": "C F G C"})],
        lambda body: [tool_use("write_clip", {"id": last_result_data(body)["id"], "track": 0, "slot": 0}),
                      tool_use("undo", {})],
        [text("In a real run I would have written the clip to track 1.")],
    ])
    report, out = await _run(server, fake, ["write something"], dry_run=True)
    assert report.refused == 2 and report.tool_calls == 1
    refusals = last_tool_results(fake.requests[2])
    assert all(r["is_error"] and "dry run" in r["content"] for r in refusals)
    assert out.count("refused in dry-run: it writes to Live") == 2
    assert server.services.live.sim is None  # Live was never even contacted
    assert "written to Live: nothing" in out


async def test_turn_limit_stops_the_loop(server, api):
    fake = api([[tool_use("list_artifacts", {})]], repeat_last=True)
    report, out = await _run(server, fake, ["loop forever"], max_turns=3)
    assert report.stopped == "reached the turn limit (3)" and len(fake.requests) == 3
    assert "stopped early: reached the turn limit (3)" in out


async def test_tool_call_limit(server, api):
    fake = api([[tool_use("list_artifacts", {}), tool_use("list_artifacts", {}), tool_use("list_artifacts", {})]],
               repeat_last=True)
    report, _ = await _run(server, fake, ["go"], max_tool_calls=2)
    assert report.tool_calls == 2 and "tool-call limit" in report.stopped


async def test_a_tool_error_is_fed_back_and_the_model_recovers(server, api):
    fake = api([
        [tool_use("notation_to_clip", {"text": "Dm7 G7 Xmaj7"})],
        lambda body: ([tool_use("notation_to_clip", {"text": "Dm7 G7 Cmaj7"})]
                      if last_tool_results(body)[0]["is_error"] else [text("unexpected")]),
        [text("Fixed the chord and made the clip.")],
    ])
    report, out = await _run(server, fake, ["chords please"])
    error = last_tool_results(fake.requests[1])[0]
    assert error["is_error"] and "'Xmaj7' #3" in error["content"][0]["text"]
    assert report.errors == 1 and [k for _, k, _ in report.artifacts] == ["clip"]
    assert report.final_text == "Fixed the chord and made the clip."
    assert "← error: token 'Xmaj7'" in out


async def test_unknown_tool_and_refused_key(server, api):
    fake = api([[tool_use("make_it_good", {})], [text("ok")]])
    report, _ = await _run(server, fake, ["?"])
    assert report.errors == 1 and "There is no tool" in last_tool_results(fake.requests[1])[0]["content"]
    wrong = api([[text("never")]])
    with pytest.raises(AgentError, match="refused the key") as info:
        await run_agent(["hi"], server=server, options=AgentOptions(), out=io.StringIO(), api_key="wrong",
                        base_url=wrong.url)
    assert info.value.exit_code == 2


def _cli(home, *args, env_extra=None, **kw):
    env = {**os.environ, "LIVELOOM_HOME": str(home), "LIVELOOM_LIVE": "sim", **(env_extra or {})}
    env.pop("ANTHROPIC_API_KEY", None) if not (env_extra or {}).get("ANTHROPIC_API_KEY") else None
    return subprocess.run([sys.executable, "-m", "liveloom", "agent", *args], env=env, capture_output=True,
                          text=True, timeout=120, **kw)


@pytest.mark.slow
def test_cli_help_no_key_and_no_network(home):
    helptext = _cli(home, "--help").stdout
    assert "--dry-run" in helptext and "ANTHROPIC_API_KEY" in helptext and "--file" in helptext
    proc = _cli(home, "make a beat")
    assert proc.returncode == 2 and "no Anthropic API key" in proc.stderr and "Traceback" not in proc.stderr
    proc = _cli(home, "make a beat", env_extra={"ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"})
    assert proc.returncode == 3 and "cannot reach the Anthropic API" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


@pytest.mark.slow
def test_cli_steps_file_over_a_subprocess_server(home, tmp_path, api):
    fake = api([[tool_use("notation_to_clip", {"text": "kick: x...x...\nsnare: ....x..."})],
                [text("Beat made.")],
                lambda body: [tool_use("get_clip", {"id": "clip_missing"})],
                [text("That id does not exist; nothing else to do.")]])
    steps = tmp_path / "steps.txt"
    steps.write_text("# a batch\nmake a beat\n\ncheck clip_missing\n")
    proc = _cli(home, "--file", str(steps), "--subprocess",
                env_extra={"ANTHROPIC_API_KEY": "test-key", "ANTHROPIC_BASE_URL": fake.url})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("› ") == 2 and "Beat made." in proc.stdout and "← error: no artifact" in proc.stdout


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_cancels_the_running_tool_cleanly(home, tmp_path, api):
    pid_file = tmp_path / "pid"
    fake_synth = tmp_path / "fluidsynth"
    fake_synth.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 60\n")
    fake_synth.chmod(fake_synth.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "gm.sf2").write_bytes(b"RIFF")
    fake = api([[tool_use("notation_to_clip", {"text": "C F G C"})],
                lambda body: [tool_use("render_audio", {"id": last_result_data(body)["id"]})]])
    env = {**os.environ, "LIVELOOM_HOME": str(home), "LIVELOOM_LIVE": "sim", "ANTHROPIC_API_KEY": "test-key",
           "ANTHROPIC_BASE_URL": fake.url, "LIVELOOM_FLUIDSYNTH": str(fake_synth),
           "LIVELOOM_SOUNDFONT": str(tmp_path / "gm.sf2")}
    proc = subprocess.Popen([sys.executable, "-m", "liveloom", "agent", "render it"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (pid_file.exists() and pid_file.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    synth_pid = int(pid_file.read_text())
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in err and "Traceback" not in err
    time.sleep(0.3)
    try:
        os.kill(synth_pid, 0)
        alive = open(f"/proc/{synth_pid}/stat").read().split()[2] != "Z"
    except (ProcessLookupError, FileNotFoundError):
        alive = False
    assert not alive, "the render kept running after Ctrl-C"
