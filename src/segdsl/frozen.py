"""Frozen value classes, cheap to define: the syntax tree, the IR, the schema and
diagnostics are made of them.

``@attrs.frozen`` generates ``__init__``, ``__eq__``, ``__hash__`` and ``__repr__`` for
each class by compiling Python source, about 1 ms a class; the ~60 classes of
:mod:`segdsl.syntax.ast`, :mod:`segdsl.ir`, :mod:`segdsl.schema.model` and :mod:`segdsl.diagnostics`
made that a fifth of ``import segdsl``. Here
attrs still generates ``__init__`` (the one method on a hot path: every parse and check
builds nodes), keeps instances frozen and slotted and provides ``attrs.fields`` and
``attrs.evolve``; equality, hashing and ``repr`` come from :class:`Value`, written once
and driven by the same field metadata (``eq=False`` leaves a field out of equality and
hashing, ``repr=False`` out of ``repr``), so the classes behave as attrs' own would.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform

import attrs

T = TypeVar("T")

#: Per class: the function giving the tuple of fields that take part in equality.
_KEYS: dict[type, Callable[[Any], tuple]] = {}
#: Per class: the names of the fields ``repr`` shows.
_SHOWN: dict[type, tuple[str, ...]] = {}


def _key_of(cls: type) -> Callable[[Any], tuple]:
    key = _KEYS.get(cls)
    if key is None:
        names = [a.name for a in attrs.fields(cls) if a.eq]
        if not names:
            key = _no_fields
        elif len(names) == 1:
            get = attrgetter(names[0])
            key = lambda obj: (get(obj),)  # noqa: E731
        else:
            key = attrgetter(*names)
        _KEYS[cls] = key
    return key


def _no_fields(obj: Any) -> tuple:
    return ()


class Value:
    """Equality (same class, equal compared fields), a matching hash, and a ``repr``
    of the shown fields: what ``@attrs.frozen`` would generate."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        key = _key_of(self.__class__)
        return key(self) == key(other)

    def __ne__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        key = _key_of(self.__class__)
        return key(self) != key(other)

    def __hash__(self) -> int:
        return hash((self.__class__, _key_of(self.__class__)(self)))

    def __repr__(self) -> str:
        cls = self.__class__
        shown = _SHOWN.get(cls)
        if shown is None:
            shown = _SHOWN[cls] = tuple(a.name for a in attrs.fields(cls) if a.repr)
        name = cls.__qualname__.rsplit(">.", 1)[-1]  # as attrs names a class defined in a function
        return f"{name}({', '.join(f'{n}={getattr(self, n)!r}' for n in shown)})"


@dataclass_transform(frozen_default=True, field_specifiers=(attrs.field,))
def frozen(cls: type[T]) -> type[T]:
    """``@attrs.frozen`` for a subclass of :class:`Value`: attrs makes ``__init__`` and
    keeps the class frozen and slotted; the rest is inherited."""
    if not issubclass(cls, Value):
        raise TypeError(f"{cls.__name__} must subclass segdsl.frozen.Value")
    return attrs.frozen(cls, eq=False, repr=False)


@contextlib.contextmanager
def building() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large tree of values is built.

    Parsing or checking a big file allocates millions of objects, and the collector
    rescans every live one each time its thresholds trip: more than half the time of
    parsing 100,000 conditions went there. Trees of values hold no reference cycles, so
    nothing is left for the collector to find; it runs again as usual afterwards."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        # What was built goes straight to the oldest generation (freeze, then unfreeze):
        # left young, the first collection after this would scan all of it at once.
        gc.freeze()
        gc.unfreeze()
        gc.enable()

