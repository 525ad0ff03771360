"""How a liveloom tool is registered: honest annotations, and errors the agent can act on.

`register_tool` wraps a tool function so that
* expected failures (`LiveloomError`) become MCP tool errors carrying their message;
* anything unexpected becomes a short tool error naming the exception (the traceback goes to
  stderr, not to the agent), and the server keeps serving.
The wrapper keeps the function's signature, so the typed input and output schemas are the
function's own.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import ValidationError

from liveloom.tools.core.errors import LiveloomError

from liveloom.ableton_bridge.service import LiveService
from liveloom.models.hub import ModelHub

from .files import FilePolicy
from .workspace import Workspace

log = logging.getLogger("liveloom")

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


@dataclass
class Services:
    """What tools share: the workspace, the file policy and the Live connection. Passed in, never global."""

    workspace: Workspace
    files: FilePolicy
    live: LiveService
    models: ModelHub = field(default_factory=ModelHub)


def describe_validation_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "value"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def register_tool(
    server: MCPServer,
    *,
    title: str,
    read_only: bool,
    destructive: bool = False,
    idempotent: bool = False,
    open_world: bool = False,
    family: str | None = None,
) -> Callable[[F], F]:
    """Register an async tool function under its own name with the given annotations. `family` is published in the
    tool's `_meta` as "liveloom/family" (e.g. "live" for tools that touch the Live set)."""

    def decorator(fn: F) -> F:
        name = fn.__name__

        @functools.wraps(fn)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(*args, **kwargs)
            except ToolError:
                raise
            except LiveloomError as exc:
                raise ToolError(str(exc)) from None
            except ValidationError as exc:
                raise ToolError(f"the result would be invalid: {describe_validation_error(exc)}") from None
            except Exception as exc:
                log.exception("tool %s failed unexpectedly", name)
                raise ToolError(
                    f"{name} failed unexpectedly ({type(exc).__name__}: {exc}). Nothing stored was changed and "
                    "the server is still running; this is a liveloom bug, please report it with the arguments."
                ) from None

        server.add_tool(
            wrapper,
            name=name,
            title=title,
            annotations=ToolAnnotations(
                title=title,
                read_only_hint=read_only,
                destructive_hint=destructive,
                idempotent_hint=idempotent,
                open_world_hint=open_world,
            ),
            meta={"liveloom/family": family} if family else None,
        )
        return fn

    return decorator
