-- segment: active_golfers_low_handicap
SELECT
  "member_id"
FROM "member_profile"
WHERE
  "membership_status" = 'ACTIVE'
  AND "membership_tier" IN ('Gold', 'Platinum')
  AND "handicap" < 150
  AND "booking_count_30d" >= 2
  AND "engagement_score" >= 50
  AND "email_opt_in" = TRUE
ORDER BY
  "member_id";

-- segment: competition_players
SELECT
  "member_id"
FROM "member_profile"
WHERE
  "tournaments_12m" >= 3
  AND CASE
    WHEN "interests" IS NULL
    THEN NULL
    ELSE EXISTS(
      SELECT
        1
      FROM JSON_EACH("interests")
      WHERE
        "value" IN ('competitions')
    )
  END
ORDER BY
  "member_id";

-- segment: lapsing_players
SELECT
  "member_id"
FROM "member_profile"
WHERE
  "membership_status" = 'ACTIVE'
  AND "last_tee_time_at" < DATE('now', '-59 days') || ' 00:00:00.000000'
ORDER BY
  "member_id";

-- segment: late_payers
SELECT
  "member_id"
FROM "member_profile"
WHERE
  "late_payments_12m" >= 2 AND "membership_status" IN ('ACTIVE', 'SUSPENDED')
ORDER BY
  "member_id";

-- segment: vip_list
SELECT
  "member_id"
FROM "member_profile"
WHERE
  "member_id" IN (1001, 1002, 1003, 1004)
ORDER BY
  "member_id";

-- segment: board_members
SELECT
  "member_id"
FROM "member_profile"
WHERE
  "member_id" IN (1001, 1005)
ORDER BY
  "member_id";

-- segment: likely_to_churn
SELECT
  "member_id"
FROM "member_profile"
WHERE
  "churn_risk_score" >= 70 AND "membership_status" = 'ACTIVE'
ORDER BY
  "member_id";
