-- segment: cancelled_not_rebooked
SELECT
  "guest_id"
FROM "guests"
WHERE
  EXISTS(
    SELECT
      1
    FROM "bookings" AS "seq_first"
    WHERE
      "seq_first"."guest_id" = "guests"."guest_id"
      AND "seq_first"."checked_in_at" <= (
        DATETIME(
          SUBSTRING(STRFTIME('%Y-%m-%d %H:%M:%f', 'now') || '000', 1, 19),
          '-2592000 seconds'
        ) || SUBSTRING(STRFTIME('%Y-%m-%d %H:%M:%f', 'now') || '000', 20)
      )
      AND (
        "seq_first"."status" = 'cancelled'
      )
      AND NOT EXISTS(
        SELECT
          1
        FROM "bookings" AS "seq_then"
        WHERE
          "seq_then"."guest_id" = "seq_first"."guest_id"
          AND "seq_then"."checked_in_at" > "seq_first"."checked_in_at"
          AND "seq_then"."checked_in_at" <= (
            COALESCE(
              DATETIME(SUBSTRING("seq_first"."checked_in_at", 1, 19), '+2592000 seconds') || SUBSTRING("seq_first"."checked_in_at", 20),
              '9999-12-31 23:59:59.999999'
            )
          )
          AND (
            "seq_then"."status" = 'completed'
          )
      )
  )
ORDER BY
  "guest_id";

-- segment: clicked_then_booked
SELECT
  "guest_id"
FROM "guests"
WHERE
  EXISTS(
    SELECT
      1
    FROM "engagement_events" AS "seq_first"
    WHERE
      "seq_first"."guest_id" = "guests"."guest_id"
      AND (
        "seq_first"."kind" = 'click'
      )
      AND EXISTS(
        SELECT
          1
        FROM "bookings" AS "seq_then"
        WHERE
          "seq_then"."guest_id" = "seq_first"."guest_id"
          AND "seq_then"."checked_in_at" > "seq_first"."occurred_at"
          AND "seq_then"."checked_in_at" <= (
            COALESCE(
              DATETIME(SUBSTRING("seq_first"."occurred_at", 1, 19), '+604800 seconds') || SUBSTRING("seq_first"."occurred_at", 20),
              '9999-12-31 23:59:59.999999'
            )
          )
          AND "seq_then"."checked_in_at" <= STRFTIME('%Y-%m-%d %H:%M:%f', 'now') || '000'
          AND (
            "seq_then"."status" = 'completed'
          )
      )
  )
ORDER BY
  "guest_id";
