"""The `liveloom` command line: serve, tools, call, demo, index, agent, doctor, install-claude.

Only argparse is imported at start; the server and its libraries load when a command needs them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def _config(args: argparse.Namespace):
    from .config import Config, allowed_from_env, default_home, target_from_env

    try:
        config = Config(live=target_from_env(getattr(args, "live", None)))
    except ValueError as exc:
        raise SystemExit(f"liveloom: {exc}") from None
    config.home = Path(args.home).expanduser() if getattr(args, "home", None) else default_home()
    config.allow = allowed_from_env() + [Path(p).expanduser() for p in (getattr(args, "allow", None) or [])]
    if getattr(args, "checkpoint", None):
        config.model_path = Path(args.checkpoint).expanduser()
    return config


def _server(args: argparse.Namespace):
    from liveloom.music.errors import LiveloomError

    from .app import build_server

    try:
        return build_server(_config(args))
    except LiveloomError as exc:
        raise SystemExit(f"liveloom: {exc}") from None


def cmd_serve(args: argparse.Namespace) -> int:
    server = _server(args)
    if args.http:
        from .http import serve_http

        token = args.token or server.config.token
        serve_http(server, host=args.host, port=args.port, token=token, allowed_origins=args.allow_origin or [])
    else:
        server.run("stdio")
    return 0


def cmd_tools(args: argparse.Namespace) -> int:
    import anyio

    server = _server(args)
    tools = anyio.run(server.list_tools)
    if args.json:
        print(json.dumps([t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools], indent=2))
        return 0
    width = max(len(t.name) for t in tools)
    for t in tools:
        print(f"{t.name:<{width}}  [{_flags(t.annotations)}]  {first_sentence(t.description or '')}")
    return 0


def first_sentence(text: str) -> str:
    """The description's first sentence, whole (descriptions wrap over several lines)."""
    import re

    paragraph = " ".join(text.strip().split("\n\n", 1)[0].split())
    m = re.search(r"(?<=[.!?])\s+(?=[A-Z(])", paragraph)
    return paragraph[:m.start()] if m else paragraph


def _flags(a) -> str:
    if a is None:
        return "writes"
    if a.read_only_hint:
        return "read-only"
    return "destructive" if a.destructive_hint else "writes"


def cmd_call(args: argparse.Namespace) -> int:
    import anyio
    from mcp import Client

    if args.json_file:
        raw = Path(args.json_file).read_text(encoding="utf-8")
    else:
        raw = args.json if args.json is not None else "{}"
    try:
        arguments = json.loads(raw)
    except json.JSONDecodeError as exc:
        print(f"liveloom: --json is not valid JSON: {exc}", file=sys.stderr)
        return 2
    if not isinstance(arguments, dict):
        print("liveloom: --json must be a JSON object of the tool's arguments", file=sys.stderr)
        return 2
    server = _server(args)

    async def run() -> int:
        async with Client(server) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            if args.tool not in names:
                print(f"liveloom: no tool {args.tool!r}; `liveloom tools` lists them: {', '.join(sorted(names))}",
                      file=sys.stderr)
                return 2
            result = await client.call_tool(args.tool, arguments)
        if result.is_error:
            print(f"liveloom: {result.content[0].text if result.content else 'error'}", file=sys.stderr)
            return 1
        if result.structured_content is not None:
            print(json.dumps(result.structured_content, indent=2))
        else:
            for block in result.content:
                print(block.text if block.type == "text" else f"[{block.type} content]")
        return 0

    return anyio.run(run)


def cmd_learn(args: argparse.Namespace) -> int:
    """Learn a style from a folder of MIDI files through the server's own learn_style tool."""
    folder = Path(args.folder).expanduser().resolve()
    if not folder.is_dir():
        print(f"liveloom: {folder} is not a folder", file=sys.stderr)
        return 2
    args.allow = [*(getattr(args, "allow", None) or []), str(folder)]
    from .app import build_server

    server = build_server(_config(args))
    arguments = {"name": args.name, "folder": str(folder), "minutes": args.minutes, "steps": args.steps,
                 "method": args.method, "replace": args.replace, "workers": args.workers}
    if args.like:
        arguments["like"] = args.like

    r = _run_tool(server, "learn_style", arguments)
    if r is None:
        return 1
    if args.json:
        print(json.dumps(r, indent=2))
        return 0
    print(f"learned '{r['name']}' from {r['pieces']} pieces ({r['held_out']} held out) in {r['seconds']} s; "
          f"steps {r['steps']}" + (f", resumed from step {r['resumed_from']}" if r["resumed_from"] else ""))
    print(f"  heard: {r['knows']}")
    print(f"  held-out loss: {r['held_out_loss']}")
    print(f"  descriptors: {r['descriptors']}")
    for line in r["skipped"]:
        print(f"  skipped: {line}")
    print(f"  use: {r['use']}")
    return 0


def _run_tool(server, tool: str, arguments: dict) -> dict | None:
    """One of the server's tools called through an in-process MCP client, its progress as a line on a terminal:
    the structured result, or None once the tool's error is printed."""
    import anyio
    from mcp import Client

    async def progress(done: float, total: float | None, message: str | None) -> None:
        if sys.stderr.isatty():
            print(f"\r{message or ''}".ljust(60)[:80], end="", file=sys.stderr, flush=True)

    async def run() -> dict | None:
        async with Client(server) as client:
            result = await client.call_tool(tool, arguments, progress_callback=progress)
        if sys.stderr.isatty():
            print(file=sys.stderr)
        if result.is_error:
            print(f"liveloom: {result.content[0].text if result.content else 'error'}", file=sys.stderr)
            return None
        return result.structured_content

    return anyio.run(run)


def cmd_index(args: argparse.Namespace) -> int:
    """Index a sample folder through the server's own index_library tool (the folder is allowed for this run)."""
    folder = Path(args.folder).expanduser().resolve()
    if not folder.is_dir():
        print(f"liveloom: {folder} is not a folder", file=sys.stderr)
        return 2
    args.allow = [*(getattr(args, "allow", None) or []), str(folder)]
    config = _config(args)
    if args.cluster:
        config.clusters = (*config.clusters, args.cluster)  # the user's own command line names it
    from .app import build_server

    server = build_server(config)
    arguments = {"folder": str(folder), "force": args.force}
    if args.workers:
        arguments["workers"] = args.workers
    if args.cluster:
        arguments["cluster"] = args.cluster

    r = _run_tool(server, "index_library", arguments)
    if r is None:
        return 1
    if args.json:
        print(json.dumps(r, indent=2))
        return 0
    print(f"{r['folder']}: {r['found']} files — {r['analysed']} analysed, {r['reused']} known content, "
          f"{r['unchanged']} unchanged, {r['removed']} removed, {r['failed']} unreadable; {r['seconds']} s on "
          f"the {r['engine']}" + (f" ({r['files_per_second']} files/s)" if r["files_per_second"] else ""))
    print("kinds: " + ", ".join(f"{k} {n}" for k, n in sorted(r["kinds"].items())))
    for line in r["failures"]:
        print(f"  unreadable: {line}")
    print(f"catalogue: {r['catalogue_files']} files. Search it with find_samples "
          "(liveloom call find_samples --json '{\"key\": \"F minor\", \"tempo\": 90}').")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    import anyio

    from .demo import run_demo

    if args.live is None:
        args.live = "sim"  # the demo writes into a real Live only when asked to with --live
    server = _server(args)
    anyio.run(run_demo, server)
    return 0


def cmd_install_claude(args: argparse.Namespace) -> int:
    from .claude import claude_config_path, install, server_entry

    path = Path(args.config).expanduser() if args.config else claude_config_path()
    message, _ = install(path, args.name, server_entry(home=args.home, live=args.live), dry_run=args.dry_run)
    print(message)
    return 0


def cmd_agent(args: argparse.Namespace) -> int:
    import anyio

    from .agent import AgentError, AgentOptions, read_steps, run_agent

    try:
        if args.file:
            prompts = read_steps(args.file)
        elif args.prompt:
            prompts = [" ".join(args.prompt)]
        else:
            print("liveloom agent: give a request, or --file STEPS", file=sys.stderr)
            return 2
        options = AgentOptions(max_turns=args.max_turns, max_tool_calls=args.max_tool_calls, dry_run=args.dry_run)
        if args.model:
            options.model = args.model
        server = stdio = None
        if args.subprocess:
            from mcp import StdioServerParameters

            env = dict(os.environ)
            if args.live:
                env["LIVELOOM_LIVE"] = args.live
            if args.home:
                env["LIVELOOM_HOME"] = args.home
            stdio = StdioServerParameters(command=sys.executable, args=["-m", "liveloom", "serve"], env=env)
        else:
            server = _server(args)
        report = anyio.run(lambda: run_agent(prompts, server=server, stdio_params=stdio, options=options))
    except AgentError as exc:
        print(f"liveloom agent: {exc}", file=sys.stderr)
        return exc.exit_code
    if report.interrupted:
        print("liveloom agent: interrupted; the running tool was cancelled", file=sys.stderr)
        return 130
    return 3 if report.stopped else 0


def cmd_install_remote_script(args: argparse.Namespace) -> int:
    from .remote_script_install import default_remote_scripts_dir, install

    dest = Path(args.path).expanduser() if args.path else default_remote_scripts_dir()
    if dest is None:
        print("liveloom: Live runs on macOS and Windows; on this system pass --path to the 'Remote Scripts' folder "
              "of Live's User Library", file=sys.stderr)
        return 2
    print(install(dest, dry_run=args.dry_run))
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import PROBLEM, as_json, report, run_doctor

    config = _config(args)
    checks = run_doctor(target=config.live, render_settings=config.render, timeout=args.timeout)
    print(json.dumps(as_json(checks), indent=2) if args.json else report(checks))
    return 1 if any(c.status == PROBLEM for c in checks) else 0


def build_parser() -> argparse.ArgumentParser:
    from liveloom import __version__

    parser = argparse.ArgumentParser(prog="liveloom", description="A musician's toolbox for LLM agents, over MCP.")
    parser.add_argument("--version", action="version", version=f"liveloom {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--home", help="workspace folder (default: LIVELOOM_HOME or the per-OS data folder)")
        p.add_argument("--allow", action="append", metavar="FOLDER",
                       help="another folder tools may read and write (repeatable; also LIVELOOM_ALLOW)")
        p.add_argument("--live", metavar="HOST:PORT", help="Ableton Live (AbletonOSC) address, or 'sim' "
                       "(default: LIVELOOM_LIVE or 127.0.0.1:11000)")
        p.add_argument("--checkpoint", metavar="PATH", help="a local symbolic-model checkpoint folder "
                       "(default: LIVELOOM_MODEL, else the one shipped with liveloom)")

    p = sub.add_parser("serve", help="run the MCP server (stdio by default)", epilog="examples:\n  liveloom serve\n  liveloom serve --live sim --allow ~/Music\n  liveloom serve --http --port 8765 --token s3cret", formatter_class=argparse.RawDescriptionHelpFormatter)
    common(p)
    p.add_argument("--http", action="store_true", help="serve streamable HTTP instead of stdio")
    p.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="HTTP port (default 8765)")
    p.add_argument("--token", help="require this bearer token on HTTP (or set LIVELOOM_TOKEN)")
    p.add_argument("--allow-origin", action="append", metavar="ORIGIN", help="another allowed Origin for HTTP")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("tools", help="list the tools", epilog="examples:\n  liveloom tools\n  liveloom tools --json > tools.json", formatter_class=argparse.RawDescriptionHelpFormatter)
    common(p)
    p.add_argument("--json", action="store_true", help="full schemas as JSON")
    p.set_defaults(func=cmd_tools)

    p = sub.add_parser("call", help="call one tool through the server, print its structured result", epilog="examples:\n  liveloom call notation_to_clip --json '{\"text\": \"Dm7 G7 | Cmaj7 | % |\"}'\n  liveloom call arrange --json '{\"style\": \"lofi\", \"key\": \"D minor\"}'\n  liveloom call write_song --live sim --json-file args.json", formatter_class=argparse.RawDescriptionHelpFormatter)
    common(p)
    p.add_argument("tool")
    p.add_argument("--json", help="the arguments as a JSON object")
    p.add_argument("--json-file", help="read the arguments from this file")
    p.set_defaults(func=cmd_call)

    p = sub.add_parser("demo", help="make a short multi-track sketch: MIDI, PNG and WAV in the workspace", epilog="examples:\n  liveloom demo\n  liveloom demo --live 127.0.0.1:11000   # into your running Live", formatter_class=argparse.RawDescriptionHelpFormatter)
    common(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("install-claude", help="add liveloom to Claude Desktop's config (merging, with a backup)", epilog="examples:\n  liveloom install-claude\n  liveloom install-claude --live sim --dry-run", formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="config file (default: Claude Desktop's, per OS)")
    p.add_argument("--name", default="liveloom", help="server name in the config")
    p.add_argument("--home", help="set LIVELOOM_HOME for the server")
    p.add_argument("--live", help="set LIVELOOM_LIVE for the server")
    p.add_argument("--dry-run", action="store_true", help="print the merged config, write nothing")
    p.set_defaults(func=cmd_install_claude)

    p = sub.add_parser(
        "agent", help="let Claude use liveloom's tools to carry out a request (Anthropic API)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run a request with Claude over liveloom's own MCP tools, printing each tool call and its result, "
                    "then a summary of the artifacts made and what was written to Live.",
        epilog="The API key comes from ANTHROPIC_API_KEY (ANTHROPIC_BASE_URL changes the endpoint); the model from "
               "--model or LIVELOOM_AGENT_MODEL.\nExit codes: 0 done, 2 bad usage or no/refused key, 3 no network, "
               "an API error or a limit reached, 130 interrupted.\n\nexamples:\n"
               "  liveloom agent --live sim \"make an 8-bar lo-fi loop in D minor and put it in Live\"\n"
               "  liveloom agent --file steps.txt --dry-run --max-turns 10")
    common(p)
    p.add_argument("prompt", nargs="*", help="the request")
    p.add_argument("--file", help="a file of steps, one request per line, run in one conversation")
    p.add_argument("--model", help="Claude model (default: LIVELOOM_AGENT_MODEL or claude-sonnet-5-5)")
    p.add_argument("--max-turns", type=int, default=20, help="most model turns (default 20)")
    p.add_argument("--max-tool-calls", type=int, default=50, help="most tool calls (default 50)")
    p.add_argument("--dry-run", action="store_true",
                   help="refuse tools annotated as destructive and every tool that writes to Live")
    p.add_argument("--subprocess", action="store_true", help="run `liveloom serve` as a subprocess over stdio "
                   "instead of in-process")
    p.set_defaults(func=cmd_agent)

    p = sub.add_parser("install-remote-script",
                       help="install the LiveloomOSC companion Remote Script into Live's User Library",
                       epilog="examples:\n  liveloom install-remote-script\n  liveloom install-remote-script "
                              "--path \"/Volumes/Mac/Users/me/Music/Ableton/User Library/Remote Scripts\" --dry-run",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--path", help="the 'Remote Scripts' folder (default: Live's User Library on macOS/Windows)")
    p.add_argument("--dry-run", action="store_true", help="say what would be copied, copy nothing")
    p.set_defaults(func=cmd_install_remote_script)

    p = sub.add_parser("index", help="analyse a folder of samples into the catalogue find_samples searches",
                       description="Walks the folder (audio and MIDI files), analyses what is new or changed in "
                                   "parallel — kind, tempo, key, loudness, sound — and stores it in the workspace's "
                                   "catalogue. Interrupted runs resume where they stopped.",
                       epilog="examples:\n  liveloom index ~/Music/Samples\n  liveloom index ~/Music/Samples "
                              "--workers 2\n  liveloom index /mnt/library --cluster tcp://10.0.0.5:8786",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", help="the sample folder (allowed for this run)")
    p.add_argument("--workers", type=int, help="local worker processes (default: all cores but one, at most 8)")
    p.add_argument("--cluster", metavar="ADDRESS", help="a Dask scheduler (tcp://host:8786) whose workers see the "
                   "folder at the same path")
    p.add_argument("--force", action="store_true", help="analyse every file again")
    p.add_argument("--home", help="the workspace (default: LIVELOOM_HOME)")
    p.add_argument("--json", action="store_true", help="the result as JSON")
    p.set_defaults(func=cmd_index)
    p = sub.add_parser("learn", help="fine-tune liveloom's model on a folder of your MIDI songs (a learned style)",
                       description="Reads every MIDI file under the folder (all tracks, drums included), holds out "
                                   "one song in ten, fine-tunes the model (LoRA) and says how much better it predicts "
                                   "the held-out songs. The style's name then works in compose, arrange, "
                                   "continue_clip, vary and harmonize. Interrupted runs resume. Nothing leaves "
                                   "this machine.",
                       epilog="examples:\n  liveloom learn ~/Music/MIDI/beats --name \"my beats\"\n  liveloom learn "
                              "~/Music/MIDI/beats --name \"my beats\" --minutes 20 --workers 2\n"
                              "  several machines: see docs/learn_style.md (torchrun --nnodes)",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", help="the folder of MIDI files (allowed for this run)")
    p.add_argument("--name", required=True, help="the style's name")
    p.add_argument("--minutes", type=float, default=5.0, help="training time budget (default 5; run again to go on)")
    p.add_argument("--steps", type=int, default=300, help="training steps in all (default 300)")
    p.add_argument("--method", choices=["lora", "full"], default="lora", help="LoRA adapter (default) or every weight")
    p.add_argument("--like", help="the library style for parts the music does not hold (default pop)")
    p.add_argument("--workers", type=int, default=1, help="data-parallel training processes (torchrun; default 1)")
    p.add_argument("--replace", action="store_true", help="replace a learned style of the same name")
    p.add_argument("--home", help="the workspace (default: LIVELOOM_HOME)")
    p.add_argument("--json", action="store_true", help="the result as JSON")
    p.set_defaults(func=cmd_learn)
    p = sub.add_parser("doctor", help="check Live, the Remote Script, the connection and rendering; print fixes",
                       description="Finds Live installs and versions, the User Library and whether the LiveloomOSC "
                                   "Remote Script there is current, asks Live's port what answers, and checks "
                                   "FluidSynth and a soundfont. Exit code 1 when something needs fixing.",
                       epilog="examples:\n  liveloom doctor\n  liveloom doctor --live 192.168.1.20:11000 --json",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--live", metavar="HOST:PORT", help="where Live listens (default: LIVELOOM_LIVE or "
                   "127.0.0.1:11000)")
    p.add_argument("--timeout", type=float, default=0.6, help="seconds to wait for Live's answer (default 0.6)")
    p.add_argument("--json", action="store_true", help="the checks as JSON")
    p.set_defaults(func=cmd_doctor)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("liveloom: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
