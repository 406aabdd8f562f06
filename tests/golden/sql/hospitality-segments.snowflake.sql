-- exit 1
error[E0403]: snowflake: tag-list predicates are not supported on this target
  --> examples/hospitality/segments.seg:24:11
   |
24 |     where interests has any ["spa", "wellness"] and not in segment lapsed
   |           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
   |
   = help: tag lists compile for postgres, duckdb, sqlite and mysql/mariadb

segdsl: 1 error
