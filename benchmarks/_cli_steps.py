"""Resumable ``jetpointnet`` commands for the long studies (bench_radius).

A :class:`Step` is one CLI command run as a subprocess (its log in ``OUT/logs/``). The
:class:`Runner` runs it unless ``OUT/done/KEY.json`` records the same command finished
(and its output file is still there, and no step it needs finished after it); an
interrupted step with a ``resume`` command restarts that way. One line per step.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from jetpointnet.io.sample_files import read_json_object, write_json

__all__ = ["CLI", "T0", "Runner", "Step", "expand", "say"]

CLI = [sys.executable, "-m", "jetpointnet.cli"]
T0 = time.perf_counter()
PRINT = threading.Lock()


def say(msg: str) -> None:
    with PRINT:
        print(f"[{time.perf_counter() - T0:7.0f} s] {msg}", flush=True)


@dataclass
class Step:
    """One ``jetpointnet`` command; ``cmd`` is recorded in ``OUT/done/KEY.json``."""

    key: str
    cmd: list[str]
    extra: list[str] = field(default_factory=list)  # appended at run time, not recorded
    redo: bool = False  # a finished step with another command is redone (else refused)
    resume: list[str] | None = None  # the command when an interrupted run can resume
    threads: int | None = None  # OMP_NUM_THREADS of the process
    output: Path | None = None  # a file the finished step leaves (else it is not done)
    needs: list[str] = field(default_factory=list)  # steps whose redo makes this one stale


class Runner:
    def __init__(self, out: Path) -> None:
        self.out, self.failed, self.shown = out, [], set()

    def done(self, step: Step) -> bool:
        path = self.out / "done" / f"{step.key}.json"
        if step.output is not None and not step.output.exists():
            return False
        if not path.is_file() or read_json_object(path)["cmd"] != step.cmd:
            return False
        before = [self.out / "done" / f"{k}.json" for k in step.needs]
        return all(not b.is_file() or b.stat().st_mtime <= path.stat().st_mtime for b in before)

    def run(self, step: Step) -> bool:
        """Run ``step`` unless done; True when it is finished (now or before)."""
        marker = self.out / "done" / f"{step.key}.json"
        kind = step.key.split("/")[0]
        with PRINT:
            if kind not in self.shown:  # the equivalent command line, once per kind
                self.shown.add(kind)
                print("  $ jetpointnet " + " ".join(_quote(a) for a in step.cmd + step.extra))
        if self.done(step):
            say(f"{step.key}: done before, skipped")
            return True
        if marker.is_file() and read_json_object(marker)["cmd"] != step.cmd and not step.redo:
            say(f"FAILED {step.key}: finished earlier with another command ({marker}); "
                "remove its output and that file to redo it")  # fmt: skip
            self.failed.append(step.key)
            return False
        cmd = step.resume if step.resume is not None else step.cmd
        log = self.out / "logs" / f"{step.key.replace('/', '_')}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        if step.threads:
            env.update(OMP_NUM_THREADS=str(step.threads), MKL_NUM_THREADS=str(step.threads))
        t0 = time.perf_counter()
        with log.open("w") as f:
            proc = subprocess.Popen([*CLI, *cmd, *step.extra], stdout=f, stderr=subprocess.STDOUT,
                                    env=env)  # fmt: skip
            _, status, usage = os.wait4(proc.pid, 0)  # its own peak RSS (not its workers')
            rc = proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - t0
        if rc != 0:
            tail = log.read_text().strip().splitlines()[-1:] or ["(no output)"]
            say(f"FAILED {step.key} (exit {rc}, {seconds:.0f} s): {tail[0]}  [log: {log}]")
            self.failed.append(step.key)
            return False
        rss = usage.ru_maxrss / 1024
        write_json(marker, {"cmd": step.cmd, "seconds": seconds, "resumed": cmd != step.cmd,
                            "peak_rss_mib": rss})  # fmt: skip
        say(f"{step.key}: finished in {seconds:.0f} s" + (" (resumed)" if cmd != step.cmd else ""))
        return True


def _quote(a: str) -> str:
    return f"'{a}'" if any(c in a for c in " *?[]{}") else a


def expand(patterns: list[str], what: str) -> tuple[list[str], list[str]]:
    """The absolute glob patterns (for the commands) and the files they match."""
    patterns = [os.path.abspath(p) for p in patterns]
    files = sorted({str(Path(f).resolve()) for p in patterns for f in glob.glob(p)})
    if not files:
        sys.exit(f"{what}: no file matches {' '.join(patterns)}")
    return patterns, files
