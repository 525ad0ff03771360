"""Groove transfer: how close a target gets to a reference groove, at strengths 0, 0.5 and 1.

    .venv/bin/python bench/groove_bench.py

References are 4-bar 16th-note parts "performed" with a known feel (a template's offsets and accents plus
a little random timing and velocity, seeded); targets are straight parts with flat velocity and other
pitches. For each strength: mean absolute timing error against the reference's positions (ms at 120 BPM),
the correlation of velocities with the reference's, and whether pitches and order were kept (they must be).
"""

from __future__ import annotations

import os
import platform
import random
import statistics

from liveloom.tools.core.model import Note, TimeSignature
from liveloom.tools.core.transform import TEMPLATES, apply_groove, extract_groove

MS_PER_BEAT = 500.0  # 120 BPM


def corr(a: list[float], b: list[float]) -> float:
    ma, mb = statistics.mean(a), statistics.mean(b)
    num = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    den = (sum((x - ma) ** 2 for x in a) * sum((y - mb) ** 2 for y in b)) ** 0.5
    return num / den if den else 0.0


def main() -> None:
    rng = random.Random(11)
    rows = []
    for name in ("mpc_swing_58", "mpc_swing_66", "shuffle", "laid_back", "clave_son"):
        feel = TEMPLATES[name]
        straight = [Note(pitch=42, start=i * 0.25, duration=0.2, velocity=90) for i in range(64)]
        performed = apply_groove(straight, feel, 1.0)
        reference = [n.model_copy(update={"start": max(0.0, n.start + rng.gauss(0, 0.004)),
                                          "velocity": max(1, min(127, n.velocity + round(rng.gauss(0, 3))))})
                     for n in performed]
        groove = extract_groove(reference, TimeSignature())
        target = [Note(pitch=36 + (i * 5) % 24, start=i * 0.25, duration=0.2, velocity=80) for i in range(64)]
        for strength in (0.0, 0.5, 1.0):
            out = apply_groove(target, groove, strength)
            err = statistics.mean(abs(o.start - r.start) for o, r in zip(out, reference)) * MS_PER_BEAT
            vc = corr([o.velocity for o in out], [r.velocity for r in reference]) if strength else 0.0
            kept = [o.pitch for o in out] == [t.pitch for t in target]
            rows.append((name, strength, err, vc, kept))
    print(f"groove_transfer from performed references — {platform.system()} {platform.machine()}, "
          f"{os.cpu_count()} CPU cores, CPU only\n")
    print("| reference feel | strength | timing error to reference (ms) | velocity correlation | pitches and order kept |")
    print("|---|---|---|---|---|")
    for name, strength, err, vc, kept in rows:
        vc_text = f"{vc:.2f}" if strength else "—"
        print(f"| {name} | {strength:g} | {err:.1f} | {vc_text} | {'yes' if kept else 'NO'} |")


if __name__ == "__main__":
    main()
