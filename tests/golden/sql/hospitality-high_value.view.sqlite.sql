-- segment: high_value
DROP VIEW IF EXISTS "segment_high_value";
CREATE VIEW "segment_high_value" AS
SELECT
  "guest_id"
FROM "guest_profile"
WHERE
  "lifetime_value" >= 15000000
  AND "last_booking_at" >= DATE('now', '-365 days') || ' 00:00:00.000000'
  AND "last_booking_at" < DATE('now', '+1 days') || ' 00:00:00.000000';
