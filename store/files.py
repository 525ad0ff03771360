"""Which folders tools may read and write, and the checks on every path a tool is given.

Allowed: the workspace (its `files/` folder is where relative paths resolve) plus the folders in
LIVELOOM_ALLOW (os.pathsep-separated) or given on the command line. Paths are resolved with
symlinks followed, so a link inside an allowed folder that points outside it is refused.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from liveloom.music.errors import LiveloomError, NotFoundError

NAME_MAX = 255  # bytes in one file or folder name (Linux, macOS; Windows counts 255 characters)


@dataclass
class FilePolicy:
    workspace_home: Path
    files_dir: Path
    extra: list[Path] = field(default_factory=list)

    @property
    def roots(self) -> list[Path]:
        return [Path(os.path.realpath(p)) for p in (self.workspace_home, *self.extra)]

    def _resolve(self, path: str) -> Path:
        if not isinstance(path, str) or not path.strip():
            raise LiveloomError("the path is empty; give a file name or a path inside an allowed folder")
        if "\x00" in path:
            raise LiveloomError("the path contains a NUL character")
        too_long = next((part for part in Path(path).parts if len(os.fsencode(part)) > NAME_MAX), None)
        if too_long is not None:
            raise LiveloomError(f"a name in the path is {len(os.fsencode(too_long))} bytes long; file and folder "
                                f"names are limited to {NAME_MAX} bytes. Give a shorter name.")
        p = Path(path).expanduser()
        if not p.is_absolute():
            p = self.files_dir / p
        real = Path(os.path.realpath(p))
        for root in self.roots:
            if real == root or real.is_relative_to(root):
                return real
        raise LiveloomError(
            f"{path!r} is outside the folders liveloom may use ({', '.join(str(r) for r in self.roots)}). "
            "Move the file into one of them, or add its folder to LIVELOOM_ALLOW "
            "(or `liveloom serve --allow FOLDER`)."
        )

    def readable(self, path: str, *, max_bytes: int, suffixes: tuple[str, ...] = ()) -> Path:
        """A checked path to an existing, not-too-large file."""
        try:
            return self._readable(path, max_bytes, suffixes)
        except OSError as exc:  # what the system refuses (permissions, a name too long), said plainly
            raise LiveloomError(f"cannot read {path!r}: {exc.strerror or exc}") from None

    def _readable(self, path: str, max_bytes: int, suffixes: tuple[str, ...]) -> Path:
        real = self._resolve(path)
        if suffixes and real.suffix.lower() not in suffixes:
            raise LiveloomError(f"{path!r} should be a {' or '.join(suffixes)} file")
        if not real.exists():
            raise NotFoundError(f"no file at {real}; relative paths are read from {self.files_dir}")
        if not real.is_file():
            raise LiveloomError(f"{real} is not a regular file")
        size = real.stat().st_size
        if size > max_bytes:
            raise LiveloomError(f"{real} is {size:,} bytes; the limit is {max_bytes:,} bytes")
        if size == 0:
            raise LiveloomError(f"{real} is empty (0 bytes)")
        return real

    def folder(self, path: str) -> Path:
        """A checked path to an existing folder inside the allowed ones."""
        try:
            real = self._resolve(path)
            if not real.exists():
                raise NotFoundError(f"no folder at {real}; relative paths are read from {self.files_dir}")
            if not real.is_dir():
                raise LiveloomError(f"{real} is a file, not a folder")
            return real
        except OSError as exc:
            raise LiveloomError(f"cannot read {path!r}: {exc.strerror or exc}") from None

    def writable(self, path: str, *, suffixes: tuple[str, ...] = (), overwrite: bool = False) -> Path:
        """A checked path to write; refuses to replace an existing file unless `overwrite`."""
        try:
            return self._writable(path, suffixes, overwrite)
        except OSError as exc:
            raise LiveloomError(f"cannot write {path!r}: {exc.strerror or exc}") from None

    def _writable(self, path: str, suffixes: tuple[str, ...], overwrite: bool) -> Path:
        real = self._resolve(path)
        if suffixes and real.suffix.lower() not in suffixes:
            raise LiveloomError(f"{path!r} should end in {' or '.join(suffixes)}")
        if real.exists() and not overwrite:
            raise LiveloomError(f"{real} already exists; choose another name or pass overwrite=true")
        if real.exists() and not real.is_file():
            raise LiveloomError(f"{real} exists and is not a regular file")
        real.parent.mkdir(parents=True, exist_ok=True)
        return real


def write_atomically(path: Path, data: bytes, *, overwrite: bool = False) -> None:
    """Write through a temporary file beside `path`, fsynced, then renamed into place (`overwrite`) or hard-linked
    to its name, which raises FileExistsError rather than replace anything. A reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_file_atomically(path: Path, data: bytes, *, overwrite: bool) -> None:
    """`write_atomically` for a user's file: a name that appeared meanwhile is a clear error."""
    try:
        write_atomically(path, data, overwrite=overwrite)
    except FileExistsError:
        raise LiveloomError(f"{path} appeared while writing; nothing was overwritten. Choose another name.") from None
    except OSError as exc:
        raise LiveloomError(f"cannot write {path}: {exc.strerror or exc}") from None
