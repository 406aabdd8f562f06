-- segment: all_customers
SELECT
  `member_id`
FROM `members`
WHERE
  `status` = 'ACTIVE'
ORDER BY
  `member_id`;

-- segment: active_members
SELECT
  `member_id`
FROM `members`
WHERE
  `membership_status` = 'ACTIVE'
ORDER BY
  `member_id`;

-- segment: high_engagement
WITH `profile` AS (
  SELECT
    `e`.*,
    `l0`.`engagement_score` AS `engagement_score`
  FROM `members` AS `e`
  LEFT JOIN (
    SELECT
      `k`,
      `engagement_score`
    FROM (
      SELECT
        `member_id` AS `k`,
        `score` AS `engagement_score`,
        ROW_NUMBER() OVER (PARTITION BY `member_id` ORDER BY `scored_at` DESC, `score_id` DESC) AS `rn`
      FROM `model_scores`
      WHERE
        (
          `model` = 'engagement'
        ) AND NOT `scored_at` IS NULL
    ) AS `ranked`
    WHERE
      `rn` = 1
  ) AS `l0`
    ON `l0`.`k` = `e`.`member_id`
)
SELECT
  `member_id`
FROM `profile`
WHERE
  `engagement_score` >= 70
ORDER BY
  `member_id`;

-- segment: at_risk
WITH `profile` AS (
  SELECT
    `e`.*,
    `l0`.`churn_risk_score` AS `churn_risk_score`
  FROM `members` AS `e`
  LEFT JOIN (
    SELECT
      `k`,
      `churn_risk_score`
    FROM (
      SELECT
        `member_id` AS `k`,
        `score` AS `churn_risk_score`,
        ROW_NUMBER() OVER (PARTITION BY `member_id` ORDER BY `scored_at` DESC, `score_id` DESC) AS `rn`
      FROM `model_scores`
      WHERE
        (
          `model` = 'churn'
        ) AND NOT `scored_at` IS NULL
    ) AS `ranked`
    WHERE
      `rn` = 1
  ) AS `l0`
    ON `l0`.`k` = `e`.`member_id`
)
SELECT
  `member_id`
FROM `profile`
WHERE
  `churn_risk_score` >= 70
ORDER BY
  `member_id`;

-- segment: email_subscribers
WITH `profile` AS (
  SELECT
    `e`.*,
    `l0`.`email_opt_in` AS `email_opt_in`
  FROM `members` AS `e`
  LEFT JOIN (
    SELECT
      `k`,
      `email_opt_in`
    FROM (
      SELECT
        `member_id` AS `k`,
        `granted` AS `email_opt_in`,
        ROW_NUMBER() OVER (PARTITION BY `member_id` ORDER BY `recorded_at` DESC, `consent_id` DESC) AS `rn`
      FROM `consents`
      WHERE
        (
          `channel` = 'email'
        ) AND NOT `recorded_at` IS NULL
    ) AS `ranked`
    WHERE
      `rn` = 1
  ) AS `l0`
    ON `l0`.`k` = `e`.`member_id`
)
SELECT
  `member_id`
FROM `profile`
WHERE
  `email_opt_in` = TRUE
ORDER BY
  `member_id`;
