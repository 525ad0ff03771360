"""Learned styles: a producer's fine-tuned model and its card, kept in the workspace.

Layout under the home folder::

    styles/<slug>/style.json      the card: name, date, sources (count and content hashes, never the music),
                                  what the style knows (roles, meters, keys, tempo, kit), the training figures
    styles/<slug>/model/          the adapter (or network) the models layer reads
    styles/.work/<request>/       a learning run's checkpoint, until it finishes (a cancelled run resumes from it)

A style appears whole or not at all: it is written under a temporary name and renamed into place. Deleting
removes its folder. Nothing here leaves the machine.
"""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
from pathlib import Path

from liveloom.music.errors import LiveloomError, NotFoundError

from .files import write_atomically

NAME_RE = re.compile(r"^[\w][\w .'&+-]{0,47}$", re.UNICODE)


def slug(name: str) -> str:
    """The folder name of a style: lower case, ASCII letters, digits and dashes."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def check_name(name: str) -> str:
    name = " ".join(name.split())
    if not NAME_RE.match(name) or not slug(name):
        raise LiveloomError(f"style name {name!r}: use 1 to 48 letters, digits, spaces and - . ' & + "
                            "(e.g. 'my lofi')")
    return name


class LearnedStyles:
    def __init__(self, home: Path):
        self.root = Path(home) / "styles"

    def folder(self, name: str) -> Path:
        return self.root / slug(name)

    def work_folder(self, request: str) -> Path:
        """Where a learning run keeps its checkpoint (by a hash of what it learns from and how)."""
        return self.root / ".work" / request

    def exists(self, name: str) -> bool:
        return (self.folder(name) / "style.json").exists()

    def card(self, name: str) -> dict:
        path = self.folder(name) / "style.json"
        if not path.exists():
            raise NotFoundError(f"no learned style named {name!r}; list_styles shows the learned ones")
        return json.loads(path.read_text(encoding="utf-8"))

    def find(self, name: str | None) -> dict | None:
        """The card of a learned style called `name` (any case or spacing), or None."""
        if not name or not slug(name) or not self.root.exists():
            return None
        path = self.folder(name) / "style.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def all(self) -> list[dict]:
        if not self.root.exists():
            return []
        out = []
        for d in sorted(self.root.iterdir()):
            if d.name.startswith(".") or not (d / "style.json").exists():
                continue
            try:
                out.append(json.loads((d / "style.json").read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue  # a damaged card is skipped, not fatal to the listing
        return out

    def model_folder(self, name: str) -> Path:
        return self.folder(name) / "model"

    def save(self, name: str, model_folder: Path, card: dict, replace: bool = False) -> Path:
        """Move a finished model folder and its card into place (whole or not at all)."""
        final = self.folder(name)
        if final.exists() and not replace:
            raise LiveloomError(f"a learned style named {name!r} exists; pass replace=true or choose another name")
        staging = self.root / f".new-{slug(name)}"
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        shutil.move(str(model_folder), str(staging / "model"))
        write_atomically(staging / "style.json", json.dumps(card, indent=1).encode())
        if final.exists():
            old = self.root / f".old-{slug(name)}"
            if old.exists():
                shutil.rmtree(old)
            final.rename(old)
            staging.rename(final)
            shutil.rmtree(old)
        else:
            staging.rename(final)
        return final

    def delete(self, name: str) -> dict:
        card = self.card(name)
        shutil.rmtree(self.folder(name))
        return card

    def forget_work(self, request: str) -> None:
        shutil.rmtree(self.work_folder(request), ignore_errors=True)
