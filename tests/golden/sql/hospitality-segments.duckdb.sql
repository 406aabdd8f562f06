-- segment: high_value
WITH "profile" AS (
  SELECT
    "e".*,
    "s0"."ltv" AS "ltv",
    "s0"."last_booking_at" AS "last_booking_at"
  FROM "guests" AS "e"
  LEFT JOIN (
    SELECT
      "guest_id" AS "k",
      SUM("amount_inr") AS "ltv",
      MAX("checked_in_at") AS "last_booking_at"
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
  "ltv" >= 150000
  AND "last_booking_at" >= CAST((
    CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS DATE) - 365
  ) AS TIMESTAMP) AT TIME ZONE 'UTC'
  AND "last_booking_at" < CAST((
    CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS DATE) + 1
  ) AS TIMESTAMP) AT TIME ZONE 'UTC'
ORDER BY
  "guest_id";

-- segment: lapsed
WITH "profile" AS (
  SELECT
    "e".*,
    "s0"."last_booking_at" AS "last_booking_at"
  FROM "guests" AS "e"
  LEFT JOIN (
    SELECT
      "guest_id" AS "k",
      MAX("checked_in_at") AS "last_booking_at"
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
  "last_booking_at" < CAST((
    CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS DATE) - 179
  ) AS TIMESTAMP) AT TIME ZONE 'UTC'
ORDER BY
  "guest_id";

-- segment: win_back
WITH "profile" AS (
  SELECT
    "e".*,
    "s0"."ltv" AS "ltv",
    "s0"."last_booking_at" AS "last_booking_at",
    "l0"."email_opt_in" AS "email_opt_in"
  FROM "guests" AS "e"
  LEFT JOIN (
    SELECT
      "guest_id" AS "k",
      SUM("amount_inr") AS "ltv",
      MAX("checked_in_at") AS "last_booking_at"
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
        ROW_NUMBER() OVER (PARTITION BY "guest_id" ORDER BY "recorded_at" DESC, "consent_id" DESC) AS "rn"
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
)
SELECT
  "guest_id"
FROM "profile"
WHERE
  COALESCE(
    "last_booking_at" < CAST((
      CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS DATE) - 179
    ) AS TIMESTAMP) AT TIME ZONE 'UTC',
    FALSE
  )
  AND "ltv" >= 50000
  AND "email_opt_in"
ORDER BY
  "guest_id";

-- segment: frequent_bookers
WITH "profile" AS (
  SELECT
    "e".*,
    "s0"."total_bookings" AS "total_bookings",
    "s0"."last_booking_at" AS "last_booking_at"
  FROM "guests" AS "e"
  LEFT JOIN (
    SELECT
      "guest_id" AS "k",
      COUNT(*) AS "total_bookings",
      MAX("checked_in_at") AS "last_booking_at"
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
  "total_bookings" >= 6
  AND "last_booking_at" >= CAST((
    CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS DATE) - 90
  ) AS TIMESTAMP) AT TIME ZONE 'UTC'
ORDER BY
  "guest_id";

-- segment: spa_lovers
WITH "profile" AS (
  SELECT
    "e".*,
    "s0"."last_booking_at" AS "last_booking_at"
  FROM "guests" AS "e"
  LEFT JOIN (
    SELECT
      "guest_id" AS "k",
      MAX("checked_in_at") AS "last_booking_at"
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
  "interests" && ['spa', 'wellness']
  AND NOT (
    COALESCE(
      "last_booking_at" < CAST((
        CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS DATE) - 179
      ) AS TIMESTAMP) AT TIME ZONE 'UTC',
      FALSE
    )
  )
ORDER BY
  "guest_id";

-- segment: gmail_gold
WITH "profile" AS (
  SELECT
    "e".*,
    "l0"."loyalty_tier" AS "loyalty_tier"
  FROM "guests" AS "e"
  LEFT JOIN (
    SELECT
      "k",
      "loyalty_tier"
    FROM (
      SELECT
        "guest_id" AS "k",
        "tier" AS "loyalty_tier",
        ROW_NUMBER() OVER (PARTITION BY "guest_id" ORDER BY "enrolled_on" DESC, "account_id" DESC) AS "rn"
      FROM "loyalty_accounts"
      WHERE
        NOT "enrolled_on" IS NULL
    ) AS "ranked"
    WHERE
      "rn" = 1
  ) AS "l0"
    ON "l0"."k" = "e"."guest_id"
)
SELECT
  "guest_id"
FROM "profile"
WHERE
  "loyalty_tier" IN ('Gold', 'Platinum')
  AND TRANSLATE(
    SUBSTRING("email", LENGTH("email") - 9),
    'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
    'abcdefghijklmnopqrstuvwxyz'
  ) = '@gmail.com'
ORDER BY
  "guest_id";

-- segment: board_members
SELECT
  "guest_id"
FROM "guests"
WHERE
  "guest_id" IN (1001, 1002, 1003)
ORDER BY
  "guest_id";

-- segment: likely_to_churn
WITH "profile" AS (
  SELECT
    "e".*,
    "s0"."last_booking_at" AS "last_booking_at",
    "l0"."churn_risk_score" AS "churn_risk_score"
  FROM "guests" AS "e"
  LEFT JOIN (
    SELECT
      "guest_id" AS "k",
      MAX("checked_in_at") AS "last_booking_at"
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
      "churn_risk_score"
    FROM (
      SELECT
        "guest_id" AS "k",
        "score" AS "churn_risk_score",
        ROW_NUMBER() OVER (PARTITION BY "guest_id" ORDER BY "scored_at" DESC, "score_id" DESC) AS "rn"
      FROM "model_scores"
      WHERE
        (
          "model" = 'churn'
        ) AND NOT "scored_at" IS NULL
    ) AS "ranked"
    WHERE
      "rn" = 1
  ) AS "l0"
    ON "l0"."k" = "e"."guest_id"
)
SELECT
  "guest_id"
FROM "profile"
WHERE
  "churn_risk_score" >= 70
  AND "status" = 'ACTIVE'
  AND "last_booking_at" >= CAST((
    CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS DATE) - 365
  ) AS TIMESTAMP) AT TIME ZONE 'UTC'
  AND "last_booking_at" < CAST((
    CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS DATE) + 1
  ) AS TIMESTAMP) AT TIME ZONE 'UTC'
ORDER BY
  "guest_id";
