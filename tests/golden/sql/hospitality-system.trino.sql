-- segment: all_customers
SELECT
  "guest_id"
FROM "guests"
WHERE
  "status" = 'ACTIVE'
ORDER BY
  "guest_id";

-- segment: active_members
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
  "status" = 'ACTIVE'
  AND "last_booking_at" >= CAST('2025-11-01 00:00:00+00:00' AS TIMESTAMP(6) WITH TIME ZONE)
  AND "last_booking_at" < CAST('2026-11-02 00:00:00+00:00' AS TIMESTAMP(6) WITH TIME ZONE)
ORDER BY
  "guest_id";

-- segment: high_engagement
WITH "profile" AS (
  SELECT
    "e".*,
    "l0"."engagement_score" AS "engagement_score"
  FROM "guests" AS "e"
  LEFT JOIN (
    SELECT
      "k",
      "engagement_score"
    FROM (
      SELECT
        "guest_id" AS "k",
        "score" AS "engagement_score",
        ROW_NUMBER() OVER (PARTITION BY "guest_id" ORDER BY "scored_at" DESC, "score_id" DESC) AS "rn"
      FROM "model_scores"
      WHERE
        (
          "model" = 'engagement'
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
  "engagement_score" >= 70
ORDER BY
  "guest_id";

-- segment: at_risk
WITH "profile" AS (
  SELECT
    "e".*,
    "l0"."churn_risk_score" AS "churn_risk_score"
  FROM "guests" AS "e"
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
ORDER BY
  "guest_id";

-- segment: email_subscribers
WITH "profile" AS (
  SELECT
    "e".*,
    "l0"."email_opt_in" AS "email_opt_in"
  FROM "guests" AS "e"
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
  "email_opt_in" AND NOT "email" IS NULL
ORDER BY
  "guest_id";
