-- segment: high_value
SELECT
  "guest_id"
FROM "guest_profile"
WHERE
  "lifetime_value" >= 15000000
  AND "last_booking_at" >= DATE('now', '-365 days') || ' 00:00:00.000000'
  AND "last_booking_at" < DATE('now', '+1 days') || ' 00:00:00.000000'
ORDER BY
  "guest_id";

-- segment: lapsed
SELECT
  "guest_id"
FROM "guest_profile"
WHERE
  "last_booking_at" < DATE('now', '-179 days') || ' 00:00:00.000000'
ORDER BY
  "guest_id";

-- segment: win_back
SELECT
  "guest_id"
FROM "guest_profile"
WHERE
  COALESCE("last_booking_at" < DATE('now', '-179 days') || ' 00:00:00.000000', FALSE)
  AND "lifetime_value" >= 5000000
  AND "email_opt_in"
ORDER BY
  "guest_id";

-- segment: frequent_bookers
SELECT
  "guest_id"
FROM "guest_profile"
WHERE
  "total_bookings" >= 6
  AND "last_booking_at" >= DATE('now', '-90 days') || ' 00:00:00.000000'
ORDER BY
  "guest_id";

-- segment: spa_lovers
SELECT
  "guest_id"
FROM "guest_profile"
WHERE
  CASE
    WHEN "interests" IS NULL
    THEN NULL
    ELSE EXISTS(
      SELECT
        1
      FROM JSON_EACH("interests")
      WHERE
        "value" IN ('spa', 'wellness')
    )
  END
  AND NOT (
    COALESCE("last_booking_at" < DATE('now', '-179 days') || ' 00:00:00.000000', FALSE)
  )
ORDER BY
  "guest_id";

-- segment: gmail_gold
SELECT
  "guest_id"
FROM "guest_profile"
WHERE
  "loyalty_tier" IN ('Gold', 'Platinum')
  AND SUBSTRING(LOWER("email"), LENGTH(LOWER("email")) - 9) = '@gmail.com'
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
