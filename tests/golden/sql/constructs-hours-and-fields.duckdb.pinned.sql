-- ts within 48 hours
SELECT
  "id"
FROM "hours_fields"
WHERE
  "ts" >= CAST('2026-10-30 12:00:00+00:00' AS TIMESTAMPTZ)
  AND "ts" <= CAST('2026-11-01 12:00:00+00:00' AS TIMESTAMPTZ)
ORDER BY
  "id";

-- ts before 6 hours ago
SELECT
  "id"
FROM "hours_fields"
WHERE
  "ts" < CAST('2026-11-01 06:00:00+00:00' AS TIMESTAMPTZ)
ORDER BY
  "id";

-- ts after 1 hour ago
SELECT
  "id"
FROM "hours_fields"
WHERE
  "ts" > CAST('2026-11-01 11:00:00+00:00' AS TIMESTAMPTZ)
ORDER BY
  "id";

-- n < tenths_of_cents
SELECT
  "id"
FROM "hours_fields"
WHERE
  "n" < "tenths_of_cents"
ORDER BY
  "id";

-- cents = tenths_of_cents
SELECT
  "id"
FROM "hours_fields"
WHERE
  "cents" = "tenths_of_cents"
ORDER BY
  "id";

-- tenths_of_cents != n
SELECT
  "id"
FROM "hours_fields"
WHERE
  "tenths_of_cents" <> "n"
ORDER BY
  "id";

-- x >= y
SELECT
  "id"
FROM "hours_fields"
WHERE
  "x" >= "y"
ORDER BY
  "id";

-- ts2 > ts
SELECT
  "id"
FROM "hours_fields"
WHERE
  "ts2" > "ts"
ORDER BY
  "id";

-- days_since(ts) < days_since(on_day)
SELECT
  "id"
FROM "hours_fields"
WHERE
  CAST("ts" AT TIME ZONE 'UTC' AS DATE) > "on_day"
ORDER BY
  "id";

-- name = tier
SELECT
  "id"
FROM "hours_fields"
WHERE
  "name" = "tier"
ORDER BY
  "id";

-- flag != other_flag
SELECT
  "id"
FROM "hours_fields"
WHERE
  "flag" <> "other_flag"
ORDER BY
  "id";
