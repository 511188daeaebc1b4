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
from bot.models.messaging import (
    Announcement,
    ChannelThrottle,
    ChatThrottle,
    Delivery,
    Reminder,
)
from bot.models.neighbours import NeighbourInvite, NeighbourTip, StreetNews, StreetSubscription
from bot.models.organisation import Area, Organisation, PayoutPoint
from bot.models.people import ChannelIdentity, Person, RoleGrant
from bot.models.privacy import AssistedSession, Signal
from bot.models.street import Street, StreetMembership
from bot.models.web import WebAccount, WebLoginFailure
from bot.models.whatsapp import (
    LinkCode,
    WhatsAppConversation,
    WhatsAppInbound,
    WhatsAppWebhookBody,
)

__all__ = [
    "Announcement",
    "AnnouncementStatus",
    "Area",
    "AssistedSession",
    "Attention",
    "AttentionKind",
    "AuditEntry",
    "Base",
    "BudgetRequest",
    "Channel",
    "ChannelIdentity",
    "ChannelThrottle",
    "ChatThrottle",
    "ConversationState",
    "Delivery",
    "DeliveryStatus",
    "LiefLeedPot",
    "LinkCode",
    "NeighbourInvite",
    "NeighbourTip",
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
    "Signal",
    "Street",
    "StreetMembership",
    "StreetNews",
    "StreetStatus",
    "StreetSubscription",
    "Theme",
    "WebAccount",
    "WebLoginFailure",
    "WhatsAppConversation",
    "WhatsAppInbound",
    "WhatsAppWebhookBody",
    "utcnow",
]
