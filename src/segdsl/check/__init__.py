"""The check stage: AST + schema → typed IR, with every diagnostic (names, literals, predicates, the segment graph, traits, journeys, lint)."""
