"""Errors that carry a message meant for the person or agent who made the request."""

from __future__ import annotations


class LiveloomError(Exception):
    """An expected failure: bad input, a missing file, an unknown id. The message says what to do."""


class NotFoundError(LiveloomError):
    """An artifact id, file or name that does not exist."""


class NotationError(LiveloomError):
    """Musical text that could not be read; names the token and where it is."""

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
