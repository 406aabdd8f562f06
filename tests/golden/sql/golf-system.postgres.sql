-- segment: all_customers
SELECT
  "member_id"
FROM "member_profile"
WHERE
  "status" = 'ACTIVE'
ORDER BY
  "member_id";

-- segment: active_members
SELECT
  "member_id"
FROM "member_profile"
WHERE
  "membership_status" = 'ACTIVE'
ORDER BY
  "member_id";

-- segment: high_engagement
SELECT
  "member_id"
FROM "member_profile"
WHERE
  "engagement_score" >= 70
ORDER BY
  "member_id";

-- segment: at_risk
SELECT
  "member_id"
FROM "member_profile"
WHERE
  "churn_risk_score" >= 70
ORDER BY
  "member_id";

-- segment: email_subscribers
SELECT
  "member_id"
FROM "member_profile"
WHERE
  "email_opt_in" = TRUE
ORDER BY
  "member_id";
