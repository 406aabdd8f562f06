-- segment: clicked_no_tee_time
SELECT
  "member_id"
FROM "members"
WHERE
  EXISTS(
    SELECT
      1
    FROM "engagement_events" AS "seq_first"
    WHERE
      "seq_first"."member_id" = "members"."member_id"
      AND "seq_first"."occurred_at" <= (
        DATETIME(
          SUBSTRING(STRFTIME('%Y-%m-%d %H:%M:%f', 'now') || '000', 1, 19),
          '-1209600 seconds'
        ) || SUBSTRING(STRFTIME('%Y-%m-%d %H:%M:%f', 'now') || '000', 20)
      )
      AND (
        "seq_first"."kind" = 'click'
      )
      AND NOT EXISTS(
        SELECT
          1
        FROM "tee_times" AS "seq_then"
        WHERE
          "seq_then"."member_id" = "seq_first"."member_id"
          AND "seq_then"."starts_at" > "seq_first"."occurred_at"
          AND "seq_then"."starts_at" <= (
            COALESCE(
              DATETIME(SUBSTRING("seq_first"."occurred_at", 1, 19), '+1209600 seconds') || SUBSTRING("seq_first"."occurred_at", 20),
              '9999-12-31 23:59:59.999999'
            )
          )
      )
  )
ORDER BY
  "member_id";

-- segment: back_to_back_rounds
SELECT
  "member_id"
FROM "members"
WHERE
  EXISTS(
    SELECT
      1
    FROM "tee_times" AS "seq_first"
    WHERE
      "seq_first"."member_id" = "members"."member_id"
      AND EXISTS(
        SELECT
          1
        FROM "tee_times" AS "seq_then"
        WHERE
          "seq_then"."member_id" = "seq_first"."member_id"
          AND "seq_then"."starts_at" > "seq_first"."starts_at"
          AND "seq_then"."starts_at" <= (
            COALESCE(
              DATETIME(SUBSTRING("seq_first"."starts_at", 1, 19), '+604800 seconds') || SUBSTRING("seq_first"."starts_at", 20),
              '9999-12-31 23:59:59.999999'
            )
          )
          AND "seq_then"."starts_at" <= STRFTIME('%Y-%m-%d %H:%M:%f', 'now') || '000'
      )
  )
ORDER BY
  "member_id";
