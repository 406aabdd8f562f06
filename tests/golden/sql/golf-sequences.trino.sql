-- exit 1
segdsl: note: no test runs trino SQL on a real engine; review it before use (see docs/engines.md)
error[E0404]: trino cannot run an event sequence: its SQL is a correlated EXISTS holding another, which the engine does not support
  --> examples/golf/sequences.seg:6:11
  |
6 |     where (engagement_events where kind = "click")
  |           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  |
  = help: compile the sequence for another target (postgres, duckdb, sqlite, mysql, bigquery, snowflake)

error[E0404]: trino cannot run an event sequence: its SQL is a correlated EXISTS holding another, which the engine does not support
  --> examples/golf/sequences.seg:11:11
   |
11 |     where (tee_times) followed by (tee_times) within 1 week
   |           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
   |
   = help: compile the sequence for another target (postgres, duckdb, sqlite, mysql, bigquery, snowflake)

segdsl: 2 errors; 0 of 2 segments compiled (not compiled: clicked_no_tee_time, back_to_back_rounds)
