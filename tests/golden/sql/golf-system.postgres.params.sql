-- segment: all_customers
SELECT
  "member_id"
FROM "member_profile"
WHERE
  "status" = %(p1)s
ORDER BY
  "member_id";
-- params: {"p1": "ACTIVE"}

-- segment: active_members
SELECT
  "member_id"
FROM "member_profile"
WHERE
  "membership_status" = %(p1)s
ORDER BY
  "member_id";
-- params: {"p1": "ACTIVE"}

-- segment: high_engagement
SELECT
  "member_id"
FROM "member_profile"
WHERE
  "engagement_score" >= %(p1)s
ORDER BY
  "member_id";
-- params: {"p1": 70}

-- segment: at_risk
SELECT
  "member_id"
FROM "member_profile"
WHERE
  "churn_risk_score" >= %(p1)s
ORDER BY
  "member_id";
-- params: {"p1": 70}

-- segment: email_subscribers
SELECT
  "member_id"
FROM "member_profile"
WHERE
  "email_opt_in" = %(p1)s
ORDER BY
  "member_id";
-- params: {"p1": true}
