"""`liveloom agent`: Claude (through the Anthropic SDK) drives liveloom's own MCP tools.

The agent talks to the server through a real MCP client session — in-process, or `liveloom serve`
as a subprocess over stdio — so it sees exactly the tools, schemas and annotations Claude Desktop
sees. Each tool call and its result are printed as they happen; at the end, a summary of the
artifacts made and what was written to Live.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

import anyio

DEFAULT_MODEL = "claude-sonnet-5-5"  # a current Sonnet in anthropic 2.12 (4.5 reaches end-of-life 2026-11-30)

SYSTEM_PROMPT = """\
You are a music producer's assistant working through liveloom's tools, which make music and put it
into Ableton Live.

How to work well with liveloom:
- Every result is an artifact with an id (clip_…, song_…, image_…). Pass ids between tools; never
  copy note lists into your messages. Use get_clip only to inspect, a page of notes at a time.
- Say exactly what you mean with notation_to_clip: chord symbols (Dm9 G13 Cmaj7, Bb/D) or roman
  numerals with a key (ii7 V7 Imaj7), note lists (C4:1 E4:0.5 r:0.5), drum grids
  ("kick: x...x...\\nsnare: ....x..."), or ABC. Durations are beats, or bars with "bars" (":2bars").
  Use repeat to loop a pattern; chord_bass=false when a bass track plays the roots.
- To write parts rather than state them, use compose (one role at a time: chords, bass, drums, melody,
  counter, pad, arpeggio, in a style from its library). Pass the first result's "progression" to the
  next compose calls so that the parts fit; arrange turns a form (or your clips as seed_clips) into a
  whole song; harmonize, vary, continue_clip, interpolate and orchestrate work on existing clips.
  Each result names its engine and its checks — say if a check failed.
- Check before you write: look at the summary (bars, notes, range, chords) and, when it matters,
  the piano_roll image.
- Before touching Live, call live_status: it says whether Live answers and what the running script
  can do (automation and Arrangement writes need liveloom's companion script). Use get_session to
  find track and slot numbers; create_track for new tracks; write_clip and write_song verify by
  reading back — report what they verified.
- If a tool returns an error, read it: it says what was wrong and what to do. Fix the call and retry;
  do not repeat the same failing call.
- Keep the user informed in a sentence or two, and finish with what was made and where it is."""


@dataclass
class AgentOptions:
    model: str = field(default_factory=lambda: os.environ.get("LIVELOOM_AGENT_MODEL", DEFAULT_MODEL))
    max_turns: int = 20
    max_tool_calls: int = 50
    max_tokens: int = 4096
    dry_run: bool = False


@dataclass
class AgentReport:
    turns: int = 0
    tool_calls: int = 0
    refused: int = 0
    errors: int = 0
    artifacts: list[tuple[str, str, str]] = field(default_factory=list)  # (id, kind, tool)
    live_writes: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    final_text: str = ""
    stopped: str | None = None  # why the loop stopped early (a limit, Ctrl-C), or None
    interrupted: bool = False


class AgentError(Exception):
    """A clear, final problem (no key, no network, a refused key): printed as one line."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_args(args: dict) -> str:
    return ", ".join(f"{k}={_short(v)}" for k, v in args.items())


def describe_result(tool: str, data: dict | None, is_error: bool, text: str) -> str:
    """One line a person reads: what the tool made or did."""
    if is_error:
        return "error: " + text.removeprefix(f"Error executing tool {tool}: ")[:300]
    if not data:
        return text[:200]
    if "where" in data and "notes_verified" in data:
        return f"wrote {data['notes_written']} notes to {data['where']} ({data['notes_verified']} verified)"
    if "points_verified" in data:
        return f"automation of {data['parameter']} at {data['where']}: {data['points_verified']} points verified"
    if "mode" in data and "notes_verified" in data:
        return f"wrote a song to Live ({data['mode']}): tracks {data['tracks']}, {data['notes_verified']} notes verified"
    if data.get("kind") == "image":
        return f"image {data['id']} → {data['path']}"
    if data.get("kind") == "audio":
        return f"audio {data['id']} → {data['path']} ({data['seconds']:.1f} s)"
    if data.get("kind") in ("clip", "song"):
        parts = [f"{data['kind']} {data['id']}: {data.get('bars', 0):g} bars", f"{data.get('notes', 0)} notes"]
        if data.get("key"):
            parts.append(f"key {data['key']}")
        if data.get("chords"):
            parts.append("chords " + " ".join(c["chord"] for c in data["chords"][:8]))
        return ", ".join(parts)
    if data.get("kind") == "midi":
        return f"MIDI {data['id']} → {data['path']}"
    if set(data) == {"index", "name"}:
        return f"created track {data['index']} ({data['name']!r})"
    if "done" in data:
        return str(data["done"])
    if "reachable" in data:
        return (f"Live {data.get('live_version')} via {data.get('script')}" if data["reachable"]
                else "Live is not reachable")
    return _short(data, 200)


def _refusal(tool) -> str | None:
    annotations = tool.annotations
    family = (tool.meta or {}).get("liveloom/family")
    if family == "live" and not (annotations is not None and annotations.read_only_hint):
        return "it writes to Live"
    if annotations is not None and annotations.destructive_hint:
        return "it is annotated as destructive"
    return None


class Agent:
    def __init__(self, session, options: AgentOptions, out: TextIO = sys.stdout, anthropic_client=None):
        self.session = session  # an entered mcp.Client
        self.options = options
        self.out = out
        self.report = AgentReport()
        self._client = anthropic_client
        self.messages: list[dict] = []
        self.tools: dict[str, Any] = {}
        self._scope = None  # the cancel scope of whatever is running now (an API request or a tool call)

    def interrupt(self) -> None:
        """Ctrl-C: cancel the running request or tool call; the loop then stops."""
        self.report.interrupted = True
        self.report.stopped = "interrupted (Ctrl-C)"
        if self._scope is not None:
            self._scope.cancel()

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    async def start(self) -> None:
        self.tools = {t.name: t for t in (await self.session.list_tools()).tools}

    def _tool_defs(self) -> list[dict]:
        return [{"name": t.name, "description": (t.description or "")[:1024], "input_schema": t.input_schema}
                for t in self.tools.values()]

    async def run(self, prompt: str) -> AgentReport:
        """One user request, looped until Claude stops asking for tools (or a limit is reached)."""
        import anthropic

        self.say(f"› {prompt}")
        self.messages.append({"role": "user", "content": prompt})
        while True:
            if self.report.turns >= self.options.max_turns:
                self.report.stopped = f"reached the turn limit ({self.options.max_turns})"
                self.say(f"  stopped: {self.report.stopped}")
                return self.report
            if self.report.interrupted:
                return self.report
            try:
                with anyio.CancelScope() as self._scope:
                    response = await self._client.messages.create(
                        model=self.options.model, max_tokens=self.options.max_tokens, system=SYSTEM_PROMPT,
                        tools=self._tool_defs(), messages=self.messages)
                self._scope = None
                if self.report.interrupted:
                    self.say("  stopped: interrupted (Ctrl-C) while waiting for Claude")
                    return self.report
            except anthropic.AuthenticationError:
                raise AgentError("the Anthropic API refused the key; check ANTHROPIC_API_KEY", 2) from None
            except anthropic.APIConnectionError as exc:
                raise AgentError(f"cannot reach the Anthropic API at {self._client.base_url} ({exc}); check the "
                                 "network, or ANTHROPIC_BASE_URL", 3) from None
            except anthropic.APIStatusError as exc:
                raise AgentError(f"the Anthropic API answered {exc.status_code}: {exc.message}", 3) from None
            self.report.turns += 1
            assistant_content = [block.model_dump(exclude_none=True) for block in response.content]
            self.messages.append({"role": "assistant", "content": assistant_content})
            for block in response.content:
                if block.type == "text" and block.text.strip():
                    self.say(f"  Claude: {block.text.strip()}")
                    self.report.final_text = block.text.strip()
            uses = [b for b in response.content if b.type == "tool_use"]
            if not uses:
                return self.report
            results = []
            for use in uses:
                results.append(await self._call(use))
            self.messages.append({"role": "user", "content": results})
            if self.report.stopped:
                return self.report

    async def _call(self, use) -> dict:
        name, args = use.name, dict(use.input or {})
        self.say(f"  → {name}({short_args(args)})")
        if self.report.tool_calls >= self.options.max_tool_calls:
            self.report.stopped = f"reached the tool-call limit ({self.options.max_tool_calls})"
            self.say(f"  ← refused: {self.report.stopped}")
            return {"type": "tool_result", "tool_use_id": use.id, "is_error": True,
                    "content": f"Refused: the session reached its limit of {self.options.max_tool_calls} tool calls."}
        tool = self.tools.get(name)
        if tool is None:
            self.report.errors += 1
            self.say(f"  ← error: no tool {name!r}")
            return {"type": "tool_result", "tool_use_id": use.id, "is_error": True,
                    "content": f"There is no tool {name!r}. Available: {', '.join(sorted(self.tools))}."}
        reason = _refusal(tool) if self.options.dry_run else None
        if reason:
            self.report.refused += 1
            self.say(f"  ← refused in dry-run: {reason}")
            return {"type": "tool_result", "tool_use_id": use.id, "is_error": True,
                    "content": f"Refused: this is a dry run and {name} {reason}. Do not retry it; describe what "
                               "you would have done instead."}
        self.report.tool_calls += 1
        with anyio.CancelScope() as self._scope:
            result = await self.session.call_tool(name, args)
        self._scope = None
        if self.report.interrupted:
            with anyio.move_on_after(5):
                await self.session.list_tools()  # a round trip: the server has now handled the cancellation
            self.say(f"  ← cancelled: {name} was stopped (Ctrl-C)")
            return {"type": "tool_result", "tool_use_id": use.id, "is_error": True,
                    "content": "Cancelled by the user (Ctrl-C)."}
        text = "\n".join(c.text for c in result.content if c.type == "text")
        data = result.structured_content
        self.say(f"  ← {describe_result(name, data, result.is_error, text)}")
        if result.is_error:
            self.report.errors += 1
        elif data:
            if data.get("id") and data.get("kind") and data["id"] not in {a[0] for a in self.report.artifacts}:
                self.report.artifacts.append((data["id"], data["kind"], name))
            if data.get("kind") == "image" and data.get("path"):
                self.report.images.append(data["path"])
            if (tool.meta or {}).get("liveloom/family") == "live" and not (
                    tool.annotations and tool.annotations.read_only_hint):
                self.report.live_writes.append(f"{name}: {describe_result(name, data, False, text)}")
        content: list[dict] = [{"type": "text", "text": (json.dumps(data) if data else text)[:8000]}]
        for block in result.content:
            if block.type == "image":
                content.append({"type": "image", "source": {"type": "base64", "media_type": block.mime_type,
                                                             "data": block.data}})
        return {"type": "tool_result", "tool_use_id": use.id, "is_error": bool(result.is_error), "content": content}

    def summary(self) -> str:
        r = self.report
        lines = [f"Summary: {r.turns} turns, {r.tool_calls} tool calls"
                 + (f", {r.refused} refused" if r.refused else "") + (f", {r.errors} errors" if r.errors else "")]
        if r.artifacts:
            lines.append("  artifacts: " + ", ".join(f"{i} ({k}, {t})" for i, k, t in r.artifacts))
        for img in r.images:
            lines.append(f"  piano roll: {img}")
        lines.append("  written to Live: " + ("; ".join(r.live_writes) if r.live_writes else "nothing"))
        if r.stopped:
            lines.append(f"  stopped early: {r.stopped}")
        return "\n".join(lines)


async def _watch_ctrl_c(agent: Agent) -> None:
    """While the agent runs, Ctrl-C cancels the running tool (or request) instead of killing the process."""
    try:
        with anyio.open_signal_receiver(signal.SIGINT) as signals:
            async for _ in signals:
                agent.interrupt()
    except (NotImplementedError, RuntimeError, ValueError):  # no signal handling here (Windows, not main thread)
        await anyio.sleep_forever()


def read_steps(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        steps = [ln.strip() for ln in f if ln.strip() and not ln.lstrip().startswith("#")]
    if not steps:
        raise AgentError(f"{path} has no steps (one request per line; # starts a comment)", 2)
    return steps


async def run_agent(prompts: list[str], *, server=None, stdio_params=None, options: AgentOptions,
                    out: TextIO = sys.stdout, api_key: str | None = None, base_url: str | None = None) -> AgentReport:
    """Connect to liveloom over MCP, run each prompt in one conversation, print a summary."""
    import anthropic
    from mcp import Client

    key = api_key or os.environ.get("ANTHROPIC_API_KEY")
    if not key:
        raise AgentError("no Anthropic API key: set ANTHROPIC_API_KEY (liveloom sends it only to the Anthropic API)",
                         2)
    claude = anthropic.AsyncAnthropic(api_key=key, base_url=base_url, max_retries=1)
    target = server if server is not None else stdio_params
    failure: AgentError | None = None
    async with Client(target) as session:
        agent = Agent(session, options, out, claude)
        await agent.start()
        mode = " · dry run" if options.dry_run else ""
        print(f"liveloom agent · model {options.model} · {len(agent.tools)} tools{mode}", file=out, flush=True)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(_watch_ctrl_c, agent)
                try:
                    for prompt in prompts:
                        await agent.run(prompt)
                        if agent.report.stopped:
                            break
                except AgentError as exc:  # re-raised after the MCP session closes, unwrapped
                    failure = exc
                tg.cancel_scope.cancel()
        finally:
            print(agent.summary(), file=out, flush=True)
    if failure is not None:
        raise failure
    return agent.report
