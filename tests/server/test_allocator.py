"""allocator.tune_malloc: glibc's malloc thresholds fixed for a serving process, on glibc only.

Serving with it applied is what every API test does: their server is `evalset serve`, which applies it."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys

import pytest

from evalset.server import allocator

# Frees an 8 MiB block (glibc mapped it), then takes 1 MiB, and says where that came from: glibc left to
# itself has raised its mapping threshold to 8 MiB by then, so it takes the 1 MiB from the heap and keeps it
# there when freed; with the threshold fixed at 256 KiB, the 1 MiB block is mapped on its own.
PROBE = """
import ctypes, sys
from evalset.server.allocator import tune_malloc
if sys.argv[1] == "tuned":
    assert tune_malloc({})
big = bytearray(8 << 20)
del big
block = bytearray(1 << 20)
address = ctypes.addressof(ctypes.c_char.from_buffer(block))
with open("/proc/self/maps") as maps:
    heaps = [line.split()[0].split("-") for line in maps if line.rstrip().endswith("[heap]")]
print("heap" if any(int(lo, 16) <= address < int(hi, 16) for lo, hi in heaps) else "mapped")
"""


def where_a_block_goes(mode: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES" and not k.startswith("MALLOC_")}
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.skipif(not allocator.is_glibc(), reason="glibc only")
def test_on_glibc_a_large_block_stays_mapped_after_a_larger_one_was_freed() -> None:
    assert where_a_block_goes("default") == "heap"
    assert where_a_block_goes("tuned") == "mapped"


def test_another_c_library_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_glibc(name: str) -> str:
        raise ValueError(f"unrecognized configuration name: {name}")  # as on macOS

    monkeypatch.setattr(os, "confstr", no_glibc)
    monkeypatch.setattr(ctypes, "CDLL", lambda *args: pytest.fail("looked for mallopt"))
    assert not allocator.is_glibc()
    assert allocator.tune_malloc({}) is False


def test_musl_is_not_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "confstr", lambda name: None)
    assert not allocator.is_glibc()


@pytest.mark.parametrize(
    "environ",
    [{"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"}, {"MALLOC_MMAP_THRESHOLD_": "1048576"}, {"MALLOC_TOP_PAD_": "0"}],
)
def test_the_operators_own_malloc_settings_win(monkeypatch: pytest.MonkeyPatch, environ: dict[str, str]) -> None:
    monkeypatch.setattr(ctypes, "CDLL", lambda *args: pytest.fail("looked for mallopt"))
    assert allocator.tune_malloc(environ) is False


@pytest.mark.skipif(not allocator.is_glibc(), reason="glibc only")
def test_on_glibc_it_applies() -> None:
    assert allocator.tune_malloc({"GLIBC_TUNABLES": "glibc.rtld.nns=2"}) is True  # other tunables: not malloc's
