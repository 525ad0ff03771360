"""A producer-like folder of MIDI songs for learn_style's test and benchmark: liveloom's own multi-track
arrangements in one genre (drums, bass, chords, lead), each in its own key, tempo, form and seed — a genre the
shipped network never saw (it knows music21's corpus: chorales, Renaissance polyphony, folk and fiddle tunes).

    python bench/learn_data.py OUT_FOLDER [--style lofi] [--songs 60]
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

KEYS = ["C minor", "D minor", "E minor", "F minor", "G minor", "A minor", "Bb major", "Eb major", "F major",
        "C major", "D major", "G major"]
FORMS = ["verse-chorus", "pop"]


def write_song_folder(folder: Path, style: str = "lofi", songs: int = 60, seed: int = 0,
                      forms: list[str] | None = None) -> list[Path]:
    from liveloom.engines.arranger import arrange
    from liveloom.music.midi_io import song_to_midi
    from liveloom.music.styles import get_style

    st = get_style(style)
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(songs):
        key = rng.choice(KEYS)
        tempo = round(rng.uniform(*st.tempo))
        a = arrange(style=style, key=key, tempo=tempo, time_signature=None, form=rng.choice(forms or FORMS),
                    sections=None, seed=seed * 1000 + i, roles=("drums", "bass", "chords", "lead"))
        path = folder / f"{style}_{i:03d}.mid"
        path.write_bytes(song_to_midi(a.song).data)
        out.append(path)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path)
    p.add_argument("--style", default="lofi")
    p.add_argument("--songs", type=int, default=60)
    a = p.parse_args()
    print(len(write_song_folder(a.out, a.style, a.songs)), "files in", a.out)


if __name__ == "__main__":
    main()
