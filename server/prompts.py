"""Prompts (starting points a person picks in their MCP host) and completions (artifact ids by prefix for the
artifact resources; styles, keys, forms and Live's track names for prompt arguments)."""

from __future__ import annotations

from mcp.types import Completion, PromptReference, ResourceTemplateReference

KEYS = [f"{t} {m}" for m in ("major", "minor") for t in ("C", "C#", "Db", "D", "Eb", "E", "F", "F#", "Gb", "G",
                                                          "Ab", "A", "Bb", "B")]
MAX_COMPLETIONS = 100


def register_prompts(server) -> None:
    @server.prompt(title="Make a loop", description="An N-bar loop in a style and key: chords, bass, drums and a "
                   "hook that fit, checked, as a piano roll and audio.")
    def make_loop(style: str = "lofi", key: str = "D minor", bars: str = "8") -> str:
        return (f"Make a {bars}-bar {style} loop in {key}. Compose the chords first with compose (role chords, "
                f"style {style}), then bass, drums and a melody with compose, passing the chords' progression to each "
                "so the parts fit. Check each result's checks, show me a piano_roll of the parts together "
                "(arrange with seed_clips, or orchestrate), and render_audio a preview. Tell me the progression and "
                "what you would change.")

    @server.prompt(title="Write a song into Live", description="Arrange a song in a style and form and put it "
                   "into Ableton Live with instruments, named scenes and a first mix.")
    def song_into_live(style: str = "pop", key: str = "C major", form: str = "verse-chorus") -> str:
        return (f"Arrange a {style} song in {key} with the form {form} (arrange). Call live_status first. Then "
                "write_song into Live — every new track gets a fitting instrument and the sections become named "
                "scenes — and get_session to check it. Set a first mix with set_mixer (drums and bass forward, pads "
                "back, a little reverb send on the lead). Report the tracks, instruments and scenes as Live shows them.")

    @server.prompt(title="Transcribe and arrange a recording", description="A recording (in an allowed folder) "
                   "to notes, then a full arrangement in a style.")
    def transcribe_and_arrange(path: str, style: str = "pop") -> str:
        return (f"Transcribe the recording {path!r} with transcribe (melody mode if it is one line; piano: true "
                "for solo piano). analyze_clip the result for key, chords and tempo. Then arrange a "
                f"{style} song "
                "around it: use the transcribed line as the lead (arrange with seed_clips) and reharmonize if its "
                "chords are thin. Show a piano_roll and render_audio, and say how faithful the transcription looks.")

    @server.prompt(title="Analyze my Live set", description="Read the running Live set and say what it is: key, "
                   "chords, tempo, form, mix and what to try next.")
    def analyze_my_set() -> str:
        return ("Call get_session to see the set (tracks, devices, mixer, scenes), then read_song and analyze_clip "
                "on its parts: key and mode, chords per bar with numerals, tempo and meter, groove, structure. "
                "Summarise the song, point out clashes between parts and empty registers, and suggest three "
                "concrete changes I could make with liveloom's tools.")

    @server.prompt(title="Restyle a melody", description="Keep a melody and write new voices below it in a style "
                   "with the trained model.")
    def restyle_melody(id: str, style: str = "chorale") -> str:
        return (f"Restyle the melody {id} as {style} with restyle: keep it note for note and write the voices "
                "below it. Report the checks and the style classifier's verdict, show a piano_roll, and offer "
                "harmonize or reharmonize as alternatives if the result's checks fail.")


def register_logging(server) -> None:
    """`logging/setLevel`: the least severe level of the `notifications/message` this server sends (stages of long
    jobs at info, unexpected failures at error). The 2026-07-28 spec deprecates it; hosts of the 2025 revisions
    use it, and the MCP Inspector shows the messages."""
    from mcp.types import EmptyResult, SetLevelRequestParams

    async def set_level(ctx, params: SetLevelRequestParams) -> EmptyResult:
        server.services.client_log_level = str(params.level)
        return EmptyResult()

    server._lowlevel_server.add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)


def register_completions(server) -> None:
    @server.completion()
    async def complete(ref, argument, context):
        name, value = argument.name, (argument.value or "")
        if isinstance(ref, ResourceTemplateReference) and name == "artifact_id":
            return _artifact_ids(server, value)
        if isinstance(ref, PromptReference):
            if name == "style":
                from liveloom.music.styles import style_names

                return _matching(style_names(), value)
            if name == "key":
                return _matching(KEYS, value)
            if name == "form":
                from liveloom.engines.arranger import FORMS

                return _matching(sorted(FORMS), value)
            if name == "id":
                return _artifact_ids(server, value, kind="clip")
            if name == "track":
                return await _track_names(server, value)
        return None


def _matching(options: list[str], prefix: str) -> Completion:
    hits = [o for o in options if o.lower().startswith(prefix.lower())]
    return Completion(values=hits[:MAX_COMPLETIONS], total=len(hits), has_more=len(hits) > MAX_COMPLETIONS)


def _artifact_ids(server, prefix: str, kind: str | None = None) -> Completion:
    """Ids by prefix; a kind prefix ('clip_', 'song_', 'audio_') narrows to that kind."""
    kinds = ("clip", "song", "analysis", "audio", "image", "midi")
    kind = kind or next((k for k in kinds if prefix.startswith(k + "_") or (prefix and k.startswith(prefix))
                         and "_" not in prefix), None)
    records, _ = server.services.workspace.list(kind=kind, limit=500)
    return _matching([r.id for r in records], prefix)


async def _track_names(server, prefix: str) -> Completion:
    from liveloom.ableton_bridge.client import LiveUnavailable
    from liveloom.music.errors import LiveloomError

    try:
        names = await (await server.services.live.bridge()).track_names()
    except (LiveUnavailable, LiveloomError):
        return Completion(values=[], total=0, has_more=False)
    return _matching(names, prefix)
