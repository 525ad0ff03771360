"""The sample library, measured: a generated library with known answers, indexed three ways.

    .venv/bin/python bench/library.py [--audio-per-kind 45] [--midi-per-kind 8] [--check]

The library (bench/library_data.py, seed 11 — parts the kind classifier never saw): loops and one-shots of six
kinds rendered through every GM soundfont installed (FluidR3, MuseScore General, TimGM6mb), plus MIDI files;
numbered names, so nothing is read from a name. Printed:
* accuracy of kind, key (exact, and the MIREX weighting: fifth 0.5, relative 0.3, parallel 0.2) and tempo (within
  2 %, and allowing half/double), for liveloom and for a plain reference in the same run: librosa's beat_track
  tempo and a Krumhansl-Schmuckler key from the summed CQT chroma (what a script would do);
* files per second with 1 and 2 local workers and on a 2-worker Dask cluster on loopback, and whether the cluster
  gave the same catalogue;
* an incremental re-index after 1 % of the files changed and 1 % were only touched.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import library_data as data  # noqa: E402

from liveloom.engines import library_index as li  # noqa: E402
from liveloom.music.theory import parse_key  # noqa: E402
from liveloom.store.catalogue import Catalogue  # noqa: E402

OUT = Path(__file__).resolve().parent / "out" / "library"
DASK = "Dask LocalCluster, 2 workers (tcp, loopback)"


def mirex(truth: str, found: str | None) -> float:
    if not found:
        return 0.0
    a, b = parse_key(truth), parse_key(found)
    ta, ma, tb, mb = a.tonic, a.is_minor, b.tonic, b.is_minor
    if (ta, ma) == (tb, mb):
        return 1.0
    if ma == mb and (tb - ta) % 12 in (5, 7):
        return 0.5
    if ma != mb and (tb - ta) % 12 == (3 if ma else 9):
        return 0.3
    if ma != mb and ta == tb:
        return 0.2
    return 0.0


def tempo_ok(truth: float, found: float | None, octave: bool) -> bool:
    if not found:
        return False
    return any(abs(found * o / truth - 1) <= 0.02 for o in ((1.0, 2.0, 0.5) if octave else (1.0,)))


def reference(path: Path) -> tuple[float, str | None]:
    """What a plain script does: beat_track's tempo, Krumhansl-Schmuckler on the summed CQT chroma."""
    import librosa
    import numpy as np

    from liveloom.engines import audio_analysis as aa
    from liveloom.music import analysis

    y, _ = aa.load(path, 600)
    with warnings.catch_warnings():  # a one-shot is shorter than librosa's frames: it says so once per file
        warnings.simplefilter("ignore", UserWarning)
        tempo, _ = librosa.beat.beat_track(y=y, sr=aa.SR)
        chroma = librosa.feature.chroma_cqt(y=y, sr=aa.SR).sum(axis=1)
    best = analysis.key_correlations([float(x) for x in chroma], "krumhansl")[0]
    return float(np.atleast_1d(tempo)[0]), analysis.key_label(best[1], best[2])


def make_library(a) -> list[dict]:
    stamp = {"audio": a.audio_per_kind, "midi": a.midi_per_kind, "fonts": sorted(data.available_soundfonts())}
    if (OUT / "truth.json").exists() and (OUT / "stamp.json").exists() and \
            json.loads((OUT / "stamp.json").read_text()) == stamp:
        return json.loads((OUT / "truth.json").read_text())
    shutil.rmtree(OUT, ignore_errors=True)
    t = time.time()
    truth = data.write_library(OUT, n_audio_per_kind=a.audio_per_kind, n_midi_per_kind=a.midi_per_kind, seed=11)
    (OUT / "stamp.json").write_text(json.dumps(stamp))
    print(f"made {len(truth)} files in {time.time() - t:.0f} s")
    return truth


def index(engine: li.Engine, db: Path, root: Path = OUT) -> tuple[dict, float, Catalogue]:
    cat = Catalogue(db)
    t = time.perf_counter()
    counts = li.run_index(root, cat, engine, options={})
    return counts, time.perf_counter() - t, cat


def accuracy(truth: list[dict], rows: dict[str, dict]) -> dict:
    out: dict[str, list] = {k: [] for k in ("kind_audio", "kind_midi", "key_exact", "key_mirex", "key_midi",
                                            "tempo", "tempo_octave", "bars", "note")}
    for t in truth:
        r = rows.get(t["file"], {})
        out["kind_audio" if t["format"] == "audio" else "kind_midi"].append(r.get("kind") == t["kind"])
        if t["key"]:
            if t["format"] == "audio":
                out["key_exact"].append(r.get("key") == t["key"] or mirex(t["key"], r.get("key")) == 1.0)
                out["key_mirex"].append(mirex(t["key"], r.get("key")))
            else:
                out["key_midi"].append(mirex(t["key"], r.get("key")) == 1.0)
        if t["tempo"] and t["format"] == "audio":
            out["tempo"].append(tempo_ok(t["tempo"], r.get("tempo"), False))
            out["tempo_octave"].append(tempo_ok(t["tempo"], r.get("tempo"), True))
            out["bars"].append(r.get("bars") == t["bars"])
        if t.get("note"):
            out["note"].append(r.get("note") == t["note"])
    return {k: (statistics.fmean(v) if v else float("nan"), len(v)) for k, v in out.items()}


def local_cluster():
    """Two worker processes of one thread on loopback, without the workers' sampling profiler (it costs ~15 % of
    a core on a 2-core machine; `distributed.worker.profile.enabled: false` does the same on a real cluster)."""
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.worker.profile.enabled": False}):
        return LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                            dashboard_address=None, silence_logs=50)


def comparable(cat: Catalogue) -> dict:
    return {Path(r["path"]).name: {k: v for k, v in r.items() if k != "path"} for r in cat.rows()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--audio-per-kind", type=int, default=45)
    ap.add_argument("--midi-per-kind", type=int, default=8)
    ap.add_argument("--skip-reference", action="store_true")
    ap.add_argument("--check", action="store_true", help="exit 1 when a figure the docs claim regresses")
    a = ap.parse_args()
    from claims import Claim, report, require_defaults

    require_defaults(ap, a, ["audio_per_kind", "midi_per_kind", "skip_reference"])
    missing = sorted(set(data.SOUNDFONTS) - set(data.available_soundfonts()))
    if a.check and missing:  # the published figures come from all three: fewer fonts is another library
        ap.error(f"--check compares with figures measured on a library rendered through {', '.join(data.SOUNDFONTS)}; "
                 f"missing here: {', '.join(missing)} (apt install fluid-soundfont-gm timgm6mb-soundfont "
                 "musescore-general-soundfont)")
    truth = make_library(a)
    n = len(truth)
    print(f"library: {n} files ({sum(t['format'] == 'audio' for t in truth)} audio, "
          f"{sum(t['format'] == 'midi' for t in truth)} MIDI), soundfonts {', '.join(data.available_soundfonts())}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, CPU only\n")
    tmp = Path(tempfile.mkdtemp(prefix="libbench-"))
    timings = {}
    counts, secs, cat1 = index(li.LocalPool(1), tmp / "one.sqlite")
    timings["local pool, 1 worker"] = secs
    counts2, secs, cat2 = index(li.LocalPool(2), tmp / "two.sqlite")
    timings["local pool, 2 workers"] = secs
    cluster = local_cluster()
    try:
        counts3, secs, cat3 = index(li.DaskCluster(cluster.scheduler_address), tmp / "dask.sqlite")
        timings[DASK] = secs
    finally:
        cluster.close()
    same = comparable(cat2) == comparable(cat3) == comparable(cat1)
    failed = counts["failed"] + counts2["failed"] + counts3["failed"]

    rows = {Path(r["path"]).name: r for r in cat2.rows()}
    acc = accuracy(truth, rows)
    ref_tempo, ref_key = [], []
    if not a.skip_reference:
        for t in truth:
            if t["format"] == "audio" and (t["tempo"] or t["key"]):
                bpm, key = reference(OUT / t["file"])
                if t["tempo"]:
                    ref_tempo.append((tempo_ok(t["tempo"], bpm, False), tempo_ok(t["tempo"], bpm, True)))
                if t["key"]:
                    ref_key.append(mirex(t["key"], key))
    print(f"{'measure':<40}{'liveloom':>10}{'reference':>11}{'items':>7}")
    rt = (statistics.fmean(x[0] for x in ref_tempo), statistics.fmean(x[1] for x in ref_tempo)) if ref_tempo else None
    rk = (statistics.fmean(x == 1.0 for x in ref_key), statistics.fmean(ref_key)) if ref_key else None
    lines = [("kind, audio (classifier)", acc["kind_audio"], None), ("kind, MIDI (rules)", acc["kind_midi"], None),
             ("key, audio, exact", acc["key_exact"], rk[0] if rk else None),
             ("key, audio, MIREX weighted", acc["key_mirex"], rk[1] if rk else None),
             ("key, MIDI, exact", acc["key_midi"], None),
             ("tempo, audio, within 2 %", acc["tempo"], rt[0] if rt else None),
             ("tempo, audio, within 2 % or half/double", acc["tempo_octave"], rt[1] if rt else None),
             ("bars of a loop", acc["bars"], None), ("root note of tonal one-shots", acc["note"], None)]
    for what, (value, items), ref in lines:
        print(f"{what:<40}{value:>10.3f}{(f'{ref:.3f}' if ref is not None else '—'):>11}{items:>7}")
    print(f"\n{'engine':<48}{'seconds':>9}{'files/s':>9}")
    for what, secs in timings.items():
        print(f"{what:<48}{secs:>9.1f}{n / secs:>9.2f}")
    print(f"same catalogue from all three: {same}; unreadable: {failed}")

    # incremental: change 1 % of the files, touch another 1 % (in a copy indexed as the library was)
    copy = tmp / "library"
    shutil.copytree(OUT, copy, copy_function=shutil.copy2)
    index(li.LocalPool(2), tmp / "copy.sqlite", copy)
    files = sorted(p for p in copy.iterdir() if p.suffix == ".wav")
    k = max(1, round(0.01 * n))
    changed, touched = files[:k], files[k:2 * k]
    for p in changed:
        raw = bytearray(p.read_bytes())
        raw[-2000:] = bytes(2000)  # the last samples silenced: new content
        p.write_bytes(bytes(raw))
    for p in touched:
        os.utime(p, None)
    counts4, secs4, _ = index(li.LocalPool(2), tmp / "copy.sqlite", copy)
    print(f"re-index after {k} changed and {k} touched of {n}: {secs4:.1f} s, analysed {counts4['analysed']}, "
          f"reused {counts4['reused']}, unchanged {counts4['unchanged']}")
    shutil.rmtree(tmp, ignore_errors=True)
    if not a.check:
        return 0
    one, two = timings["local pool, 1 worker"], timings["local pool, 2 workers"]
    return report([
        Claim("kind accuracy, audio (held out: unseen parts)", acc["kind_audio"][0], 0.90),
        Claim("kind accuracy, MIDI", acc["kind_midi"][0], 0.95),
        Claim("key, audio, MIREX weighted", acc["key_mirex"][0], 0.62),
        # at par with the reference: +0.014 on the library before the theory composer's melodies were made to state
        # their key (2026-12-04), -0.002 after (the same key code; the library's loops changed)
        Claim("key, audio, MIREX weighted, at par with the reference (within 0.01)",
              acc["key_mirex"][0] - (rk[1] if rk else 0), -0.01),
        Claim("key, MIDI, exact (published 0.656)", acc["key_midi"][0], 0.60),
        Claim("root note of tonal one-shots", acc["note"][0], 0.85),
        Claim("tempo within 2 % or half/double", acc["tempo_octave"][0], 0.90),
        Claim("tempo within 2 % or half/double over the reference", acc["tempo_octave"][0] - (rt[1] if rt else 0),
              0.0),
        Claim("2 workers faster than 1 (speed-up)", one / two, 1.5),
        Claim("Dask cluster (2 workers) within 35 % of the local pool (2)", two / timings[DASK], 0.65),
        Claim("cluster and pools give the same catalogue", float(same), 1.0),
        Claim("incremental: only the changed files analysed", float(counts4["analysed"] == k), 1.0),
        Claim("incremental: touched files reused, not analysed", float(counts4["reused"] == k), 1.0),
    ])


if __name__ == "__main__":
    sys.exit(main())
