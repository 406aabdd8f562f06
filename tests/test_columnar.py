"""The columnar evaluator's fast paths: enum codes, tag bitsets, and and/or that test
costly items only on undecided rows. Each case is checked against the row evaluator
and the reference by ``members`` (tests/test_evaluate.py), NULLs included."""

from __future__ import annotations

import numpy as np

from segdsl.data.tables import Column, Table
from segdsl.backends.memory import columnar, evaluate
from test_evaluate import AS_OF, F, SCHEMA, members, rows, rule


def test_enum_codes_keep_null_unknown():
    data = rows({"tier": "Gold"}, {"tier": None}, {"tier": "Blue"}, {"tier": "Platinum"}, {"tier": None})
    table = Table.from_records(SCHEMA, data)
    codes = columnar.enum_codes(F["tier"], table.columns["tier"])
    assert codes is not None and codes.tolist() == [1, -1, 0, 2, -1]
    assert members(rule('tier = "Gold"'), data) == {1}
    assert members(rule('tier != "Gold"'), data) == {3, 4}
    assert members(rule('not (tier = "Blue")'), data) == {1, 4}
    assert members(rule('tier in ["Gold", "Platinum"]'), data) == {1, 4}
    assert members(rule('tier not in ["Gold", "Platinum"]'), data) == {3}
    assert members(rule('tier is null'), data) == {2, 5}
    assert members(rule('tier is not null and not (tier in ["Blue"])'), data) == {1, 4}


def test_enum_in_a_long_list_uses_a_lookup_table():
    from segdsl.check.checker import check_expression
    from segdsl.backends.memory import compile_row, member_keys
    from segdsl.syntax.parser import parse_expression
    from segdsl.check.traits import schema_from_dict

    letters = [chr(ord("a") + i) for i in range(12)]
    schema, diags = schema_from_dict({"entity": "e", "table": "t", "key": "id", "fields": {
        "id": {"type": "int", "nullable": False}, "v": {"type": "enum", "values": letters}}})
    assert schema is not None, diags
    records = [{"id": i, "v": None if i % 5 == 0 else letters[i % 12]} for i in range(60)]
    table = Table.from_records(schema, records)
    for text in ('v in ["a", "b", "c", "d", "e", "f", "g", "h", "i"]',
                 'not (v in ["a", "b", "c", "d", "e", "f", "g", "h", "i"])', 'v in ["k"]', 'v != "k"'):
        node, diags = check_expression(parse_expression(text).expr, schema)
        assert node is not None, diags
        fn = compile_row(node, AS_OF)
        assert member_keys(node, table, AS_OF) == [r["id"] for r in records if fn(r)], text
    node, _ = check_expression(parse_expression('v in ["a", "b", "c", "d", "e", "f", "g", "h", "i"]').expr, schema)
    assert len(member_keys(node, table, AS_OF)) == sum(r["v"] is not None and r["v"] < "j" for r in records)


def test_enum_value_outside_the_type_is_compared_as_text():
    # A table built by hand can hold a value the type does not list; no code view then.
    values = np.array(["Gold", "Bronze", None], dtype=object)
    table = _table_with("tier", values, np.array([True, True, False]))
    assert columnar.enum_codes(F["tier"], table.columns["tier"]) is None
    assert evaluate(rule('tier = "Gold"'), table, AS_OF).tolist() == [True, False, False]
    assert evaluate(rule('tier != "Gold"'), table, AS_OF).tolist() == [False, True, False]


def test_code_view_follows_replaced_values():
    data = rows({"tier": "Gold"}, {"tier": "Blue"})
    table = Table.from_records(SCHEMA, data)
    assert evaluate(rule('tier = "Gold"'), table, AS_OF).tolist() == [True, False]
    table.columns["tier"].values = np.array(["Blue", "Gold"], dtype=object)
    assert evaluate(rule('tier = "Gold"'), table, AS_OF).tolist() == [False, True]


def test_tag_bitsets_with_empty_sets_and_null():
    data = rows({"tags": frozenset({"spa", "golf"})}, {"tags": frozenset()}, {"tags": None},
                {"tags": frozenset({"Spa"})}, {"tags": frozenset({"golf"})}, {"tags": frozenset()})
    table = Table.from_records(SCHEMA, data)
    bits, bit = columnar.tag_bits(table.columns["tags"])
    assert sorted(bit) == ["Spa", "golf", "spa"]
    assert bits[[1, 2, 5]].tolist() == [0, 0, 0]
    assert members(rule('tags has "spa"'), data) == {1}
    assert members(rule('not (tags has "spa")'), data) == {2, 4, 5, 6}
    assert members(rule('tags has "family"'), data) == set()
    assert members(rule('not (tags has any ["family"])'), data) == {1, 2, 4, 5, 6}
    assert members(rule('tags has all ["spa", "family"]'), data) == set()
    assert members(rule('not (tags has all ["spa", "family"])'), data) == {1, 2, 4, 5, 6}
    assert members(rule('tags has all ["golf"]'), data) == {1, 5}
    assert members(rule('tags has any ["golf", "Spa"]'), data) == {1, 4, 5}


def test_many_distinct_tags_are_tested_set_by_set():
    data = rows(*({"tags": frozenset({f"t{i}", "common"})} for i in range(70)), {"tags": None}, {"tags": frozenset()})
    table = Table.from_records(SCHEMA, data)
    assert columnar.tag_bits(table.columns["tags"]) is None
    assert members(rule('tags has any ["t3", "t69"]'), data) == {4, 70}
    assert members(rule('not (tags has "common")'), data) == {72}


def test_costly_items_see_only_undecided_rows_with_null():
    data = rows({"n": 5, "name": "ann"}, {"n": None, "name": "ann"}, {"n": 0, "name": "ann"},
                {"n": 5, "name": None}, {"n": 5, "name": "bob"}, {"n": None, "name": None},
                {"n": 0, "name": None}, {"n": 0, "name": "bob"})
    # The text test comes first as written, but runs after `n > 1`, on rows 1, 4, 5.
    assert members(rule('name starts with "a" and n > 1'), data) == {1}
    # FALSE of an `and`: any item FALSE; unknown where no item is FALSE and one is NULL.
    assert members(rule('not (name starts with "a" and n > 1)'), data) == {3, 5, 7, 8}
    assert members(rule('name starts with "a" or n > 1'), data) == {1, 2, 3, 4, 5}
    assert members(rule('not (name starts with "a" or n > 1)'), data) == {8}
    assert members(rule('name ends with "N" ignoring case and (n > 1 or tier is null)'), data) == {1, 2, 3}
    assert members(rule('name != "ann" and name contains "o" and n >= 0'), data) == {5, 8}
    assert members(rule('not (name != "bob" and n >= 1)'), data) == {3, 5, 7, 8}


def test_nothing_left_to_decide():
    data = rows({"n": 0, "name": "x"}, {"n": None, "name": "x"})
    assert members(rule('n > 1 and name contains "x"'), data) == set()
    assert members(rule('n >= 0 or name contains "x"'), data) == {1, 2}
    assert members(rule('not (n >= 1 or name contains "y")'), data) == {1}


def test_ascii_folding_fast_path_leaves_other_letters_alone():
    # str.lower() maps the Kelvin sign to `k` and İ to two characters; ASCII folding
    # does neither, so none of these rows match an ASCII needle through them.
    data = rows({"name": "pa\u212a"}, {"name": "PAK"}, {"name": "\u0130x"}, {"name": "ix"}, {"name": None},
                {"name": "\u212aey"}, {"name": "KEY"}, {"name": "é"}, {"name": ""})
    assert members(rule('name ends with "ak" ignoring case'), data) == {2}
    assert members(rule('name starts with "ke" ignoring case'), data) == {7}
    assert members(rule('name contains "ix" ignoring case'), data) == {4}
    assert members(rule('name starts with "i" ignoring case'), data) == {4}
    assert members(rule('name ends with "É" ignoring case'), data) == set()
    assert members(rule('name ends with "é" ignoring case'), data) == {8}
    assert members(rule('name ends with "" ignoring case'), data) == {1, 2, 3, 4, 6, 7, 8, 9}
    assert members(rule('not (name starts with "" ignoring case)'), data) == set()


def test_day_comparisons_with_one_or_two_intervals():
    data = rows({"last_seen": AS_OF}, {"last_seen": None}, {"last_seen": AS_OF.replace(year=2020)})
    assert members(rule("seen_at within 30 days"), data) == {1}
    assert members(rule("not (seen_at within 30 days)"), data) == {3}
    assert members(rule("days_seen != 0"), data) == {3}
    assert members(rule("not (days_seen != 0)"), data) == {1}


def _table_with(column: str, values: np.ndarray, valid: np.ndarray) -> Table:
    base = Table.from_records(SCHEMA, rows(*({} for _ in values)))
    base.columns[column] = Column(values, valid)
    return base
