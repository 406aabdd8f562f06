"""segdsl.frozen: value classes that behave as ``@attrs.frozen`` would make them."""

from __future__ import annotations

import pickle

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from segdsl.syntax import ast
from segdsl import ir
from segdsl.frozen import Value, frozen
from segdsl.syntax.span import Span


@frozen
class Ours(Value):
    value: int
    text: str = attrs.field(eq=False)
    span: object = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen
class Theirs:
    value: int
    text: str = attrs.field(eq=False)
    span: object = attrs.field(default=None, eq=False, repr=False)


@frozen
class Other(Value):
    value: int
    text: str = attrs.field(eq=False)
    span: object = attrs.field(default=None, eq=False, repr=False)


@frozen
class Empty(Value):
    span: object = attrs.field(default=None, eq=False)


values = st.tuples(st.integers(-3, 3), st.sampled_from(["a", "b"]), st.sampled_from([None, 1]))


@given(values, values)
def test_equality_and_hash_match_attrs(a, b):
    ours_a, ours_b = Ours(*a), Ours(*b)
    theirs_a, theirs_b = Theirs(*a), Theirs(*b)
    assert (ours_a == ours_b) is (theirs_a == theirs_b)
    assert (ours_a != ours_b) is (theirs_a != theirs_b)
    if ours_a == ours_b:
        assert hash(ours_a) == hash(ours_b)


@given(values)
def test_repr_matches_attrs(a):
    assert repr(Ours(*a)) == repr(Theirs(*a)).replace("Theirs(", "Ours(")


def test_classes_are_told_apart():
    assert Ours(1, "a") != Other(1, "a")
    assert not (Ours(1, "a") == Other(1, "a"))
    assert Ours(1, "a") != (1,)
    assert len({Ours(1, "a"), Other(1, "a")}) == 2


def test_a_class_without_compared_fields():
    assert Empty(1) == Empty(2)
    assert hash(Empty(1)) == hash(Empty(2))
    assert repr(Empty(3)) == "Empty(span=3)"


def test_frozen_slotted_and_evolvable():
    node = Ours(1, "one")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        node.value = 2  # type: ignore[misc]
    assert not hasattr(node, "__dict__")
    moved = attrs.evolve(node, value=2)
    assert (moved.value, moved.text) == (2, "one")
    assert [a.name for a in attrs.fields(Ours)] == ["value", "text", "span"]
    assert pickle.loads(pickle.dumps(node)) == node
    match node:
        case Ours(v, t):
            assert (v, t) == (1, "one")


def test_only_value_subclasses():
    with pytest.raises(TypeError, match="must subclass"):
        frozen(type("Plain", (), {"__annotations__": {"x": "int"}}))


def test_syntax_and_ir_nodes_compare_without_spans():
    here, there = Span("a.seg", 0, 3), Span("b.seg", 5, 8)
    assert ast.IntLit(5, "5", here) == ast.IntLit(5, "0_5", there)  # the literal's text is not compared
    assert ir.Const(True, here) == ir.Const(True, there)
    assert hash(ir.Const(True, here)) == hash(ir.Const(True, there))
    assert ir.Const(True) != ir.Const(False)
    assert ir.And((ir.Const(True),)) != ir.Or((ir.Const(True),))


def test_repr_of_a_class_made_in_a_function():
    @frozen
    class Local(Value):
        x: int

    @attrs.frozen
    class LocalTheirs:
        x: int

    assert repr(Local(1)) == repr(LocalTheirs(1)).replace("LocalTheirs(", "Local(")
