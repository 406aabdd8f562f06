-- segment: clicked_no_tee_time
SELECT
  `member_id`
FROM `members`
WHERE
  EXISTS(
    SELECT
      1
    FROM `engagement_events` AS `seq_first`
    WHERE
      `seq_first`.`member_id` = `members`.`member_id`
      AND `seq_first`.`occurred_at` <= TIMESTAMP_MICROS(1792281600000000)
      AND (
        `seq_first`.`kind` = 'click'
      )
      AND NOT EXISTS(
        SELECT
          1
        FROM `tee_times` AS `seq_then`
        WHERE
          `seq_then`.`member_id` = `seq_first`.`member_id`
          AND `seq_then`.`starts_at` > `seq_first`.`occurred_at`
          AND `seq_then`.`starts_at` <= (
            `seq_first`.`occurred_at` + INTERVAL '1209600' SECOND
          )
      )
  )
ORDER BY
  `member_id`;

-- segment: back_to_back_rounds
SELECT
  `member_id`
FROM `members`
WHERE
  EXISTS(
    SELECT
      1
    FROM `tee_times` AS `seq_first`
    WHERE
      `seq_first`.`member_id` = `members`.`member_id`
      AND EXISTS(
        SELECT
          1
        FROM `tee_times` AS `seq_then`
        WHERE
          `seq_then`.`member_id` = `seq_first`.`member_id`
          AND `seq_then`.`starts_at` > `seq_first`.`starts_at`
          AND `seq_then`.`starts_at` <= (
            `seq_first`.`starts_at` + INTERVAL '604800' SECOND
          )
          AND `seq_then`.`starts_at` <= TIMESTAMP_MICROS(1793491200000000)
      )
  )
ORDER BY
  `member_id`;
