-- ltv in top 10% among in segment active_members
WITH "profile" AS (
  SELECT
    "e".*,
    COALESCE("s0"."ltv", 0) AS "ltv",
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
), "rank_1" AS (
  SELECT
    "guest_id" AS "member",
    CASE
      WHEN "ltv" IS NULL
      THEN NULL
      WHEN 10 * (
        RANK() OVER (
          PARTITION BY CASE WHEN "ltv" IS NULL THEN 1 ELSE 0 END
          ORDER BY "ltv" DESC NULLS LAST
        ) - 1
      ) < COUNT("ltv") OVER ()
      THEN 1
      ELSE 0
    END AS "hit"
  FROM "profile"
  WHERE
    COALESCE(
      "status" = 'ACTIVE'
      AND "last_booking_at" >= CAST('2025-11-01 00:00:00+00:00' AS TIMESTAMPTZ)
      AND "last_booking_at" < CAST('2026-11-02 00:00:00+00:00' AS TIMESTAMPTZ),
      FALSE
    )
)
SELECT
  "guest_id"
FROM "guests"
LEFT JOIN "rank_1"
  ON "rank_1"."member" = "guests"."guest_id"
WHERE
  CASE WHEN "rank_1"."member" IS NULL THEN FALSE ELSE "rank_1"."hit" = 1 END
ORDER BY
  "guest_id";

-- top 500 by ltv among in segment win_back
WITH "profile" AS (
  SELECT
    "e".*,
    COALESCE("s0"."ltv", 0) AS "ltv",
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
), "rank_1" AS (
  SELECT
    "guest_id" AS "member",
    CASE
      WHEN "ltv" IS NULL
      THEN NULL
      WHEN ROW_NUMBER() OVER (
        PARTITION BY CASE WHEN "ltv" IS NULL THEN 1 ELSE 0 END
        ORDER BY "ltv" DESC NULLS LAST, "guest_id" ASC
      ) <= 500
      THEN 1
      ELSE 0
    END AS "hit"
  FROM "profile"
  WHERE
    COALESCE(
      COALESCE("last_booking_at" < CAST('2026-05-06 00:00:00+00:00' AS TIMESTAMPTZ), FALSE)
      AND "ltv" >= 50000
      AND "email_opt_in",
      FALSE
    )
)
SELECT
  "guest_id"
FROM "guests"
LEFT JOIN "rank_1"
  ON "rank_1"."member" = "guests"."guest_id"
WHERE
  CASE WHEN "rank_1"."member" IS NULL THEN FALSE ELSE "rank_1"."hit" = 1 END
ORDER BY
  "guest_id";

-- ltv in top 2.5%
WITH "profile" AS (
  SELECT
    "e".*,
    COALESCE("s0"."ltv", 0) AS "ltv"
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
), "rank_1" AS (
  SELECT
    "guest_id" AS "member",
    CASE
      WHEN "ltv" IS NULL
      THEN NULL
      WHEN 40 * (
        RANK() OVER (
          PARTITION BY CASE WHEN "ltv" IS NULL THEN 1 ELSE 0 END
          ORDER BY "ltv" DESC NULLS LAST
        ) - 1
      ) < COUNT("ltv") OVER ()
      THEN 1
      ELSE 0
    END AS "hit"
  FROM "profile"
)
SELECT
  "guest_id"
FROM "guests"
LEFT JOIN "rank_1"
  ON "rank_1"."member" = "guests"."guest_id"
WHERE
  CASE WHEN "rank_1"."member" IS NULL THEN FALSE ELSE "rank_1"."hit" = 1 END
ORDER BY
  "guest_id";

-- top 100 by count(bookings where status = "completed") among (loyalty_tier = "Gold")
WITH "profile" AS (
  SELECT
    "e".*,
    COALESCE("s0"."_agg_e90d2acf65", 0) AS "_agg_e90d2acf65",
    "l0"."loyalty_tier" AS "loyalty_tier"
  FROM "guests" AS "e"
  LEFT JOIN (
    SELECT
      "guest_id" AS "k",
      COUNT(*) AS "_agg_e90d2acf65"
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
), "rank_1" AS (
  SELECT
    "guest_id" AS "member",
    CASE
      WHEN "_agg_e90d2acf65" IS NULL
      THEN NULL
      WHEN ROW_NUMBER() OVER (
        PARTITION BY CASE WHEN "_agg_e90d2acf65" IS NULL THEN 1 ELSE 0 END
        ORDER BY "_agg_e90d2acf65" DESC NULLS LAST, "guest_id" ASC
      ) <= 100
      THEN 1
      ELSE 0
    END AS "hit"
  FROM "profile"
  WHERE
    "loyalty_tier" = 'Gold'
)
SELECT
  "guest_id"
FROM "guests"
LEFT JOIN "rank_1"
  ON "rank_1"."member" = "guests"."guest_id"
WHERE
  CASE WHEN "rank_1"."member" IS NULL THEN FALSE ELSE "rank_1"."hit" = 1 END
ORDER BY
  "guest_id";

-- days_since(last_booking_at) in top 20% among in segment lapsed
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
), "rank_1" AS (
  SELECT
    "guest_id" AS "member",
    CASE
      WHEN "last_booking_at" IS NULL
      THEN NULL
      WHEN 5 * (
        RANK() OVER (
          PARTITION BY CASE WHEN "last_booking_at" IS NULL THEN 1 ELSE 0 END
          ORDER BY CAST("last_booking_at" AT TIME ZONE 'UTC' AS DATE) ASC
        ) - 1
      ) < COUNT("last_booking_at") OVER ()
      THEN 1
      ELSE 0
    END AS "hit"
  FROM "profile"
  WHERE
    COALESCE("last_booking_at" < CAST('2026-05-06 00:00:00+00:00' AS TIMESTAMPTZ), FALSE)
)
SELECT
  "guest_id"
FROM "guests"
LEFT JOIN "rank_1"
  ON "rank_1"."member" = "guests"."guest_id"
WHERE
  CASE WHEN "rank_1"."member" IS NULL THEN FALSE ELSE "rank_1"."hit" = 1 END
ORDER BY
  "guest_id";
