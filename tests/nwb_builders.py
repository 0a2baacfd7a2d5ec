"""Standard NWB files built with pynwb calls, shared by the NWB reader's tests.

Plain pynwb, as a lab would write them: an ``NWBFile``, a ``plasticity``
processing module with a ``weight`` TimeSeries and a ``synapses`` table.  Not a
test module (no ``test_`` prefix); imported by ``test_nwb_standard.py`` and
``test_nwb_variants.py``.
"""

from __future__ import annotations

import datetime

import pynwb


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
