"""A piano-roll PNG a person can read: pitch names, bar and beat lines, velocity as shading,
one colour per track, drums on their own lane with GM drum names."""

from __future__ import annotations

import io

from liveloom.music.types import Song, pitch_name

_DRUM_NAMES = {
    35: "Kick 2", 36: "Kick", 37: "Side stick", 38: "Snare", 39: "Clap", 40: "Snare 2", 41: "Floor tom L",
    42: "Closed hat", 43: "Floor tom H", 44: "Pedal hat", 45: "Low tom", 46: "Open hat", 47: "Mid tom",
    48: "Hi-mid tom", 49: "Crash", 50: "High tom", 51: "Ride", 52: "China", 53: "Ride bell", 54: "Tambourine",
    55: "Splash", 56: "Cowbell", 57: "Crash 2", 59: "Ride 2", 60: "Hi bongo", 61: "Lo bongo", 62: "Mute conga",
    63: "Open conga", 64: "Low conga", 69: "Cabasa", 70: "Maracas", 75: "Claves", 76: "Wood block", 81: "Triangle",
}
_BLACK = {1, 3, 6, 8, 10}


def render_piano_roll(song: Song, *, title: str | None = None, max_width_in: float = 26.0) -> bytes:
    """PNG bytes of the song's tracks on one timeline (drums in a lane of their own)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch, Rectangle

    melodic = [t for t in song.tracks if not t.is_drum]
    drums = [t for t in song.tracks if t.is_drum]
    length = max(song.length, song.time_signature.beats_per_bar)
    bar = song.time_signature.beats_per_bar
    colours = plt.get_cmap("tab10").colors

    def span(tracks):
        pitches = [n.pitch for t in tracks for n in t.notes_on_timeline()]
        return (min(pitches), max(pitches)) if pitches else (60, 72)

    lanes = []
    if melodic or not drums:
        lo, hi = span(melodic)
        lo, hi = min(lo - 1, 59), max(hi + 1, lo + 12)
        lanes.append(("melodic", melodic, lo, hi))
    if drums:
        used = sorted({n.pitch for t in drums for n in t.notes_on_timeline()}) or [36]
        lanes.append(("drums", drums, used, None))

    heights = []
    for kind, _, lo, hi in lanes:
        heights.append(max(2.0, (hi - lo + 1) * (0.16 if hi - lo <= 60 else 0.1)) if kind == "melodic" else max(1.2, len(lo) * 0.28))
    width = min(max_width_in, max(9.0, length / bar * 1.1 + 2))
    fig, axes = plt.subplots(len(lanes), 1, figsize=(width, sum(heights) + 1.4), sharex=True, squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    track_index = {id(t): i for i, t in enumerate(song.tracks)}
    for ax, (kind, tracks, lo, hi) in zip(axes[:, 0], lanes):
        if kind == "melodic":
            rows = {p: p for p in range(lo, hi + 1)}
            for p in range(lo, hi + 1):
                if p % 12 in _BLACK:
                    ax.axhspan(p - 0.5, p + 0.5, color="#f0f0f0", zorder=0)
            used = {n.pitch for t in tracks for n in t.notes_on_timeline()}
            every = hi - lo <= 60  # rows are tall enough to name every pitch
            ticks = [p for p in range(lo, hi + 1) if every or p % 12 == 0 or p in used]
            ax.set_yticks(ticks)
            ax.set_yticklabels([pitch_name(p) for p in ticks], fontsize=6.5)
            for label, p in zip(ax.get_yticklabels(), ticks):
                if p % 12 == 0:
                    label.set_fontweight("bold")
            ax.set_ylim(lo - 0.5, hi + 0.5)
        else:
            rows = {p: i for i, p in enumerate(lo)}
            ax.set_yticks(list(rows.values()))
            ax.set_yticklabels([_DRUM_NAMES.get(p, f"Drum {p}") for p in lo], fontsize=8)
            ax.set_ylim(-0.5, len(lo) - 0.5)
        for t in tracks:
            colour = colours[track_index[id(t)] % len(colours)]
            for n in t.notes_on_timeline():
                alpha = 0.25 + 0.75 * n.velocity / 127
                face = "#999999" if n.mute else colour
                ax.add_patch(Rectangle((n.start, rows[n.pitch] - 0.4), n.duration, 0.8, facecolor=face,
                                       edgecolor="black", linewidth=0.4, alpha=alpha, zorder=3,
                                       hatch="//" if n.mute else None))
        beat = 4.0 / song.time_signature.denominator
        b = 0.0
        while b <= length + 1e-9:
            is_bar = abs((b / bar) - round(b / bar)) < 1e-9
            ax.axvline(b, color="#333333" if is_bar else "#cccccc", linewidth=1.0 if is_bar else 0.5, zorder=1)
            b += beat
        ax.set_xlim(0, length)
    bottom = axes[-1, 0]
    bar_ticks = [i * bar for i in range(int(length // bar) + 1)]
    every = max(1, len(bar_ticks) // 32)
    bottom.set_xticks(bar_ticks[::every])
    bottom.set_xticklabels([str(i + 1) for i in range(len(bar_ticks))][::every], fontsize=8)
    bottom.set_xlabel(f"bar ({song.time_signature} · {bar:g} beats per bar)")
    head = title or song.name
    info = [f"{song.tempo:g} BPM" if song.tempo else None, song.key, str(song.time_signature)]
    axes[0, 0].set_title(f"{head} — " + " · ".join(i for i in info if i), fontsize=11, loc="left")
    handles = [Patch(facecolor=colours[i % len(colours)], edgecolor="black", label=t.name)
               for i, t in enumerate(song.tracks)]
    if handles:
        fig.legend(handles=handles, loc="upper right", fontsize=8, ncol=min(len(handles), 6), frameon=False)
    fig.text(0.005, 0.005, "shade = velocity · hatched = muted", fontsize=7, color="#666666")
    fig.tight_layout(rect=(0, 0.02, 1, 0.97))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()
