"""The portfolio app's tables: the initiatives domain (``core``), personal API tokens
(``tokens``), stalled pilots and the weekly digest (``portfolio.pilots.models``), and
outcomes: measurements, overrides and value reviews (``portfolio.outcomes.models``), and
notifications: preferences, chat channels and the outbox (``portfolio.notifications.models``),
and what ownership health reads (``ownership``)."""

from portfolio.identity.models import (
    AccountEvent,
    AccountEventKind,
    ExternalIdentity,
    RolePin,
    SignInMethod,
)
from portfolio.models.core import (
    AUTONOMY_ORDER,
    CONFIDENCE_CHOICES,
    IMPACT_CHOICES,
    NOT_SURE,
    NOT_SURE_LABEL,
    PROHIBITED_MAY_BE_IN,
    RISK_ORDER,
    STAGE_ORDER,
    Activity,
    ActivityKind,
    AutonomyLevel,
    Category,
    Dependency,
    Health,
    Initiative,
    InitiativeQuerySet,
    InitiativeTerm,
    MetricDirection,
    RetirementReason,
    RiskTier,
    Stage,
    StageTransition,
    Stakeholder,
    Team,
    Update,
    WorkerHeartbeat,
    past_date_errors,
    profile_as_chosen,
    text_limit,
    tier_allows_stage,
)
from portfolio.models.ownership import LastWord, NobodyResponsible, OwnerSeen
from portfolio.models.tokens import ApiToken
from portfolio.notifications.models import (
    ChannelKind,
    ChatChannel,
    DailySummary,
    Notification,
    NotificationMode,
    NotificationPreference,
    NotificationStatus,
    WebhookHost,
)
from portfolio.outcomes.models import (
    ContractOverride,
    Measurement,
    OverrideKind,
    ValueDecision,
    ValueReview,
    ValueReviewCount,
)
from portfolio.pilots.models import (
    DeliveryStatus,
    DigestDelivery,
    DigestRun,
    DigestSubscription,
    StallDecision,
    StallFlag,
    StallReason,
    StallResolution,
)

__all__ = [
    "PROHIBITED_MAY_BE_IN", "text_limit", "tier_allows_stage",
    "NOT_SURE", "NOT_SURE_LABEL", "past_date_errors", "profile_as_chosen",
    "AUTONOMY_ORDER", "CONFIDENCE_CHOICES", "IMPACT_CHOICES", "RISK_ORDER", "STAGE_ORDER",
    "Activity", "ActivityKind", "ApiToken", "AutonomyLevel", "Category", "DeliveryStatus",
    "Dependency",
    "DigestDelivery", "DigestRun", "DigestSubscription", "Health", "Initiative",
    "InitiativeQuerySet", "InitiativeTerm", "RetirementReason", "RiskTier", "Stage",
    "StageTransition", "Stakeholder", "StallDecision", "StallFlag", "StallReason",
    "StallResolution", "Team", "Update", "WorkerHeartbeat",
    "ContractOverride", "Measurement", "MetricDirection", "OverrideKind", "ValueDecision",
    "ValueReview",
    "ValueReviewCount",
    "ChannelKind", "ChatChannel", "DailySummary", "Notification", "NotificationMode",
    "NotificationPreference", "NotificationStatus", "WebhookHost",
    "AccountEvent", "AccountEventKind", "ExternalIdentity", "RolePin", "SignInMethod",
    "LastWord", "NobodyResponsible", "OwnerSeen",
]
