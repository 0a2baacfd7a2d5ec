"""One table of bad inputs and the exact messages plastix answers them with.

Each row: (id, callable that triggers the error, exception type, exact message
regex).  Every message names the variable, what was expected and what was found.
Areas append their rows in their own section, above the test function.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

CASES: list[tuple[str, object, type, str]] = []

# --- record and alignment ---------------------------------------------------

# --- theory -----------------------------------------------------------------

# --- neo_io -----------------------------------------------------------------

# --- ann --------------------------------------------------------------------

# --- circuits ---------------------------------------------------------------

# --- estimate ---------------------------------------------------------------

# --- design -----------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_message(case):
    _, trigger, exc, message = case
    with pytest.raises(exc) as info:
        trigger()
    assert re.fullmatch(message, str(info.value), flags=re.S), (
        f"message was:\n{info.value}\nexpected (regex):\n{message}"
    )
