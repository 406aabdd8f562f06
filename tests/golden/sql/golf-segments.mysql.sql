-- segment: active_golfers_low_handicap
WITH `profile` AS (
  SELECT
    `e`.*,
    `s0`.`booking_count_30d` AS `booking_count_30d`,
    `l0`.`handicap` AS `handicap`,
    `l1`.`email_opt_in` AS `email_opt_in`,
    `l2`.`engagement_score` AS `engagement_score`
  FROM `members` AS `e`
  LEFT JOIN (
    SELECT
      `member_id` AS `k`,
      COUNT(*) AS `booking_count_30d`
    FROM `tee_times`
    WHERE
      `booked_at` >= CAST(DATE_ADD(UTC_DATE(), INTERVAL -30 DAY) AS DATETIME(6))
      AND `booked_at` < CAST(DATE_ADD(UTC_DATE(), INTERVAL 1 DAY) AS DATETIME(6))
    GROUP BY
      `member_id`
  ) AS `s0`
    ON `s0`.`k` = `e`.`member_id`
  LEFT JOIN (
    SELECT
      `k`,
      `handicap`
    FROM (
      SELECT
        `member_id` AS `k`,
        `handicap_index` AS `handicap`,
        ROW_NUMBER() OVER (PARTITION BY `member_id` ORDER BY `recorded_on` DESC, `record_id` DESC) AS `rn`
      FROM `handicaps`
      WHERE
        NOT `recorded_on` IS NULL
    ) AS `ranked`
    WHERE
      `rn` = 1
  ) AS `l0`
    ON `l0`.`k` = `e`.`member_id`
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
          CAST(`channel` COLLATE utf8mb4_bin AS BINARY) = CAST('email' AS BINARY)
        )
        AND NOT `recorded_at` IS NULL
    ) AS `ranked`
    WHERE
      `rn` = 1
  ) AS `l1`
    ON `l1`.`k` = `e`.`member_id`
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
          CAST(`model` COLLATE utf8mb4_bin AS BINARY) = CAST('engagement' AS BINARY)
        )
        AND NOT `scored_at` IS NULL
    ) AS `ranked`
    WHERE
      `rn` = 1
  ) AS `l2`
    ON `l2`.`k` = `e`.`member_id`
)
SELECT
  `member_id`
FROM `profile`
WHERE
  CAST(`membership_status` COLLATE utf8mb4_bin AS BINARY) = CAST('ACTIVE' AS BINARY)
  AND CAST(`membership_tier` COLLATE utf8mb4_bin AS BINARY) IN (CAST('Gold' AS BINARY), CAST('Platinum' AS BINARY))
  AND `handicap` < 15
  AND `booking_count_30d` >= 2
  AND `engagement_score` >= 50
  AND `email_opt_in` = TRUE
ORDER BY
  `member_id`;

-- segment: competition_players
WITH `profile` AS (
  SELECT
    `e`.*,
    `s0`.`tournaments_12m` AS `tournaments_12m`
  FROM `members` AS `e`
  LEFT JOIN (
    SELECT
      `member_id` AS `k`,
      COUNT(*) AS `tournaments_12m`
    FROM `tournament_entries`
    WHERE
      `played_on` >= DATE_ADD(UTC_DATE(), INTERVAL -365 DAY)
      AND `played_on` <= UTC_DATE()
    GROUP BY
      `member_id`
  ) AS `s0`
    ON `s0`.`k` = `e`.`member_id`
)
SELECT
  `member_id`
FROM `profile`
WHERE
  `tournaments_12m` >= 3 AND JSON_CONTAINS(`interests`, JSON_ARRAY('competitions'))
ORDER BY
  `member_id`;

-- segment: lapsing_players
WITH `profile` AS (
  SELECT
    `e`.*,
    `s0`.`last_tee_time_at` AS `last_tee_time_at`
  FROM `members` AS `e`
  LEFT JOIN (
    SELECT
      `member_id` AS `k`,
      MAX(`starts_at`) AS `last_tee_time_at`
    FROM `tee_times`
    WHERE
      CAST(`status` COLLATE utf8mb4_bin AS BINARY) = CAST('played' AS BINARY)
    GROUP BY
      `member_id`
  ) AS `s0`
    ON `s0`.`k` = `e`.`member_id`
)
SELECT
  `member_id`
FROM `profile`
WHERE
  CAST(`membership_status` COLLATE utf8mb4_bin AS BINARY) = CAST('ACTIVE' AS BINARY)
  AND `last_tee_time_at` < CAST(DATE_ADD(UTC_DATE(), INTERVAL -59 DAY) AS DATETIME(6))
ORDER BY
  `member_id`;

-- segment: late_payers
WITH `profile` AS (
  SELECT
    `e`.*,
    `s0`.`late_payments_12m` AS `late_payments_12m`
  FROM `members` AS `e`
  LEFT JOIN (
    SELECT
      `member_id` AS `k`,
      COUNT(*) AS `late_payments_12m`
    FROM `dues_payments`
    WHERE
      `due_on` >= DATE_ADD(UTC_DATE(), INTERVAL -365 DAY)
      AND `due_on` <= UTC_DATE()
      AND (
        `days_late` > 30
        OR (
          `paid_on` IS NULL AND `due_on` < DATE_ADD(UTC_DATE(), INTERVAL -30 DAY)
        )
      )
    GROUP BY
      `member_id`
  ) AS `s0`
    ON `s0`.`k` = `e`.`member_id`
)
SELECT
  `member_id`
FROM `profile`
WHERE
  `late_payments_12m` >= 2
  AND CAST(`membership_status` COLLATE utf8mb4_bin AS BINARY) IN (CAST('ACTIVE' AS BINARY), CAST('SUSPENDED' AS BINARY))
ORDER BY
  `member_id`;

-- segment: vip_list
SELECT
  `member_id`
FROM `members`
WHERE
  `member_id` IN (1001, 1002, 1003, 1004)
ORDER BY
  `member_id`;

-- segment: board_members
SELECT
  `member_id`
FROM `members`
WHERE
  `member_id` IN (1001, 1005)
ORDER BY
  `member_id`;

-- segment: likely_to_churn
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
          CAST(`model` COLLATE utf8mb4_bin AS BINARY) = CAST('churn' AS BINARY)
        )
        AND NOT `scored_at` IS NULL
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
  AND CAST(`membership_status` COLLATE utf8mb4_bin AS BINARY) = CAST('ACTIVE' AS BINARY)
ORDER BY
  `member_id`;
