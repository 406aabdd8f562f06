-- exit 1
segdsl: note: no test runs trino SQL on a real engine; review it before use (see docs/engines.md)
error[E0404]: trino cannot run an event sequence: its SQL is a correlated EXISTS holding another, which the engine does not support
  --> examples/hospitality/sequences.seg:7:11
  |
7 |     where (bookings where status = "cancelled")
  |           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  |
  = help: compile the sequence for another target (postgres, duckdb, sqlite, mysql, bigquery, snowflake)

error[E0404]: trino cannot run an event sequence: its SQL is a correlated EXISTS holding another, which the engine does not support
  --> examples/hospitality/sequences.seg:12:11
   |
12 |     where (engagement_events where kind = "click")
   |           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
   |
   = help: compile the sequence for another target (postgres, duckdb, sqlite, mysql, bigquery, snowflake)

segdsl: 2 errors; 0 of 2 segments compiled (not compiled: cancelled_not_rebooked, clicked_then_booked)
