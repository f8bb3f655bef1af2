"""Headless Chromium for page-rendering tests: load a page, run a probe script, read back
what it wrote into the document title (tests skip cleanly where Chromium is absent)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

__all__ = ["CHROMIUM", "probe_page"]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def probe_page(page: Path, js: str, workdir: Path, *, wait_ms: int = 8000) -> str:
    """Open a copy of ``page`` (beside it, so relative links resolve) with ``js`` appended;
    ``js`` must set ``document.title``; return that title (empty when it never ran)."""
    probe = page.with_name(f"_probe_{page.name}")
    probe.write_text(
        page.read_text(encoding="utf-8").replace(
            "</body>", f"<script>window.addEventListener('load', () => {{{js}}});</script></body>"
        ),
        encoding="utf-8",
    )
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", f"--user-data-dir={workdir / 'chromium-profile'}",
           f"--virtual-time-budget={wait_ms}", "--dump-dom", probe.as_uri()]  # fmt: skip
    try:
        dom = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=90).stdout
    finally:
        probe.unlink()
    m = re.search(r"<title>(.*?)</title>", dom, re.DOTALL)
    return m.group(1) if m else ""
