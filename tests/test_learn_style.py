"""Learning a producer's style (issue 22) through a real MCP client: a folder of multi-track MIDI songs (drums
included) fine-tunes the model with progress, the held-out loss falls, the learned style composes, arranges and
continues; a cancelled run stores no style and the same call resumes it; two data-parallel workers (torchrun, gloo
on loopback) follow one process's loss curve and write a checkpoint that loads."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest
from helpers import call_err, call_ok
from mcp import Client

from liveloom.models import tokenizer as T

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import learn_data

pytestmark = pytest.mark.anyio
QUICK = {"name": "my lofi", "folder": "MIDI", "steps": 12, "minutes": 5}


@pytest.fixture(scope="module")
def songs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("songs")
    learn_data.write_song_folder(folder, "lofi", 10, forms=["verse-chorus"])
    return folder


def _midi_in(server, songs: Path) -> Path:
    import shutil

    dest = server.services.workspace.files_dir / "MIDI"
    shutil.copytree(songs, dest)
    return dest


def test_the_kit_is_a_voice_of_its_own_and_keeps_its_notes_when_transposed():
    from liveloom.models.data import transpose

    p = T.Piece([48, 48], [T.TNote(0, 60, 0, 0, 12), T.TNote(1, 48, 0, 0, 6), T.TNote(T.KIT, 36, 0, 0, 3),
                           T.TNote(T.KIT, 42, 0, 0, 3), T.TNote(T.KIT, 38, 1, 12, 3), T.TNote(0, 62, 1, 12, 3)])
    tokens = T.encode(p, T.Header(voices=3))
    assert T.describe(tokens).count("V_KIT") == 2
    assert T.decode(tokens)[1].notes == p.sorted_notes()  # exact round trip, kit included
    moved = T.decode_bars(transpose(tokens[T.HEADER_LEN:], 3), 48).notes
    assert sorted(n.pitch for n in moved if n.voice == T.KIT) == [36, 38, 42]  # drums stay drums
    assert sorted(n.pitch for n in moved if n.voice != T.KIT) == [51, 63, 65]
    assert T.VOCAB[:T.BASE_VOCAB] == T.VOCAB[:-1] and T.V_KIT == T.BASE_VOCAB  # earlier ids keep their meaning


async def test_learn_a_style_then_compose_arrange_and_continue_in_it(server, songs):
    folder = _midi_in(server, songs)
    async with Client(server) as client:
        seen = []

        async def on_progress(done, total, message):
            seen.append((done, total, message))

        result = await client.call_tool("learn_style", QUICK, progress_callback=on_progress)
        assert not result.is_error, result.content[0].text
        r = result.structured_content
        assert len(result.content[0].text) < 2000  # a compact report
        assert r["pieces"] == 10 and r["held_out"] == 1 and not r["skipped"]
        assert "drums (10)" in r["knows"] and "melody (10)" in r["knows"]
        before, after = (float(x) for x in r["held_out_loss"].split(" -> "))
        assert after < before - 0.5, r["held_out_loss"]  # the network now predicts the held-out song far better
        steps = [d for d, t, m in seen if m.startswith("training steps")]
        assert steps == sorted(steps) and steps[-1] == 12  # progress, step by step
        assert any(m.startswith("measuring") for _, _, m in seen)

        listed = await call_ok(client, "list_styles", {})
        mine = [s for s in listed["styles"] if s["kind"] == "learned"]
        assert [s["name"] for s in mine] == ["my lofi"] and listed["learned"] == 1
        assert any(s["name"] == "lofi" and s["kind"] == "library" for s in listed["styles"])
        card = json.loads((server.services.styles.folder("my lofi") / "style.json").read_text())
        assert len(card["sources"]["hashes"]) == 10 and "notes" not in json.dumps(card["knows"]).lower().replace(
            "notes_per_bar", "")  # content hashes, not the music

        for role in ("melody", "bass", "chords", "drums"):
            made = await call_ok(client, "compose", {"role": role, "style": "my lofi", "bars": 4, "seed": 3})
            assert "learned style 'my lofi'" in made["engine"], made["engine"]
            assert made["all_checks_passed"], (role, made["checks"])
            assert made["notes"] > 0
        drums = await call_ok(client, "get_clip", {"id": made["id"], "notes": True})
        kit = {int(k) for k in card["knows"]["kit"]}
        assert set(drums["notes"]["pitch"]) <= kit  # only the drums the producer used
        counter = await call_ok(client, "compose", {"role": "counter", "style": "my lofi", "bars": 4})
        assert "theory" in counter["engine"]  # a role it never heard: the library style it is like

        song = await call_ok(client, "arrange", {"style": "my lofi", "form": "verse-chorus", "seed": 1})
        assert "learned style 'my lofi'" in song["engine"] and song["style"] == "my lofi"
        melody = (await call_ok(client, "compose", {"role": "melody", "style": "lofi", "bars": 4}))["id"]
        more = await call_ok(client, "continue_clip", {"id": melody, "style": "my lofi", "bars": 2})
        assert "learned style 'my lofi'" in more["engine"] and more["bars"] == 6
        beat = (await call_ok(client, "compose", {"role": "drums", "style": "lofi", "bars": 2}))["id"]
        more = await call_ok(client, "continue_clip", {"id": beat, "style": "my lofi", "bars": 2})
        assert "learned style 'my lofi'" in more["engine"]
        harmonized = await call_ok(client, "harmonize", {"id": melody, "style": "my lofi"})
        assert "learned style 'my lofi'" in harmonized["engine"]

        assert "exists" in await call_err(client, "learn_style", QUICK)
        assert "library style" in await call_err(client, "learn_style", {**QUICK, "name": "lofi"})
        assert "learned" in await call_err(client, "delete_style", {"name": "jazz"})
        gone = await call_ok(client, "delete_style", {"name": "My Lofi"})
        assert gone["name"] == "my lofi"
        assert (await call_ok(client, "list_styles", {"learned_only": True}))["styles"] == []
        assert "unknown style" in await call_err(client, "compose", {"role": "melody", "style": "my lofi"})
    assert folder.exists()
    await server.services.live.close()


async def test_bad_sources_are_refused_before_work(server, tmp_path):
    async with Client(server) as client:
        assert "give a folder" in await call_err(client, "learn_style", {"name": "x"})
        assert "name" in await call_err(client, "learn_style", {"name": "../../etc", "folder": "MIDI"})
        outside = await call_err(client, "learn_style", {"name": "x", "folder": str(tmp_path)})
        assert "allowed" in outside or "outside" in outside
        folder = server.services.workspace.files_dir / "junk"
        folder.mkdir()
        (folder / "a.mid").write_bytes(b"not midi")
        (folder / "b.mid").write_bytes(b"MThd nope")
        msg = await call_err(client, "learn_style", {"name": "x", "folder": "junk"})
        assert "usable piece" in msg and "a.mid" in msg
    await server.services.live.close()


async def test_a_cancelled_run_stores_no_style_and_the_same_call_resumes(server, songs):
    _midi_in(server, songs)
    args = {**QUICK, "steps": 400}
    async with Client(server) as client:
        reached = anyio.Event()

        async def on_progress(done, total, message):
            if message.startswith("training steps") and done >= 3:
                reached.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: client.call_tool("learn_style", args, progress_callback=on_progress))
            with anyio.fail_after(120):
                await reached.wait()
            tg.cancel_scope.cancel()
        await anyio.sleep(1.5)  # the training loop stops within a step and saves its checkpoint
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await anyio.sleep(1.0)
        busy = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
        assert busy < 0.3, f"still training after the cancel ({busy:.0%} of a core)"
        assert (await call_ok(client, "list_styles", {"learned_only": True}))["styles"] == []  # no style stored
        work = server.services.styles.root / ".work"
        assert list(work.glob("*/checkpoint/train.pt")), "the interrupted run's checkpoint is kept"

        again = await call_ok(client, "learn_style", {**args, "minutes": 0.05})  # the same request, a short budget
        assert again["resumed_from"] >= 3, again
        assert "time budget" in again["steps"]
        assert (await call_ok(client, "list_styles", {"learned_only": True}))["learned"] == 1  # usable already
        third = await call_ok(client, "learn_style", {**args, "minutes": 0.05})  # and it goes on from there
        assert third["resumed_from"] > again["resumed_from"]
    await server.services.live.close()


def _run_finetune(data: Path, work: Path, out: Path, workers: int) -> list[tuple[int, float]]:
    from liveloom.models.finetune import launch

    cmd, env = launch(workers, ["--data", str(data), "--work", str(work), "--out", str(out), "--steps", "5",
                                "--batch", "4", "--length", "128", "--threads", "1", "--lr", "3e-3"])
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return [(r["step"], r["loss"]) for r in map(json.loads, (line for line in done.stdout.splitlines()
                                                              if line.startswith('{"step"')))]


@pytest.mark.slow
def test_two_data_parallel_workers_follow_one_process_and_write_the_same_checkpoint(songs, tmp_path):
    from safetensors.torch import load_file

    from liveloom.engines.learning import Source, read_sources
    from liveloom.models.finetune import load_learned
    from liveloom.models.user_corpus import encode_songs

    sources = [Source(name=p.name, path=str(p)) for p in sorted(songs.glob("*.mid"))[:6]]
    read, _ = read_sources(sources, 1 << 24)
    works, _ = encode_songs(read)
    data = tmp_path / "data.pkl"
    data.write_bytes(pickle.dumps({"train": [e for e in works if e.split == "train"],
                                   "held_out": [e for e in works if e.split == "valid"]}))
    one = _run_finetune(data, tmp_path / "w1", tmp_path / "o1", 1)
    two = _run_finetune(data, tmp_path / "w2", tmp_path / "o2", 2)
    assert [s for s, _ in one] == [s for s, _ in two] == [1, 2, 3, 4, 5]
    for (_, a), (_, b) in zip(one, two):
        assert abs(a - b) < 2e-3 * max(1.0, abs(a)), (one, two)  # the same curve, to float rounding
    assert one[-1][1] < one[0][1]
    w1 = load_file(str(tmp_path / "o1" / "adapter" / "adapter_model.safetensors"))
    w2 = load_file(str(tmp_path / "o2" / "adapter" / "adapter_model.safetensors"))
    assert w1.keys() == w2.keys()
    for k in w1:
        assert (w1[k] - w2[k]).abs().max() < 1e-3, k
    model = load_learned(tmp_path / "o2")  # the data-parallel checkpoint is an ordinary learned style
    gen = model.generate(T.Header(style="other", voices=1, meter_ticks=48), 2, seed=0)
    assert len(gen.piece.bar_ticks) == 2
