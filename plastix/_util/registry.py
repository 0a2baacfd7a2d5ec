"""One registry mechanism for every extension point (rules, kernels, formats).

Each extension point keeps a module-level :class:`Registry` and exposes thin
``register_*``/``get_*``/``*_names`` functions over it; entries are frozen
objects with a ``name`` and a one-line ``description``, and they declare what
the machinery needs from them, so no caller compares names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from plastix._util.errors import check_choice

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one type, in registration order.

    Parameters
    ----------
    kind : str
        What an entry is, for messages (``"rule"``, ``"kernel"``, ``"format"``).
    entry_type : type
        The class every entry must be an instance of.
    argument : str
        The name of the register function's argument, for the type error.
    """

    def __init__(self, kind: str, entry_type: type, argument: str) -> None:
        self.kind, self.entry_type, self.argument = kind, entry_type, argument
        self._entries: dict[str, T] = {}

    def register(self, entry: T, *, replace: bool = False,
                 check: Callable[[T], None] | None = None) -> T:
        """Add ``entry``; a duplicate name is a ValueError unless ``replace``.

        ``check(entry)`` runs before the entry is added (e.g. a suffix clash).
        """
        if not isinstance(entry, self.entry_type):
            where = f"{self.entry_type.__module__}.{self.entry_type.__qualname__}"
            raise TypeError(f"`{self.argument}` must be a {where}; got "
                            f"{type(entry).__name__}.")
        name = entry.name  # type: ignore[attr-defined]
        if name in self._entries and not replace:
            raise ValueError(f"a {self.kind} named {name!r} is already registered; pass "
                             "replace=True to replace it.")
        if check is not None:
            check(entry)
        self._entries[name] = entry
        return entry

    def get(self, name: str, *, among: tuple[str, ...] | None = None) -> T:
        """The entry ``name`` (one of ``among`` if given); unknown → "did you mean"."""
        check_choice(self.kind, name, self.names() if among is None else among)
        return self._entries[name]

    def unregister(self, name: str) -> T:
        """Remove and return the entry ``name`` (tests use it to clean up toy entries)."""
        return self._entries.pop(self.get(name).name)  # type: ignore[attr-defined]

    def names(self) -> tuple[str, ...]:
        """Names, in registration order."""
        return tuple(self._entries)

    def values(self) -> tuple[T, ...]:
        """Entries, in registration order."""
        return tuple(self._entries.values())

    def help(self) -> str:
        """One ``name: description`` line per entry (for CLI help texts)."""
        return "\n".join(f"{e.name}: {e.description}" for e in self.values())  # type: ignore

    def __contains__(self, name: Any) -> bool:
        return name in self._entries
