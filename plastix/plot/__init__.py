"""Figures, matplotlib only.

One module per area (``plastix.plot.ann`` for the artificial-network experiments, …).
Every ``plot_*`` function takes ``ax=None`` (a new figure when omitted), draws with
labelled axes and units, returns the axes it drew on, and never calls ``show()``.
Submodules are imported explicitly (``from plastix.plot.ann import plot_phase_diagram``)
so that importing :mod:`plastix.plot` stays light.
"""
