"""Standard NWB files built with pynwb calls, shared by the NWB reader's tests.

Plain pynwb, as a lab would write them: an ``NWBFile``, a ``plasticity``
processing module with a ``weight`` TimeSeries and a ``synapses`` table.  Not a
test module (no ``test_`` prefix); imported by ``test_nwb_standard.py`` and
``test_nwb_variants.py``.
"""

from __future__ import annotations

import datetime

import pynwb
import pynwb.misc


def nwbfile(description: str = "slice, paired recordings", identifier: str = "lab-1",
            **kw) -> pynwb.NWBFile:
    """An empty NWB file with the required fields (timezone-aware start time)."""
    return pynwb.NWBFile(session_description=description, identifier=identifier,
                         session_start_time=datetime.datetime(2025, 3, 1, 9, 30,
                                                              tzinfo=datetime.UTC), **kw)


def add_synapses(mod, pairs, region=None) -> None:
    """The ``synapses`` table of ``mod``: one row ``(pre_unit, post_unit)`` per weight column.

    With ``region`` (a table, e.g. ``nwb.units``) the columns are DynamicTableRegions
    into it and ``pairs`` hold its row indices; else they hold unit ids (or any value).
    """
    from hdmf.common import DynamicTable

    syn = DynamicTable(name="synapses", description="the synapse of each weight column")
    syn.add_column("pre_unit", "presynaptic unit", table=False if region is None else region)
    syn.add_column("post_unit", "postsynaptic unit", table=False if region is None else region)
    for pre, post in pairs:
        syn.add_row(pre_unit=pre, post_unit=post)
    mod.add(syn)


def add_plasticity(nwb, times, weights, pairs, unit: str = "mV", region=None, **series_kw):
    """The ``plasticity`` module: a ``weight`` TimeSeries (sample, synapse) and its synapses
    (:func:`add_synapses`); ``series_kw`` go to the TimeSeries."""
    mod = nwb.create_processing_module("plasticity", "measured synaptic efficacies")
    mod.add(pynwb.TimeSeries(name="weight", data=weights, unit=unit, timestamps=times,
                             **series_kw))
    add_synapses(mod, pairs, region)
    return mod


def write(nwb, path):
    """Write ``nwb`` to ``path`` with pynwb; returns ``path``."""
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


def add_units(nwb, units, *, table=None) -> None:
    """Units with a ``role`` column: ``units`` is a list of ``(id, spike_times, role)``; into
    ``table`` (a ``pynwb.misc.Units``) when given, else the file's top-level units."""
    target = nwb if table is None else table
    if table is None:
        nwb.add_unit_column("role", "pre or post")
    else:
        table.add_column("role", "pre or post")
    for uid, times, role in units:
        target.add_unit(spike_times=times, id=uid, role=role)


def units_table(name: str, units) -> pynwb.misc.Units:
    """A ``Units`` table named ``name`` (for a processing module, as SpikeInterface's
    ``write_as="processing"`` writes it), holding ``units`` as in :func:`add_units`."""
    table = pynwb.misc.Units(name=name, description="spike sorter output")
    add_units(None, units, table=table)
    return table


def roi_series(nwb, data, n_rois: int, region, *, rate: float = 20.0):
    """An ``ophys`` module with ``n_rois`` ROIs and a ``Fluorescence/RoiResponseSeries`` of
    ``data`` (time, column) whose ``rois`` region holds the ROI rows ``region``."""
    import numpy as np
    from pynwb.ophys import Fluorescence, ImageSegmentation, OpticalChannel, RoiResponseSeries

    device = nwb.create_device("scope")
    channel = OpticalChannel(name="green", description="green", emission_lambda=500.0)
    plane = nwb.create_imaging_plane(name="plane", optical_channel=channel, description="d",
                                     device=device, excitation_lambda=600.0, imaging_rate=rate,
                                     indicator="GCaMP", location="CA1")
    ophys = nwb.create_processing_module("ophys", "imaging")
    seg = ImageSegmentation()
    ophys.add(seg)
    cells = seg.create_plane_segmentation("cells", plane, "PlaneSegmentation")
    for k in range(n_rois):
        mask = np.zeros((8, 8))
        mask[k, k] = 1
        cells.add_roi(image_mask=mask)
    rois = cells.create_roi_table_region("rois", region=list(region))
    ophys.add(Fluorescence(RoiResponseSeries(name="RoiResponseSeries", data=data, rois=rois,
                                             unit="a.u.", starting_time=0.0, rate=rate)))
    return "processing/ophys/Fluorescence/RoiResponseSeries"


def cut_timestamps(path, series: str, n_cut: int):
    """Drop the last ``n_cut`` timestamps of ``series`` in the written file ``path`` (with
    h5py, as another writer can leave a file: pynwb only warns when it reads it)."""
    import h5py

    with h5py.File(path, "a") as h:
        group = h[series]
        ts, attrs = group["timestamps"][:], dict(group["timestamps"].attrs)
        del group["timestamps"]
        new = group.create_dataset("timestamps", data=ts[:-n_cut])
        for k, v in attrs.items():
            new.attrs[k] = v
    return path
