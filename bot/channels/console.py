"""The terminal chat: replies as plain text, options as numbered lines ``1. label``.

Besides text, a few slash commands stand in for what a phone would send: ``/photo [name]``,
``/location LAT,LON`` and ``/contact PHONE``. ``/quit`` (or end of input) ends the chat.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.conversation import Contact, Incoming, Location, Photo, Reply, Runtime, Text
from bot.models import Channel

InputFn = Callable[[str], str | Awaitable[str]]
OutputFn = Callable[[str], object]

QUIT_WORDS = frozenset({"/quit", "/exit"})


def render(reply: Reply) -> str:
    """One reply as the console shows it."""
    lines: list[str] = []
    if reply.media is not None:
        lines.append(f"[{reply.media.kind}: {reply.media.caption or reply.media.ref}]")
    if reply.text:
        lines.append(reply.text)
    lines.extend(f"{number}. {option.label}" for number, option in enumerate(reply.options, 1))
    return "\n".join(lines)


def parse_line(line: str, address: str) -> Incoming:
    """What a typed line stands for: text, or a photo/location/contact slash command."""
    stripped = line.strip()
    command, _, rest = stripped.partition(" ")
    rest = rest.strip()
    base = {"channel": Channel.CONSOLE, "address": address}
    if command.lower() == "/photo":
        return Photo(**base, ref=rest or "console-photo")
    if command.lower() == "/location":
        try:
            lat, lon = (float(part) for part in rest.replace(" ", "").split(","))
        except ValueError:
            return Text(**base, text=stripped)
        return Location(**base, latitude=lat, longitude=lon)
    if command.lower() == "/contact" and rest:
        return Contact(**base, phone=rest)
    return Text(**base, text=line)


async def _read(input_fn: InputFn, prompt: str) -> str | None:
    try:
        line = input_fn(prompt)
        if inspect.isawaitable(line):
            line = await line
    except EOFError:
        return None
    return line


async def run_console_chat(
    sessions: async_sessionmaker[AsyncSession],
    organisation_slug: str,
    address: str,
    *,
    input_fn: InputFn = input,
    output_fn: OutputFn = print,
    prompt: str = "> ",
    runtime: Runtime | None = None,
) -> None:
    """Chat in the terminal as ``address`` until end of input or ``/quit``.

    ``input_fn`` may be plain (``input``) or async; ``output_fn`` gets one rendered reply at a
    time. Tests pass their own functions (and may pass a ``runtime`` with a movable clock).
    """
    runtime = runtime or Runtime(sessions, organisation_slug)
    while True:
        line = await _read(input_fn, prompt)
        if line is None or line.strip().lower() in QUIT_WORDS:
            return
        if not line.strip():
            continue
        for reply in await runtime.handle(parse_line(line, address)):
            output_fn(render(reply) + "\n")
