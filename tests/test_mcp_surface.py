"""The MCP surface as a host sees it (issue 21): resources with their real MIME types, the current spec's
resource-not-found, and tool schemas compacted for a model's context without changing what is accepted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import HAS_FLUIDSYNTH, call_ok
from mcp.shared.exceptions import MCPError

from liveloom.server.compact import compact_schema, schema_chars

pytestmark = pytest.mark.anyio


async def test_artifact_files_carry_their_mime_types(client):
    clip = await call_ok(client, "notation_to_clip", {"text": "C F G C"})
    png = await call_ok(client, "piano_roll", {"id": clip["id"]})
    midi = await call_ok(client, "export_midi", {"ids": [clip["id"]], "path": "x.mid"})
    want = {clip["id"]: "application/json", png["id"]: "image/png"}
    if midi.get("id"):
        want[midi["id"]] = "audio/midi"
    if HAS_FLUIDSYNTH:
        wav = await call_ok(client, "render_audio", {"id": clip["id"]})
        want[wav["id"]] = "audio/wav"
    for artifact, mime in want.items():
        got = await client.read_resource(f"liveloom://artifact/{artifact}/file")
        assert got.contents[0].mime_type == mime, artifact
    record = json.loads((await client.read_resource(f"liveloom://artifact/{png['id']}")).contents[0].text)
    assert record["mime_type"] == "image/png" and record["file_uri"].endswith("/file")


async def test_an_unknown_artifact_is_resource_not_found(client):
    for uri in ("liveloom://artifact/clip_0000000000", "liveloom://artifact/clip_0000000000/file"):
        with pytest.raises(MCPError) as err:
            await client.read_resource(uri)
        assert err.value.error.code == -32602 and "no artifact" in err.value.error.message  # SEP-2164


def test_compact_schema_keeps_names_and_drops_what_guides_no_one():
    schema = {"type": "object", "title": "Args", "properties": {
        "title": {"title": "Title", "type": "string", "maxLength": 200},
        "n": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}], "default": None, "title": "N",
              "description": "how many"},
        "notes": {"type": "array", "maxItems": 20000, "items": {"$ref": "#/$defs/Note"}},
        "mode": {"anyOf": [{"type": "string"}, {"type": "integer"}], "default": "a"}},
        "$defs": {"Note": {"title": "Note", "additionalProperties": False, "type": "object",
                           "properties": {"pitch": {"type": "integer", "maximum": 127}}}}}
    got = compact_schema(schema)
    assert got["properties"]["title"] == {"type": "string"}  # a property may be called title
    assert got["properties"]["n"] == {"type": "integer", "minimum": 1, "description": "how many"}
    assert got["properties"]["notes"] == {"type": "array", "items": {"$ref": "#/$defs/Note"}}
    assert got["properties"]["mode"]["anyOf"] == [{"type": "string"}, {"type": "integer"}]
    assert got["$defs"]["Note"] == {"type": "object", "properties": {"pitch": {"type": "integer", "maximum": 127}}}


async def test_listed_schemas_are_compact_and_still_describe_every_argument(client, server):
    listed = (await client.list_tools()).tools
    full = server._tool_manager.list_tools()
    assert schema_chars(listed) < 0.85 * len(json.dumps([{"name": t.name, "description": t.description,
                                                           "input_schema": t.parameters} for t in full]))
    text = json.dumps([t.input_schema for t in listed])
    assert '"title"' not in text.replace('"title": {', "")
    for tool, info in zip(listed, full):
        assert set(tool.input_schema.get("properties", {})) == set(info.parameters.get("properties", {}))
        assert tool.input_schema.get("required", []) == info.parameters.get("required", [])


async def test_prompts_list_and_render(client):
    prompts = {p.name: p for p in (await client.list_prompts()).prompts}
    assert {"make_loop", "song_into_live", "transcribe_and_arrange", "analyze_my_set", "restyle_melody"} <= set(prompts)
    got = await client.get_prompt("make_loop", {"style": "trap", "key": "F minor", "bars": "4"})
    text = got.messages[0].content.text
    assert "4-bar trap loop in F minor" in text and "compose" in text and "progression" in text


async def test_completions_for_artifact_ids_and_prompt_arguments(client):
    from mcp.types import PromptReference, ResourceTemplateReference

    clip = await call_ok(client, "notation_to_clip", {"text": "C F G C"})
    ref = ResourceTemplateReference(uri="liveloom://artifact/{artifact_id}")
    got = (await client.complete(ref, {"name": "artifact_id", "value": "cl"})).completion
    assert clip["id"] in got.values and all(v.startswith("clip_") for v in got.values)
    assert (await client.complete(ref, {"name": "artifact_id", "value": "song_"})).completion.values == []
    styles = (await client.complete(PromptReference(name="make_loop"), {"name": "style", "value": "l"})).completion
    assert styles.values == ["lofi"]
    keys = (await client.complete(PromptReference(name="make_loop"), {"name": "key", "value": "F#"})).completion
    assert keys.values == ["F# major", "F# minor"]
    forms = (await client.complete(PromptReference(name="song_into_live"), {"name": "form", "value": ""})).completion
    assert "verse-chorus" in forms.values


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_logging_set_level_and_job_stages_as_messages(server):
    """Stages of a long job arrive as notifications/message: on a handshake-era connection after logging/setLevel,
    on a 2026-07-28 one for requests that opt in with a log level (SEP-2577)."""
    from mcp import Client

    args = {"role": "chords", "style": "chorale", "engine": "model", "bars": 2, "seed": 1}
    for mode, level in (("legacy", None), ("auto", "info")):
        messages = []

        async def on_log(params, messages=messages):
            messages.append((params.level, str(params.data)))

        async with Client(server, mode=mode, logging_callback=on_log, log_level=level) as c:
            if mode == "legacy":
                await c.set_logging_level("info")
            await call_ok(c, "compose", args)
            assert any(lv == "info" and data.startswith("compose:") for lv, data in messages), (mode, messages)
            if mode == "legacy":
                await c.set_logging_level("error")
                assert server.services.client_log_level == "error"
                messages.clear()
                await call_ok(c, "compose", {**args, "seed": 2})
                assert messages == []
                await c.set_logging_level("info")


async def result_chars(client, tool: str, args: dict) -> tuple[int, dict]:
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.content[0].text
    text = sum(len(b.text) for b in result.content if getattr(b, "type", "") == "text")
    return text + len(json.dumps(result.structured_content)), result.structured_content


async def test_results_fit_an_agents_context(client):
    clip = await call_ok(client, "notation_to_clip", {"text": " ".join(["C4:0.5 E4:0.5 G4:0.5 B4:0.5"] * 16)})
    assert clip["notes"] == 64
    size, page = await result_chars(client, "get_clip", {"id": clip["id"], "notes": True})
    assert size <= 6_000 and len(page["notes"]["pitch"]) == 64 and page["notes"]["mute"] is None
    size, song = await result_chars(client, "arrange", {"style": "pop", "seed": 1})
    assert size <= 6_000 and song["bars"] == 56
    size, page = await result_chars(client, "get_clip", {"id": song["id"], "notes": True})
    assert size <= 25_000 and len(page["notes"]["pitch"]) == 200 and page["next_offset"] == 200
    assert len(page["notes"]["track"]) == 200
    text = (await client.call_tool("get_clip", {"id": clip["id"]})).content[0].text
    assert "\n" not in text and "null" not in text  # compact JSON, nulls left out of the text copy


# The annotations, as a table: read-only tools read (a clip, a file, the Live set) and at most store a view of
# it (an analysis, an image, a copy of a Live clip); destructive ones overwrite or remove something (a file with
# overwrite, Live's tempo, a clip's notes, a device, a track); idempotent ones have no further effect when
# repeated (tools that store a new artifact on every call are not). docs/tools.md shows the same table.
ANNOTATIONS = {  # name: (read_only, destructive, idempotent)
    "list_artifacts": (1, 0, 1), "get_clip": (1, 0, 1), "import_midi": (0, 0, 0), "export_midi": (0, 1, 0),
    "piano_roll": (1, 0, 1), "render_audio": (0, 1, 0), "notation_to_clip": (0, 0, 0), "compose": (0, 0, 0),
    "continue_clip": (0, 0, 0), "harmonize": (0, 0, 0), "vary": (0, 0, 0), "interpolate": (0, 0, 0),
    "arrange": (0, 0, 0), "orchestrate": (0, 0, 0), "analyze_clip": (1, 0, 1), "analyze_audio": (1, 0, 1),
    "transcribe": (0, 0, 0), "reorchestrate_audio": (0, 1, 0), "transpose": (0, 0, 0), "quantize": (0, 0, 0),
    "humanize": (0, 0, 0), "groove_transfer": (0, 0, 0), "drumify": (0, 0, 0), "reharmonize": (0, 0, 0),
    "restyle": (0, 0, 0), "live_status": (1, 0, 1), "get_session": (1, 0, 1), "create_track": (0, 0, 0),
    "write_clip": (0, 1, 0), "read_clip": (1, 0, 0), "read_song": (1, 0, 0), "write_automation": (0, 1, 1),
    "write_song": (0, 1, 0), "set_device_parameter": (0, 1, 1), "transport": (0, 1, 1), "fire": (0, 0, 0),
    "undo": (0, 1, 0), "browse_devices": (1, 0, 1), "load_device": (0, 1, 0), "set_mixer": (0, 1, 1),
    "scene": (0, 1, 0), "delete": (0, 1, 0), "duplicate": (0, 0, 0), "rename": (0, 1, 1),
    "write_audio_clip": (0, 0, 0), "edit_clip": (0, 0, 0), "index_library": (0, 0, 1), "find_samples": (1, 0, 1),
    "learn_style": (0, 0, 0), "list_styles": (1, 0, 1), "delete_style": (0, 1, 1),
}


async def test_annotations_follow_the_table(client):
    tools = {t.name: t.annotations for t in (await client.list_tools()).tools}
    assert set(tools) == set(ANNOTATIONS)
    got = {n: (int(bool(a.read_only_hint)), int(bool(a.destructive_hint)), int(bool(a.idempotent_hint)))
           for n, a in tools.items()}
    assert got == ANNOTATIONS
    assert all(a.open_world_hint is False for a in tools.values())  # nothing reaches beyond this machine and Live
    doc = (Path(__file__).resolve().parents[1] / "docs" / "tools.md").read_text()
    for name, (ro, de, idem) in ANNOTATIONS.items():
        row = f"| `{name}` | {'yes' if ro else ''} | {'yes' if de else ''} | {'yes' if idem else ''} |"
        assert row in doc, row


@pytest.mark.skipif(not HAS_FLUIDSYNTH, reason="render_audio needs FluidSynth (scripts/install.sh installs it)")
async def test_render_audio_can_return_a_short_preview_to_play(client):
    import base64
    import io

    import soundfile as sf

    song = await call_ok(client, "arrange", {"style": "lofi", "bars": 4, "seed": 1})
    result = await client.call_tool("render_audio", {"id": song["id"], "preview": True})
    assert not result.is_error
    audio = [b for b in result.content if b.type == "audio"]
    assert len(audio) == 1 and audio[0].mime_type == "audio/ogg"
    data = base64.b64decode(audio[0].data)
    samples, rate = sf.read(io.BytesIO(data))
    assert rate == 22050 and samples.ndim == 1 and 29.0 <= len(samples) / rate <= 30.01
    assert len(data) < 400_000 and result.structured_content["seconds"] > 60  # the full render is stored
    plain = await client.call_tool("render_audio", {"id": song["id"]})
    assert all(b.type != "audio" for b in plain.content)


async def test_edit_clip_saves_a_new_clip_or_song_and_keeps_the_source(client):
    melody = await call_ok(client, "notation_to_clip", {"text": "E5:1 D5:1 C5:2 D5:1 E5:1 E5:2", "key": "C major"})
    song = await call_ok(client, "harmonize", {"id": melody["id"], "style": "pop"})
    page = (await call_ok(client, "get_clip", {"id": song["id"], "notes": True, "limit": 2000}))
    cols = page["notes"]
    assert page["next_offset"] is None
    cols = {k: cols[k][1:] for k in ("pitch", "start", "duration", "velocity", "track")}  # delete the first note
    edited = await call_ok(client, "edit_clip", {"id": song["id"], "notes": cols, "name": "trimmed"})
    assert edited["kind"] == "song" and edited["notes"] == song["notes"] - 1 and edited["name"] == "trimmed"
    assert [t["name"] for t in edited["tracks"]] == [t["name"] for t in song["tracks"]]
    assert [t["is_drum"] for t in edited["tracks"]] == [t["is_drum"] for t in song["tracks"]]
    assert (await call_ok(client, "get_clip", {"id": song["id"]}))["artifact"]["notes"] == song["notes"]
    from helpers import call_err

    err = await call_err(client, "edit_clip", {"id": song["id"], "notes": {"pitch": [60], "start": [0, 1],
                                                                           "duration": [1], "velocity": [90]}})
    assert "one entry per note" in err
    err = await call_err(client, "edit_clip", {"id": song["id"], "notes": {**{k: v[:1] for k, v in cols.items()},
                                                                           "track": [9]}})
    assert "tracks" in err
