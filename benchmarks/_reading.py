"""Shared scaffolding of the file-reading benchmarks (``pynapple_session.py``,
``phy_folder.py``): a folder written once, a baseline reader and plastix's timed in the
same run (best of three each), and the result file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def best_of(fn: Callable[[Path], Any], folder: Path, n: int = 3) -> tuple[float, Any]:
    """The fastest of ``n`` calls ``fn(folder)`` (s) and the last result."""
    times, out = [], None
    for _ in range(n):
        clock = time.perf_counter()
        out = fn(folder)
        times.append(time.perf_counter() - clock)
    return min(times), out


def duration_arg(description: str) -> float:
    """Parse ``--quick`` (10 min of recording instead of 1 h); the duration in s."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--quick", action="store_true", help="10 min of recording, not 1 h")
    return 600.0 if ap.parse_args().quick else 3600.0


def race(write: Callable[[Path, float], int], baseline: Callable[[Path], Any],
         ours: Callable[[Path], Any], duration: float) -> dict[str, Any]:
    """Write the folder (``write(folder, duration)`` -> spikes), time both readers on it;
    the times, their ratio, the spikes, the size on disk and both results."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        n_spikes = write(folder, duration)
        size = sum(p.stat().st_size for p in folder.iterdir())
        t_base, ref = best_of(baseline, folder)
        t_ours, got = best_of(ours, folder)
    return {"duration_s": duration, "spikes": int(n_spikes), "files_mib": size / 2**20,
            "baseline_s": t_base, "plastix_s": t_ours, "ratio": t_ours / t_base,
            "baseline_result": ref, "plastix_result": got}


def save(name: str, quick: bool, row: dict[str, Any]) -> Path:
    """Write ``results/NAME.json`` (``NAME_quick.json``) with the time and the machine."""
    out = {k: v for k, v in row.items() if not k.endswith("_result")}
    out.update({"measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "load_average": os.getloadavg()[0],
                "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                            "python": sys.version.split()[0]}})
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}{'_quick' if quick else ''}.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    return path
