"""training/heap.py: after keep_freed_memory, a large block comes from the heap, not from mmap.

Each case runs in its own interpreter, so the setting never leaks into the test process and
the default can be seen beside it.
"""

import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

LIBC, LIBC_VERSION = platform.libc_ver()
pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or LIBC != "glibc" or tuple(map(int, LIBC_VERSION.split("."))) < (2, 33),
    reason="mallopt's parameters are glibc's; the probe reads them back with mallinfo2 (glibc 2.33)")

ROOT = Path(__file__).resolve().parents[2]

# How many blocks glibc holds as separate mmaps once a 64 MB block is allocated, and whether
# the heap shrank when it was freed.
PROBE = textwrap.dedent("""
    import ctypes, sys
    from training.heap import keep_freed_memory

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, (ctypes.c_size_t,)
    libc.free.argtypes = (ctypes.c_void_p,)
    agreed = keep_freed_memory() if sys.argv[1] == "keep" else None
    before = libc.mallinfo2().hblks
    block = libc.malloc(64 << 20)
    mmapped, heap = libc.mallinfo2().hblks - before, libc.mallinfo2().arena
    libc.free(block)
    print(agreed, mmapped, libc.mallinfo2().arena < heap)
""")


def _probe(arm: str) -> tuple[str, int, str]:
    result = subprocess.run([sys.executable, "-c", PROBE, arm], capture_output=True, text=True, check=True,
                            cwd=ROOT, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    agreed, mmapped, shrank = result.stdout.split()
    return agreed, int(mmapped), shrank


def test_by_default_a_large_block_is_its_own_mmap():
    assert _probe("default") == ("None", 1, "False")  # an mmap of its own, unmapped when freed


def test_kept_a_large_block_comes_from_the_heap_and_stays_there_when_freed():
    assert _probe("keep") == ("True", 0, "False")
