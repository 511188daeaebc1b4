"""What people read about a leader's decision, shared by the chat (``handlers/leader.py``)
and the web dashboard (``bot/web/dashboard``): the preset reasons for refusing a request or a
street, and the message every gangmaker of the street gets, each in their own language.

Texts only: the decisions themselves are :mod:`bot.services.budget` and
:mod:`bot.services.streets`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.i18n import lazy
from bot.i18n.lazy import LazyText
from bot.i18n.translator import Translator
from bot.models import BudgetRequest, PayoutPoint, RequestStatus, Street, StreetStatus

S = RequestStatus


def street_label(street: Street) -> str:
    return f"{street.name} {street.section}" if street.section else street.name


def _point_lines(t: Translator, points: Sequence[PayoutPoint]) -> str:
    lines = []
    for point in points:
        line = "• " + ", ".join(part for part in (point.name, point.address) if part)
        if point.opening_hours:
            line += ". " + t._("Open: {hours}", hours=point.opening_hours)
        lines.append(line)
    return "\n".join(lines)


def _questions(t: Translator, contact: str | None) -> str:
    if contact:
        return t._("Questions? Ask your project leader: {contact}", contact=contact)
    return t._("Questions? Ask your project leader.")


def reason_text(t: Translator, presets: dict[str, tuple[LazyText, LazyText]], data: dict) -> str:
    """The reason in ``t``'s language: a chosen preset is translated, a typed one is kept."""
    key = data.get("reason_key")
    if key in presets:
        return t.tr(presets[key][1])
    return str(data.get("reason") or "")


# A reason a leader picks from a list: (its row label, the sentence the gangmakers read).
BUDGET_REASONS: dict[str, tuple[LazyText, LazyText]] = {
    "plan": (
        lazy.pgettext("row", "Plan not complete"),
        lazy._("The plan is not complete. Please add what is missing."),
    ),
    "neighbours": (
        lazy.pgettext("row", "Few neighbours join"),
        lazy._("The activity does not bring enough neighbours together."),
    ),
    "amount": (
        lazy.pgettext("row", "Amount too high"),
        lazy._("The amount is high for this activity and the number of neighbours."),
    ),
    "food": (
        lazy.pgettext("row", "Too much food and drink"),
        lazy._("Too much of the money goes to food and drinks."),
    ),
    "own": (
        lazy.pgettext("row", "No own contribution"),
        lazy._("We miss a contribution from the neighbours themselves."),
    ),
}

STREET_REASONS: dict[str, tuple[LazyText, LazyText]] = {
    "duplicate": (
        lazy.pgettext("row", "Already signed up"),
        lazy._("This street is already signed up."),
    ),
    "area": (
        lazy.pgettext("row", "Not in our area"),
        lazy._("This street is not in our area."),
    ),
    "unclear": (
        lazy.pgettext("row", "Sign-up not clear"),
        lazy._("The sign-up is not clear to us."),
    ),
}


def decision_text(
    t: Translator,
    *,
    request: BudgetRequest,
    street: str,
    points: Sequence[PayoutPoint],
    contact: str | None,
    reason: Callable[[Translator], str],
) -> str:
    """What a gangmaker reads about the decision, in their language (``t``)."""
    names = {"reference": request.reference, "street": street}
    if request.status == S.REJECTED:
        return "\n".join(
            [
                t._("Your request {reference} for {street} is not approved.", **names),
                t._("Reason: {reason}", reason=reason(t)),
                _questions(t, contact),
            ]
        )
    awarded = t.money(request.awarded_cents or 0)
    if request.status == S.PARTLY_APPROVED:
        lines = [
            t._(
                "Your request {reference} for {street} is partly approved. You get {amount} "
                "of the {asked} you asked.",
                amount=awarded,
                asked=t.money(request.amount_cents),
                **names,
            ),
            t._("Reason: {reason}", reason=reason(t)),
        ]
    else:
        lines = [
            t._(
                "Good news! Your request {reference} for {street} is approved. You get {amount}.",
                amount=awarded,
                **names,
            )
        ]
    lines.append(t._("Your payout code: {code}", code=request.payout_code))
    if points:
        lines.append(t._("Pick up the money with this code at:"))
        lines.append(_point_lines(t, points))
    else:
        lines.append(_questions(t, contact))
    return "\n".join(lines)


def street_text(
    t: Translator, *, street: Street, contact: str | None, reason: Callable[[Translator], str]
) -> str:
    """What a gangmaker reads about their street's sign-up, in their language (``t``)."""
    name = street_label(street)
    if street.status == StreetStatus.ACTIVE:
        return "\n".join(
            [
                t._("Good news! Your street {street} is approved.", street=name),
                t._("You can now ask for a contribution. Choose it in the menu."),
                t._(
                    "Other neighbours can help as gangmaker with the code {code}.",
                    code=street.invite_code,
                ),
            ]
        )
    return "\n".join(
        [
            t._("Your sign-up of {street} is not approved.", street=name),
            t._("Reason: {reason}", reason=reason(t)),
            _questions(t, contact),
        ]
    )


# The name the code used before these texts were shared.
_reason_text = reason_text
