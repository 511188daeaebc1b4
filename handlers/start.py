"""First contact: choose a language, agree to the privacy notice, then the main menu.

The runtime sends everyone without consent here, whatever they type. Saying no is fine: we keep
only the chat address (and the language chosen), and the person can come back any time.
"""

from __future__ import annotations

from bot.conversation import Context, Dialog, Option
from bot.i18n import language_name, shipped_languages, translator
from bot.services import people
from handlers.mydata import privacy_notice

dialog = Dialog("start")


@dialog.prompt("language")
async def ask_language(ctx: Context) -> None:
    # We do not know their language yet: greet in every shipped language, theirs first.
    languages = sorted(shipped_languages(), key=lambda code: code != ctx.language)
    lines = [translator(code)._("Hello! Choose your language.") for code in languages]
    ctx.ask("\n".join(lines), [Option(language_name(code), code) for code in languages])


@dialog.step("language", accepts=())
async def language(ctx: Context) -> None:
    await people.set_language(ctx.session, ctx.person, language=ctx.value or "")
    ctx.goto("consent")


@dialog.prompt("consent")
async def ask_consent(ctx: Context) -> None:
    notice = "\n".join(
        [
            ctx._("Welcome to the chat of {organisation}!", organisation=ctx.organisation.name),
            ctx._("First, about your privacy:"),
            "• "
            + ctx._(
                "We keep only what is needed: your chat address, your language and"
                " what you tell us about your street."
            ),
            "• "
            + ctx._("We use it only for this chat and your street. We do not give it to others."),
            "• " + ctx._("You can see or delete your data at any time, under Settings."),
        ]
    )
    ctx.say(notice)
    _ask_consent(ctx)


def _ask_consent(ctx: Context) -> None:
    ctx.ask(
        ctx._("Is that okay?"),
        [
            Option(ctx.pgettext("button", "Yes, that is fine"), "yes"),
            Option(ctx.pgettext("button", "No"), "no"),
            Option(ctx.pgettext("button", "Read more"), "more"),  # the longer notice
        ],
    )


@dialog.step("consent", accepts=())
async def consent(ctx: Context) -> None:
    if ctx.value == "more":
        ctx.say(privacy_notice(ctx))
        _ask_consent(ctx)
        return
    if ctx.value == "yes":
        await people.give_consent(ctx.session, ctx.person, now=ctx.now)
        ctx.say(ctx._("Thank you! Nice that you are here."))
        then = ctx.data.get("then")
        if then and then in ctx.registry:
            # Came through a deep link (a street invite): carry on there.
            ctx.start(then, code=ctx.data.get("code"))
            return
        ctx.finish()
        return
    ctx.say(
        ctx._(
            "No problem. We keep nothing except your chat address. "
            "Changed your mind? Just send us a message."
        )
    )
    ctx.finish(menu=False)
