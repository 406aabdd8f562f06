-- ts within 48 hours
SELECT
  `id`
FROM `hours_fields`
WHERE
  `ts` >= DATE_SUB(UTC_TIMESTAMP(6), INTERVAL 48 HOUR) AND `ts` <= UTC_TIMESTAMP(6)
ORDER BY
  `id`;

-- ts before 6 hours ago
SELECT
  `id`
FROM `hours_fields`
WHERE
  `ts` < DATE_SUB(UTC_TIMESTAMP(6), INTERVAL 6 HOUR)
ORDER BY
  `id`;

-- ts after 1 hour ago
SELECT
  `id`
FROM `hours_fields`
WHERE
  `ts` > DATE_SUB(UTC_TIMESTAMP(6), INTERVAL 1 HOUR)
ORDER BY
  `id`;

-- n < tenths_of_cents
SELECT
  `id`
FROM `hours_fields`
WHERE
  `n` < `tenths_of_cents`
ORDER BY
  `id`;

-- cents = tenths_of_cents
SELECT
  `id`
FROM `hours_fields`
WHERE
  `cents` = `tenths_of_cents`
ORDER BY
  `id`;

-- tenths_of_cents != n
SELECT
  `id`
FROM `hours_fields`
WHERE
  `tenths_of_cents` <> `n`
ORDER BY
  `id`;

-- x >= y
SELECT
  `id`
FROM `hours_fields`
WHERE
  `x` >= `y`
ORDER BY
  `id`;

-- ts2 > ts
SELECT
  `id`
FROM `hours_fields`
WHERE
  `ts2` > `ts`
ORDER BY
  `id`;

-- days_since(ts) < days_since(on_day)
SELECT
  `id`
FROM `hours_fields`
WHERE
  CAST(`ts` AS DATE) > `on_day`
ORDER BY
  `id`;

-- name = tier
SELECT
  `id`
FROM `hours_fields`
WHERE
  CAST(`name` COLLATE utf8mb4_bin AS BINARY) = CAST(`tier` COLLATE utf8mb4_bin AS BINARY)
ORDER BY
  `id`;

-- flag != other_flag
SELECT
  `id`
FROM `hours_fields`
WHERE
  `flag` <> `other_flag`
ORDER BY
  `id`;
