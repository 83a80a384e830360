"""Render an HTML page in headless Chromium and report what it shows (shared by the report tests)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000"]
PROBE = (
    "<script>window.addEventListener('load',()=>{document.body.setAttribute('data-images',"
    "Array.from(document.images).map(i=>i.complete&&i.naturalWidth>0?i.naturalWidth:0).join(','))})</script>"
)


def image_widths(page: Path, scratch: Path) -> list[int]:
    """The decoded width of every image on ``page`` once Chromium has loaded it (0: broken)."""
    probe = scratch / f"{page.stem}.probe.html"
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = subprocess.run(
        [CHROMIUM, *FLAGS, "--dump-dom", probe.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    widths = re.search(r'data-images="([^"]*)"', dom)
    assert widths is not None, dom[:500]
    return [int(w) for w in widths.group(1).split(",") if w]


def screenshot(page: Path, out: Path, height: int = 2600) -> int:
    """Save a screenshot of ``page``; return its size in bytes."""
    subprocess.run(
        [CHROMIUM, *FLAGS, f"--window-size=1200,{height}", f"--screenshot={out}", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    return out.stat().st_size
