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
  AND "last_booking_at" >= DATE('now', '-365 days') || ' 00:00:00.000000'
  AND "last_booking_at" < DATE('now', '+1 days') || ' 00:00:00.000000'
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
  "email_opt_in" AND NOT "email" IS NULL
ORDER BY
  "guest_id";
