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

from pathlib import Path

import numpy as np
from _reading import duration_arg, race, save

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


def main() -> int:
    duration = duration_arg(__doc__.splitlines()[0])
    row = race(write_session, baseline, plastix_read, duration)
    import xarray as xr

    rec = row["plastix_result"]
    xr.testing.assert_identical(rec.drop_attrs(), row["baseline_result"].drop_attrs())
    print(f"session: 120 units x {duration:.0f} s, {row['spikes']} spikes, "
          f"{row['files_mib']:.0f} MiB; record {dict(rec.sizes)}")
    print(f"nap.load_file + from_pynapple: {row['baseline_s']:.2f} s; read_pynapple_session: "
          f"{row['plastix_s']:.2f} s; ratio {row['ratio']:.2f}")
    save("pynapple_session", duration < 3600.0, {**row, "units": 120, "same_record": True})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
