-- segment: high_value
CREATE OR REPLACE VIEW "segment_high_value" AS
SELECT
  "guest_id"
FROM "guest_profile"
WHERE
  "lifetime_value" >= 150000
  AND "last_booking_at" >= CAST((
    CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS DATE) - 365
  ) AS TIMESTAMP) AT TIME ZONE 'UTC'
  AND "last_booking_at" < CAST((
    CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS DATE) + 1
  ) AS TIMESTAMP) AT TIME ZONE 'UTC';
