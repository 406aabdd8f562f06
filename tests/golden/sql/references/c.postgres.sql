WITH "profile" AS (
  SELECT
    "e".*,
    "s0"."ltv" AS "ltv",
    "l0"."email_opt_in" AS "email_opt_in"
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
  LEFT JOIN (
    SELECT
      "k",
      "email_opt_in"
    FROM (
      SELECT
        "guest_id" AS "k",
        "granted" AS "email_opt_in",
        ROW_NUMBER() OVER (
          PARTITION BY "guest_id"
          ORDER BY "recorded_at" DESC NULLS LAST, "consent_id" DESC NULLS LAST
        ) AS "rn"
      FROM "consents"
      WHERE
        (
          "channel" = 'email'
        ) AND NOT "recorded_at" IS NULL
    ) AS "ranked"
    WHERE
      "rn" = 1
  ) AS "l0"
    ON "l0"."k" = "e"."guest_id"
), "segment_a" AS (
  SELECT DISTINCT
    "guest_id" AS "member"
  FROM "guests"
  WHERE
    "status" = 'ACTIVE'
), "segment_b" AS (
  SELECT DISTINCT
    "guest_id" AS "member"
  FROM "profile"
  LEFT JOIN "segment_a"
    ON "segment_a"."member" = "profile"."guest_id"
  WHERE
    NOT "segment_a"."member" IS NULL AND "email_opt_in"
)
SELECT
  "guest_id"
FROM "profile"
LEFT JOIN "segment_b"
  ON "segment_b"."member" = "profile"."guest_id"
LEFT JOIN "segment_a"
  ON "segment_a"."member" = "profile"."guest_id"
WHERE
  (
    NOT "segment_b"."member" IS NULL AND "ltv" > 5
  )
  OR (
    "segment_b"."member" IS NULL AND NOT "segment_a"."member" IS NULL
  )
ORDER BY
  "guest_id"
