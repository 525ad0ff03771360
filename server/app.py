"""Build the liveloom MCP server: tools per family, artifacts as resources."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.types import Resource as MCPResource
from pydantic import ValidationError

from liveloom import __version__
from liveloom.engines.render import clean_scratch
from liveloom.music.errors import LiveloomError, NotFoundError
from liveloom.store.files import FilePolicy
from liveloom.store.workspace import Workspace
from liveloom.tools.base import Services, cap_message, describe_validation_error, register

from .config import Config

INSTRUCTIONS = """\
liveloom is a musician's toolbox. Results are stored as artifacts with ids: pass ids between
tools (notation_to_clip -> piano_roll -> export_midi / render_audio) instead of copying notes.
Say exactly what you mean with notation_to_clip: chord symbols or roman numerals with a key,
note lists (C4:1 E4:0.5), drum grids (kick: x...x...), or ABC. compose writes one part in a style
(pass its "progression" to the next compose call so the parts fit); arrange makes a whole song
from a form; each result names its engine and carries its checks. Check a result (get_clip,
piano_roll) before writing it anywhere. Times are in beats (quarter notes).
Live: live_status first (which script answers, what it can do); write_clip / write_song write and
verify by reading back; read_clip brings a Live clip back as an artifact."""


@asynccontextmanager
async def _lifespan(server: LiveloomServer) -> AsyncIterator[Services]:
    """Every session of this server shares its one set of services (one workspace, Live connection, model hub)."""
    yield server.services


class LiveloomServer(MCPServer):
    """MCPServer that also lists stored artifacts as resources."""

    def __init__(self, services: Services, config: Config):
        super().__init__(name="liveloom", title="liveloom", version=__version__, instructions=INSTRUCTIONS,
                         log_level="WARNING", lifespan=_lifespan, extensions=[_piano_roll_app()])
        self.services = services
        self.config = config

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Context | None = None) -> Any:
        """The SDK's call, with every error said briefly: arguments that do not fit the schema as 'field: what is
        wrong' (at most five, not pydantic's report with its links and the rejected values), and no message longer
        than MAX_ERROR_CHARS (a 10,000-item list of wrong types, or a megabyte string echoed back)."""
        try:
            return _compact_text(await super().call_tool(name, arguments, context))
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, ValidationError) and cause.title.endswith("Arguments"):
                extra = cause.error_count() - 5
                text = (f"Error executing tool {name}: invalid arguments: {describe_validation_error(cause)}"
                        + (f" (and {extra} more)" if extra > 0 else "") + ". The tool's input schema says what fits.")
            else:
                text = str(exc)
            raise type(exc)(cap_message(text)) from cause

    async def list_tools(self) -> list:
        """The SDK's list with schemas compacted for a model's context (see `compact`); validation still uses the
        full models."""
        from .compact import compact_description, compact_output_schema, compact_schema

        tools = await super().list_tools()
        return [t.model_copy(update={"description": compact_description(t.description),
                                     "input_schema": compact_schema(t.input_schema),
                                     "output_schema": compact_output_schema(t.output_schema) if t.output_schema
                                     else None})
                for t in tools]

    async def read_resource(self, uri, context: Context | None = None):
        """The SDK's read, with an artifact file's real MIME type (audio/wav, audio/midi, image/png,
        application/json) instead of the template's generic one."""
        contents = await super().read_resource(uri, context)
        text = str(uri)
        if text.startswith("liveloom://artifact/") and text.endswith("/file") and isinstance(contents, list):
            record = self.services.workspace.get(text[len("liveloom://artifact/"):-len("/file")])
            contents = [dataclasses.replace(c, mime_type=record.mime_type) for c in contents]
        return contents

    async def list_resources(self) -> list[MCPResource]:
        static = await super().list_resources()
        records, _ = self.services.workspace.list(limit=200)
        return static + [
            MCPResource(uri=r.uri, name=r.id, title=r.name, description=f"{r.kind} made by {r.provenance.tool}",
                        mime_type="application/json")
            for r in records
        ]


def _piano_roll_app():
    """MCP Apps: the interactive piano roll (draw, play, edit, save as a new artifact through edit_clip) that hosts
    with Apps show for the tools whose result is a clip or a song; other hosts get the usual result."""
    from pathlib import Path

    from mcp.server.apps import Apps

    from liveloom.tools.base import PIANO_ROLL_APP

    apps = Apps()
    apps.add_html_resource(PIANO_ROLL_APP, (Path(__file__).with_name("piano_roll_app.html")).read_text(),
                           name="piano-roll", title="liveloom piano roll",
                           description="Draws a clip or song (tracks coloured, drums as lanes), plays it, and saves "
                                       "edits as a new artifact.")
    return apps


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _compact_text(result: Any) -> Any:
    """The text copy of a structured result as compact JSON without nulls (the SDK indents it: a third of the
    characters were spaces); the structured content is untouched."""
    from mcp.types import CallToolResult, TextContent

    if not isinstance(result, CallToolResult) or result.structured_content is None:
        return result
    blocks = []
    for block in result.content:
        if isinstance(block, TextContent) and block.text[:1] in "{[":
            try:
                doc = json.loads(block.text)
            except ValueError:
                blocks.append(block)
                continue
            block = block.model_copy(update={"text": json.dumps(_drop_nulls(doc), separators=(",", ":"),
                                                                ensure_ascii=False)})
        blocks.append(block)
    return result.model_copy(update={"content": blocks})


def build_server(config: Config | None = None) -> LiveloomServer:
    """A server over the workspace in `config.home`; nothing heavy is imported here."""
    from liveloom.ableton_bridge.service import LiveService
    from liveloom.models.hub import ModelHub
    from liveloom.tools import FAMILIES

    config = config or Config()
    workspace = Workspace(config.home)
    clean_scratch(workspace.scratch_dir)  # what a killed server left mid-render
    files = FilePolicy(workspace_home=workspace.home, files_dir=workspace.files_dir, extra=list(config.allow))
    models = ModelHub(config.model_path, config.device, transcribe_precision=config.transcribe_precision,
                      piano_checkpoint=config.piano_checkpoint, threads=config.threads or None,
                      drum_checkpoint=config.drum_checkpoint)
    services = Services(workspace=workspace, files=files, live=LiveService(config.live), models=models,
                        render=dataclasses.replace(config.render, scratch=str(workspace.scratch_dir)),
                        clusters=config.clusters)
    server = LiveloomServer(services, config)
    for family in FAMILIES:
        register(server, family)
    _register_resources(server, workspace)
    from .prompts import register_completions, register_logging, register_prompts

    register_prompts(server)
    register_completions(server)
    register_logging(server)
    return server


def _register_resources(server: MCPServer, workspace: Workspace) -> None:
    @server.resource("liveloom://artifact/{artifact_id}", name="artifact", mime_type="application/json",
                     description="An artifact's record (provenance, summary) and, for clips, songs and "
                                 "analyses, its full content.")
    def read_artifact(artifact_id: str) -> str:
        try:
            record = workspace.get(artifact_id)
            doc = record.model_dump(by_alias=True)
            doc["mime_type"] = record.mime_type
            if record.mime_type == "application/json":
                doc["content"] = json.loads(workspace.read_bytes(record))
            else:
                doc["file_uri"] = f"{record.uri}/file"
            return json.dumps(doc)
        except NotFoundError as exc:  # the current spec's resource-not-found (-32602, SEP-2164)
            raise ResourceNotFoundError(str(exc)) from None
        except LiveloomError as exc:
            raise ResourceError(str(exc)) from None

    @server.resource("liveloom://artifact/{artifact_id}/file", name="artifact-file",
                     mime_type="application/octet-stream",
                     description="An artifact's payload file: JSON, a MIDI file (audio/midi), a PNG or a WAV "
                                 "(audio/wav), read with its own MIME type.")
    def read_artifact_file(artifact_id: str) -> bytes:
        try:
            return workspace.read_bytes(workspace.get(artifact_id))
        except NotFoundError as exc:
            raise ResourceNotFoundError(str(exc)) from None
        except LiveloomError as exc:
            raise ResourceError(str(exc)) from None


logging.getLogger("liveloom").addHandler(logging.NullHandler())
