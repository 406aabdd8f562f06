-- segment: high_value
WITH `profile` AS (
  SELECT
    `e`.*,
    `s0`.`ltv` AS `ltv`,
    `s0`.`last_booking_at` AS `last_booking_at`
  FROM `guests` AS `e`
  LEFT JOIN (
    SELECT
      `guest_id` AS `k`,
      SUM(`amount_inr`) AS `ltv`,
      MAX(`checked_in_at`) AS `last_booking_at`
    FROM `bookings`
    WHERE
      CAST(`status` COLLATE utf8mb4_bin AS BINARY) = CAST('completed' AS BINARY)
    GROUP BY
      `guest_id`
  ) AS `s0`
    ON `s0`.`k` = `e`.`guest_id`
)
SELECT
  `guest_id`
FROM `profile`
WHERE
  `ltv` >= 150000
  AND `last_booking_at` >= CAST(DATE_ADD(UTC_DATE(), INTERVAL -365 DAY) AS DATETIME(6))
  AND `last_booking_at` < CAST(DATE_ADD(UTC_DATE(), INTERVAL 1 DAY) AS DATETIME(6))
ORDER BY
  `guest_id`;

-- segment: lapsed
WITH `profile` AS (
  SELECT
    `e`.*,
    `s0`.`last_booking_at` AS `last_booking_at`
  FROM `guests` AS `e`
  LEFT JOIN (
    SELECT
      `guest_id` AS `k`,
      MAX(`checked_in_at`) AS `last_booking_at`
    FROM `bookings`
    WHERE
      CAST(`status` COLLATE utf8mb4_bin AS BINARY) = CAST('completed' AS BINARY)
    GROUP BY
      `guest_id`
  ) AS `s0`
    ON `s0`.`k` = `e`.`guest_id`
)
SELECT
  `guest_id`
FROM `profile`
WHERE
  `last_booking_at` < CAST(DATE_ADD(UTC_DATE(), INTERVAL -179 DAY) AS DATETIME(6))
ORDER BY
  `guest_id`;

-- segment: win_back
WITH `profile` AS (
  SELECT
    `e`.*,
    `s0`.`ltv` AS `ltv`,
    `s0`.`last_booking_at` AS `last_booking_at`,
    `l0`.`email_opt_in` AS `email_opt_in`
  FROM `guests` AS `e`
  LEFT JOIN (
    SELECT
      `guest_id` AS `k`,
      SUM(`amount_inr`) AS `ltv`,
      MAX(`checked_in_at`) AS `last_booking_at`
    FROM `bookings`
    WHERE
      CAST(`status` COLLATE utf8mb4_bin AS BINARY) = CAST('completed' AS BINARY)
    GROUP BY
      `guest_id`
  ) AS `s0`
    ON `s0`.`k` = `e`.`guest_id`
  LEFT JOIN (
    SELECT
      `k`,
      `email_opt_in`
    FROM (
      SELECT
        `guest_id` AS `k`,
        `granted` AS `email_opt_in`,
        ROW_NUMBER() OVER (PARTITION BY `guest_id` ORDER BY `recorded_at` DESC, `consent_id` DESC) AS `rn`
      FROM `consents`
      WHERE
        (
          CAST(`channel` COLLATE utf8mb4_bin AS BINARY) = CAST('email' AS BINARY)
        )
        AND NOT `recorded_at` IS NULL
    ) AS `ranked`
    WHERE
      `rn` = 1
  ) AS `l0`
    ON `l0`.`k` = `e`.`guest_id`
)
SELECT
  `guest_id`
FROM `profile`
WHERE
  COALESCE(
    `last_booking_at` < CAST(DATE_ADD(UTC_DATE(), INTERVAL -179 DAY) AS DATETIME(6)),
    FALSE
  )
  AND `ltv` >= 50000
  AND `email_opt_in`
ORDER BY
  `guest_id`;

-- segment: frequent_bookers
WITH `profile` AS (
  SELECT
    `e`.*,
    `s0`.`total_bookings` AS `total_bookings`,
    `s0`.`last_booking_at` AS `last_booking_at`
  FROM `guests` AS `e`
  LEFT JOIN (
    SELECT
      `guest_id` AS `k`,
      COUNT(*) AS `total_bookings`,
      MAX(`checked_in_at`) AS `last_booking_at`
    FROM `bookings`
    WHERE
      CAST(`status` COLLATE utf8mb4_bin AS BINARY) = CAST('completed' AS BINARY)
    GROUP BY
      `guest_id`
  ) AS `s0`
    ON `s0`.`k` = `e`.`guest_id`
)
SELECT
  `guest_id`
FROM `profile`
WHERE
  `total_bookings` >= 6
  AND `last_booking_at` >= CAST(DATE_ADD(UTC_DATE(), INTERVAL -90 DAY) AS DATETIME(6))
ORDER BY
  `guest_id`;

-- segment: spa_lovers
WITH `profile` AS (
  SELECT
    `e`.*,
    `s0`.`last_booking_at` AS `last_booking_at`
  FROM `guests` AS `e`
  LEFT JOIN (
    SELECT
      `guest_id` AS `k`,
      MAX(`checked_in_at`) AS `last_booking_at`
    FROM `bookings`
    WHERE
      CAST(`status` COLLATE utf8mb4_bin AS BINARY) = CAST('completed' AS BINARY)
    GROUP BY
      `guest_id`
  ) AS `s0`
    ON `s0`.`k` = `e`.`guest_id`
)
SELECT
  `guest_id`
FROM `profile`
WHERE
  JSON_OVERLAPS(`interests`, JSON_ARRAY('spa', 'wellness'))
  AND NOT (
    COALESCE(
      `last_booking_at` < CAST(DATE_ADD(UTC_DATE(), INTERVAL -179 DAY) AS DATETIME(6)),
      FALSE
    )
  )
ORDER BY
  `guest_id`;

-- segment: gmail_gold
WITH `profile` AS (
  SELECT
    `e`.*,
    `l0`.`loyalty_tier` AS `loyalty_tier`
  FROM `guests` AS `e`
  LEFT JOIN (
    SELECT
      `k`,
      `loyalty_tier`
    FROM (
      SELECT
        `guest_id` AS `k`,
        `tier` AS `loyalty_tier`,
        ROW_NUMBER() OVER (PARTITION BY `guest_id` ORDER BY `enrolled_on` DESC, `account_id` DESC) AS `rn`
      FROM `loyalty_accounts`
      WHERE
        NOT `enrolled_on` IS NULL
    ) AS `ranked`
    WHERE
      `rn` = 1
  ) AS `l0`
    ON `l0`.`k` = `e`.`guest_id`
)
SELECT
  `guest_id`
FROM `profile`
WHERE
  CAST(`loyalty_tier` COLLATE utf8mb4_bin AS BINARY) IN (CAST('Gold' AS BINARY), CAST('Platinum' AS BINARY))
  AND CAST(REPLACE(
    REPLACE(
      REPLACE(
        REPLACE(
          REPLACE(
            REPLACE(
              REPLACE(
                REPLACE(
                  REPLACE(
                    REPLACE(
                      REPLACE(
                        REPLACE(
                          REPLACE(
                            REPLACE(
                              REPLACE(
                                REPLACE(
                                  REPLACE(
                                    REPLACE(
                                      REPLACE(
                                        REPLACE(
                                          REPLACE(
                                            REPLACE(
                                              REPLACE(
                                                REPLACE(
                                                  REPLACE(
                                                    REPLACE(
                                                      SUBSTRING(`email` COLLATE utf8mb4_bin, CHAR_LENGTH(`email` COLLATE utf8mb4_bin) - 9),
                                                      'A',
                                                      'a'
                                                    ),
                                                    'B',
                                                    'b'
                                                  ),
                                                  'C',
                                                  'c'
                                                ),
                                                'D',
                                                'd'
                                              ),
                                              'E',
                                              'e'
                                            ),
                                            'F',
                                            'f'
                                          ),
                                          'G',
                                          'g'
                                        ),
                                        'H',
                                        'h'
                                      ),
                                      'I',
                                      'i'
                                    ),
                                    'J',
                                    'j'
                                  ),
                                  'K',
                                  'k'
                                ),
                                'L',
                                'l'
                              ),
                              'M',
                              'm'
                            ),
                            'N',
                            'n'
                          ),
                          'O',
                          'o'
                        ),
                        'P',
                        'p'
                      ),
                      'Q',
                      'q'
                    ),
                    'R',
                    'r'
                  ),
                  'S',
                  's'
                ),
                'T',
                't'
              ),
              'U',
              'u'
            ),
            'V',
            'v'
          ),
          'W',
          'w'
        ),
        'X',
        'x'
      ),
      'Y',
      'y'
    ),
    'Z',
    'z'
  ) AS BINARY) = CAST('@gmail.com' AS BINARY)
ORDER BY
  `guest_id`;

-- segment: board_members
SELECT
  `guest_id`
FROM `guests`
WHERE
  `guest_id` IN (1001, 1002, 1003)
ORDER BY
  `guest_id`;

-- segment: likely_to_churn
WITH `profile` AS (
  SELECT
    `e`.*,
    `s0`.`last_booking_at` AS `last_booking_at`,
    `l0`.`churn_risk_score` AS `churn_risk_score`
  FROM `guests` AS `e`
  LEFT JOIN (
    SELECT
      `guest_id` AS `k`,
      MAX(`checked_in_at`) AS `last_booking_at`
    FROM `bookings`
    WHERE
      CAST(`status` COLLATE utf8mb4_bin AS BINARY) = CAST('completed' AS BINARY)
    GROUP BY
      `guest_id`
  ) AS `s0`
    ON `s0`.`k` = `e`.`guest_id`
  LEFT JOIN (
    SELECT
      `k`,
      `churn_risk_score`
    FROM (
      SELECT
        `guest_id` AS `k`,
        `score` AS `churn_risk_score`,
        ROW_NUMBER() OVER (PARTITION BY `guest_id` ORDER BY `scored_at` DESC, `score_id` DESC) AS `rn`
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
    ON `l0`.`k` = `e`.`guest_id`
)
SELECT
  `guest_id`
FROM `profile`
WHERE
  `churn_risk_score` >= 70
  AND CAST(`status` COLLATE utf8mb4_bin AS BINARY) = CAST('ACTIVE' AS BINARY)
  AND `last_booking_at` >= CAST(DATE_ADD(UTC_DATE(), INTERVAL -365 DAY) AS DATETIME(6))
  AND `last_booking_at` < CAST(DATE_ADD(UTC_DATE(), INTERVAL 1 DAY) AS DATETIME(6))
ORDER BY
  `guest_id`;
