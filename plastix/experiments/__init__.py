"""The paper's experiments and ours, one small module each, run by ``plastix reproduce``.

Every experiment module exposes::

    run(out: Path, *, quick: bool = False, n_seeds: int | None = None, rng=None) -> Path

which writes its data (NetCDF and CSV), a figure (PNG) and a markdown summary
into ``out`` and returns the summary's path.
"""

# name -> module; each module is imported only when it runs.
EXPERIMENTS = {
    "table1": "plastix.experiments.table1",
    "table1-ablations": "plastix.experiments.table1_ablations",
    "fig3": "plastix.experiments.fig3",
    "fig4": "plastix.experiments.fig4",
    "fig5": "plastix.experiments.fig5",
    "fig15": "plastix.experiments.fig15",
    "circuit-phase": "plastix.experiments.circuit_phase",
}
