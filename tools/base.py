"""What every tool module shares: the services a tool reaches through its request context, and the `tool`
decorator that makes an async function an MCP tool.

A tool is a top-level async function with typed arguments and a `ctx: Context` parameter (left out of its input
schema by the SDK). The server's lifespan yields the `Services`; `services(ctx)` hands them to the tool. The
decorator records the tool's title and honest annotations for registration, names the tool in the provenance
of whatever it stores, and turns failures into tool errors the agent can act on:
* expected failures (`LiveloomError`, the ML errors included) carry their own message;
* anything unexpected becomes a short message naming the exception (the traceback goes to stderr, not to the
  agent), and the server keeps serving.
The wrapper keeps the function's signature, so the input and output schemas are the function's own, and a test
can call the function directly with a context of its own.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import math
import secrets
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, ValidationError

from liveloom.music.errors import Cancelled, LiveloomError
from liveloom.music.jobs import Job
from liveloom.store.workspace import Provenance

if TYPE_CHECKING:
    from liveloom.ableton_bridge.service import LiveService
    from liveloom.engines.render import RenderSettings
    from liveloom.models.hub import ModelHub
    from liveloom.music.styles import Style
    from liveloom.store.files import FilePolicy
    from liveloom.store.styles import LearnedStyles
    from liveloom.store.workspace import Workspace

log = logging.getLogger("liveloom")

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
T = TypeVar("T")

_current_tool: contextvars.ContextVar[str] = contextvars.ContextVar("liveloom_tool", default="unknown")


@dataclass
class Services:
    """What tools share: the workspace, the file policy, the Live connection, the models and the renderer.
    Built once by the server and yielded by its lifespan; never global."""

    workspace: Workspace
    files: FilePolicy
    live: LiveService
    models: ModelHub
    render: RenderSettings
    client_log_level: str = "info"  # what `logging/setLevel` asked for: the least severe level sent to clients
    clusters: tuple[str, ...] = ()  # Dask schedulers the user allowed (LIVELOOM_CLUSTERS) besides loopback ones
    styles: LearnedStyles | None = None  # learned styles (learn_style); under the workspace's home when not given

    def __post_init__(self) -> None:
        if self.styles is None:
            from liveloom.store.styles import LearnedStyles

            self.styles = LearnedStyles(self.workspace.home)


# The SDK marks the logging capability deprecated (SEP-2577) and warns on every message; hosts still ask for it
# (logging/setLevel), so liveloom keeps sending it, without a warning on stderr per message.
warnings.filterwarnings("ignore", message="The logging capability is deprecated")

LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")


async def client_log(ctx: Context, level: str, message: str) -> None:
    """A `notifications/message` to the client of this request, if its level is at or above the one the client
    asked for (`logging/setLevel`). Never fails the tool: a gone client just misses the message."""
    try:
        wanted = services(ctx).client_log_level
        if LOG_LEVELS.index(level) >= LOG_LEVELS.index(wanted):
            await ctx.log(level, message, logger_name="liveloom")
    except Exception:  # noqa: BLE001 - logging must never break a tool
        pass


def services(ctx: Context) -> Services:
    """The services of the server handling this request (the lifespan's value)."""
    return ctx.request_context.lifespan_context


def resolve_style(ctx: Context, name: str | None) -> str | Style | None:
    """A style argument as engines take it: a learned style (its card and network) by its name, else the name (the
    library's styles and aliases; engines say when it is unknown)."""
    svc = services(ctx)
    card = svc.styles.find(name)
    if card is None:
        return name
    from liveloom.music.styles import learned_style

    return learned_style(card, str(svc.styles.model_folder(card["name"])))


async def run_job(ctx: Context, work: Callable[[Job], T]) -> T:
    """Run engine work in a worker thread as a job of this request: its progress becomes the request's progress
    notifications, and a cancelled request sets the job's flag, so the work stops within a step (raising
    Cancelled in the worker) and the tool, cancelled at this await, stores nothing."""
    job = Job()
    stages: list[str] = []

    def report(done: float, total: float, what: str) -> None:
        try:
            if not stages or stages[-1] != what:  # a new stage of a long job: also a log message
                stages.append(what)
                anyio.from_thread.run(client_log, ctx, "info", f"{_current_tool.get()}: {what}")
            anyio.from_thread.run(ctx.report_progress, done, total, f"{what}: {done:g} of {total:g}")
        except Exception:  # the request is gone (cancelled, disconnected): stop the work
            job.cancel.set()
            raise Cancelled() from None

    job.report = report
    try:
        return await anyio.to_thread.run_sync(lambda: work(job), abandon_on_cancel=True)
    except BaseException:
        job.cancel.set()
        raise


def provenance(**fields: Any) -> Provenance:
    """A provenance record for what the running tool stores, with the tool's name filled in."""
    return Provenance(tool=_current_tool.get(), **fields)


@dataclass(frozen=True)
class ToolInfo:
    name: str
    title: str
    annotations: ToolAnnotations
    family: str | None
    ui: bool = False


def first_non_finite(value: Any, where: str = "") -> str | None:
    """Where a NaN or an infinity sits in a tool's arguments (e.g. 'points.3.value'), or None. JSON carries
    them as NaN/Infinity literals or strings that pydantic reads as floats; nothing downstream can use them."""
    if isinstance(value, float):
        return None if math.isfinite(value) else (where or "value")
    if isinstance(value, BaseModel):
        items = value.__dict__.items()
    elif isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = first_non_finite(item, f"{where}.{key}" if where else str(key))
        if found:
            return found
    return None


MAX_ERROR_CHARS = 2_000


def cap_message(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """An error message an agent can afford: at most `limit` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return text[: limit - 40].rstrip() + f" … ({len(text) - limit + 40:,} characters more)"


def describe_validation_error(exc: ValidationError) -> str:
    """The first five problems as 'field: what is wrong', without the rejected values (the caller's data)."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False)[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "value"
        parts.append(f"{loc}: {err['msg'][:200]}")
    return "; ".join(parts)


PIANO_ROLL_APP = "ui://liveloom/piano-roll.html"


def tool(*, title: str, read_only: bool, destructive: bool = False, idempotent: bool = False,
         open_world: bool = False, family: str | None = None, ui: bool = False) -> Callable[[F], F]:
    """Make an async function a liveloom tool named after the function. `family` is published in the tool's
    `_meta` as "liveloom/family" (e.g. "live" for tools that touch the Live set); `ui` binds the tool to the
    interactive piano roll (MCP Apps: `_meta.ui.resourceUri`), for tools whose result is a clip or a song."""

    def decorator(fn: F) -> F:
        name = fn.__name__

        @functools.wraps(fn)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            bad = first_non_finite({k: v for k, v in kwargs.items() if k != "ctx"})
            if bad:
                raise ToolError(f"{bad} must be a finite number, not NaN or infinity")
            token = _current_tool.set(name)
            try:
                return await fn(*args, **kwargs)
            except ToolError as exc:
                raise ToolError(cap_message(str(exc))) from None
            except LiveloomError as exc:
                raise ToolError(cap_message(str(exc))) from None
            except ValidationError as exc:
                raise ToolError(f"the result would be invalid: {describe_validation_error(exc)}") from None
            except Exception:
                ref = secrets.token_hex(3)
                log.exception("tool %s failed unexpectedly (ref %s)", name, ref)
                if isinstance(kwargs.get("ctx"), Context):
                    await client_log(kwargs["ctx"], "error", f"{name} failed unexpectedly (ref {ref})")
                raise ToolError(
                    f"{name} failed unexpectedly (ref {ref}; the details are in the server's log). Nothing stored "
                    "was changed and the server is still running; this is a liveloom bug, please report it with "
                    "the arguments."
                ) from None
            finally:
                _current_tool.reset(token)

        wrapper.tool_info = ToolInfo(name, title, ToolAnnotations(
            title=title, read_only_hint=read_only, destructive_hint=destructive, idempotent_hint=idempotent,
            open_world_hint=open_world), family, ui)
        return wrapper  # type: ignore[return-value]

    return decorator


def tools_of(module: ModuleType) -> list[Callable[..., Awaitable[Any]]]:
    """The tools a family module defines, in the order they are written."""
    return [f for f in vars(module).values() if callable(f) and isinstance(getattr(f, "tool_info", None), ToolInfo)
            and f.__module__ == module.__name__]


def register(server: MCPServer, module: ModuleType) -> None:
    """Add every tool of a family module to the server under its own name and annotations."""
    for fn in tools_of(module):
        info: ToolInfo = fn.tool_info
        meta = {"liveloom/family": info.family} if info.family else {}
        if info.ui:
            meta["ui"] = {"resourceUri": PIANO_ROLL_APP}
        server.add_tool(fn, name=info.name, title=info.title, annotations=info.annotations, meta=meta or None)
