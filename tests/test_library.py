"""The sample library (issue 23) through a real MCP client: index a folder of rendered loops with known key and
tempo, find each by key + tempo, re-index incrementally, skip a corrupt file, cancel, and get the same catalogue
from a 2-worker Dask cluster on loopback as from the local pool."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest
from helpers import HAS_FLUIDSYNTH, call_err, call_ok

from liveloom.engines import library_index as li
from liveloom.music.errors import Cancelled
from liveloom.music.jobs import Job
from liveloom.store.catalogue import Catalogue

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import library_data as data  # noqa: E402

pytestmark = [pytest.mark.anyio, pytest.mark.skipif(not HAS_FLUIDSYNTH or not data.available_soundfonts(),
                                                    reason="needs FluidSynth and a GM soundfont to render loops")]

# (file, kind, key, tempo, bars, style): tempos all different, so key + tempo names one loop
LOOPS = [("bassline.wav", "bass", "F minor", 90, 2, "lofi"), ("sub.wav", "bass", "A minor", 124, 2, "house"),
         ("keys.wav", "chords", "Eb major", 100, 2, "pop"), ("lead.wav", "melodic", "D major", 132, 2, "folk"),
         ("pads.wav", "chords", "B minor", 76, 2, "ambient"), ("beat.wav", "drum_loop", None, 94, 2, "funk"),
         ("trapbeat.wav", "drum_loop", None, 140, 2, "trap")]


@pytest.fixture(scope="module")
def loops(tmp_path_factory) -> Path:
    """The loops above rendered once (FluidR3 where installed) plus two MIDI files."""
    folder = tmp_path_factory.mktemp("loops")
    items = [data.loop_item(name, kind, key, bpm, bars, style, seed=i)
             for i, (name, kind, key, bpm, bars, style) in enumerate(LOOPS)]
    fonts = data.available_soundfonts()
    font = fonts.get("fluidr3") or next(iter(fonts.values()))
    for (item, _, _), audio in zip(items, data.render_items(items, font)):
        (folder / item.name).write_bytes(data.wav_bytes(audio))
    for name, kind, key, bpm in (("walk.mid", "bass", "G minor", 110), ("comp.mid", "chords", "C major", 96)):
        item, events, programs = data.loop_item(name, kind, key, bpm, 4, "jazz", seed=9)
        (folder / name).write_bytes(data.midi_file(item, events, programs))
    return folder


def library_in(server, loops: Path, name: str = "Samples") -> Path:
    dest = server.services.workspace.files_dir / name
    shutil.copytree(loops, dest)
    return dest


@pytest.mark.slow
async def test_index_then_find_each_loop_by_key_and_tempo(client, server, loops):
    lib = library_in(server, loops)
    progress = []

    async def on_progress(done, total, message):
        progress.append((done, total))

    result = await client.call_tool("index_library", {"folder": "Samples", "workers": 2},
                                    progress_callback=on_progress)
    assert not result.is_error, result.content[0].text
    r = result.structured_content
    assert (r["found"], r["analysed"], r["failed"], r["unchanged"]) == (9, 9, 0, 0)
    assert progress and progress[-1][0] == progress[-1][1] == 9
    assert len(result.content[0].text) < 1500  # a compact report
    for name, kind, key, bpm, _, _ in LOOPS:
        args = {"tempo": bpm, "key": key} if key else {"tempo": bpm, "kind": ["drum_loop"]}
        found = await call_ok(client, "find_samples", args)
        top = found["hits"][0]
        assert Path(top["path"]).name == name, (name, found["hits"][:3])
        assert top["path"] == str(lib / name)
        assert "BPM" in top["why"]  # its tempo, or half or double it (a loop's octave is ambiguous)
        if key:
            assert top["key"] == key or "relative" in top["why"] or "fifth" in top["why"], top
    # the drum loops are drum loops, and nothing tonal was given a key it cannot have
    drums = await call_ok(client, "find_samples", {"kind": ["drum_loop"]})
    assert {Path(h["path"]).name for h in drums["hits"]} >= {"beat.wav", "trapbeat.wav"}
    assert all(h["key"] is None for h in drums["hits"])
    # MIDI files: key and tempo from the file
    midi = await call_ok(client, "find_samples", {"format": "midi"})
    by_name = {Path(h["path"]).name: h for h in midi["hits"]}
    assert by_name["walk.mid"]["tempo"] == 110 and by_name["walk.mid"]["key"] == "G minor"
    assert by_name["comp.mid"]["tempo"] == 96 and by_name["walk.mid"]["kind"] == "bass"
    # compatible keys: asking for C minor finds the Eb major keys (its relative major) at 100
    rel = await call_ok(client, "find_samples", {"key": "C minor", "tempo": 100})
    assert Path(rel["hits"][0]["path"]).name == "keys.wav" and "relative major" in rel["hits"][0]["why"]
    exact = await call_ok(client, "find_samples", {"key": "C minor", "tempo": 100, "compatible_keys": False})
    assert all(Path(h["path"]).name != "keys.wav" for h in exact["hits"])
    # double time: a 152 BPM track takes the 76 BPM pads
    double = await call_ok(client, "find_samples", {"tempo": 152, "key": "B minor"})
    assert Path(double["hits"][0]["path"]).name == "pads.wav" and "double time" in double["hits"][0]["why"]
    assert (await call_ok(client, "find_samples", {"tempo": 152, "key": "B minor", "half_double": False}))[
        "matched"] == 0
    # a page of hits stays small
    page = await client.call_tool("find_samples", {"limit": 10})
    assert len(page.content[0].text) < 4000
    # and a hit goes into Live (the simulated set) as an audio clip
    track = await call_ok(client, "create_track", {"name": "Loops", "kind": "audio"})
    hit = (await call_ok(client, "find_samples", {"key": "Eb major", "tempo": 100}))["hits"][0]
    placed = await call_ok(client, "write_audio_clip", {"path": hit["path"], "track": track["index"], "slot": 0})
    assert placed["file"] == "keys.wav"


@pytest.mark.slow
async def test_reindex_touches_only_what_changed_and_skips_a_corrupt_file(client, server, loops):
    lib = library_in(server, loops)
    (lib / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" + os.urandom(64))
    first = await call_ok(client, "index_library", {"folder": str(lib), "workers": 2})
    assert (first["found"], first["analysed"], first["failed"]) == (10, 9, 1)
    assert first["failures"][0].startswith("broken.wav: ") and "Traceback" not in first["failures"][0]
    # one file changed, one only touched, one renamed, one deleted
    raw = bytearray((lib / "keys.wav").read_bytes())
    raw[-4000:] = bytes(4000)
    (lib / "keys.wav").write_bytes(bytes(raw))
    os.utime(lib / "lead.wav", None)
    (lib / "pads.wav").rename(lib / "pads_renamed.wav")
    (lib / "sub.wav").unlink()
    second = await call_ok(client, "index_library", {"folder": str(lib), "workers": 1})
    assert second["analysed"] == 1, second  # keys.wav only
    assert second["reused"] == 2  # lead.wav (touched) and pads_renamed.wav (moved): known content
    assert second["removed"] == 2  # sub.wav, pads.wav
    assert second["unchanged"] == 6 and second["failed"] == 0  # broken.wav unchanged: not tried again
    assert second["found"] == 9 and second["catalogue_files"] == 8
    third = await call_ok(client, "index_library", {"folder": str(lib)})
    assert (third["analysed"], third["reused"], third["unchanged"]) == (0, 0, 9)


async def test_bad_requests_say_what_to_do(client, server, outside):
    assert "index a folder first" in await call_err(client, "find_samples", {"key": "F minor"})
    assert "outside the folders" in await call_err(client, "index_library", {"folder": str(outside)})
    assert "no folder" in await call_err(client, "index_library", {"folder": "nope"})
    (server.services.workspace.files_dir / "a.wav").write_bytes(b"x")
    assert "is a file" in await call_err(client, "index_library", {"folder": "a.wav"})
    msg = await call_err(client, "index_library", {"folder": ".", "cluster": "tcp://10.1.2.3:8786"})
    assert "LIVELOOM_CLUSTERS" in msg
    assert "not a Dask scheduler address" in await call_err(client, "index_library",
                                                           {"folder": ".", "cluster": "http://x"})


@pytest.mark.slow
async def test_like_a_clip_finds_what_fits_it(client, server, loops):
    library_in(server, loops)
    await call_ok(client, "index_library", {"folder": "Samples", "workers": 2})
    clip = await call_ok(client, "compose", {"role": "bass", "style": "lofi", "key": "F minor", "tempo": 90,
                                             "bars": 2, "engine": "theory"})
    found = await call_ok(client, "find_samples", {"like": clip["id"]})
    assert "F minor" in found["example"] and Path(found["hits"][0]["path"]).name == "bassline.wav"
    # more like an earlier hit: the other drum loop sounds nearest to a drum loop
    hit = str(server.services.workspace.files_dir / "Samples" / "beat.wav")
    alike = await call_ok(client, "find_samples", {"like": hit, "format": "audio"})
    assert Path(alike["hits"][0]["path"]).name == "trapbeat.wav", alike["hits"][:3]
    assert "alike" in alike["hits"][0]["why"] and all(Path(h["path"]).name != "beat.wav" for h in alike["hits"])


@pytest.mark.slow
def test_cancel_stops_within_a_second_and_keeps_finished_files(loops, tmp_path):
    lib = tmp_path / "lib"
    for i in range(6):  # enough files that the run is still going when cancelled
        shutil.copytree(loops, lib / f"set{i}")
        for p in (lib / f"set{i}").iterdir():  # distinct content per copy: nothing is reused
            p.write_bytes(p.read_bytes() + bytes([i]))
    cat = Catalogue(tmp_path / "cat.sqlite")
    job = Job()
    analysed = []

    def report(done, total, what):
        if what == "analysing" and done >= 3 and not job.cancel.is_set():
            analysed.append(time.perf_counter())
            job.cancel.set()

    job.report = report
    with pytest.raises(Cancelled):
        li.run_index(lib, cat, li.LocalPool(2), options={}, job=job)
    assert time.perf_counter() - analysed[0] < 1.0
    kept = cat.rows()
    assert 3 <= len(kept) < 54
    # the next run resumes: what was finished is not analysed again
    counts = li.run_index(lib, cat, li.LocalPool(2), options={})
    assert counts["resumed"] and counts["unchanged"] == len(kept) and counts["analysed"] == 54 - len(kept)


@pytest.mark.slow
def test_a_dask_cluster_gives_the_same_catalogue_as_the_local_pool(loops, tmp_path):
    from distributed import LocalCluster

    local = Catalogue(tmp_path / "local.sqlite")
    li.run_index(loops, local, li.LocalPool(2), options={})
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=50) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        remote = Catalogue(tmp_path / "dask.sqlite")
        counts = li.run_index(loops, remote, li.DaskCluster(cluster.scheduler_address), options={})
    assert counts["analysed"] == 9 and "2 workers" in counts["engine"]
    assert local.rows() == remote.rows()


@pytest.mark.slow
async def test_index_library_on_a_loopback_cluster_through_mcp(client, server, loops):
    from distributed import LocalCluster

    library_in(server, loops)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=50) as cluster:
        r = await call_ok(client, "index_library", {"folder": "Samples", "cluster": cluster.scheduler_address})
    assert r["engine"].startswith("Dask cluster at tcp://127.0.0.1") and r["analysed"] == 9


def test_liveloom_index_cli(loops, tmp_path):
    import subprocess

    env = {**os.environ, "LIVELOOM_HOME": str(tmp_path / "home")}
    out = subprocess.run([sys.executable, "-m", "liveloom", "index", str(loops), "--workers", "2", "--json"],
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert r["analysed"] == 9 and r["folder"] == str(loops.resolve())
    assert "Traceback" not in out.stderr


@pytest.mark.slow
async def test_every_audio_format_and_midi_is_read(client, server, loops):
    import soundfile as sf

    lib = server.services.workspace.files_dir / "Formats"
    lib.mkdir()
    y, rate = sf.read(loops / "keys.wav")
    for name, fmt in (("keys.flac", "FLAC"), ("keys.ogg", "OGG"), ("keys.aiff", "AIFF"), ("keys.wav", "WAV")):
        sf.write(lib / name, y, rate, format=fmt)
    shutil.copy(loops / "walk.mid", lib / "walk.midi")
    (lib / "notes.txt").write_text("not a sample")  # other files are not samples: left out
    r = await call_ok(client, "index_library", {"folder": "Formats", "workers": 1})
    assert (r["found"], r["analysed"], r["failed"]) == (5, 5, 0), r
    found = await call_ok(client, "find_samples", {"folder": "Formats", "format": "audio"})
    assert {Path(h["path"]).suffix for h in found["hits"]} == {".flac", ".ogg", ".aiff", ".wav"}
    assert len({(h["kind"], h["tempo"]) for h in found["hits"]}) == 1  # the same loop, however it was stored


async def test_a_link_out_of_the_folder_is_refused_not_followed(client, server, outside):
    lib = server.services.workspace.files_dir / "Linked"
    lib.mkdir()
    secret = outside / "private.wav"
    secret.write_bytes(b"RIFF")
    os.symlink(secret, lib / "sneaky.wav")
    r = await call_ok(client, "index_library", {"folder": "Linked", "workers": 1})
    assert (r["found"], r["analysed"], r["failed"]) == (0, 0, 1)
    assert r["failures"] and "outside the folder" in r["failures"][0] and "sneaky.wav" in r["failures"][0]
