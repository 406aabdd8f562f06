-- segment: cancelled_not_rebooked
SELECT
  `guest_id`
FROM `guests`
WHERE
  EXISTS(
    SELECT
      1
    FROM `bookings` AS `seq_first`
    WHERE
      `seq_first`.`guest_id` = `guests`.`guest_id`
      AND `seq_first`.`checked_in_at` <= (
        UTC_TIMESTAMP(6) - INTERVAL '2592000' SECOND
      )
      AND (
        CAST(`seq_first`.`status` COLLATE utf8mb4_bin AS BINARY) = CAST('cancelled' AS BINARY)
      )
      AND NOT EXISTS(
        SELECT
          1
        FROM `bookings` AS `seq_then`
        WHERE
          `seq_then`.`guest_id` = `seq_first`.`guest_id`
          AND `seq_then`.`checked_in_at` > `seq_first`.`checked_in_at`
          AND `seq_then`.`checked_in_at` <= (
            COALESCE(
              `seq_first`.`checked_in_at` + INTERVAL '2592000' SECOND,
              CAST('9999-12-31 23:59:59.999999' AS DATETIME(6))
            )
          )
          AND (
            CAST(`seq_then`.`status` COLLATE utf8mb4_bin AS BINARY) = CAST('completed' AS BINARY)
          )
      )
  )
ORDER BY
  `guest_id`;

-- segment: clicked_then_booked
SELECT
  `guest_id`
FROM `guests`
WHERE
  EXISTS(
    SELECT
      1
    FROM `engagement_events` AS `seq_first`
    WHERE
      `seq_first`.`guest_id` = `guests`.`guest_id`
      AND (
        CAST(`seq_first`.`kind` COLLATE utf8mb4_bin AS BINARY) = CAST('click' AS BINARY)
      )
      AND EXISTS(
        SELECT
          1
        FROM `bookings` AS `seq_then`
        WHERE
          `seq_then`.`guest_id` = `seq_first`.`guest_id`
          AND `seq_then`.`checked_in_at` > `seq_first`.`occurred_at`
          AND `seq_then`.`checked_in_at` <= (
            COALESCE(
              `seq_first`.`occurred_at` + INTERVAL '604800' SECOND,
              CAST('9999-12-31 23:59:59.999999' AS DATETIME(6))
            )
          )
          AND `seq_then`.`checked_in_at` <= UTC_TIMESTAMP(6)
          AND (
            CAST(`seq_then`.`status` COLLATE utf8mb4_bin AS BINARY) = CAST('completed' AS BINARY)
          )
      )
  )
ORDER BY
  `guest_id`;
