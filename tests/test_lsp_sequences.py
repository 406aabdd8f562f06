"""The language server's completion and hover for event sequences, judged from the
tokens as they are typed (the same functions the server answers with)."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from segdsl.check.traits import load_schema
from segdsl.lsp.analysis import lexical_document
from segdsl.lsp.completion import complete
from segdsl.lsp.hover import target_at, target_markdown
from segdsl.schema.model import Schema

ROOT = Path(__file__).resolve().parent.parent
SCHEMA, _ = load_schema(ROOT / "examples" / "hospitality" / "schema.toml")


@attrs.frozen
class _Snapshot:
    """What completion and hover read of a checked project: its schema."""

    schema: Schema

    def segment_names(self):
        return []


def _labels(text: str) -> list[str]:
    doc = lexical_document("typing.seg", text, None)
    return [i.label for i in complete(_Snapshot(SCHEMA), doc, len(text)).items]


@pytest.mark.parametrize("typed,wanted,unwanted", [
    # A rule starts: event sources open a sequence; a source without `time` does not.
    ("segment s {\n    where ", {"(bookings where ", "(engagement_events where "}, {"(consents where "}),
    ("segment s {\n    where (", {"bookings", "engagement_events", "ltv"}, {"consents"}),
    # Inside a side: the source's columns, and its enum values.
    ("segment s {\n    where (bookings where ", {"status", "amount_inr"}, {"ltv"}),
    ('segment s {\n    where (bookings where status = ', {'"cancelled"', '"completed"'}, set()),
    # After the first side: the sequence's words.
    ('segment s {\n    where (bookings where status = "cancelled") ', {"followed by", "not followed by"}, set()),
    ("segment s {\n    where (bookings) followed ", {"by"}, set()),
    ("segment s {\n    where (bookings) not followed by ", {"(bookings)", "(engagement_events)"}, {"(consents)"}),
    ("segment s {\n    where (bookings) followed by (", {"bookings"}, {"ltv"}),
    ("segment s {\n    where (bookings) followed by (engagement_events where ", {"kind", "channel"}, {"status"}),
    ("segment s {\n    where (bookings) followed by (bookings) ", {"within"}, {"followed by"}),
    ("segment s {\n    where (bookings) followed by (bookings) within 7 ", {"days", "weeks"}, set()),
    ("segment s {\n    where (bookings) followed by (bookings) within 7 days ", {"and", "or", "refresh"}, set()),
])
def test_completion_follows_a_sequence_as_it_is_typed(typed, wanted, unwanted):
    labels = set(_labels(typed))
    assert wanted <= labels, sorted(labels)
    assert not unwanted & labels, sorted(labels)


def _hover(text: str, word: str, nth: int = 0) -> str | None:
    doc = lexical_document("typing.seg", text, None)
    at = -1
    for _ in range(nth + 1):
        at = text.index(word, at + 1)
    target = target_at(_Snapshot(SCHEMA), doc, at + 1)
    return None if target is None else target_markdown(_Snapshot(SCHEMA), target)


def test_hover_explains_the_sequence_and_its_sources():
    text = ('segment s {\n    where (bookings where status = "cancelled") not followed by '
            "(engagement_events where kind = \"click\") within 30 days\n}\n")
    assert "tA < tB ≤ tA + N" in _hover(text, "followed")
    bookings = _hover(text, "bookings")
    assert "source table `bookings`" in bookings and "happened at `checked_in_at`" in bookings
    assert "enum of" in _hover(text, "status") and "enum of" in _hover(text, "kind")
    assert "source table `engagement_events`" in _hover(text, "engagement_events")
    bare = "segment s {\n    where (bookings) followed by (bookings) within 1 day\n}\n"
    assert "source table `bookings`" in _hover(bare, "bookings", 1)


def test_the_open_group_scans_look_through_conditions_only_for_aggregates():
    """An aggregate is found around a parenthesised condition inside it; a sequence's
    side is the innermost open group or nothing."""
    from segdsl.lsp.text import enclosing_aggregate, enclosing_events, scan

    text = 'count(bookings where (status = "x" and '
    tokens = scan(text).tokens
    assert tokens[enclosing_aggregate(tokens, len(tokens)) - 1].text == "count"
    assert enclosing_events(tokens, len(tokens)) is None
    text = '(bookings where status = "x") followed by (bookings where (nights > 1 and '
    tokens = scan(text).tokens
    assert enclosing_events(tokens, len(tokens)) is None  # inside a condition of the side
    text = '(bookings where status = "x") followed by (bookings where '
    tokens = scan(text).tokens
    k = enclosing_events(tokens, len(tokens))
    assert tokens[k - 1].text == "by" and tokens[k + 1].text == "bookings"
    assert enclosing_aggregate(tokens, len(tokens)) is None
