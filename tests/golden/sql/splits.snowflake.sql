-- exit 1
segdsl: note: no test runs snowflake SQL on a real engine; review it before use (see docs/engines.md)
error[E0409]: snowflake: segdsl does not know how to compute a split's buckets on this target
  --> tests/cases/splits/splits.seg:12:11
   |
12 |     where in split winback_test.offer_a and not in holdout global_control
   |           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
   |
   = help: compile for postgres, duckdb, sqlite or mysql, where the bucket is verified

error[E0409]: snowflake: segdsl does not know how to compute a split's buckets on this target
  --> tests/cases/splits/splits.seg:16:11
   |
16 |     where in split winback_test.control or (in holdout global_control and ltv > 100)
   |           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
   |
   = help: compile for postgres, duckdb, sqlite or mysql, where the bucket is verified

segdsl: 2 errors; 0 of 2 segments compiled (not compiled: winback_offer_a, control_or_held)
