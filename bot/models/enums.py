"""The closed vocabularies of the domain, stored as their string values."""

from __future__ import annotations

import enum


class StreetStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    INACTIVE = "inactive"
    REJECTED = "rejected"


class Theme(enum.StrEnum):
    LIEFLEED = "liefleed"
    GREEN = "green"
    CLEAN = "clean"


class RoundTheme(enum.StrEnum):
    GENERAL = "general"
    GREEN = "green"
    CLEAN = "clean"
    LIEFLEED = "liefleed"
    DECEMBER = "december"


class Role(enum.StrEnum):
    GANGMAKER = "gangmaker"
    LEADER = "leader"
    # A project leader of a street theme (Lief & Leed, green, clean) across every area.
    THEME_LEAD = "theme_lead"
    PAYOUT = "payout"
    RESIDENT = "resident"
    ADMIN = "admin"


class Channel(enum.StrEnum):
    TELEGRAM = "telegram"
    WHATSAPP = "whatsapp"
    CONSOLE = "console"
    WEB = "web"


class RequestStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    PARTLY_APPROVED = "partly_approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    PAID = "paid"
    REPORTED = "reported"


class OccasionType(enum.StrEnum):
    LIEF = "lief"
    LEED = "leed"
    OTHER = "other"


class AttentionKind(enum.StrEnum):
    FLOWERS = "flowers"
    CARD = "card"
    GIFT = "gift"
    FOOD = "food"
    VISIT = "visit"
    SHOPPING = "shopping"
    HELP = "help"
    OTHER = "other"


class AnnouncementStatus(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class DeliveryStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class ReminderStatus(enum.StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    DONE = "done"
    CANCELLED = "cancelled"
