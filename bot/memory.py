"""Give the C heap's free memory back to the system now and then (glibc's ``malloc_trim``).

A long-running worker frees nearly everything a busy minute allocated, but glibc keeps the freed
pages inside its heap. The soak (``bench/README.md``, "What grows during the soak") found that
85–95 % of the resident-memory growth was such free space, with the bytes in use flat, and that
``malloc_trim(0)`` every three minutes kept the process flat. Where there is no glibc (musl,
macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable

TRIM_SECONDS = 180


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


def trim_heap() -> bool:
    """Return the heap's free pages to the system; False where that is not possible."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
