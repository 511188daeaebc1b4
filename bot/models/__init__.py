"""All models, imported here so ``Base.metadata`` knows every table (Alembic relies on it)."""

from bot.models.audit import AuditEntry
from bot.models.base import Base, utcnow
from bot.models.campaign import BudgetRequest, Round
from bot.models.conversation import ConversationState
from bot.models.enums import (
    AnnouncementStatus,
    AttentionKind,
    Channel,
    DeliveryStatus,
    OccasionType,
    ReminderStatus,
    RequestStatus,
    Role,
    RoundTheme,
    StreetStatus,
    Theme,
)
from bot.models.inbound import ProcessedUpdate
from bot.models.liefleed import Attention, LiefLeedPot
from bot.models.messaging import Announcement, Delivery, Reminder
from bot.models.organisation import Area, Organisation, PayoutPoint
from bot.models.people import ChannelIdentity, Person, RoleGrant
from bot.models.street import Street, StreetMembership

__all__ = [
    "Announcement",
    "AnnouncementStatus",
    "Area",
    "Attention",
    "AttentionKind",
    "AuditEntry",
    "Base",
    "BudgetRequest",
    "Channel",
    "ChannelIdentity",
    "ConversationState",
    "Delivery",
    "DeliveryStatus",
    "LiefLeedPot",
    "OccasionType",
    "Organisation",
    "PayoutPoint",
    "Person",
    "ProcessedUpdate",
    "Reminder",
    "ReminderStatus",
    "RequestStatus",
    "Role",
    "RoleGrant",
    "Round",
    "RoundTheme",
    "Street",
    "StreetMembership",
    "StreetStatus",
    "Theme",
    "utcnow",
]
