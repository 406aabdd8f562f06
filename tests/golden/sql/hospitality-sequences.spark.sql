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
        CURRENT_TIMESTAMP() - INTERVAL '2592000' SECOND
      )
      AND (
        `seq_first`.`status` = 'cancelled'
      )
      AND NOT EXISTS(
        SELECT
          1
        FROM `bookings` AS `seq_then`
        WHERE
          `seq_then`.`guest_id` = `seq_first`.`guest_id`
          AND `seq_then`.`checked_in_at` > `seq_first`.`checked_in_at`
          AND `seq_then`.`checked_in_at` <= (
            `seq_first`.`checked_in_at` + INTERVAL '2592000' SECOND
          )
          AND (
            `seq_then`.`status` = 'completed'
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
        `seq_first`.`kind` = 'click'
      )
      AND EXISTS(
        SELECT
          1
        FROM `bookings` AS `seq_then`
        WHERE
          `seq_then`.`guest_id` = `seq_first`.`guest_id`
          AND `seq_then`.`checked_in_at` > `seq_first`.`occurred_at`
          AND `seq_then`.`checked_in_at` <= (
            `seq_first`.`occurred_at` + INTERVAL '604800' SECOND
          )
          AND `seq_then`.`checked_in_at` <= CURRENT_TIMESTAMP()
          AND (
            `seq_then`.`status` = 'completed'
          )
      )
  )
ORDER BY
  `guest_id`;
