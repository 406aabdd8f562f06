-- exit 1
error[E0403]: snowflake: tag-list predicates are not supported on this target
  --> examples/golf/segments.seg:16:36
   |
16 |     where tournaments_12m >= 3 and interests has "competitions"
   |                                    ^^^^^^^^^^^^^^^^^^^^^^^^^^^^
   |
   = help: tag lists compile for postgres, duckdb, sqlite and mysql/mariadb

segdsl: 1 error
