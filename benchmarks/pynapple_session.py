"""Benchmark: reading a pynapple session folder safely, against pynapple's own loader.

A session as a lab saves it with pynapple (``.save()``): one ``TsGroup`` of 120
units (100 CA3, 20 CA1 by a ``location`` metadata column) firing at 10 Hz for
1 h (``--quick``: 10 min), and a ``TsdFrame`` of 200 synapses' weights every 10 s
(metadata ``pre_unit``, ``post_unit``).  In the same process and run, best of
three each:

* ``baseline``: ``nap.load_file`` on each file (which unpickles the metadata
  without restriction) and :func:`plastix.io.from_pynapple` on the objects, the
  units split by their ``location`` — what a user does in Python;
* ``plastix``: ``read_pynapple_session(folder, pre_units="location=CA3",
  post_units="location=CA1")`` (the plain arrays read with ``allow_pickle=False``,
  the metadata with the restricted unpickler), the same record (checked).

Prints both times and ``plastix / baseline``; writes
``benchmarks/results/pynapple_session.json`` (``..._quick.json``).

Run: ``.venv/bin/python benchmarks/pynapple_session.py [--quick]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SELECT = {"pre_units": "location=CA3", "post_units": "location=CA1"}


def write_session(folder: Path, duration: float, seed: int = 0) -> int:
    """Write the session with pynapple; returns its number of spikes."""
    import pynapple as nap

    rng = np.random.default_rng(seed)
    trains = {u: nap.Ts(t=np.sort(rng.uniform(0, duration, rng.poisson(10.0 * duration))))
              for u in range(120)}
    units = nap.TsGroup(trains, metadata={"location": np.array(["CA3"] * 100 + ["CA1"] * 20)})
    units.save(str(folder / "spikes.npz"))
    t = np.arange(0.0, duration, 10.0)
    pre, post = np.arange(200) % 100, 100 + np.arange(200) // 10
    nap.TsdFrame(t=t, d=rng.normal(1.0, 0.1, (t.size, 200)), columns=np.arange(200),
                 metadata={"pre_unit": pre, "post_unit": post}).save(str(folder / "weights.npz"))
    return sum(len(units[u]) for u in units.keys())


def baseline(folder: Path):
    """pynapple's loader, then from_pynapple on the objects split by location."""
    import pynapple as nap

    from plastix.io import from_pynapple

    units = nap.load_file(str(folder / "spikes.npz"))
    weights = nap.load_file(str(folder / "weights.npz"))
    loc = np.asarray(units.metadata["location"])
    keys = np.asarray(list(units.keys()))
    return from_pynapple(units[keys[loc == "CA3"].tolist()], units[keys[loc == "CA1"].tolist()],
                         weights)


def plastix_read(folder: Path):
    from plastix.io import read_pynapple_session

    return read_pynapple_session(folder, **SELECT)


def best_of(fn, folder: Path, n: int = 3) -> tuple[float, object]:
    times, out = [], None
    for _ in range(n):
        clock = time.perf_counter()
        out = fn(folder)
        times.append(time.perf_counter() - clock)
    return min(times), out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10 min of recording, not 1 h")
    args = ap.parse_args(argv)
    duration = 600.0 if args.quick else 3600.0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        n_spikes = write_session(folder, duration)
        size = sum(p.stat().st_size for p in folder.iterdir())
        t_base, ref = best_of(baseline, folder)
        t_ours, rec = best_of(plastix_read, folder)
    import xarray as xr

    xr.testing.assert_identical(rec.drop_attrs(), ref.drop_attrs())
    ratio = t_ours / t_base
    print(f"session: 120 units x {duration:.0f} s, {n_spikes} spikes, {size / 2**20:.0f} MiB; "
          f"record {dict(rec.sizes)}")
    print(f"nap.load_file + from_pynapple: {t_base:.2f} s; read_pynapple_session: "
          f"{t_ours:.2f} s; ratio {ratio:.2f}")
    out = {"duration_s": duration, "units": 120, "spikes": int(n_spikes),
           "files_mib": size / 2**20, "baseline_s": t_base, "plastix_s": t_ours,
           "ratio": ratio, "same_record": True,
           "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "load_average": os.getloadavg()[0],
           "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                       "python": sys.version.split()[0]}}
    name = "pynapple_session_quick.json" if args.quick else "pynapple_session.json"
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / name).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
