"""The backends that consume the IR: SQL (sqlglot) and in-memory (row and columnar evaluators, the profile derivation)."""
