"""keep_freed_memory: a worker reuses the memory it freed instead of faulting in fresh pages."""

from __future__ import annotations

import subprocess
import sys

import pytest

_PROBE = """
import resource, sys
import numpy as np
if sys.argv[1] == "tuned":
    from jetpointnet.executors import keep_freed_memory
    keep_freed_memory()
    keep_freed_memory()  # a second call changes nothing
faults = []
for _ in range(4):  # a chunk's arrays: allocated, filled, freed, again
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    a = np.ones(3_000_000)
    b = np.ones(2_000_000)
    del a, b
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(sum(faults[1:]))
"""


def _later_faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True,
                         check=True)  # fmt: skip
    return int(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt (Linux)")
def test_freed_arrays_are_reused_without_new_page_faults() -> None:
    assert _later_faults("tuned") == 0
    assert _later_faults("default") > 0  # glibc's defaults give the pages back at first
