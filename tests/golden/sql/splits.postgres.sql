-- segment: winback_offer_a
SELECT
  "guest_id"
FROM "guests"
WHERE
  MOD(
    CAST(CAST('x' || LPAD(
      SUBSTRING(ENCODE(SHA256(CONVERT_TO('winback-2026-12:' || CAST("guest_id" AS TEXT), 'UTF8')), 'hex') FROM 1 FOR 15),
      16,
      '0'
    ) AS BIT(64)) AS BIGINT),
    10000
  ) BETWEEN 1000 AND 5499
  AND NOT (
    MOD(
      CAST(CAST('x' || LPAD(
        SUBSTRING(ENCODE(SHA256(CONVERT_TO('gc-2026:' || CAST("guest_id" AS TEXT), 'UTF8')), 'hex') FROM 1 FOR 15),
        16,
        '0'
      ) AS BIT(64)) AS BIGINT),
      10000
    ) <= 499
  )
ORDER BY
  "guest_id";

-- segment: control_or_held
WITH "profile" AS (
  SELECT
    "e".*,
    "s0"."ltv" AS "ltv"
  FROM "guests" AS "e"
  LEFT JOIN (
    SELECT
      "guest_id" AS "k",
      SUM("amount_inr") AS "ltv"
    FROM "bookings"
    WHERE
      "status" = 'completed'
    GROUP BY
      "guest_id"
  ) AS "s0"
    ON "s0"."k" = "e"."guest_id"
)
SELECT
  "guest_id"
FROM "profile"
WHERE
  MOD(
    CAST(CAST('x' || LPAD(
      SUBSTRING(ENCODE(SHA256(CONVERT_TO('winback-2026-12:' || CAST("guest_id" AS TEXT), 'UTF8')), 'hex') FROM 1 FOR 15),
      16,
      '0'
    ) AS BIT(64)) AS BIGINT),
    10000
  ) <= 999
  OR (
    MOD(
      CAST(CAST('x' || LPAD(
        SUBSTRING(ENCODE(SHA256(CONVERT_TO('gc-2026:' || CAST("guest_id" AS TEXT), 'UTF8')), 'hex') FROM 1 FOR 15),
        16,
        '0'
      ) AS BIT(64)) AS BIGINT),
      10000
    ) <= 499
    AND "ltv" > 100
  )
ORDER BY
  "guest_id";
