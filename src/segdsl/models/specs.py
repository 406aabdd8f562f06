"""What each example CRM's models read: features, population and label, as segdsl text.

Every expression here is evaluated at an as-of instant by segdsl itself (see
``features.py``). ``before 0 days ago`` means "dated before the as-of date", which keeps
each feature to the history known at the as-of; windows are written
``after N+1 days ago and before 0 days ago``: the N calendar days before the as-of date.

The seed services hand over limited history (``segdsl.data.synth``): engagement events one
year, tee times and tournaments 400 days, dues 13 months. Training features are computed
180 days before the as-of, so every window here fits inside what the data holds at
that cutoff; a longer window would see less history at training than at scoring.
"""

from __future__ import annotations

import attrs

from segdsl.models.features import Feature

HORIZON_DAYS = 180


@attrs.frozen
class ChurnSpec:
    #: Entities the model is trained on and scores: ``population > 0`` at the as-of.
    population: str
    population_doc: str
    #: Evaluated at cutoff + HORIZON_DAYS: activity in the horizon; 0 means churned.
    outcome: str
    label_doc: str
    features: tuple[Feature, ...]


@attrs.frozen
class EngagementSpec:
    #: Entities that get a score: ``history > 0`` at the as-of.
    history: str
    #: (name, expression, weight): weighted counts add up to the engagement points.
    terms: tuple[tuple[str, str, float], ...]
    #: Points at which the score is 50: score = 100·(1 − 2^(−points / half)).
    half: float


_COMPLETED = 'status = "completed" and checked_in_at before 0 days ago'
_PLAYED = 'status = "played" and starts_at before 0 days ago'
_EVENTS = "occurred_at before 0 days ago"


def _engagement_terms() -> tuple[tuple[str, str, float], ...]:
    # Recent events count fully, those 31-90 days old half; a conversion is worth ten
    # opens, a click three, an app session two.
    weights = (("open", 1.0), ("click", 3.0), ("session", 2.0), ("conversion", 10.0))
    terms = []
    for kind, w in weights:
        recent = f'count(engagement_events where kind = "{kind}" and {_EVENTS} and occurred_at after 31 days ago)'
        older = (f'count(engagement_events where kind = "{kind}" and {_EVENTS} and occurred_at after 91 days ago '
                 f'and occurred_at before 30 days ago)')
        terms.append((f"{kind}s_30d", recent, w))
        terms.append((f"{kind}s_31_90d", older, w / 2))
    return tuple(terms)


HOSPITALITY = ChurnSpec(
    population=f"count(bookings where {_COMPLETED})",
    population_doc="guests with at least one completed stay before the as-of date",
    outcome=f"count(bookings where {_COMPLETED} and checked_in_at after 181 days ago)",
    label_doc="no completed stay checking in during the 180 days from the cutoff date",
    features=(
        Feature("recency_days", f"max(bookings.checked_in_at where {_COMPLETED})",
                "days from the last completed stay's check-in date to the as-of date", log=True, cap=3650),
        Feature("stays_365d", f"count(bookings where {_COMPLETED} and checked_in_at after 366 days ago)",
                "completed stays in the 365 days before the as-of date", log=True),
        Feature("spend_365d", f"sum(bookings.amount_inr where {_COMPLETED} and checked_in_at after 366 days ago)",
                "INR spent on those stays", log=True),
        Feature("stays_total", f"count(bookings where {_COMPLETED})",
                "completed stays before the as-of date, all time", log=True),
        Feature("tenure_days", f"min(bookings.checked_in_at where {_COMPLETED})",
                "days since the first completed stay", log=True, cap=3650),
        Feature("cancellations_365d",
                'count(bookings where status in ["cancelled", "no_show"] and checked_in_at before 0 days ago '
                "and checked_in_at after 366 days ago)",
                "cancelled bookings and no-shows in the 365 days before the as-of date", log=True),
        Feature("loyalty_points", "sum(point_transactions.points where occurred_at before 0 days ago)",
                "loyalty points balance at the as-of date", log=True),
        Feature("engagement_90d", f"count(engagement_events where {_EVENTS} and occurred_at after 91 days ago)",
                "opens, clicks, sessions and conversions in the 90 days before the as-of date", log=True),
    ),
)

GOLF = ChurnSpec(
    population=f"count(tee_times where {_PLAYED})",
    population_doc="members with at least one round played before the as-of date",
    outcome=f"count(tee_times where {_PLAYED} and starts_at after 181 days ago)",
    label_doc="no round played during the 180 days from the cutoff date",
    features=(
        Feature("recency_days", f"max(tee_times.starts_at where {_PLAYED})",
                "days from the last round played to the as-of date (at most 200)", log=True, cap=200),
        Feature("rounds_90d", f"count(tee_times where {_PLAYED} and starts_at after 91 days ago)",
                "rounds played in the 90 days before the as-of date", log=True),
        Feature("rounds_180d", f"count(tee_times where {_PLAYED} and starts_at after 181 days ago)",
                "rounds played in the 180 days before the as-of date", log=True),
        Feature("bookings_30d", "count(tee_times where booked_at before 0 days ago and booked_at after 31 days ago)",
                "tee times booked in the 30 days before the as-of date, whatever became of them", log=True),
        Feature("tournaments_180d",
                "count(tournament_entries where played_on before 0 days ago and played_on after 181 days ago)",
                "club tournaments entered in the 180 days before the as-of date", log=True),
        Feature("late_dues_180d",
                "count(dues_payments where paid_on before 0 days ago and days_late > 30 "
                "and due_on after 181 days ago)",
                "dues due in the 180 days before the as-of date and paid before it, more than 30 days late"),
        Feature("unpaid_dues",
                "count(dues_payments where due_on before 30 days ago and due_on after 181 days ago "
                "and (paid_on is null or not paid_on before 0 days ago))",
                "dues more than 30 days overdue and still unpaid at the as-of date"),
        Feature("engagement_90d", f"count(engagement_events where {_EVENTS} and occurred_at after 91 days ago)",
                "opens, clicks, sessions and conversions in the 90 days before the as-of date", log=True),
        Feature("tenure_days", "days_since(joined_on)", "days since the membership started", log=True, cap=10000),
    ),
)

ENGAGEMENT = EngagementSpec(history=f"count(engagement_events where {_EVENTS})", terms=_engagement_terms(), half=5.0)

#: The models of each example CRM, by the schema's entity.
CHURN = {"guest": HOSPITALITY, "member": GOLF}
