-- Golf-club audiences as an engineer would write them by hand for Postgres, as of
-- 2026-11-01T00:00:00Z: filtered GROUP BY ... HAVING per source, ROW_NUMBER() for
-- "the latest row", inner joins wherever a member without rows cannot qualify.
-- tests/test_pg_plans.py checks each against the compiled segment: same members, same plan.

-- segment: active_golfers_low_handicap
SELECT m.member_id
FROM members m
JOIN (
  SELECT member_id, handicap_index,
         row_number() OVER (PARTITION BY member_id ORDER BY recorded_on DESC, record_id DESC) AS rn
  FROM handicaps
) h ON h.member_id = m.member_id AND h.rn = 1
JOIN (
  SELECT member_id
  FROM tee_times
  WHERE booked_at >= TIMESTAMPTZ '2026-10-02 00:00:00+00' AND booked_at < TIMESTAMPTZ '2026-11-02 00:00:00+00'
  GROUP BY member_id
  HAVING count(*) >= 2
) t ON t.member_id = m.member_id
JOIN (
  SELECT member_id, score,
         row_number() OVER (PARTITION BY member_id ORDER BY scored_at DESC, score_id DESC) AS rn
  FROM model_scores
  WHERE model = 'engagement'
) s ON s.member_id = m.member_id AND s.rn = 1
JOIN (
  SELECT member_id, granted,
         row_number() OVER (PARTITION BY member_id ORDER BY recorded_at DESC, consent_id DESC) AS rn
  FROM consents
  WHERE channel = 'email'
) c ON c.member_id = m.member_id AND c.rn = 1
WHERE m.membership_status = 'ACTIVE'
  AND m.membership_tier IN ('Gold', 'Platinum')
  AND h.handicap_index < 15
  AND s.score >= 50
  AND c.granted
ORDER BY m.member_id;

-- segment: competition_players
SELECT m.member_id
FROM members m
JOIN (
  SELECT member_id
  FROM tournament_entries
  WHERE played_on BETWEEN DATE '2025-11-01' AND DATE '2026-11-01'
  GROUP BY member_id
  HAVING count(*) >= 3
) t ON t.member_id = m.member_id
WHERE m.interests @> ARRAY['competitions']
ORDER BY m.member_id;

-- segment: lapsing_players
SELECT m.member_id
FROM members m
JOIN (
  SELECT member_id
  FROM tee_times
  WHERE status = 'played'
  GROUP BY member_id
  HAVING max(starts_at) < TIMESTAMPTZ '2026-09-03 00:00:00+00'
) t ON t.member_id = m.member_id
WHERE m.membership_status = 'ACTIVE'
ORDER BY m.member_id;

-- segment: late_payers
SELECT m.member_id
FROM members m
JOIN (
  SELECT member_id
  FROM dues_payments
  WHERE due_on BETWEEN DATE '2025-11-01' AND DATE '2026-11-01'
    AND (days_late > 30 OR paid_on IS NULL AND due_on < DATE '2026-10-02')
  GROUP BY member_id
  HAVING count(*) >= 2
) d ON d.member_id = m.member_id
WHERE m.membership_status IN ('ACTIVE', 'SUSPENDED')
ORDER BY m.member_id;

-- segment: vip_list
SELECT member_id FROM members WHERE member_id IN (1001, 1002, 1003, 1004) ORDER BY member_id;

-- segment: board_members
SELECT member_id FROM members WHERE member_id IN (1001, 1005) ORDER BY member_id;

-- segment: likely_to_churn
SELECT m.member_id
FROM members m
JOIN (
  SELECT member_id, score,
         row_number() OVER (PARTITION BY member_id ORDER BY scored_at DESC, score_id DESC) AS rn
  FROM model_scores
  WHERE model = 'churn'
) s ON s.member_id = m.member_id AND s.rn = 1
WHERE s.score >= 70 AND m.membership_status = 'ACTIVE'
ORDER BY m.member_id;

-- segment: all_customers
SELECT member_id FROM members WHERE status = 'ACTIVE' ORDER BY member_id;

-- segment: active_members
SELECT member_id FROM members WHERE membership_status = 'ACTIVE' ORDER BY member_id;

-- segment: high_engagement
SELECT m.member_id
FROM members m
JOIN (
  SELECT member_id, score,
         row_number() OVER (PARTITION BY member_id ORDER BY scored_at DESC, score_id DESC) AS rn
  FROM model_scores
  WHERE model = 'engagement'
) s ON s.member_id = m.member_id AND s.rn = 1
WHERE s.score >= 70
ORDER BY m.member_id;

-- segment: at_risk
SELECT m.member_id
FROM members m
JOIN (
  SELECT member_id, score,
         row_number() OVER (PARTITION BY member_id ORDER BY scored_at DESC, score_id DESC) AS rn
  FROM model_scores
  WHERE model = 'churn'
) s ON s.member_id = m.member_id AND s.rn = 1
WHERE s.score >= 70
ORDER BY m.member_id;

-- segment: email_subscribers
SELECT m.member_id
FROM members m
JOIN (
  SELECT member_id, granted,
         row_number() OVER (PARTITION BY member_id ORDER BY recorded_at DESC, consent_id DESC) AS rn
  FROM consents
  WHERE channel = 'email'
) c ON c.member_id = m.member_id AND c.rn = 1
WHERE c.granted
ORDER BY m.member_id;

-- segment: clicked_no_tee_time
SELECT m.member_id
FROM members m
WHERE EXISTS (
  SELECT 1
  FROM engagement_events e
  WHERE e.member_id = m.member_id
    AND e.kind = 'click'
    AND e.occurred_at <= TIMESTAMPTZ '2026-10-18 00:00:00+00'
    AND NOT EXISTS (
      SELECT 1
      FROM tee_times t
      WHERE t.member_id = e.member_id
        AND t.starts_at > e.occurred_at
        AND t.starts_at <= e.occurred_at + INTERVAL '14 days'
    )
)
ORDER BY m.member_id;

-- segment: back_to_back_rounds
SELECT m.member_id
FROM members m
WHERE EXISTS (
  SELECT 1
  FROM tee_times a
  WHERE a.member_id = m.member_id
    AND EXISTS (
      SELECT 1
      FROM tee_times b
      WHERE b.member_id = a.member_id
        AND b.starts_at > a.starts_at
        AND b.starts_at <= a.starts_at + INTERVAL '7 days'
        AND b.starts_at <= TIMESTAMPTZ '2026-11-01 00:00:00+00'
    )
)
ORDER BY m.member_id;
