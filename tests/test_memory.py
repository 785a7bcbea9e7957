"""quitogeo._memory: freed heap pages go back to the system where glibc offers malloc_trim."""

from __future__ import annotations

import platform
import sys

import numpy as np
import pytest

from quitogeo._memory import release_free_memory


def test_release_free_memory_reports_whether_it_could_trim():
    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    blocks = [np.ones(50_000) for _ in range(20)]  # freed below: something for the trim to return
    del blocks
    assert release_free_memory() is glibc


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RSS read from /proc (Linux)")
def test_release_free_memory_returns_freed_pages():
    def rss_kb() -> int:
        with open("/proc/self/status", encoding="ascii") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))

    # many small blocks (below glibc's mmap threshold, so they live in the heap), freed out of order so the
    # heap top stays in use: without a trim their pages stay resident
    keep, drop = [], []
    for i in range(40_000):
        (keep if i % 50 == 0 else drop).append(np.ones(100))
    del drop
    before = rss_kb()
    if not release_free_memory():
        pytest.skip("sin malloc_trim (no es glibc)")
    assert rss_kb() <= before
    del keep
