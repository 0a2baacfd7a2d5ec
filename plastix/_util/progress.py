"""Progress for slow work: tqdm's bar on a terminal or in a notebook, plain lines elsewhere.

Off a terminal (nohup, SLURM, a pipe) tqdm draws nothing, so a long run would say nothing
for hours: :class:`LineProgress` prints one plain line on stderr at most every
:data:`PROGRESS_EVERY_S` seconds (none for short work).  :func:`progress_bar` picks one.
"""

from __future__ import annotations

import sys
import time

__all__ = ["PROGRESS_EVERY_S", "LineProgress", "progress_bar", "on_terminal", "clock_text"]

PROGRESS_EVERY_S = 30.0
"""Seconds between the plain progress lines printed off a terminal (:class:`LineProgress`)."""


def clock_text(seconds: float) -> str:
    """``"4m05s"``, ``"1h02m"`` or ``"12s"``."""
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


class LineProgress:
    """Progress off a terminal: a plain line on stderr at most every
    :data:`PROGRESS_EVERY_S` seconds, none for short work.

    Parameters
    ----------
    total : float
        Units of work in all.
    desc : str
        What runs (``"estimate"``): the line starts ``plastix DESC:``.
    unit : str
        What is counted, plural (``"interval passes"``).
    """

    def __init__(self, total: float, desc: str, unit: str):
        self.total, self.desc, self.unit, self.n = total, desc, unit, 0
        self.start = self.last = time.monotonic()

    def update(self, n: float = 1) -> None:
        """Count ``n`` more units; print a line when it is time."""
        self.n += n
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY_S or not self.total:
            return
        self.last = now
        spent = now - self.start
        left = spent * max(self.total - self.n, 0) / max(self.n, 1e-12)
        print(f"plastix {self.desc}: {100 * self.n / self.total:.0f}% ({self.n:g} of "
              f"{self.total:g} {self.unit}), {clock_text(spent)} spent, about "
              f"{clock_text(left)} left", file=sys.stderr, flush=True)

    def close(self) -> None:
        """Nothing to clear (a line stays)."""


def progress_bar(progress: bool | None, total: float, desc: str, unit: str):
    """A tqdm bar on a terminal or in a notebook (or when ``progress`` is True),
    :class:`LineProgress` elsewhere when ``progress`` is None, nothing when False.

    Parameters
    ----------
    progress : bool or None
        True: always a bar; False: nothing; None: a bar on a terminal, lines elsewhere.
    total : float
        Units of work in all.
    desc : str
        What runs, shown on the bar and at the start of each line.
    unit : str
        What is counted, plural (``"interval passes"``); the bar shows it singular.
    """
    if progress is False:
        return None
    from tqdm.auto import tqdm

    notebook = any("notebook" in c.__module__ for c in tqdm.__mro__)  # draws a widget
    if progress is None and not notebook and not on_terminal():
        return LineProgress(total, desc, unit)
    singular = unit.split()[0].rstrip("s") if unit.endswith("s") else unit
    return tqdm(total=total, desc=desc, unit=singular, leave=False,
                disable=None if progress is None else not progress)


def on_terminal() -> bool:
    """Whether stderr is a terminal (a stream without ``isatty`` counts as one: its owner
    draws tqdm's bar)."""
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        return True if isatty is None else bool(isatty())
    except (ValueError, OSError):  # a closed stream
        return True
