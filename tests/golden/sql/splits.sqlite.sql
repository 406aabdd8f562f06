-- segment: winback_offer_a
-- note: calls segdsl_bucket_hash(text), which the connection must register (see docs/language.md, Splits and holdouts)
SELECT
  "guest_id"
FROM "guests"
WHERE
  (
    SEGDSL_BUCKET_HASH('winback-2026-12:' || CAST("guest_id" AS TEXT)) % 10000
  ) BETWEEN 1000 AND 5499
  AND NOT (
    (
      SEGDSL_BUCKET_HASH('gc-2026:' || CAST("guest_id" AS TEXT)) % 10000
    ) <= 499
  )
ORDER BY
  "guest_id";

-- segment: control_or_held
-- note: calls segdsl_bucket_hash(text), which the connection must register (see docs/language.md, Splits and holdouts)
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
  (
    SEGDSL_BUCKET_HASH('winback-2026-12:' || CAST("guest_id" AS TEXT)) % 10000
  ) <= 999
  OR (
    (
      SEGDSL_BUCKET_HASH('gc-2026:' || CAST("guest_id" AS TEXT)) % 10000
    ) <= 499
    AND "ltv" >= 10001
  )
ORDER BY
  "guest_id";
