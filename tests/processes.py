"""A real ``gangmaker`` command as a child process, for the tests that need whole processes."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextlib.asynccontextmanager
async def gangmaker(*args: str, env: dict[str, str]) -> AsyncIterator[asyncio.subprocess.Process]:
    """``python -m bot.cli ARGS`` in the repository with ``env``; killed at the end if alive."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
