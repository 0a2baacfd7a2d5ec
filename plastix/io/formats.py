"""The one table of file formats: the only place their names and suffixes are listed.

Each :class:`Format` declares what the machinery needs: its suffixes, a
one-line description (CLI help texts are built from it), the packages it needs
and the exact command that installs them, whether reading it is safe (a pickle
is not: unpickling runs code), how to recognise its content, and its reader
and writer.  :func:`plastix.io.save_record`, :func:`plastix.io.load_record`,
:func:`plastix.io.read_block`, the estimator and the CLI read the table and
never compare format names.

Adding a format is one call::

    register_format(Format(
        name="npz", suffixes=(".npz",), description="numpy archive of a record",
        read=read_npz, write=write_npz))

``read(path, **options)`` returns a record; ``write(record, path)`` writes one
to ``path`` (a temporary path: :func:`~plastix.io.save_record` renames it into
place, so every format is written atomically).  Neo formats also declare
``read_blocks(path)`` (all ``neo.Block`` of a file) and ``write_block(block,
path)``; their record reader and writer go through
:func:`plastix.io.neo.from_neo` / :func:`plastix.io.neo.to_neo`.  The ``nwb``
entry reads both kinds of NWB file: Neo-written ones through Neo, any other
(pynwb, MatNWB, ``nwb_style="standard"``) through :mod:`plastix.io.nwb`; it
writes either style (``write_options=("nwb_style",)``).  Two formats are folders that
plastix reads and does not write (``folder=True``, ``write=None``): a pynapple session
(the ``.npz`` files pynapple saves; :mod:`plastix.io.pynapple_files`) and a Kilosort /
Phy output folder (:mod:`plastix.io.phy_files`); a directory is given the folder format
that recognises its content.
"""

from __future__ import annotations

import fnmatch
import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xarray as xr

from plastix._util.errors import check_choice, did_you_mean
from plastix._util.registry import Registry
from plastix.io import neo_files, netcdf, phy_files, probe, pynapple_files, pynapple_npz
from plastix.io.neo import from_neo, pick_block, read_neo_file, to_neo
from plastix.io.nwb import open_standard_nwb, read_standard_nwb
from plastix.io.nwb_scan import READ_OPTIONS
from plastix.io.nwb_write import write_standard_nwb

__all__ = ["Format", "NWB_STYLES", "read_nwb_record", "open_nwb_record", "open_nix_record",
           "write_nwb_record", "register_format",
           "unregister_format", "get_format", "format_for_path", "check_not_folder_member",
           "format_names", "format_suffixes", "formats", "format_help", "suffix_help"]

Sniffer = Callable[[Path], "bool | None"]


@dataclass(frozen=True)
class Format:
    """One file format of records.

    Parameters
    ----------
    name : str
        Registry key, lower case (``"netcdf"``).
    suffixes : tuple of str
        File suffixes, lower case with the dot (``(".nc", ".nc4", ".h5")``); the
        first is the one suggested when a file must be renamed.
    description : str
        One line for help texts.
    read : callable
        ``read(path, **options) -> xarray.Dataset``, a validated record.
    write : callable or None
        ``write(record, path)``: write a record to ``path``; None for a format plastix
        reads but does not write (``save_record`` refuses it, quoting ``write_note``).
    label : str
        The format's name in messages (default: ``name``).
    packages : tuple of str
        Modules the format needs, checked before reading or writing.
    install : str
        The exact command that installs them (default: ``pip install <packages>``).
    safe : bool
        False when reading a file can run code; such files are read only with
        ``allow_pickle=True`` (CLI ``--allow-pickle``).
    risk : str
        Why reading is unsafe (required when ``safe`` is False).
    sniff : callable, optional
        ``sniff(path) -> bool | None``: whether the file's content is this format
        (None: cannot tell).  Used to name the real format of a misnamed file.
    read_blocks, write_block : callable, optional
        For Neo formats: all ``neo.Block`` of a file, and writing one block.
    open_lazy : callable, optional
        ``open_lazy(path, **options) -> xarray.Dataset or None``: the record opened
        without loading its activity (the estimator streams such files; the caller
        closes it), or None when this file cannot be opened so (it is read whole).
    lazy_options : tuple of str
        Reader options ``open_lazy`` takes (:func:`plastix.io.open_record` reads a
        file whole when given any other).
    write_options : tuple of str
        Keyword options ``write`` accepts (``save_record(..., **options)``), e.g.
        ``("nwb_style",)``; other formats refuse them.
    folder : bool
        A record of this format may also be a folder of its files (a pynapple
        session): :func:`format_for_path` gives it for a folder holding such files.
    write_note : str
        For a format without ``write``: what to use instead, for the refusal.
    members : tuple of str
        For a folder format: name patterns (``fnmatch``, any case) of its files that
        another format's suffix would claim (``cluster_info.tsv`` of a Phy folder is
        no pairing table); such a file, in a folder of this format, is refused with
        the advice to pass the folder.
    inspect : callable, optional
        ``inspect(path, options) -> Inspection or str or None`` for
        :func:`plastix.io.inspect_file`: a report of its own (a file that is not yet
        a record, e.g. a standard NWB file before its roles are mapped), or the
        label of this file's kind; None (or no hook) describes the record
        ``read`` gives, under ``label``.
    """

    name: str
    suffixes: tuple[str, ...]
    description: str
    read: Callable[..., xr.Dataset]
    write: Callable[[xr.Dataset, Path], object] | None
    label: str = ""
    packages: tuple[str, ...] = ()
    install: str = ""
    safe: bool = True
    risk: str = ""
    sniff: Sniffer | None = None
    read_blocks: Callable[[Path], list[Any]] | None = None
    write_block: Callable[[Any, Path], object] | None = None
    open_lazy: Callable[..., xr.Dataset | None] | None = None
    lazy_options: tuple[str, ...] = ()
    write_options: tuple[str, ...] = ()
    folder: bool = False
    write_note: str = ""
    inspect: Callable[[Path, dict], Any] | None = None
    members: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier() or (
                self.name != self.name.lower()):
            raise ValueError(f"`name` must be a lower-case identifier (e.g. 'netcdf'); got "
                             f"{self.name!r}.")
        sfx = tuple(self.suffixes) if not isinstance(self.suffixes, str) else (self.suffixes,)
        bad = [s for s in sfx if not (isinstance(s, str) and s.startswith(".") and len(s) > 1
                                      and s == s.lower())]
        if not sfx or bad:
            raise ValueError(f"`suffixes` of format {self.name!r} must be lower-case suffixes "
                             f"with the dot, e.g. ('.nc',); got {self.suffixes!r}.")
        if not isinstance(self.description, str) or not self.description.strip() or (
                "\n" in self.description):
            raise ValueError(f"`description` of format {self.name!r} must be one line of "
                             f"text; got {self.description!r}.")
        for key in ("read", "write"):
            if not callable(getattr(self, key)) and (key == "read" or self.write is not None):
                raise TypeError(f"`{key}` of format {self.name!r} must be callable; got "
                                f"{type(getattr(self, key)).__name__}.")
        if not self.safe and not self.risk:
            raise ValueError(f"format {self.name!r} is not safe to read: give `risk`, the "
                             "reason, for the message that refuses its files.")
        object.__setattr__(self, "suffixes", sfx)
        object.__setattr__(self, "packages", tuple(self.packages))
        object.__setattr__(self, "write_options", tuple(self.write_options))
        object.__setattr__(self, "label", self.label or self.name)
        if self.packages and not self.install:
            object.__setattr__(self, "install", "pip install " + " ".join(self.packages))

    def require(self) -> None:
        """Import the packages the format needs, or raise ``ImportError`` with ``install``."""
        for pkg in self.packages:
            try:
                importlib.import_module(pkg)
            except ImportError as err:
                raise ImportError(f"plastix needs `{pkg}` to read and write {self.label} "
                                  f"files; install it with: {self.install}") from err


_REGISTRY: Registry[Format] = Registry("format", Format, "fmt")


def _check_suffixes(fmt: Format) -> None:
    for other in _REGISTRY.values():
        clash = sorted(set(fmt.suffixes) & set(other.suffixes))
        if other.name != fmt.name and clash:
            raise ValueError(f"suffix {clash[0]!r} of format {fmt.name!r} already belongs to "
                             f"format {other.name!r}; one suffix names one format.")


def register_format(fmt: Format, *, replace: bool = False) -> Format:
    """Add a format to the table; returns it.

    A name already registered, or a suffix that belongs to another format, is a
    ``ValueError`` unless ``replace=True`` (which replaces the format of the same
    name; suffixes of other formats are never taken over).
    """
    return _REGISTRY.register(fmt, replace=replace, check=_check_suffixes)


def unregister_format(name: str) -> Format:
    """Remove a format from the table (e.g. a test's toy format); returns it."""
    return _REGISTRY.unregister(name)


def get_format(name: str) -> Format:
    """The format registered as ``name``; unknown names get "did you mean"."""
    return _REGISTRY.get(name)


def formats() -> tuple[Format, ...]:
    """All registered formats, in registration order."""
    return _REGISTRY.values()


def format_names() -> tuple[str, ...]:
    """Names of the registered formats, in registration order."""
    return _REGISTRY.names()


def format_suffixes() -> tuple[str, ...]:
    """Every suffix of every registered format, in registration order."""
    return tuple(s for f in _REGISTRY.values() for s in f.suffixes)


def format_for_path(path: str | os.PathLike, *, among: tuple[Format, ...] | None = None,
                    what: str = "") -> Format:
    """The format of a file, chosen by its suffix (case-insensitive).

    Parameters
    ----------
    path : str or os.PathLike
        The file (it need not exist).
    among : tuple of Format, optional
        Formats to choose from (default: all registered).
    what : str
        Added to the message, e.g. ``" for a Neo file"``.

    Raises
    ------
    ValueError
        When no format has the suffix: the message names the file, its suffix
        and the supported suffixes.
    """
    path = Path(path)
    pool = formats() if among is None else among
    suffix = path.suffix.lower()
    if path.is_dir() and not any(suffix in f.suffixes for f in pool if not f.folder):
        return _folder_format(path, pool)  # a session folder; "x.nc/" is refused as NetCDF
    owner = _member_of(path, pool)
    if owner is not None:
        raise _member_error(path, owner)
    for fmt in pool:
        if suffix in fmt.suffixes:
            return fmt
    known = sorted(s for f in pool for s in f.suffixes)
    got = f"suffix {path.suffix!r}" if path.suffix else "no suffix"
    folder = _folder_of(path.parent, pool) if path.is_file() else None
    if folder is not None:  # params.py of a Kilosort folder, a table beside a session
        raise _member_error(path, folder)
    raise ValueError(f"`path` must end in one of {', '.join(known)}{what}; got {path.name!r} "
                     f"({got})." + did_you_mean(path.suffix, known, cutoff=0.75)
                     + (_neo_reader_hint(path) if among is None else ""))


def _neo_reader_hint(path: Path) -> str:
    """For a file of a suffix plastix does not read that one of Neo's IOs claims (``.mat``:
    ``NeoMatlabIO``, which reads Neo's MATLAB layout only; ``.smr``: ``Spike2IO``): how to
    convert it once to a file plastix reads, through Neo or, when Neo cannot read it (a
    ``.mat`` of other variables), as a record built from its arrays.  The IOs are Neo's
    own list (``neo.io.iolist``), not one of plastix's."""
    suffix = path.suffix.lower().lstrip(".")
    if not suffix:
        return ""
    try:
        import neo.io
    except ImportError:
        return ""
    ios = [io.__name__ for io in neo.io.iolist if getattr(io, "mode", "") == "file"
           and suffix in (e.lower() for e in getattr(io, "extensions", ()))]
    if not ios:
        return ""
    stem = path.with_suffix("")
    return (f" If Neo reads it (neo.io.{' or neo.io.'.join(ios[:3])} reads .{suffix} files), "
            "read the block in Python, give its objects plastix's Neo convention (the README's "
            "section \"Your own data: the Neo convention\") and save it once with "
            f"plastix.io.write_block(block, {stem.name + '.nix'!r}); else build a record of its "
            "arrays with plastix.record.make_record and save it with "
            f"plastix.io.save_record(rec, {stem.name + '.nc'!r}). Then pass that file.")


def check_not_folder_member(path: str | os.PathLike) -> None:
    """Refuse a file that is part of a folder record (:attr:`Format.members`, e.g. a Phy
    folder's ``cluster_info.tsv``), before another format's suffix claims it (a ``.tsv``
    is otherwise a pairing table): the message says to pass the folder."""
    path = Path(path)
    owner = _member_of(path, formats())
    if owner is not None:
        raise _member_error(path, owner)


def _member_error(path: Path, folder: Format) -> ValueError:
    return ValueError(f"`path` {path.name!r} is a file of the folder {path.parent.name!r} "
                      f"({folder.label}), which is read as a whole: pass the folder "
                      f"({str(path.parent)!r}).")


def _member_of(path: Path, pool: tuple[Format, ...]) -> Format | None:
    """The folder format whose own file ``path`` is (:attr:`Format.members`), or None."""
    name = path.name.lower()
    return next((f for f in pool if f.members and path.is_file()
                 and any(fnmatch.fnmatchcase(name, m) for m in f.members)
                 and f.sniff is not None and f.sniff(path.parent)), None)


def _folder_of(folder: Path, pool: tuple[Format, ...]) -> Format | None:
    """The folder format whose content ``folder`` holds (by its sniffer), or None."""
    return next((f for f in pool if f.folder and f.sniff is not None and f.sniff(folder)), None)


def _folder_format(path: Path, pool: tuple[Format, ...]) -> Format:
    """The format of a folder record: the first folder format whose files it holds."""
    fmt = _folder_of(path, pool)  # a format that recognises the folder's content first
    if fmt is not None:
        return fmt
    held = {p.suffix.lower() for p in path.iterdir() if p.is_file()}
    for fmt in pool:
        if fmt.folder and held & set(fmt.suffixes):
            return fmt
    kinds = ", ".join(f"{f.label} ({'/'.join(f.suffixes)} files)" for f in pool if f.folder)
    records = sorted(s for s in held if any(s in f.suffixes for f in pool if not f.folder))
    hint = (f"; it holds {', '.join(records)} record files: pass them (e.g. `plastix estimate "
            f"{path.name}/*{records[0]}` estimates each)" if records else "")
    if not kinds:
        raise ValueError(f"`path` {str(path)!r} is a folder; pass a record file{hint}.")
    raise ValueError(f"`path` {str(path)!r} is a folder holding none of the files a folder "
                     f"record is made of ({kinds}){hint or '; pass a record file'}.")


def format_help() -> str:
    """One line per format, ``name (suffixes): description``, for help texts."""
    return "\n".join(f"{f.name} ({', '.join(f.suffixes)}): {f.description}"
                     for f in _REGISTRY.values())


def suffix_help() -> str:
    """The suffixes with their formats, e.g. ``.nc/.nc4/.h5 NetCDF, .nix NIX``, for help texts."""
    return ", ".join(f"{'/'.join(f.suffixes)} {f.label}" for f in _REGISTRY.values())


def _neo_format(read_blocks: Callable[[Path], list[Any]],
                write_block: Callable[[Any, Path], object], **fields: Any) -> Format:
    """A Neo format: records go through to_neo / from_neo and the format's block IO."""

    def read(path: Path, **options: Any) -> xr.Dataset:
        return read_neo_file(read_blocks(path), path, **options)

    def write(ds: xr.Dataset, path: Path) -> None:
        write_block(to_neo(ds), path)

    return Format(read=read, write=write, read_blocks=read_blocks, write_block=write_block,
                  **fields)


_NEO_NOTE = "a neo.Block in plastix's Neo convention (SpikeTrains annotated role and unit)"

register_format(Format(
    name="netcdf", label=netcdf.LABEL, suffixes=(".nc", ".nc4", ".h5"),
    description="NetCDF-4 (HDF5, h5netcdf): the record exactly as in memory; large files "
                "are streamed",
    read=netcdf.load_netcdf, write=netcdf.write_netcdf, open_lazy=netcdf.open_netcdf,
    packages=("h5netcdf",), install="pip install 'h5netcdf>=1.3'", sniff=probe.sniff_netcdf))
def open_nix_record(path: Path) -> xr.Dataset:
    """A NIX file opened lazily: its rate signals are read when indexed (the file stays
    open until the record is closed)."""
    return _lazy_record(*neo_files.open_nix(path), path)


def _lazy_record(blocks: list, close: Any, path: Path) -> xr.Dataset:
    """The record of the first of lazily opened ``blocks``; ``close()`` closes the file when
    the record is closed (at once if the record cannot be built)."""
    try:
        ds = from_neo(pick_block(blocks, 0, path, record=True), lazy=True)
    except BaseException:
        close()
        raise
    ds.set_close(close)
    return ds


register_format(_neo_format(
    neo_files.read_nix, neo_files.write_nix, name="nix", label=neo_files.NIX,
    suffixes=(".nix",), description=f"NIX (HDF5, neo.NixIO): {_NEO_NOTE}",
    open_lazy=open_nix_record,
    packages=("neo", "nixio"), install="pip install 'neo>=0.13' 'nixio>=1.5'",
    sniff=probe.sniff_nix))
NWB_STYLES = ("neo", "standard")
"""Styles of NWB files plastix writes: ``"neo"`` (SPEC §9, the default) or ``"standard"``."""


def read_nwb_record(path: Path, **options: Any) -> xr.Dataset:
    """An NWB file as a record: Neo's path for files in plastix's Neo convention, else pynwb's.

    A file written by Neo (plastix's Neo convention, marked in ``notes``, or plain
    ``neo.NWBIO``, whose ``Units`` table has ``_name`` and ``block`` columns) goes through
    :func:`plastix.io.neo.from_neo`; any other NWB file (pynwb, MatNWB, plastix's
    standard style) through :func:`plastix.io.nwb.read_standard_nwb`, which takes the options of the
    standard convention (``pre_units``, ``weights``, ...).
    """
    if probe.nwb_by_neo(path):
        return read_neo_file(neo_files.read_nwb(path), path, **options)
    return read_standard_nwb(path, **options)


def open_nwb_record(path: Path, **options: Any) -> xr.Dataset | None:
    """An NWB file opened lazily: its activity is read when indexed (the file stays open
    until the record is closed).

    A standard file through pynwb (its series and spike trains, with the reader
    ``options`` of :func:`plastix.io.nwb.read_standard_nwb`); a file in plastix's Neo
    convention written by plastix through its Neo layout (its rate signals,
    :func:`plastix.io.neo_files.open_nwb`; no options).  None for a file of plain
    ``neo.NWBIO``, or a Neo-convention file with options (it is read whole).
    """
    if not probe.nwb_by_neo(path):
        return open_standard_nwb(path, **options)
    if options:
        return None
    opened = neo_files.open_nwb(path)
    if opened is None:  # written by plain neo.NWBIO: read whole
        return None
    return _lazy_record(*opened, path)


def write_nwb_record(ds: xr.Dataset, path: Path, *, nwb_style: str = "neo") -> None:
    """Write a record as NWB: ``nwb_style="neo"`` (SPEC §9, default) or ``"standard"``."""
    check_choice("nwb_style", nwb_style, NWB_STYLES)
    if nwb_style == "standard":
        write_standard_nwb(ds, path)
    else:
        neo_files.write_nwb(to_neo(ds), path)


def inspect_nwb(path: Path, options: dict) -> Any:
    """``inspect`` of the NWB format: a standard file is described by what pynwb finds in
    it; a Neo-written one is a record (labelled as such)."""
    if probe.nwb_by_neo(path):
        return f"{neo_files.NWB} (written by Neo)"
    from plastix.io.inspection import inspect_standard_nwb  # inspection imports this table

    return inspect_standard_nwb(path, options)


register_format(Format(
    name="nwb", label=neo_files.NWB, suffixes=(".nwb",),
    description="NWB (HDF5): standard NWB files as labs write them (pynwb: Units, TimeSeries, "
                f"a 'plasticity' module), or {_NEO_NOTE} (neo.NWBIO)",
    read=read_nwb_record, write=write_nwb_record, read_blocks=neo_files.read_nwb,
    open_lazy=open_nwb_record, lazy_options=(*READ_OPTIONS, "weights_from"), inspect=inspect_nwb,
    write_block=neo_files.write_nwb, write_options=("nwb_style",),
    packages=("neo", "pynwb"), install="pip install 'neo>=0.13' 'pynwb>=2.8'",
    sniff=probe.sniff_nwb))
register_format(_neo_format(
    neo_files.read_pickle_unchecked, neo_files.write_pickle, name="pickle",
    label=neo_files.PICKLE, suffixes=(".pkl", ".pickle"),
    description=f"Python pickle (neo.PickleIO) of {_NEO_NOTE}; runs code when read, so read "
                "only with allow_pickle=True (CLI --allow-pickle)",
    packages=("neo",), install="pip install 'neo>=0.13'", safe=False,
    risk="unpickling runs any code the file contains", sniff=probe.sniff_pickle))


def inspect_phy(path: Path, options: dict) -> Any:
    """``inspect`` of a Kilosort / Phy folder: its clusters, the mapping tried, the flags."""
    from plastix.io.inspection import inspect_phy_folder  # inspection imports this table

    return inspect_phy_folder(path, options)


def inspect_pynapple(path: Path, options: dict) -> Any:
    """``inspect`` of a pynapple session: its objects, the mapping tried, the flags."""
    from plastix.io.inspection import inspect_pynapple_session  # inspection imports this table

    return inspect_pynapple_session(path, options)


register_format(Format(
    name="pynapple", label="pynapple", suffixes=(".npz",),
    description="pynapple session: a folder of .npz files saved by pynapple (TsGroup, "
                "TsdFrame, IntervalSet), or one of them; read without unpickling code",
    read=pynapple_files.read_pynapple_session, write=None,
    write_note="write a session folder with plastix.io.write_pynapple_session(rec, FOLDER)",
    open_lazy=pynapple_files.open_pynapple_session, lazy_options=pynapple_files.READ_OPTIONS,
    inspect=inspect_pynapple, folder=True, packages=("pynapple",),
    install="pip install 'pynapple>=0.8.2'", sniff=pynapple_npz.is_pynapple_npz))
register_format(Format(
    name="phy", label="Phy", suffixes=(".npy",),
    description="Kilosort / Phy output folder (spike_times.npy, spike_clusters.npy, params.py, "
                "cluster tables): sorted spike trains, weights inferred; params.py never run",
    read=phy_files.read_phy_folder, write=None,
    write_note="plastix does not write sorter output; save the record as .nc or .nwb",
    open_lazy=phy_files.open_phy_folder, lazy_options=phy_files.READ_OPTIONS,
    inspect=inspect_phy, folder=True, packages=("pynapple",),
    members=("cluster_*.tsv", "cluster_*.csv", "params.py"),
    install="pip install 'pynapple>=0.8.2'", sniff=phy_files.is_phy_path))
