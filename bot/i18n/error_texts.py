"""What a person reads when a service refuses something: error key -> sentence.

Services raise ``bot.errors`` types with a dotted key and parameters (see each service module's
docstring). The conversation runtime turns them into one friendly sentence in the person's
language with :func:`error_text`; nothing else about the turn changes, so the person can simply
try again. Add a line to :data:`ERROR_TEXTS` for every new key (then ``gangmaker i18n update``
and translate). Parameters are filled in with ``{name}``; a parameter listed in ``money`` is
integer cents shown as euros, a date or datetime is shown as a date, ``status`` becomes a word
and ``known`` languages become their names. A key without a line gets a general sentence for
its error type (and a warning in the log), never a crash.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from dataclasses import dataclass
from typing import Any

from babel.dates import get_day_names

from bot.errors import Conflict, DomainError, InvalidInput, NotAllowed, NotFound
from bot.i18n import lazy
from bot.i18n.catalog import LANGUAGE_NAMES
from bot.i18n.lazy import LazyText
from bot.i18n.translator import Translator

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ErrorText:
    text: LazyText
    # Parameters that hold integer cents.
    money: tuple[str, ...] = ()
    # For a count-dependent sentence: the plural text and the parameter that is the count.
    plural: str | None = None
    count: str | None = None


def E(msgid: str, *, money: tuple[str, ...] = ()) -> ErrorText:
    return ErrorText(LazyText(msgid), money=money)


def ngettext(singular: str, plural: str, count: str) -> ErrorText:
    """A count-dependent sentence; ``count`` names the parameter holding the number. (The
    name makes ``pybabel extract`` pick up both forms.)"""
    return ErrorText(LazyText(singular), plural=plural, count=count)


def _(msgid: str) -> str:
    """Marker only: the table below is translated per turn, not at import."""
    return msgid


ERROR_TEXTS: dict[str, ErrorText] = {
    # --- what people type (bot/parsing) -------------------------------------------------
    "date.not_understood": E(_("I could not read that date. Type it like 14-3 or 14 March.")),
    "date.invalid": E(_("That date does not exist. Please check the day and the month.")),
    "date.weekday_mismatch": E(_("{date} is not a {weekday}. Please check the date.")),
    "date.in_past": E(_("That date has already passed. Please type a later date.")),
    "date.too_far": E(_("That date is too far away. Choose a date within {max_days} days.")),
    "money.not_a_number": E(_("I could not read that amount. Type it like 12.50.")),
    "money.words": E(_("Please type the amount in numbers, like 12.50.")),
    "money.negative": E(_("The amount cannot be less than zero.")),
    "money.too_many_decimals": E(_("Use at most two numbers for the cents, like 12.50.")),
    "money.too_large": E(_("That is too much. The most is {max}."), money=("max",)),
    "money.too_small": E(_("That is too little. The least is {min}."), money=("min",)),
    "number.words": E(_("Please type the number in digits, like 20.")),
    "number.not_a_number": E(_("Please type a number, like 20.")),
    "number.too_small": E(_("The number must be at least {min}.")),
    "number.too_large": E(_("The number can be at most {max}.")),
    # Clock times typed in the settings dialog (handlers/settings.py).
    "time.not_understood": E(_("I could not read that time. Type it like 19:00.")),
    "time.invalid": E(_("That time does not exist. Type a time like 19:00.")),
    "time.range_not_understood": E(_("Type two times, like 22:00-08:00.")),
    # --- permissions ----------------------------------------------------------------------
    "perm.not_leader_of_area": E(_("Only the project leader of this area can do that.")),
    "perm.not_leader": E(_("Only project leaders can do that.")),
    "perm.not_payout_point": E(_("Only a payout point can do that.")),
    "perm.not_your_street": E(_("You are not a gangmaker of this street.")),
    # --- people ---------------------------------------------------------------------------
    "org.unknown": E(_("Something is wrong on our side. Please try again later.")),
    "person.address_invalid": E(_("Something is wrong on our side. Please try again later.")),
    "person.unknown_language": E(_("I do not know that language. Choose one of: {known}.")),
    "person.bad_time": E(_("That time does not exist. Type a time like 19:00.")),
    "person.unknown_reminder_category": E(_("I do not know that kind of reminder.")),
    # --- streets --------------------------------------------------------------------------
    "street.name_invalid": E(_("Please type the name of the street in letters.")),
    "street.section_too_long": E(_("That is too long. Use at most {max} characters.")),
    "street.households_out_of_range": E(_("Type a number of households from {min} to {max}.")),
    "street.area_unknown": E(_("I do not know that area. Please choose one from the list.")),
    "street.code_unknown": E(_("I do not know that code. Please check it and try again.")),
    "link.same_person": E(_("That is your own code. Type it in your other app.")),
    "link.has_data": E(
        _("This chat already has its own streets or roles. Ask a project leader to link it.")
    ),
    "link.identity_unknown": E(_("Something is wrong on our side. Please try again later.")),
    "street.not_joinable": E(_("You cannot join {street} now. The street is {status}.")),
    "street.already_member": E(_("You are already a gangmaker of {street}.")),
    "street.unknown": E(_("I could not find that street.")),
    "street.not_found": E(_("I could not find that street.")),
    "street.not_pending": E(_("This street was already handled. It is {status} now.")),
    "street.not_active": E(_("This street is not active. It is {status}.")),
    "street.reason_required": E(_("Please give a short reason.")),
    "street.reason_too_long": E(_("That reason is too long. Use at most {max} characters.")),
    # --- rounds ---------------------------------------------------------------------------
    "round.not_found": E(_("I could not find that round.")),
    "round.name_nl_required": E(_("The round needs a Dutch name.")),
    "round.name_too_long": E(_("That name is too long. Use at most {max} characters.")),
    "round.theme_unknown": E(_("I do not know that theme.")),
    "round.window_invalid": E(_("A round must open before it closes.")),
    "round.max_invalid": E(_("The highest amount must be more than zero.")),
    "round.too_many": E(_("{year} already has {max} rounds. That is the limit.")),
    # --- contributions (budget) -----------------------------------------------------------
    "budget.not_found": E(_("I could not find that request.")),
    "budget.street_not_active": E(
        _("You can ask for a contribution when your street is active. It is {status} now.")
    ),
    "budget.round_closed": E(_("The round {round} is not open now.")),
    "budget.amount_not_positive": E(_("The amount must be more than zero.")),
    "budget.amount_over_max": E(
        _("That is more than this round gives. The most is {max_cents}."), money=("max_cents",)
    ),
    "budget.activity_length": E(_("Describe the activity in {min} to {max} characters.")),
    "budget.plan_too_long": E(_("That is too long. Use at most {max} characters.")),
    "budget.participants_out_of_range": E(_("Type a number of people from {min} to {max}.")),
    "budget.date_in_past": E(_("That date has already passed. Please type a later date.")),
    "budget.date_too_far": E(_("That date is too far away. Choose a date within {max_days} days.")),
    "budget.already_requested": E(
        _("Your street already asked for a contribution in this round: {reference}.")
    ),
    "budget.decision_unknown": E(_("Please choose: approve, partly or reject.")),
    "budget.approve_amount_mismatch": E(
        _("Approve means the full amount of {asked_cents}. For less, choose partly."),
        money=("asked_cents",),
    ),
    "budget.partly_amount_invalid": E(
        _("Give an amount above zero and below {asked_cents}."), money=("asked_cents",)
    ),
    "budget.reason_required": E(_("Please give a short reason.")),
    "budget.reason_too_long": E(_("That reason is too long. Use at most {max} characters.")),
    "budget.not_reviewable": E(_("This request was already handled. It is {status} now.")),
    "budget.not_withdrawable": E(_("You cannot take back this request. It is {status} now.")),
    "budget.not_reportable": E(_("You cannot report on this request. It is {status}.")),
    "budget.report_too_early": E(
        _("You can report from {activity_date}, the day of the activity.")
    ),
    "budget.too_many_photos": E(_("That is too many photos. Send at most {max}.")),
    "payout.code_unknown": E(_("I do not know that code. Please check it and try again.")),
    "payout.already_redeemed": E(_("This code was already cashed on {paid_at}.")),
    "payout.not_redeemable": E(_("This code cannot be cashed. The request is {status}.")),
    "payout.point_required": E(_("Please choose your payout point first.")),
    "payout.point_unknown": E(_("I do not know that payout point.")),
    # --- Lief & Leed ----------------------------------------------------------------------
    "liefleed.street_not_liefleed": E(_("This street does not take part in Lief & Leed.")),
    "liefleed.occasion_unknown": E(_("Please choose a reason from the list.")),
    "liefleed.kind_unknown": E(_("Please choose from the list what you gave.")),
    "liefleed.cost_negative": E(_("The cost cannot be less than zero. A visit is free: type 0.")),
    "liefleed.cost_too_high": E(
        _("That is a lot. Please check the amount. The most is {max_cents}."),
        money=("max_cents",),
    ),
    "liefleed.date_in_future": E(
        _("That day has not come yet. Type the day of your visit or gift.")
    ),
    "liefleed.date_too_old": E(_("That is too long ago. Type a date from {earliest}.")),
    "liefleed.house_number_invalid": E(_("Type only a house number, like 12 or 12a. No names.")),
    "liefleed.note_too_long": E(_("That note is too long. Use at most {max} characters.")),
    "liefleed.attention_not_found": E(_("I could not find that entry.")),
    "liefleed.not_your_entry": E(_("Only the person who made this entry can change it.")),
    "liefleed.edit_window_passed": ngettext(
        "You can change an entry only for {days} day.",
        "You can change an entry only for {days} days.",
        "days",
    ),
    "liefleed.nothing_to_undo": E(_("There is nothing to undo.")),
    # --- announcements --------------------------------------------------------------------
    "announcement.not_found": E(_("I could not find that announcement.")),
    "announcement.dutch_required": E(_("An announcement needs a Dutch text.")),
    "announcement.language_unknown": E(_("I do not know the language {language}.")),
    "announcement.text_too_long": E(_("That text is too long. Use at most {max} characters.")),
    "announcement.audience_invalid": E(_("I do not understand who should get it: {part}.")),
    "announcement.area_unknown": E(_("I do not know that area.")),
    "announcement.theme_unknown": E(_("I do not know that theme.")),
    "announcement.role_unknown": E(_("I do not know that role.")),
    "announcement.send_at_too_far": E(
        _("That is too far away. Choose a time within {max_days} days.")
    ),
    "announcement.send_at_past": E(_("That time has already passed. Choose a later time.")),
    "announcement.not_schedulable": E(_("This announcement cannot be planned any more.")),
    "announcement.not_cancellable": E(_("Sending has already started. You cannot stop it now.")),
    # --- neighbours and street news ---------------------------------------------------------
    "neighbours.code_unknown": E(
        _("This invite link does not work (any more). Ask your gangmaker for a new one.")
    ),
    "neighbours.street_closed": E(_("This street does not take part any more.")),
    "neighbours.not_subscribed": E(_("You do not get the news of this street.")),
    "neighbours.tip_too_short": E(_("That tip is very short. Please write a bit more.")),
    "neighbours.tip_too_long": E(_("That tip is too long. Use at most {max} characters.")),
    "neighbours.too_many_tips": E(_("You sent {max} tips today. Please try again tomorrow.")),
    "street_news.template_unknown": E(_("I do not know that kind of news.")),
    "street_news.slot_missing": E(_("Something is missing. Please start again.")),
    "street_news.place_too_short": E(_("Please type the place a bit longer.")),
    "street_news.place_too_long": E(_("That place is too long. Use at most {max} characters.")),
    "street_news.text_too_short": E(_("Your message is very short. Please write a bit more.")),
    "street_news.text_too_long": E(_("Your message is too long. Use at most {max} characters.")),
    "street_news.no_subscribers": E(_("No neighbour gets the street news yet.")),
    "street_news.too_many": E(
        _("Your street sent {max} news messages today. Please wait until tomorrow.")
    ),
    # --- assisted mode and signals ---------------------------------------------------------
    "assisted.initials_invalid": E(_("Type only initials, at most {max} letters. Like AB.")),
    "assisted.house_number_needed": E(_("Please type the house number, like 12.")),
    "assisted.no_agreement": E(_("We only start when your neighbour agrees.")),
    "signal.no_welfare_contact": E(
        _("There is no welfare contact for this area yet. Nothing was saved.")
    ),
    "signal.concern_unknown": E(_("Please choose from the list what it is about.")),
    "signal.not_your_street": E(_("You can only pass on a concern about your own street.")),
}

# A general sentence per error type, for keys without a line above.
FALLBACKS: tuple[tuple[type[DomainError], LazyText], ...] = (
    (InvalidInput, lazy._("I could not use that. Please try again.")),
    (NotFound, lazy._("I could not find that.")),
    (NotAllowed, lazy._("Sorry, you cannot do that.")),
    (Conflict, lazy._("That is not possible right now.")),
    (DomainError, lazy._("That did not work. Please try again.")),
)

# Status values (street and request life cycles) as words inside a sentence.
STATUS_WORDS: dict[str, LazyText] = {
    "pending": lazy.pgettext("status", "waiting for approval"),
    "active": lazy.pgettext("status", "active"),
    "inactive": lazy.pgettext("status", "stopped"),
    "rejected": lazy.pgettext("status", "not approved"),
    "submitted": lazy.pgettext("status", "sent in"),
    "approved": lazy.pgettext("status", "approved"),
    "partly_approved": lazy.pgettext("status", "partly approved"),
    "withdrawn": lazy.pgettext("status", "taken back"),
    "paid": lazy.pgettext("status", "paid out"),
    "reported": lazy.pgettext("status", "reported"),
}


def status_word(t: Translator, status: str | enum.Enum) -> str:
    value = status.value if isinstance(status, enum.Enum) else str(status)
    word = STATUS_WORDS.get(value)
    return t.tr(word) if word is not None else value


def _format_param(t: Translator, name: str, value: Any, entry: ErrorText | None) -> Any:
    if entry is not None and name in entry.money and isinstance(value, int):
        return t.money(value)
    if isinstance(value, dt.datetime | dt.date):
        return t.date(value)
    if name == "status" and value is not None:
        return status_word(t, value)
    if name == "known" and isinstance(value, list | tuple):
        return ", ".join(LANGUAGE_NAMES.get(str(v), str(v)) for v in value)
    if name == "weekday" and isinstance(value, int) and 0 <= value <= 6:
        return get_day_names("wide", locale=t.locale)[value]
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return value


def error_text(t: Translator, error: DomainError) -> str:
    """One sentence for ``error`` in the translator's language; never raises."""
    entry = ERROR_TEXTS.get(error.key)
    params = {
        name: _format_param(t, name, value, entry) for name, value in (error.params or {}).items()
    }
    if entry is not None:
        try:
            if entry.plural is not None and entry.count is not None:
                count = int(error.params[entry.count])
                return t.ngettext(entry.text.msgid, entry.plural, count, **params)
            return t.tr(entry.text, **params)
        except (KeyError, IndexError, ValueError, TypeError):
            log.warning("error text for %r does not fit its parameters %r", error.key, params)
    else:
        log.warning("no error text for key %r; add it to bot/i18n/error_texts.py", error.key)
    for error_type, text in FALLBACKS:
        if isinstance(error, error_type):
            return t.tr(text)
    return t.tr(FALLBACKS[-1][1])  # pragma: no cover - DomainError always matches
