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
  AND "last_booking_at" >= CAST((
    CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS DATE) - 365
  ) AS TIMESTAMP) AT TIME ZONE 'UTC'
  AND "last_booking_at" < CAST((
    CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS DATE) + 1
  ) AS TIMESTAMP) AT TIME ZONE 'UTC'
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
