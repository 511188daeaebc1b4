"""For a neighbour: a resident does a task for a neighbour on their own phone.

"voor een buur" (a global word in every language, ``Command.ASSIST``) or the menu entry
starts here: the neighbour's initials, house number and language, and whether they agreed.
Then the chat acts for the neighbour (``bot/services/assisted.py``): the task dialogs below
run with the neighbour as ``ctx.person`` and in the neighbour's language, until the task is
done, "klaar" is typed, or 15 minutes pass without a message.

"Delete their data" (step ``forget``) is the neighbour's right to be forgotten, through the
helper: the session ends and everything of the neighbour goes by the privacy rules. A helper
only reaches neighbours they helped before (same initials and house number).

To make another dialog work in assisted mode, add its name to :data:`ASSISTED_TASKS` (it is
offered when its main-menu entry would be shown to the neighbour); an entry that starts at a
step is named ``"dialog:step"``, as "My street news" (``neighbour:mine``): there the helper
subscribes the neighbour to street news that then comes to this phone, or stops it.
"""

from __future__ import annotations

from bot.conversation import Context, Dialog, Option
from bot.conversation.words import Command, command_word
from bot.i18n import language_name, lazy, shipped_languages, translator
from bot.services import assisted

# Dialogs a helper can do for a neighbour, in the order offered.
ASSISTED_TASKS: list[str] = ["signup", "budget", "neighbour:mine"]
# Offered for every neighbour, whatever their main menu would show.
ALWAYS_OFFERED = frozenset({"neighbour:mine"})

dialog = Dialog("assisted")


@dialog.prompt("initials")
async def ask_initials(ctx: Context) -> None:
    ctx.ask(
        ctx._("You are going to help a neighbour on your phone.")
        + "\n"
        + ctx._("What are the initials of your neighbour? For example: AB.")
    )


@dialog.step(
    "initials", help=lazy._("Type only the first letters of the name, at most 3. Like AB.")
)
async def initials(ctx: Context) -> None:
    ctx.data["initials"] = assisted.clean_initials(ctx.text)
    ctx.goto("house")


@dialog.prompt("house")
async def ask_house(ctx: Context) -> None:
    ctx.ask(ctx._("What is the house number of {initials}?", initials=ctx.data["initials"]))


@dialog.step("house", help=lazy._("Type only a house number, like 12 or 12a. No names."))
async def house(ctx: Context) -> None:
    number = assisted.validate_house_number(ctx.text)
    if number is None:
        ctx.say(ctx._("Please type the house number, like 12."))
        return
    ctx.data["house"] = number
    ctx.goto("language")


@dialog.prompt("language")
async def ask_language(ctx: Context) -> None:
    ctx.ask(
        ctx._("Which language does {initials} speak?", initials=ctx.data["initials"]),
        [Option(language_name(code), code) for code in shipped_languages()],
    )


@dialog.step("language", accepts=())
async def language(ctx: Context) -> None:
    ctx.data["language"] = ctx.value
    ctx.goto("agreed")


@dialog.prompt("agreed")
async def ask_agreed(ctx: Context) -> None:
    ctx.yes_no(
        ctx._(
            "Does {initials} agree that you do this for them on your phone?",
            initials=ctx.data["initials"],
        )
    )


@dialog.step("agreed", accepts=())
async def agreed(ctx: Context) -> None:
    if ctx.value != "yes":
        ctx.say(ctx._("Then we do not start. Ask your neighbour first."))
        ctx.finish()
        return
    acting = await assisted.start_session(
        ctx.session,
        helper=ctx.person,
        identity=ctx.identity,
        initials=ctx.data["initials"],
        house_number=ctx.data["house"],
        language=ctx.data["language"],
        agreed=True,
        now=ctx.now,
    )
    # From here on the dialog speaks the neighbour's language and acts for them.
    ctx.acting, ctx.person = acting, acting.person
    ctx.say(
        ctx._(
            "You now act for {initials}. When you are finished, type {done}.",
            initials=acting.initials,
            done=command_word(Command.DONE, ctx.language),
        )
    )
    ctx.goto("task")


async def _tasks(ctx: Context) -> list[Option]:
    from handlers.menu import menu_facts

    facts = await menu_facts(ctx)
    options: list[Option] = []
    for entry in ctx.registry.menu_entries():
        name = entry.dialog if entry.at is None else f"{entry.dialog}:{entry.at}"
        if name not in ASSISTED_TASKS or name in (o.value for o in options):
            continue
        if name in ALWAYS_OFFERED or entry.show(facts):
            options.append(Option(ctx.tr(entry.label), name))
    options.sort(key=lambda o: ASSISTED_TASKS.index(o.value))
    return options


@dialog.prompt("task")
async def ask_task(ctx: Context) -> None:
    if ctx.acting is None:  # pragma: no cover - only reached from "agreed"
        ctx.finish()
        return
    options = await _tasks(ctx)
    options.append(Option(ctx.pgettext("row", "Delete their data"), "forget"))
    options.append(Option(ctx.pgettext("row", "Done"), "done"))
    ctx.ask(ctx._("What do you want to do for {initials}?", initials=ctx.acting.initials), options)


@dialog.step("task", accepts=())
async def task(ctx: Context) -> None:
    if ctx.value == "done":
        ctx.finish()  # the runtime ends the session and shows the helper's menu
        return
    if ctx.value == "forget":
        ctx.goto("forget")
        return
    name, _, step = (ctx.value or "menu").partition(":")
    ctx.start(name, at=step or None)


# --- the neighbour's privacy rights, through the helper -------------------------------------


@dialog.prompt("forget")
async def ask_forget(ctx: Context) -> None:
    if ctx.acting is None:  # pragma: no cover - only reached from "task"
        ctx.finish()
        return
    ctx.yes_no(
        ctx._(
            "Delete everything we store about {initials}: initials, house number, language,"
            " street news, sign-ups and requests? Money matters of a street stay, without"
            " {initials}.",
            initials=ctx.acting.initials,
        )
    )


@dialog.step("forget", accepts=())
async def forget(ctx: Context) -> None:
    acting = ctx.acting
    if acting is None:  # pragma: no cover - the prompt already left
        ctx.finish()
        return
    if ctx.value != "yes":
        ctx.goto("task")
        return
    # Said in the helper's language: the session ends with this step (the runtime ends it
    # on finish, and the neighbour's data goes then).
    helper_t = translator(acting.helper.language, ctx.organisation.timezone)
    ctx.say(
        helper_t._(
            "Done: everything we stored about {initials} is deleted.", initials=acting.initials
        )
    )
    acting.forget = True
    ctx.finish()
