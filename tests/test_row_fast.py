"""The row evaluator's shortcuts: each gives exactly the members of the plain form
(checked against the columnar evaluator and the reference by ``members``), and the
generated source shows the shortcut was taken."""

from __future__ import annotations

from segdsl import ir
from segdsl.backends.memory.row import compile_row, compile_source
from test_evaluate import AS_OF, F, members, rows, rule

KELVIN = "\u212a"  # str.lower() maps it to ASCII "k"; the ASCII fold leaves it alone
DOTTED_I = "\u0130"  # str.lower() makes it "i" + U+0307; the ASCII fold leaves it alone

NAMES = rows(
    {"name": "xKA"}, {"name": f"x{KELVIN}A"}, {"name": f"{KELVIN}ab"}, {"name": "Kab"},
    {"name": DOTTED_I}, {"name": "I"}, {"name": "é_Éka"}, {"name": ""}, {},
)


def _ids_of(*names: str | None) -> set[int]:
    return {r["id"] for r in NAMES if r["name"] in names}


def test_ignore_case_folds_ascii_only_on_every_path():
    assert members(rule('name ends with "ka" ignoring case'), NAMES) == _ids_of("xKA", "é_Éka")
    assert members(rule('name starts with "k" ignoring case'), NAMES) == _ids_of("Kab")
    assert members(rule('name contains "i" ignoring case'), NAMES) == _ids_of("I")
    assert members(rule('not (name ends with "KA" ignoring case)'), NAMES) == _ids_of(
        f"x{KELVIN}A", f"{KELVIN}ab", "Kab", DOTTED_I, "I", "")


def test_starts_and_ends_fold_only_the_needles_length():
    source, _ = compile_source(rule('name ends with "ka" ignoring case'), AS_OF)
    assert ":]" in source and ".isascii()" in source


def test_the_empty_needle_matches_every_text_and_never_null():
    everyone = {r["id"] for r in NAMES if r["name"] is not None}
    for kind in ("contains", "starts", "ends"):
        for fold in (False, True):
            node = ir.TextMatch(F["name"], kind, "", fold)
            assert members(node, NAMES) == everyone
            assert members(ir.Not(node), NAMES) == set()


def test_equality_and_membership_need_no_null_guard():
    data = rows({"n": 5, "tier": "Gold"}, {"n": 6, "tier": "Blue"}, {})
    for text, expected in [("n = 5", {1}), ('tier in ["Gold", "Platinum"]', {1}),
                           ("not (n != 5)", {1}), ('tier = "Blue"', {2})]:
        node = rule(text)
        assert members(node, data) == expected
        source, _ = compile_source(node, AS_OF)
        assert "is not None" not in source, source
    # The other polarity is TRUE for NULL without the guard, so the guard stays.
    for text, expected in [("n != 5", {2}), ('tier not in ["Gold"]', {2}), ("not (n = 5)", {2})]:
        node = rule(text)
        assert members(node, data) == expected
        source, _ = compile_source(node, AS_OF)
        assert "is not None" in source, source


def test_shallow_segments_are_inlined_and_deep_ones_called():
    data = rows({"n": 5, "a": True}, {"n": 1, "b": True}, {"a": True, "b": True}, {"n": 7, "a": False, "b": True})
    shallow = ir.Member("big", rule("n > 4"))
    node = ir.Or((ir.And((shallow, ir.IsTrue(F["a"]))), ir.And((ir.Not(shallow), ir.IsTrue(F["b"])))))
    assert members(node, data) == {1, 2, 3}  # not a member of `big` when n is NULL
    assert members(ir.Not(node), data) == {4}
    source, _ = compile_source(node, AS_OF)
    assert "def _seg" not in source

    deep = rule("n > 4")
    for i in range(5):
        deep = ir.Or((ir.And((deep, ir.Cmp(F["n"], "<", 100 + i))), ir.IsNull(F["tier"])))
    node = ir.And((ir.Member("deep", deep), ir.Not(ir.Member("deep", deep))))
    assert members(node, data) == set()
    source, _ = compile_source(node, AS_OF)
    assert source.count("def _seg") == 1  # one helper, called twice


def test_shallow_matches_ir_depth_without_expanding_every_reference():
    from segdsl.backends.memory.row import _shallow
    from test_evaluate import _deep

    nodes = [_deep(k) for k in range(8)] + [ir.Member("m", _deep(k)) for k in range(5)]
    for node in nodes:
        for limit in range(8):
            assert _shallow(node, limit) is (ir.depth(node) <= limit), (node, limit)

    # Each segment references the last twice: 2**60 paths if every reference were expanded.
    seg: ir.Node = rule("n > 4")
    for i in range(60):
        seg = ir.Or((ir.Member(f"s{i}", seg), ir.Not(ir.Member(f"s{i}", seg))))
    source, _ = compile_source(seg, AS_OF)
    assert source.count("def _seg") < 60
    fn = compile_row(seg, AS_OF)  # `members` would walk every path with the reference
    assert [fn(r) for r in rows({"n": 5}, {"n": 1}, {})] == [True, True, True]
