-- segment: high_value
CREATE OR REPLACE VIEW `segment_high_value` AS
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
  AND `last_booking_at` < CAST(DATE_ADD(UTC_DATE(), INTERVAL 1 DAY) AS DATETIME(6));
