"""The worker gives the C heap's free pages back (bot/memory.py), so it stays at its size."""

from __future__ import annotations

import ctypes
import os
import platform

import pytest

from bot.config import Settings
from bot.delivery.settings import DeliverySettings
from bot.delivery.worker import Worker
from bot.memory import TRIM_SECONDS, trim_heap

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not GLIBC, reason="malloc_trim is glibc's")
def test_freed_heap_memory_goes_back_to_the_system() -> None:
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    # 64 MB in 32 KB blocks (below malloc's mmap threshold, so from the heap), each touched;
    # the last block stays, so the freed space is inside the heap, not at its top.
    blocks = [libc.malloc(32 * 1024) for _ in range(2048)]
    for block in blocks:
        ctypes.memset(block, 1, 32 * 1024)
    keep = libc.malloc(32 * 1024)
    for block in blocks:
        libc.free(block)
    before = _rss_mb()
    assert trim_heap()
    after = _rss_mb()
    libc.free(keep)
    assert before - after > 32, (before, after)


async def test_the_worker_trims_every_few_minutes(db_url: str) -> None:
    worker = Worker(
        Settings(_env_file=None, database_url=db_url),  # type: ignore[call-arg]
        DeliverySettings(_env_file=None),  # type: ignore[call-arg]
    )
    try:
        worker.start()
        job = worker.scheduler.get_job("trim")
        assert job is not None and job.trigger.interval.total_seconds() == TRIM_SECONDS
        await worker.trim()
    finally:
        await worker.stop()
