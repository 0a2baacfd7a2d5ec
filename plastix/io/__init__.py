"""Files of records: one table of formats, and the Neo convention (SPEC §9).

* :mod:`plastix.io.formats` — the table of formats (NetCDF, NIX, NWB, pynapple, pickle):
  :func:`~plastix.io.formats.register_format`, :func:`~plastix.io.formats.get_format`,
  :func:`~plastix.io.formats.format_for_path`, ...; the only place format names
  and suffixes are listed.
* :func:`save_record` / :func:`load_record` — write and read a record in the
  format named by the file's suffix (atomic writes; checked reads; pickles only
  with ``allow_pickle=True``).
* :mod:`plastix.io.neo` — :func:`to_neo` / :func:`from_neo`, the record as a
  ``neo.Block``; :func:`read_block` / :func:`write_block` for Neo files.
* :mod:`plastix.io.netcdf` — the record as NetCDF-4.
* :mod:`plastix.io.nwb` — standard NWB files (pynwb) as labs write them, read by
  a documented convention (``Units`` with a ``role`` column, a ``plasticity``
  module with ``weight`` and ``synapses``); ``save_record(rec, "x.nwb",
  nwb_style="standard")`` writes one.
* :mod:`plastix.io.pynapple` — :func:`from_pynapple` / :func:`to_pynapple`, a
  pynapple session (``TsGroup`` / ``TsdFrame`` roles, a weight ``TsdFrame`` with
  its synapse table, an ``IntervalSet`` of segments) as a record and back;
  pynapple is imported only when they are called.
* :mod:`plastix.io.pynapple_files` — a pynapple session on disk (a folder of the
  ``.npz`` files pynapple saves) as a record, read without unpickling code
  (:mod:`plastix.io.pynapple_npz`); :func:`write_pynapple_session` writes one.
* :func:`load_pairing_table` — tidy tables of pairing experiments (CSV, TSV, Parquet,
  a DataFrame; :mod:`plastix.io.table`); a table is not a record, so it is read by
  this function rather than through the table of formats.
* :func:`inspect_file` — what plastix finds in any file, what an estimate lacks
  and the command-line flags that would map it (``plastix inspect FILE``).

Layering: ``plastix.io`` imports :mod:`plastix.record`, never the reverse.
"""

from plastix.io.files import load_record, open_record, read_block, save_record, write_block
from plastix.io.formats import (
    Format,
    format_for_path,
    format_names,
    format_suffixes,
    get_format,
    register_format,
)
from plastix.io.inspection import Inspection, inspect_file
from plastix.io.neo import DEFAULT_BIN_SIZE, from_neo, to_neo
from plastix.io.netcdf import load_netcdf, to_netcdf
from plastix.io.nwb import read_standard_nwb
from plastix.io.pynapple import from_pynapple, to_pynapple
from plastix.io.pynapple_files import read_pynapple_session, write_pynapple_session
from plastix.io.table import load_pairing_table

__all__ = ["save_record", "load_record", "open_record", "read_block", "write_block",
           "to_neo", "from_neo", "DEFAULT_BIN_SIZE", "to_netcdf", "load_netcdf", "Format",
           "register_format", "get_format", "format_for_path", "format_names",
           "format_suffixes", "inspect_file", "Inspection", "read_standard_nwb",
           "from_pynapple", "to_pynapple", "read_pynapple_session", "write_pynapple_session",
           "load_pairing_table"]
