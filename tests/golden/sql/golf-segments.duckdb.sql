-- segment: active_golfers_low_handicap
WITH "profile" AS (
  SELECT
    "e".*,
    "s0"."booking_count_30d" AS "booking_count_30d",
    "l0"."handicap" AS "handicap",
    "l1"."email_opt_in" AS "email_opt_in",
    "l2"."engagement_score" AS "engagement_score"
  FROM "members" AS "e"
  LEFT JOIN (
    SELECT
      "member_id" AS "k",
      COUNT(*) AS "booking_count_30d"
    FROM "tee_times"
    WHERE
      "booked_at" >= CAST((
        CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS DATE) - 30
      ) AS TIMESTAMP) AT TIME ZONE 'UTC'
      AND "booked_at" < CAST((
        CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS DATE) + 1
      ) AS TIMESTAMP) AT TIME ZONE 'UTC'
    GROUP BY
      "member_id"
  ) AS "s0"
    ON "s0"."k" = "e"."member_id"
  LEFT JOIN (
    SELECT
      "k",
      "handicap"
    FROM (
      SELECT
        "member_id" AS "k",
        "handicap_index" AS "handicap",
        ROW_NUMBER() OVER (PARTITION BY "member_id" ORDER BY "recorded_on" DESC, "record_id" DESC) AS "rn"
      FROM "handicaps"
      WHERE
        NOT "recorded_on" IS NULL
    ) AS "ranked"
    WHERE
      "rn" = 1
  ) AS "l0"
    ON "l0"."k" = "e"."member_id"
  LEFT JOIN (
    SELECT
      "k",
      "email_opt_in"
    FROM (
      SELECT
        "member_id" AS "k",
        "granted" AS "email_opt_in",
        ROW_NUMBER() OVER (PARTITION BY "member_id" ORDER BY "recorded_at" DESC, "consent_id" DESC) AS "rn"
      FROM "consents"
      WHERE
        (
          "channel" = 'email'
        ) AND NOT "recorded_at" IS NULL
    ) AS "ranked"
    WHERE
      "rn" = 1
  ) AS "l1"
    ON "l1"."k" = "e"."member_id"
  LEFT JOIN (
    SELECT
      "k",
      "engagement_score"
    FROM (
      SELECT
        "member_id" AS "k",
        "score" AS "engagement_score",
        ROW_NUMBER() OVER (PARTITION BY "member_id" ORDER BY "scored_at" DESC, "score_id" DESC) AS "rn"
      FROM "model_scores"
      WHERE
        (
          "model" = 'engagement'
        ) AND NOT "scored_at" IS NULL
    ) AS "ranked"
    WHERE
      "rn" = 1
  ) AS "l2"
    ON "l2"."k" = "e"."member_id"
)
SELECT
  "member_id"
FROM "profile"
WHERE
  "membership_status" = 'ACTIVE'
  AND "membership_tier" IN ('Gold', 'Platinum')
  AND "handicap" < 15
  AND "booking_count_30d" >= 2
  AND "engagement_score" >= 50
  AND "email_opt_in" = TRUE
ORDER BY
  "member_id";

-- segment: competition_players
WITH "profile" AS (
  SELECT
    "e".*,
    "s0"."tournaments_12m" AS "tournaments_12m"
  FROM "members" AS "e"
  LEFT JOIN (
    SELECT
      "member_id" AS "k",
      COUNT(*) AS "tournaments_12m"
    FROM "tournament_entries"
    WHERE
      "played_on" >= (
        CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS DATE) - 365
      )
      AND "played_on" <= CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS DATE)
    GROUP BY
      "member_id"
  ) AS "s0"
    ON "s0"."k" = "e"."member_id"
)
SELECT
  "member_id"
FROM "profile"
WHERE
  "tournaments_12m" >= 3 AND "interests" @> ['competitions']
ORDER BY
  "member_id";

-- segment: lapsing_players
WITH "profile" AS (
  SELECT
    "e".*,
    "s0"."last_tee_time_at" AS "last_tee_time_at"
  FROM "members" AS "e"
  LEFT JOIN (
    SELECT
      "member_id" AS "k",
      MAX("starts_at") AS "last_tee_time_at"
    FROM "tee_times"
    WHERE
      "status" = 'played'
    GROUP BY
      "member_id"
  ) AS "s0"
    ON "s0"."k" = "e"."member_id"
)
SELECT
  "member_id"
FROM "profile"
WHERE
  "membership_status" = 'ACTIVE'
  AND "last_tee_time_at" < CAST((
    CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS DATE) - 59
  ) AS TIMESTAMP) AT TIME ZONE 'UTC'
ORDER BY
  "member_id";

-- segment: late_payers
WITH "profile" AS (
  SELECT
    "e".*,
    "s0"."late_payments_12m" AS "late_payments_12m"
  FROM "members" AS "e"
  LEFT JOIN (
    SELECT
      "member_id" AS "k",
      COUNT(*) AS "late_payments_12m"
    FROM "dues_payments"
    WHERE
      "due_on" >= (
        CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS DATE) - 365
      )
      AND "due_on" <= CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS DATE)
      AND (
        "days_late" > 30
        OR (
          "paid_on" IS NULL
          AND "due_on" < (
            CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS DATE) - 30
          )
        )
      )
    GROUP BY
      "member_id"
  ) AS "s0"
    ON "s0"."k" = "e"."member_id"
)
SELECT
  "member_id"
FROM "profile"
WHERE
  "late_payments_12m" >= 2 AND "membership_status" IN ('ACTIVE', 'SUSPENDED')
ORDER BY
  "member_id";

-- segment: vip_list
SELECT
  "member_id"
FROM "members"
WHERE
  "member_id" IN (1001, 1002, 1003, 1004)
ORDER BY
  "member_id";

-- segment: board_members
SELECT
  "member_id"
FROM "members"
WHERE
  "member_id" IN (1001, 1005)
ORDER BY
  "member_id";

-- segment: likely_to_churn
WITH "profile" AS (
  SELECT
    "e".*,
    "l0"."churn_risk_score" AS "churn_risk_score"
  FROM "members" AS "e"
  LEFT JOIN (
    SELECT
      "k",
      "churn_risk_score"
    FROM (
      SELECT
        "member_id" AS "k",
        "score" AS "churn_risk_score",
        ROW_NUMBER() OVER (PARTITION BY "member_id" ORDER BY "scored_at" DESC, "score_id" DESC) AS "rn"
      FROM "model_scores"
      WHERE
        (
          "model" = 'churn'
        ) AND NOT "scored_at" IS NULL
    ) AS "ranked"
    WHERE
      "rn" = 1
  ) AS "l0"
    ON "l0"."k" = "e"."member_id"
)
SELECT
  "member_id"
FROM "profile"
WHERE
  "churn_risk_score" >= 70 AND "membership_status" = 'ACTIVE'
ORDER BY
  "member_id";
