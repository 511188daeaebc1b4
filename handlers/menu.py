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
    MenuEntry("announce", lazy.pgettext("row", "Announcements"), show=leader),
    MenuEntry("redeem", lazy.pgettext("row", "Cash a payout code"), show=payout_point),
    MenuEntry("street_news", lazy.pgettext("row", "Street news"), show=gangmaker),
    MenuEntry("neighbour", lazy.pgettext("row", "My street news"), show=resident, at="mine"),
    MenuEntry("signal", lazy.pgettext("row", "Worried about someone"), show=gangmaker),
    MenuEntry("assisted", lazy.pgettext("row", "For a neighbour")),
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
    return [e for e in ctx.registry.menu_entries() if e.show(facts)]


# A menu longer than MAX_OPTIONS (a gangmaker who is also a leader) is shown in pages: the
# first MAX_OPTIONS - 1 entries and "More", so Settings and Help are never cut off.
PAGE = MAX_OPTIONS - 1
MORE = "page:"


def menu_page(entries: list[MenuEntry], page: int) -> tuple[list[MenuEntry], int | None]:
    """The entries of ``page`` and the next page's number (None on the last page; 0 when the
    last page points back to the first)."""
    if len(entries) <= MAX_OPTIONS:
        return entries, None
    pages = (len(entries) + PAGE - 1) // PAGE
    page = min(max(page, 0), pages - 1)
    return entries[page * PAGE : (page + 1) * PAGE], (page + 1) % pages


dialog = Dialog("menu")


@dialog.prompt("choose")
async def show_menu(ctx: Context) -> None:
    entries, following = menu_page(await visible_entries(ctx), int(ctx.data.get("page", 0)))
    options = [Option(ctx.tr(entry.label), entry.value) for entry in entries]
    if following is not None:
        label = ctx.pgettext("row", "More") if following else ctx.pgettext("row", "Back")
        options.append(Option(label, f"{MORE}{following}"))
    ctx.ask(ctx._("What would you like to do?"), options)


@dialog.step("choose", accepts=())
async def choose(ctx: Context) -> None:
    value = ctx.value or ""
    if value.startswith(MORE):
        ctx.data["page"] = int(value.removeprefix(MORE) or 0)
        ctx.goto("choose")
        return
    name, _, at = value.partition(":")
    ctx.start(name, at=at or None)
