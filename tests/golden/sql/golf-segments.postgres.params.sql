-- segment: active_golfers_low_handicap
SELECT
  "member_id"
FROM "member_profile"
WHERE
  "membership_status" = %(p1)s
  AND "membership_tier" IN (%(p2)s, %(p3)s)
  AND "handicap" < %(p4)s
  AND "booking_count_30d" >= %(p5)s
  AND "engagement_score" >= %(p6)s
  AND "email_opt_in" = %(p7)s
ORDER BY
  "member_id";
-- params: {"p1": "ACTIVE", "p2": "Gold", "p3": "Platinum", "p4": "15", "p5": 2, "p6": 50, "p7": true}

-- segment: competition_players
SELECT
  "member_id"
FROM "member_profile"
WHERE
  "tournaments_12m" >= %(p1)s AND "interests" @> ARRAY[%(p2)s]
ORDER BY
  "member_id";
-- params: {"p1": 3, "p2": "competitions"}

-- segment: lapsing_players
SELECT
  "member_id"
FROM "member_profile"
WHERE
  "membership_status" = %(p1)s
  AND "last_tee_time_at" < CAST('2026-09-03 00:00:00+00:00' AS TIMESTAMPTZ)
ORDER BY
  "member_id";
-- params: {"p1": "ACTIVE"}

-- segment: late_payers
SELECT
  "member_id"
FROM "member_profile"
WHERE
  "late_payments_12m" >= %(p1)s AND "membership_status" IN (%(p2)s, %(p3)s)
ORDER BY
  "member_id";
-- params: {"p1": 2, "p2": "ACTIVE", "p3": "SUSPENDED"}

-- segment: vip_list
SELECT
  "member_id"
FROM "member_profile"
WHERE
  "member_id" IN (%(p1)s, %(p2)s, %(p3)s, %(p4)s)
ORDER BY
  "member_id";
-- params: {"p1": 1001, "p2": 1002, "p3": 1003, "p4": 1004}

-- segment: board_members
SELECT
  "member_id"
FROM "member_profile"
WHERE
  "member_id" IN (%(p1)s, %(p2)s)
ORDER BY
  "member_id";
-- params: {"p1": 1001, "p2": 1005}

-- segment: likely_to_churn
SELECT
  "member_id"
FROM "member_profile"
WHERE
  "churn_risk_score" >= %(p1)s AND "membership_status" = %(p2)s
ORDER BY
  "member_id";
-- params: {"p1": 70, "p2": "ACTIVE"}
