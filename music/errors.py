"""Errors that carry a message meant for the person or agent who made the request."""

from __future__ import annotations


class LiveloomError(Exception):
    """An expected failure: bad input, a missing file, an unknown id. The message says what to do."""


class NotFoundError(LiveloomError):
    """An artifact id, file or name that does not exist."""


class NotationError(LiveloomError, ValueError):
    """Musical text that could not be read (a note, key, chord or rhythm); names the token and where it is.
    Also a ValueError, so that parsers that try one reading and then another can catch it as one."""

    def __init__(self, message: str, token: str | None = None, index: int | None = None, column: int | None = None):
        where = []
        if token is not None:
            where.append(f"token {token!r}")
        if index is not None:
            where.append(f"#{index + 1}")
        if column is not None:
            where.append(f"at character {column + 1}")
        prefix = f"{' '.join(where)}: " if where else ""
        super().__init__(prefix + message)
        self.token = token
        self.index = index
        self.column = column


class ModelFailure(LiveloomError):
    """A learned model that cannot serve a request: missing or bad weights, a checkpoint of another vocabulary, a
    request outside what it was trained on. The ML errors (models/) derive from it, so tools report them as they are."""


class Cancelled(LiveloomError):
    """The request was cancelled while it ran; nothing was stored."""

    def __init__(self, message: str = "cancelled; nothing was stored"):
        super().__init__(message)
