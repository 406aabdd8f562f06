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
      "status" = %(t1)s
    GROUP BY
      "guest_id"
  ) AS "s0"
    ON "s0"."k" = "e"."guest_id"
)
SELECT
  "guest_id"
FROM "profile"
WHERE
  "ltv" >= %(p1)s
  AND "last_booking_at" >= CAST('2025-11-01 00:00:00+00:00' AS TIMESTAMPTZ)
  AND "last_booking_at" < CAST('2026-11-02 00:00:00+00:00' AS TIMESTAMPTZ)
ORDER BY
  "guest_id";
-- params: {"p1": "150000", "t1": "completed"}

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
      "status" = %(t1)s
    GROUP BY
      "guest_id"
  ) AS "s0"
    ON "s0"."k" = "e"."guest_id"
)
SELECT
  "guest_id"
FROM "profile"
WHERE
  "last_booking_at" < CAST('2026-05-06 00:00:00+00:00' AS TIMESTAMPTZ)
ORDER BY
  "guest_id";
-- params: {"t1": "completed"}

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
      "status" = %(t1)s
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
          "channel" = %(t2)s
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
  COALESCE("last_booking_at" < CAST('2026-05-06 00:00:00+00:00' AS TIMESTAMPTZ), FALSE)
  AND "ltv" >= %(p1)s
  AND "email_opt_in"
ORDER BY
  "guest_id";
-- params: {"p1": "50000", "t1": "completed", "t2": "email"}

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
      "status" = %(t1)s
    GROUP BY
      "guest_id"
  ) AS "s0"
    ON "s0"."k" = "e"."guest_id"
)
SELECT
  "guest_id"
FROM "profile"
WHERE
  "total_bookings" >= %(p1)s
  AND "last_booking_at" >= CAST('2026-08-03 00:00:00+00:00' AS TIMESTAMPTZ)
ORDER BY
  "guest_id";
-- params: {"p1": 6, "t1": "completed"}

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
      "status" = %(t1)s
    GROUP BY
      "guest_id"
  ) AS "s0"
    ON "s0"."k" = "e"."guest_id"
)
SELECT
  "guest_id"
FROM "profile"
WHERE
  "interests" && ARRAY[%(p1)s, %(p2)s]
  AND NOT (
    COALESCE("last_booking_at" < CAST('2026-05-06 00:00:00+00:00' AS TIMESTAMPTZ), FALSE)
  )
ORDER BY
  "guest_id";
-- params: {"p1": "spa", "p2": "wellness", "t1": "completed"}

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
        ROW_NUMBER() OVER (
          PARTITION BY "guest_id"
          ORDER BY "enrolled_on" DESC NULLS LAST, "account_id" DESC NULLS LAST
        ) AS "rn"
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
  "loyalty_tier" IN (%(p1)s, %(p2)s)
  AND TRANSLATE(
    SUBSTRING("email" FROM LENGTH("email") - 9),
    'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
    'abcdefghijklmnopqrstuvwxyz'
  ) = %(p3)s
ORDER BY
  "guest_id";
-- params: {"p1": "Gold", "p2": "Platinum", "p3": "@gmail.com"}

-- segment: board_members
SELECT
  "guest_id"
FROM "guests"
WHERE
  "guest_id" IN (%(p1)s, %(p2)s, %(p3)s)
ORDER BY
  "guest_id";
-- params: {"p1": 1001, "p2": 1002, "p3": 1003}

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
      "status" = %(t1)s
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
        ROW_NUMBER() OVER (
          PARTITION BY "guest_id"
          ORDER BY "scored_at" DESC NULLS LAST, "score_id" DESC NULLS LAST
        ) AS "rn"
      FROM "model_scores"
      WHERE
        (
          "model" = %(t2)s
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
  "churn_risk_score" >= %(p1)s
  AND "status" = %(p2)s
  AND "last_booking_at" >= CAST('2025-11-01 00:00:00+00:00' AS TIMESTAMPTZ)
  AND "last_booking_at" < CAST('2026-11-02 00:00:00+00:00' AS TIMESTAMPTZ)
ORDER BY
  "guest_id";
-- params: {"p1": 70, "p2": "ACTIVE", "t1": "completed", "t2": "churn"}
