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
      AND `seq_first`.`checked_in_at` <= TIMESTAMP_MICROS(1790899200000000)
      AND (
        `seq_first`.`status` = :p2
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
            `seq_then`.`status` = :p1
          )
      )
  )
ORDER BY
  `guest_id`;
-- params: {"p1": "completed", "p2": "cancelled"}

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
        `seq_first`.`kind` = :p2
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
          AND `seq_then`.`checked_in_at` <= TIMESTAMP_MICROS(1793491200000000)
          AND (
            `seq_then`.`status` = :p1
          )
      )
  )
ORDER BY
  `guest_id`;
-- params: {"p1": "completed", "p2": "click"}
