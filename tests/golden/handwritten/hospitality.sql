-- Hospitality audiences as an engineer would write them by hand for Postgres, as of
-- 2026-11-01T00:00:00Z: filtered GROUP BY ... HAVING per source, ROW_NUMBER() for
-- "the latest row", inner joins wherever a guest without rows cannot qualify.
-- tests/test_pg_plans.py checks each against the compiled segment: same members, same plan.

-- segment: high_value
SELECT g.guest_id
FROM guests g
JOIN (
  SELECT guest_id
  FROM bookings
  WHERE status = 'completed'
  GROUP BY guest_id
  HAVING sum(amount_inr) >= 150000
     AND max(checked_in_at) >= TIMESTAMPTZ '2025-11-01 00:00:00+00'
     AND max(checked_in_at) < TIMESTAMPTZ '2026-11-02 00:00:00+00'
) b ON b.guest_id = g.guest_id
ORDER BY g.guest_id;

-- segment: lapsed
SELECT g.guest_id
FROM guests g
JOIN (
  SELECT guest_id
  FROM bookings
  WHERE status = 'completed'
  GROUP BY guest_id
  HAVING max(checked_in_at) < TIMESTAMPTZ '2026-05-06 00:00:00+00'
) b ON b.guest_id = g.guest_id
ORDER BY g.guest_id;

-- segment: win_back
SELECT g.guest_id
FROM guests g
JOIN (
  SELECT guest_id
  FROM bookings
  WHERE status = 'completed'
  GROUP BY guest_id
  HAVING max(checked_in_at) < TIMESTAMPTZ '2026-05-06 00:00:00+00'
     AND sum(amount_inr) >= 50000
) b ON b.guest_id = g.guest_id
JOIN (
  SELECT guest_id, granted,
         row_number() OVER (PARTITION BY guest_id ORDER BY recorded_at DESC, consent_id DESC) AS rn
  FROM consents
  WHERE channel = 'email'
) c ON c.guest_id = g.guest_id AND c.rn = 1
WHERE c.granted
ORDER BY g.guest_id;

-- segment: frequent_bookers
SELECT g.guest_id
FROM guests g
JOIN (
  SELECT guest_id
  FROM bookings
  WHERE status = 'completed'
  GROUP BY guest_id
  HAVING count(*) >= 6
     AND max(checked_in_at) >= TIMESTAMPTZ '2026-08-03 00:00:00+00'
) b ON b.guest_id = g.guest_id
ORDER BY g.guest_id;

-- segment: spa_lovers
SELECT g.guest_id
FROM guests g
LEFT JOIN (
  SELECT guest_id, max(checked_in_at) AS last_stay
  FROM bookings
  WHERE status = 'completed'
  GROUP BY guest_id
) b ON b.guest_id = g.guest_id
WHERE g.interests && ARRAY['spa', 'wellness']
  AND (b.last_stay IS NULL OR b.last_stay >= TIMESTAMPTZ '2026-05-06 00:00:00+00')
ORDER BY g.guest_id;

-- segment: gmail_gold
SELECT g.guest_id
FROM guests g
JOIN (
  SELECT guest_id, tier,
         row_number() OVER (PARTITION BY guest_id ORDER BY enrolled_on DESC, account_id DESC) AS rn
  FROM loyalty_accounts
) l ON l.guest_id = g.guest_id AND l.rn = 1
WHERE l.tier IN ('Gold', 'Platinum')
  AND lower(g.email) LIKE '%@gmail.com'
ORDER BY g.guest_id;

-- segment: board_members
SELECT guest_id FROM guests WHERE guest_id IN (1001, 1002, 1003) ORDER BY guest_id;

-- segment: likely_to_churn
SELECT g.guest_id
FROM guests g
JOIN (
  SELECT guest_id, score,
         row_number() OVER (PARTITION BY guest_id ORDER BY scored_at DESC, score_id DESC) AS rn
  FROM model_scores
  WHERE model = 'churn'
) m ON m.guest_id = g.guest_id AND m.rn = 1
JOIN (
  SELECT guest_id
  FROM bookings
  WHERE status = 'completed'
  GROUP BY guest_id
  HAVING max(checked_in_at) >= TIMESTAMPTZ '2025-11-01 00:00:00+00'
     AND max(checked_in_at) < TIMESTAMPTZ '2026-11-02 00:00:00+00'
) b ON b.guest_id = g.guest_id
WHERE m.score >= 70 AND g.status = 'ACTIVE'
ORDER BY g.guest_id;

-- segment: all_customers
SELECT guest_id FROM guests WHERE status = 'ACTIVE' ORDER BY guest_id;

-- segment: active_members
SELECT g.guest_id
FROM guests g
JOIN (
  SELECT guest_id
  FROM bookings
  WHERE status = 'completed'
  GROUP BY guest_id
  HAVING max(checked_in_at) >= TIMESTAMPTZ '2025-11-01 00:00:00+00'
     AND max(checked_in_at) < TIMESTAMPTZ '2026-11-02 00:00:00+00'
) b ON b.guest_id = g.guest_id
WHERE g.status = 'ACTIVE'
ORDER BY g.guest_id;

-- segment: high_engagement
SELECT g.guest_id
FROM guests g
JOIN (
  SELECT guest_id, score,
         row_number() OVER (PARTITION BY guest_id ORDER BY scored_at DESC, score_id DESC) AS rn
  FROM model_scores
  WHERE model = 'engagement'
) m ON m.guest_id = g.guest_id AND m.rn = 1
WHERE m.score >= 70
ORDER BY g.guest_id;

-- segment: at_risk
SELECT g.guest_id
FROM guests g
JOIN (
  SELECT guest_id, score,
         row_number() OVER (PARTITION BY guest_id ORDER BY scored_at DESC, score_id DESC) AS rn
  FROM model_scores
  WHERE model = 'churn'
) m ON m.guest_id = g.guest_id AND m.rn = 1
WHERE m.score >= 70
ORDER BY g.guest_id;

-- segment: email_subscribers
SELECT g.guest_id
FROM guests g
JOIN (
  SELECT guest_id, granted,
         row_number() OVER (PARTITION BY guest_id ORDER BY recorded_at DESC, consent_id DESC) AS rn
  FROM consents
  WHERE channel = 'email'
) c ON c.guest_id = g.guest_id AND c.rn = 1
WHERE c.granted AND g.email IS NOT NULL
ORDER BY g.guest_id;

-- segment: cancelled_not_rebooked
SELECT g.guest_id
FROM guests g
WHERE EXISTS (
  SELECT 1
  FROM bookings c
  WHERE c.guest_id = g.guest_id
    AND c.status = 'cancelled'
    AND c.checked_in_at <= TIMESTAMPTZ '2026-10-02 00:00:00+00'
    AND NOT EXISTS (
      SELECT 1
      FROM bookings r
      WHERE r.guest_id = c.guest_id
        AND r.status = 'completed'
        AND r.checked_in_at > c.checked_in_at
        AND r.checked_in_at <= c.checked_in_at + INTERVAL '30 days'
    )
)
ORDER BY g.guest_id;

-- segment: clicked_then_booked
SELECT g.guest_id
FROM guests g
WHERE EXISTS (
  SELECT 1
  FROM engagement_events e
  WHERE e.guest_id = g.guest_id
    AND e.kind = 'click'
    AND EXISTS (
      SELECT 1
      FROM bookings b
      WHERE b.guest_id = e.guest_id
        AND b.status = 'completed'
        AND b.checked_in_at > e.occurred_at
        AND b.checked_in_at <= e.occurred_at + INTERVAL '7 days'
        AND b.checked_in_at <= TIMESTAMPTZ '2026-11-01 00:00:00+00'
    )
)
ORDER BY g.guest_id;
