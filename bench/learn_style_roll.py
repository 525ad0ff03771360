"""The piano rolls in docs/learn_style.md: melody, bass and drums by the shipped network and by the LoRA-learned
style from bench/learn_style.py (run it first), same headers, constraints and seeds.

    python bench/learn_style_roll.py
"""
import glob
import sys

sys.path.insert(0, "bench")
from pathlib import Path

from liveloom.engines.pianoroll import render_piano_roll
from liveloom.models import tokenizer as T
from liveloom.models.convert import piece_notes
from liveloom.models.finetune import load_learned
from liveloom.models.generate import Constraints, load
from liveloom.music.types import Clip, PlacedClip, Song, Track

d = sorted(glob.glob("/tmp/learn-bench-*"))[-1]
learned = load_learned(Path(d)/"lora-model", threads=2)
base = load(threads=2)
minor = frozenset((2 + s) % 12 for s in (0,2,3,5,7,8,10))
h = T.Header(style="other", key_tonic=2, key_minor=True, meter_ticks=48, tempo="medium", voices=1, density=2)
tracks=[]
for label, m in (("before", base), ("after", learned)):
    mel = m.generate(h, 8, Constraints(scale=minor, pitch_range=(62, 84), max_polyphony=1), seed=3)
    bass = m.generate(h, 8, Constraints(scale=minor, pitch_range=(33, 52), max_polyphony=1), seed=3)
    kit = m.generate(h, 8, Constraints(kit=frozenset({36,38,42,46,49}), max_polyphony=4), seed=3)
    for name, g, drum in (("melody", mel, False), ("bass", bass, False), ("drums", kit, True)):
        notes = [n for _, n in piece_notes(g.piece)]
        tracks.append(Track(name=f"{label} {name}", is_drum=drum, clips=[PlacedClip(clip=Clip(name=name, notes=notes, length=32, is_drum=drum))]))
for i in range(2):
    s = Song(name="x", tempo=82, tracks=tracks[i*3:(i+1)*3])
    Path(f"docs/images/learn_style_{['before', 'after'][i]}.png").write_bytes(render_piano_roll(s, title=["shipped network (before)","after learn_style (LoRA, 300 steps)"][i]))
print("ok")
