-- segment: all_customers
SELECT
  "guest_id"
FROM "guest_profile"
WHERE
  "status" = 'ACTIVE'
ORDER BY
  "guest_id";

-- segment: active_members
SELECT
  "guest_id"
FROM "guest_profile"
WHERE
  "status" = 'ACTIVE'
  AND "last_booking_at" >= CAST('2025-11-01 00:00:00+00:00' AS TIMESTAMPTZ)
  AND "last_booking_at" < CAST('2026-11-02 00:00:00+00:00' AS TIMESTAMPTZ)
ORDER BY
  "guest_id";

-- segment: high_engagement
SELECT
  "guest_id"
FROM "guest_profile"
WHERE
  "engagement_score" >= 70
ORDER BY
  "guest_id";

-- segment: at_risk
SELECT
  "guest_id"
FROM "guest_profile"
WHERE
  "churn_risk_score" >= 70
ORDER BY
  "guest_id";

-- segment: email_subscribers
SELECT
  "guest_id"
FROM "guest_profile"
WHERE
  "email_opt_in" = TRUE AND NOT "email" IS NULL
ORDER BY
  "guest_id";
