"""`--check` for the bench scripts: the figures README.md and docs/benchmarks.md claim, compared with what this
run measured, so that a regression fails (exit 1) instead of passing unnoticed.

Each claim is a bound with the direction that is good. Quality figures (F1, accuracy, checks passed) are held
near the value published. Speed is held against a peer measured in the same run where there is one (a ratio does
not depend on the machine); where there is none, against the published time with room for a machine up to 2x
slower (this project's machines vary that much between sessions) — said in each claim's name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    what: str
    measured: float
    bound: float
    higher_is_better: bool = True

    @property
    def holds(self) -> bool:
        return self.measured >= self.bound if self.higher_is_better else self.measured <= self.bound


def report(claims: list[Claim]) -> int:
    """Print one line per claim and return the exit status: 0 when every claim holds."""
    print("\n--check: the published figures")
    width = max(len(c.what) for c in claims)
    for c in claims:
        sign = ">=" if c.higher_is_better else "<="
        print(f"  {'ok    ' if c.holds else 'FAILED'} {c.what:<{width}}  {c.measured:.4g} {sign} {c.bound:.4g}")
    failed = [c for c in claims if not c.holds]
    print(f"{len(claims) - len(failed)} of {len(claims)} claims hold" + (" — a regression" if failed else ""))
    return 1 if failed else 0


def require_defaults(parser, args, names: list[str]) -> None:
    """--check compares with figures measured under the default settings: refuse other settings rather than
    compare unlike with unlike (a smaller sample, shorter files, another tick)."""
    changed = [n for n in names if getattr(args, n) != parser.get_default(n)]
    if getattr(args, "check", False) and changed:
        flags = ", ".join("--" + n.replace("_", "-") for n in changed)
        parser.error(f"--check compares with the published figures, measured with the default settings; "
                     f"leave out {flags}")
