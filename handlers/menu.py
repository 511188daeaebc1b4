"""The main menu: the entries that fit the person's roles, each naming its dialog.

To add an entry, add a :class:`MenuEntry` to :data:`MENU_ENTRIES` (in the order people should
see it). An entry stays hidden until a dialog with its name is registered, so entries for
dialogs still being written are already listed here.
"""

from __future__ import annotations

from bot.conversation import MAX_OPTIONS, Context, Dialog, MenuEntry, MenuFacts, Option
from bot.i18n import lazy
from bot.services import people


def gangmaker(f: MenuFacts) -> bool:
    return f.is_gangmaker


def resident(f: MenuFacts) -> bool:
    """Not (yet) a gangmaker and no staff role: may sign up a street."""
    return not f.is_gangmaker and not f.is_staff


def liefleed_gangmaker(f: MenuFacts) -> bool:
    return f.is_gangmaker and f.has_liefleed_street


def leader(f: MenuFacts) -> bool:
    return f.is_leader


def payout_point(f: MenuFacts) -> bool:
    return f.is_payout


MENU_ENTRIES: tuple[MenuEntry, ...] = (
    MenuEntry("streets", lazy.pgettext("row", "My street"), show=gangmaker),
    MenuEntry("signup", lazy.pgettext("row", "Sign up a street"), show=resident),
    MenuEntry("budget", lazy.pgettext("row", "Ask for a contribution"), show=gangmaker),
    MenuEntry("liefleed", lazy.pgettext("row", "Lief & Leed"), show=liefleed_gangmaker),
    MenuEntry("review", lazy.pgettext("row", "Requests to review"), show=leader),
    MenuEntry("pending_streets", lazy.pgettext("row", "New streets to check"), show=leader),
    MenuEntry("overview", lazy.pgettext("row", "Round overview"), show=leader),
    MenuEntry("redeem", lazy.pgettext("row", "Cash a payout code"), show=payout_point),
    MenuEntry("settings", lazy.pgettext("row", "Settings")),
    MenuEntry("help", lazy.pgettext("row", "Help")),
    MenuEntry("settings", lazy.pgettext("row", "Language"), at="language"),
)


async def menu_facts(ctx: Context) -> MenuFacts:
    # One query, shared with the help text within a turn (people.role_facts).
    facts = await people.role_facts(ctx.session, ctx.person)
    return MenuFacts(facts.roles, facts.has_liefleed_street)


async def visible_entries(ctx: Context) -> list[MenuEntry]:
    facts = await menu_facts(ctx)
    return [e for e in ctx.registry.menu_entries() if e.show(facts)][:MAX_OPTIONS]


dialog = Dialog("menu")


@dialog.prompt("choose")
async def show_menu(ctx: Context) -> None:
    entries = await visible_entries(ctx)
    ctx.ask(
        ctx._("What would you like to do?"),
        [Option(ctx.tr(entry.label), entry.value) for entry in entries],
    )


@dialog.step("choose", accepts=())
async def choose(ctx: Context) -> None:
    name, _, at = (ctx.value or "").partition(":")
    ctx.start(name, at=at or None)
