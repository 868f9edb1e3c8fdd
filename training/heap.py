"""Keep the memory TensorFlow frees in the process's heap while training.

A training step allocates and frees tensors larger than glibc's mmap
threshold. By default glibc gives each one back to the system when it is
freed, so the next step faults the same pages in again, and much of the CPU's
time goes to the kernel (README, Training). Telling glibc never to use mmap for
large blocks and never to trim the heap makes freed memory reusable at once.
The process then holds on to its peak memory, which training reaches anyway.

The same setting can be given from outside as GLIBC_TUNABLES; calling
glibc's mallopt here means every way of starting training gets it. Where the C
library is not glibc (macOS, musl), nothing changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

# glibc's <malloc.h> parameter numbers
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
TRIM_NEVER = -1  # mallopt(3): a trim threshold of -1 turns trimming off


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed blocks in the heap; True if it agreed to both settings."""
    mallopt = _glibc_mallopt()
    if mallopt is None:
        return False
    agreed = mallopt(M_MMAP_MAX, 0) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_NEVER) == 1
    if not agreed:
        log.info("glibc refused the heap settings; freed memory goes back to the system")
    return agreed


def _glibc_mallopt():
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.gnu_get_libc_version  # only glibc has it: other C libraries' mallopt differ
    except (OSError, AttributeError):
        return None
    mallopt = libc.mallopt
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt
