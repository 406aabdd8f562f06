-- segment: high_value
SELECT
  "guest_id"
FROM "guest_profile"
WHERE
  "lifetime_value" >= %(p1)s
  AND "last_booking_at" >= CAST('2025-11-01 00:00:00+00:00' AS TIMESTAMPTZ)
  AND "last_booking_at" < CAST('2026-11-02 00:00:00+00:00' AS TIMESTAMPTZ)
ORDER BY
  "guest_id";
-- params: {"p1": "150000"}

-- segment: lapsed
SELECT
  "guest_id"
FROM "guest_profile"
WHERE
  "last_booking_at" < CAST('2026-05-06 00:00:00+00:00' AS TIMESTAMPTZ)
ORDER BY
  "guest_id";
-- params: {}

-- segment: win_back
SELECT
  "guest_id"
FROM "guest_profile"
WHERE
  COALESCE("last_booking_at" < CAST('2026-05-06 00:00:00+00:00' AS TIMESTAMPTZ), FALSE)
  AND "lifetime_value" >= %(p1)s
  AND "email_opt_in"
ORDER BY
  "guest_id";
-- params: {"p1": "50000"}

-- segment: frequent_bookers
SELECT
  "guest_id"
FROM "guest_profile"
WHERE
  "total_bookings" >= %(p1)s
  AND "last_booking_at" >= CAST('2026-08-03 00:00:00+00:00' AS TIMESTAMPTZ)
ORDER BY
  "guest_id";
-- params: {"p1": 6}

-- segment: spa_lovers
SELECT
  "guest_id"
FROM "guest_profile"
WHERE
  "interests" && ARRAY[%(p1)s, %(p2)s]
  AND NOT (
    COALESCE("last_booking_at" < CAST('2026-05-06 00:00:00+00:00' AS TIMESTAMPTZ), FALSE)
  )
ORDER BY
  "guest_id";
-- params: {"p1": "spa", "p2": "wellness"}

-- segment: gmail_gold
SELECT
  "guest_id"
FROM "guest_profile"
WHERE
  "loyalty_tier" IN (%(p1)s, %(p2)s)
  AND SUBSTRING(TRANSLATE("email", 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') FROM LENGTH(TRANSLATE("email", 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')) - 9) = %(p3)s
ORDER BY
  "guest_id";
-- params: {"p1": "Gold", "p2": "Platinum", "p3": "@gmail.com"}

-- segment: board_members
SELECT
  "guest_id"
FROM "guest_profile"
WHERE
  "guest_id" IN (%(p1)s, %(p2)s, %(p3)s)
ORDER BY
  "guest_id";
-- params: {"p1": 1001, "p2": 1002, "p3": 1003}

-- segment: likely_to_churn
SELECT
  "guest_id"
FROM "guest_profile"
WHERE
  "churn_risk_score" >= %(p1)s AND "status" = %(p2)s
ORDER BY
  "guest_id";
-- params: {"p1": 70, "p2": "ACTIVE"}
