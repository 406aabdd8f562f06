-- segment: high_value
SELECT
  "guest_id"
FROM "guest_profile"
WHERE
  "lifetime_value" >= 150000
  AND "last_booking_at" >= CAST('2025-11-01 00:00:00+00:00' AS TIMESTAMPTZ)
  AND "last_booking_at" < CAST('2026-11-02 00:00:00+00:00' AS TIMESTAMPTZ)
ORDER BY
  "guest_id";

-- segment: lapsed
SELECT
  "guest_id"
FROM "guest_profile"
WHERE
  "last_booking_at" < CAST('2026-05-06 00:00:00+00:00' AS TIMESTAMPTZ)
ORDER BY
  "guest_id";

-- segment: win_back
SELECT
  "guest_id"
FROM "guest_profile"
WHERE
  COALESCE("last_booking_at" < CAST('2026-05-06 00:00:00+00:00' AS TIMESTAMPTZ), FALSE)
  AND "lifetime_value" >= 50000
  AND "email_opt_in"
ORDER BY
  "guest_id";

-- segment: frequent_bookers
SELECT
  "guest_id"
FROM "guest_profile"
WHERE
  "total_bookings" >= 6
  AND "last_booking_at" >= CAST('2026-08-03 00:00:00+00:00' AS TIMESTAMPTZ)
ORDER BY
  "guest_id";

-- segment: spa_lovers
SELECT
  "guest_id"
FROM "guest_profile"
WHERE
  "interests" && ARRAY['spa', 'wellness']
  AND NOT (
    COALESCE("last_booking_at" < CAST('2026-05-06 00:00:00+00:00' AS TIMESTAMPTZ), FALSE)
  )
ORDER BY
  "guest_id";

-- segment: gmail_gold
SELECT
  "guest_id"
FROM "guest_profile"
WHERE
  "loyalty_tier" IN ('Gold', 'Platinum')
  AND SUBSTRING(TRANSLATE("email", 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') FROM LENGTH(TRANSLATE("email", 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')) - 9) = '@gmail.com'
ORDER BY
  "guest_id";

-- segment: board_members
SELECT
  "guest_id"
FROM "guest_profile"
WHERE
  "guest_id" IN (1001, 1002, 1003)
ORDER BY
  "guest_id";

-- segment: likely_to_churn
SELECT
  "guest_id"
FROM "guest_profile"
WHERE
  "churn_risk_score" >= 70 AND "status" = 'ACTIVE'
ORDER BY
  "guest_id";
