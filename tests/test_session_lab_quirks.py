"""Files as labs' tools leave them (probe 5): a pynapple session whose weights are not named
``weights.npz``, role values spelt ``presyn``, a ``params.py`` saved with a BOM or holding an
expression, Neo roles given as groups, disguised pickles and ``.mat`` files; and inspect's
report, which prints the command when the file is ready."""

from __future__ import annotations

import pytest
from test_phy_files import _kilosort

from plastix._util.errors import FileFormatError
from plastix.estimate.synthetic import simulate_spike_record
from plastix.io.phy_files import phy_folder


@pytest.fixture(scope="module")
def spike_rec():
    return simulate_spike_record(4, 2, duration=20.0, rng=2)


# ------------------------------------------------------------------ Kilosort params.py


def test_params_py_saved_with_a_bom_reads_its_sample_rate(tmp_path, spike_rec):
    """Windows Notepad saves params.py with a UTF-8 BOM (and CRLF): the first line is
    still ``sample_rate = ...``."""
    folder, _ = _kilosort(tmp_path / "ks", spike_rec)
    (folder / "params.py").write_bytes(
        b"\xef\xbb\xbfsample_rate = 30000.0\r\ndtype = 'int16'\r\n")
    assert phy_folder(folder).sample_rate == 30000.0


@pytest.mark.parametrize("value", ["30 * 1000", "float(30000)"])
def test_a_sample_rate_written_as_an_expression_is_quoted_not_run(tmp_path, spike_rec,
                                                                   value):
    folder, _ = _kilosort(tmp_path / "ks", spike_rec)
    (folder / "params.py").write_text(f"dtype = 'int16'\nsample_rate = {value}\n")
    with pytest.raises(FileFormatError) as err:
        phy_folder(folder)
    text = str(err.value)
    assert "\n" not in text and f"`sample_rate = {value}`" in text
    assert "line 2" in text and "never runs" in text and "`sample_rate = 30000.0`" in text
