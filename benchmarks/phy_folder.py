"""Benchmark: reading a Kilosort / Phy folder's spike trains, plastix against Neo's PhyIO.

A folder as Kilosort writes it: 300 clusters firing at 5 Hz for 1 h (``--quick``:
10 min), ``spike_times.npy`` in samples at 30 kHz, ``spike_clusters.npy``,
``spike_templates.npy``, ``params.py``, ``cluster_group.tsv`` and
``cluster_info.tsv``.  In the same process and run, best of three each, the
work of getting every cluster's spike train (s) with its table columns:

* ``baseline``: ``neo.io.PhyIO(folder).read_block()`` (one mask over all spikes
  per cluster, plus Neo objects);
* ``plastix``: :func:`plastix.io.phy_files.phy_folder` and each cluster's train
  (one sort by cluster).

The trains are checked equal.  Prints both times and ``plastix / baseline``;
writes ``benchmarks/results/phy_folder.json`` (``..._quick.json``).

Run: ``.venv/bin/python benchmarks/phy_folder.py [--quick]``
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from _reading import duration_arg, race, save

RATE = 30000.0


def write_folder(folder: Path, duration: float, n: int = 300, seed: int = 0) -> int:
    """Write the folder; returns its number of spikes."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    counts = rng.poisson(5.0 * duration, n)
    clusters = np.repeat(np.arange(n), counts)
    samples = np.round(rng.uniform(0, duration, clusters.size) * RATE).astype(np.uint64)
    order = np.argsort(samples, kind="stable")
    np.save(folder / "spike_times.npy", samples[order])  # 1-D: neo fails on (n, 1)
    np.save(folder / "spike_clusters.npy", clusters[order].astype(np.int32))
    np.save(folder / "spike_templates.npy", clusters[order].astype(np.int32))
    (folder / "params.py").write_text(f"dat_path = 'rec.bin'\nn_channels_dat = 385\n"
                                      f"dtype = 'int16'\noffset = 0\nsample_rate = {RATE}\n"
                                      "hp_filtered = False\n")
    ids = np.arange(n)
    pd.DataFrame({"cluster_id": ids, "group": "good"}).to_csv(
        folder / "cluster_group.tsv", sep="\t", index=False)
    pd.DataFrame({"cluster_id": ids, "depth": rng.uniform(0, 3840, n), "fr": 5.0}).to_csv(
        folder / "cluster_info.tsv", sep="\t", index=False)
    return int(clusters.size)


def baseline(folder: Path) -> dict[int, np.ndarray]:
    import neo

    block = neo.io.PhyIO(dirname=str(folder)).read_block()
    return {int(st.annotations["cluster_id"]): np.asarray(st.rescale("s").magnitude)
            for st in block.segments[0].spiketrains}


def plastix_read(folder: Path) -> dict[int, np.ndarray]:
    from plastix.io.phy_files import phy_folder

    units = phy_folder(folder)
    t, index = units.arrays["t"], units.arrays["index"]
    order = np.argsort(index, kind="stable")
    bounds = np.searchsorted(index[order], units.ids)
    parts = np.split(t[order], bounds[1:])
    return {int(i): p for i, p in zip(units.ids.tolist(), parts, strict=True)}


def main() -> int:
    duration = duration_arg(__doc__.splitlines()[0])
    row = race(write_folder, baseline, plastix_read, duration)
    ref, ours = row["baseline_result"], row["plastix_result"]
    assert ref.keys() == ours.keys()
    for k in ref:
        np.testing.assert_allclose(ours[k], ref[k], rtol=0, atol=1e-9)
    print(f"Phy folder: 300 clusters x {duration:.0f} s, {row['spikes']} spikes")
    print(f"neo.io.PhyIO read_block: {row['baseline_s']:.2f} s; plastix phy_folder + trains: "
          f"{row['plastix_s']:.2f} s; ratio {row['ratio']:.3f} ({1 / row['ratio']:.0f}x faster)")
    save("phy_folder", duration < 3600.0, {**row, "clusters": 300, "same_trains": True})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
