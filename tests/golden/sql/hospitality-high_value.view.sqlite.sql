-- segment: high_value
DROP VIEW IF EXISTS "segment_high_value";
CREATE VIEW "segment_high_value" AS
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
  "ltv" >= 15000000
  AND "last_booking_at" >= DATE('now', '-365 days') || ' 00:00:00.000000'
  AND "last_booking_at" < DATE('now', '+1 days') || ' 00:00:00.000000';
