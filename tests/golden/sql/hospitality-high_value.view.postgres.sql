-- segment: high_value
CREATE OR REPLACE VIEW "segment_high_value" AS
WITH "profile" AS (
  SELECT
    "e".*,
    "s0"."ltv" AS "ltv",
    "s0"."last_booking_at" AS "last_booking_at"
  FROM "guests" AS "e"
  LEFT JOIN (
    SELECT
      "guest_id" AS "k",
      SUM("amount_inr") AS "ltv",
      MAX("checked_in_at") AS "last_booking_at"
    FROM "bookings"
    WHERE
      "status" = 'completed'
    GROUP BY
      "guest_id"
  ) AS "s0"
    ON "s0"."k" = "e"."guest_id"
)
SELECT
  "guest_id"
FROM "profile"
WHERE
  "ltv" >= 150000
  AND "last_booking_at" >= CAST((
    CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS DATE) - 365
  ) AS TIMESTAMP) AT TIME ZONE 'UTC'
  AND "last_booking_at" < CAST((
    CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS DATE) + 1
  ) AS TIMESTAMP) AT TIME ZONE 'UTC';
