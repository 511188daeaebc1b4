"""Neighbours and street news, end to end: the invite (link, QR, card), subscribing through it in
the neighbour's own language, street news from a template reaching one neighbour in Turkish and
another in Arabic through the real delivery engine and the fake Telegram server, own text, tips
to the gangmakers, STOP, and bad input everywhere (nothing changes)."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from bot.channels.console import render
from bot.db import transaction
from bot.delivery.engine import DeliveryEngine
from bot.delivery.senders import TelegramSender
from bot.i18n import translator
from bot.models import (
    Channel,
    Delivery,
    NeighbourInvite,
    NeighbourTip,
    Person,
    Street,
    StreetNews,
    StreetSubscription,
)
from bot.services import invite_card, neighbours, privacy, retention, street_news
from tests.chat import ChatHarness, World, make_world
from tests.factories import NOW
from tests.fakes import ApiSpec, FakeTelegram

TOKEN = "123:ABC"
ZONE = "Europe/Amsterdam"
TURKISH_CHAT, ARABIC_CHAT, STOPPED_CHAT = 7001, 7002, 7003


@pytest.fixture(autouse=True)
def media_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MEDIA_DIR", str(tmp_path))
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "buurt_test_bot")
    return tmp_path


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    if not ApiSpec.default_path().exists():
        pytest.skip("Bot API specification not found")
    async with FakeTelegram(token=TOKEN, strict_chats=False) as fake:
        yield fake


async def invite_code(sessions, world: World) -> str:
    """The street's neighbour code, made by its gangmaker (as the dialog does)."""
    async with transaction(sessions) as session:
        street = await session.get(Street, world.street_id)
        gm = await session.scalar(select(Person).where(Person.first_name == "Fatima"))
        invite = await neighbours.street_invite(session, actor=gm, street=street, now=NOW)
        return invite.code


async def count(sessions, model) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def subscribe_through_invite(
    sessions, code: str, *, address: str, language: str, channel: Channel = Channel.TELEGRAM
) -> ChatHarness:
    """A new person opens the link, chooses ``language``, agrees and says yes."""
    chat = ChatHarness(sessions, address=address, channel=channel)
    await chat.send(f"/start n-{code}")
    assert language in chat.option_values  # the language question comes first
    await chat.press(language)
    await chat.press("yes")  # the privacy notice
    t = translator(language)
    assert t._("Do you want the street news?") in chat.text
    await chat.press("yes")
    assert t._("Done! You now get the street news of {street}.", street="Zaagmolenstraat") in (
        chat.text
    )
    return chat


async def open_street_news(sessions) -> ChatHarness:
    gm = ChatHarness(sessions, address="gm")
    await gm.send("menu")
    await gm.choose("Straatnieuws")
    return gm


# --- the invite -------------------------------------------------------------------------------


async def test_a_gangmaker_gets_the_link_the_qr_code_and_a_card_with_that_qr(
    sessions, media_dir: Path
) -> None:
    world = await make_world(sessions)
    gm = await open_street_news(sessions)
    assert "0 buren krijgen het straatnieuws" in gm.text
    await gm.choose("Buren uitnodigen")

    async with sessions() as session:
        invite = await session.scalar(select(NeighbourInvite))
        street = await session.get(Street, world.street_id)
    assert invite is not None and street is not None
    # Its own code: never the gangmaker invite code of the street.
    assert invite.code != street.invite_code
    link = f"https://t.me/buurt_test_bot?start=n-{invite.code}"
    assert f"Deel deze link met je buren: {link}" in gm.text
    photo, document = (r.media for r in gm.replies if r.media is not None)
    assert photo.kind == "photo" and document.kind == "document"
    png, pdf = Path(photo.ref), Path(document.ref)
    assert png.parent == media_dir and png.read_bytes().startswith(b"\x89PNG")
    assert pdf.read_bytes().startswith(b"%PDF")
    # The terminal chat shows where the files are.
    shown = "\n".join(render(r) for r in gm.replies)
    assert f"[photo: {png}]" in shown and f"[document: {pdf}]" in shown
    assert (await gm.state()).dialog == "menu"

    # Asking again gives the same code (printed cards keep working).
    await gm.choose("Straatnieuws")
    await gm.choose("Buren uitnodigen")
    assert await count(sessions, NeighbourInvite) == 1
    assert link in gm.text

    # The card: one A5 page with the link, texts in several languages and the QR code of
    # exactly this link.
    reader = PdfReader(io.BytesIO(pdf.read_bytes()))
    assert len(reader.pages) == 1
    page = reader.pages[0]
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    assert (round(width), round(height)) == (420, 595)  # A5 in points
    text = page.extract_text()
    assert link in text
    assert "Straatnieuws van Zaagmolenstraat" in text
    assert "Scan de code met de camera van je telefoon." in text
    assert "Zeskanuj kod aparatem w telefonie." in text
    fonts = [str(f) for f in page["/Resources"]["/Font"].values()]
    assert fonts, "the card embeds its font"
    images = page.images
    assert len(images) == 1
    assert qr_modules(images[0].image) == matrix_of(link)


def matrix_of(link: str) -> list[list[bool]]:
    return [[bool(cell) for cell in row] for row in invite_card.qr_code(link).matrix]


def qr_modules(image) -> list[list[bool]]:
    """Read the dark/light modules back from the QR picture in the PDF."""
    gray = image.convert("L")
    scale, border = invite_card.QR_SCALE, invite_card.QR_BORDER
    size = gray.width // scale - 2 * border
    assert gray.width == gray.height == (size + 2 * border) * scale
    return [
        [
            gray.getpixel(((border + x) * scale + scale // 2, (border + y) * scale + scale // 2))
            < 128
            for x in range(size)
        ]
        for y in range(size)
    ]


def test_the_card_sets_arabic_right_to_left() -> None:
    """The Arabic lines are laid out right to left (bidi and shaping by fpdf2 and uharfbuzz):
    right-aligned, and in visual order the sentence's full stop comes before its words."""
    link = "https://t.me/buurt_test_bot?start=n-ABCD2345"
    page = PdfReader(io.BytesIO(invite_card.card_pdf(link=link, street="Zaagmolenstraat"))).pages[0]
    drawn: list[tuple[float, str]] = []
    page.extract_text(
        visitor_text=lambda text, cm, tm, fd, fs: (
            drawn.append((tm[4], text)) if text.strip() else None
        )
    )
    arabic = translator("ar")._("Scan the code with the camera of your phone.")
    words = arabic.rstrip(".")
    at = next(i for i, (_, text) in enumerate(drawn) if words in text)
    turkish = next(x for x, text in drawn if "Kodu telefonunun kamerasıyla tara." in text)
    assert drawn[at][0] > page.mediabox.width / 2 > turkish  # right-aligned vs left-aligned
    # The stop is drawn first, on the left: the text extractor reads the right-to-left run
    # back into the catalog's order (stop last), or keeps the stop as its own piece before.
    assert drawn[at][1].strip() == arabic or (
        drawn[at - 1][1].strip() == "." and drawn[at][1].strip() == words
    )
    assert all(not ("\u0600" <= ch <= "\u06ff") for x, text in drawn[: at - 1] for ch in text)


def _drawn(pdf: bytes) -> tuple[object, list[tuple[float, float, str]]]:
    """The page and its text pieces as drawn: (x, y, text) in points."""
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    drawn: list[tuple[float, float, str]] = []
    page.extract_text(
        visitor_text=lambda text, cm, tm, fd, fs: (
            drawn.append((tm[4], tm[5], text)) if text.strip() else None
        )
    )
    return page, drawn


def test_the_card_has_its_title_in_every_language_of_the_card() -> None:
    """Not only Dutch: each language block starts with "Street news of <street>" in that
    language (Arabic right-aligned, with the street name inside), under the street's name."""
    link = "https://t.me/buurt_test_bot?start=n-ABCD2345"
    pdf = invite_card.card_pdf(link=link, street="Zaagmolenstraat")
    page, drawn = _drawn(pdf)
    text = page.extract_text()
    assert drawn[0][2].strip() == "Zaagmolenstraat"  # the heading: the name, no language
    expected = {
        "nl": "Straatnieuws van Zaagmolenstraat",
        "en": "Street news of Zaagmolenstraat",
        "tr": "Zaagmolenstraat sokak haberleri",
        "pl": "Wiadomości z ulicy Zaagmolenstraat",
        "uk": "Новини вулиці Zaagmolenstraat",
    }
    assert set(expected) | {"ar"} == set(invite_card.CARD_LANGUAGES)
    for language, title in expected.items():
        assert title in text.splitlines(), (language, text)
    # Each title comes before its language's lines, in the order of the card.
    order = [text.index(expected[code]) for code in ("nl", "en", "tr", "pl", "uk")]
    assert order == sorted(order)
    assert text.index(expected["tr"]) < text.index("Kodu telefonunun kamerasıyla tara.")
    # Arabic: the words of the title, shaped text that extracts back to the catalog's words,
    # on one line with the (Latin) street name, drawn right-aligned; no direction marks left.
    arabic_words = translator("ar")._("Street news of {street}", street="@").split("@")
    arabic_words = [w.strip(" \u2066\u2067\u2068\u2069") for w in arabic_words if w.strip()]
    [line] = [r for r in text.splitlines() if arabic_words[0] in r and "Zaagmolenstraat" in r]
    assert "Zaagmolenstraat" in line
    assert not any(ch in line for ch in "\u2066\u2067\u2068\u2069")
    title_y = next(y for _, y, t in drawn if t.strip() == arabic_words[0])
    arabic_x = min(x for x, y, _ in drawn if y == title_y)  # where the line starts
    turkish_x = next(x for x, _, t in drawn if expected["tr"] in t)
    assert arabic_x > float(page.mediabox.width) / 3 > turkish_x


def test_a_long_street_name_still_fits_on_one_a5_card() -> None:
    link = "https://t.me/buurt_test_bot?start=n-ABCD2345"
    street = "Burgemeester Baumannlaan 100-250 en Mathenesserdijk oost"
    page, drawn = _drawn(invite_card.card_pdf(link=link, street=street))
    text = page.extract_text()
    assert "Scan the code with the camera of your phone." in text
    assert "Zeskanuj kod aparatem w telefonie." in text  # the last block is there
    lowest = min(y for _, y, _ in drawn)
    assert lowest > 12  # points above the bottom edge: nothing runs off the page


# --- subscribing and receiving news --------------------------------------------------------


async def test_street_news_reaches_one_neighbour_in_turkish_and_another_in_arabic(
    sessions, tg: FakeTelegram
) -> None:
    world = await make_world(sessions)
    code = await invite_code(sessions, world)
    await subscribe_through_invite(sessions, code, address=str(TURKISH_CHAT), language="tr")
    await subscribe_through_invite(sessions, code, address=str(ARABIC_CHAT), language="ar")
    stopped = await subscribe_through_invite(
        sessions, code, address=str(STOPPED_CHAT), language="pl"
    )
    await stopped.send("STOP")
    async with sessions() as session:
        subs = list(await session.scalars(select(StreetSubscription)))
        people = [await session.get(Person, s.person_id) for s in subs]
    assert len(subs) == 3
    assert all(p is not None and p.first_name is None for p in people)  # no name stored

    gm = await open_street_news(sessions)
    assert "2 buren krijgen het straatnieuws" in gm.text  # STOP is left out
    await gm.choose("Straatnieuws sturen")
    await gm.choose("Straatfeest")
    await gm.send("za 16 mei")
    await gm.send("15:00")
    await gm.send("bij nummer 12")
    assert "Straatfeest! Op zaterdag 16 mei 2026 vanaf 15:00 vieren we samen" in gm.text
    assert "Versturen naar 2 buren?" in gm.text
    await gm.press("yes")
    assert "Verstuurd! 2 buren krijgen het nieuws." in gm.text

    sender = TelegramSender(TOKEN, tg.api_base, rate=0, chat_interval=0)
    try:
        engine = DeliveryEngine(sessions, [sender], now=lambda: NOW + dt.timedelta(minutes=1))
        await engine.run_until_idle()
    finally:
        await sender.close()

    slots = {"date": "2026-05-16", "time": 900, "place": "bij nummer 12"}
    expected = {
        lang: street_news.render(
            translator(lang, ZONE),
            street="Zaagmolenstraat",
            template="party",
            slots=slots,
            free_text=None,
        )
        for lang in ("tr", "ar")
    }
    turkish = [m["text"] for m in tg.sent_messages(TURKISH_CHAT)]
    arabic = [m["text"] for m in tg.sent_messages(ARABIC_CHAT)]
    assert turkish == [expected["tr"]]
    assert arabic == [expected["ar"]]
    assert "Sokak şenliği!" in turkish[0] and "16 Mayıs 2026 Cumartesi" in turkish[0]
    assert "حفلة الشارع!" in arabic[0] and "bij nummer 12" in arabic[0]
    assert tg.sent_messages(STOPPED_CHAT) == []
    async with sessions() as session:
        news = await session.scalar(select(StreetNews))
        assert news is not None and news.recipients == 2 and news.template == "party"
        rows = list(await session.scalars(select(Delivery).order_by(Delivery.id)))
    assert [r.status.value for r in rows] == ["sent", "sent"]
    assert tg.violations == []


async def test_own_text_is_sent_as_written_and_marked_in_the_readers_language(sessions) -> None:
    world = await make_world(sessions)
    code = await invite_code(sessions, world)
    neighbour = await subscribe_through_invite(
        sessions, code, address="buur-ar", language="ar", channel=Channel.CONSOLE
    )
    gm = await open_street_news(sessions)
    await gm.choose("Straatnieuws sturen")
    await gm.choose("Eigen tekst")
    assert "niet vertaald" in gm.text
    await gm.send("Zaterdag koffie bij de bank! ☕")
    await gm.press("yes")
    assert "Verstuurd! 1 buur krijgt het nieuws." in gm.text

    # The terminal chat shows queued messages at the person's next turn.
    await neighbour.send("menu")
    ar = translator("ar")
    assert "Zaterdag koffie bij de bank! ☕" in neighbour.text
    assert ar._("Written by your gangmaker, not translated.") in neighbour.text
    assert ar._("News from your street {street}:", street="Zaagmolenstraat") in neighbour.text


async def test_a_neighbour_sends_a_tip_without_names_and_can_stop(sessions) -> None:
    world = await make_world(sessions)
    code = await invite_code(sessions, world)
    neighbour = await subscribe_through_invite(
        sessions, code, address="buur-nl", language="nl", channel=Channel.CONSOLE
    )
    await neighbour.send("menu")
    await neighbour.choose("Mijn straatnieuws")
    await neighbour.choose("Tip sturen")
    assert "Schrijf geen namen" in neighbour.text

    # Bad input: nothing is sent, the question stays.
    for text, answer in (
        ("   ", "Ik kreeg geen tekst."),
        ("x" * 5000, "Dat is een heel lang bericht"),
        ("baby", "Die tip is heel kort"),
        ("a" * 501, "Die tip is te lang. Gebruik hooguit 500 tekens."),
    ):
        await neighbour.send(text)
        assert answer in neighbour.text, neighbour.dump()
        assert (await neighbour.state()).step == "tip"
    assert await count(sessions, Delivery) == 0

    await neighbour.send("Een baby op nummer 12 🍼")
    assert "Dank je! Je tip is naar de gangmakers van je straat gestuurd." in neighbour.text
    async with sessions() as session:
        (row,) = list(await session.scalars(select(Delivery)))
        gm = await session.get(Person, row.person_id)
    assert gm is not None and gm.first_name == "Fatima"
    assert "Een baby op nummer 12 🍼" in (row.body or "")
    assert "Een tip van een buur in Zaagmolenstraat:" in (row.body or "")

    # The gangmaker reads it on their next turn.
    gm_chat = ChatHarness(sessions, address="gm")
    await gm_chat.send("menu")
    assert "Een baby op nummer 12 🍼" in gm_chat.text

    # Stop this street's news: the subscription is gone.
    await neighbour.send("menu")
    await neighbour.choose("Mijn straatnieuws")
    await neighbour.choose("Stoppen")
    await neighbour.press("yes")
    assert "Je krijgt geen straatnieuws meer van deze straat." in neighbour.text
    assert await count(sessions, StreetSubscription) == 0
    await neighbour.send("menu")
    await neighbour.choose("Mijn straatnieuws")
    assert "Je krijgt nog geen straatnieuws." in neighbour.text


async def test_at_most_five_tips_a_day(sessions) -> None:
    world = await make_world(sessions)
    code = await invite_code(sessions, world)
    await subscribe_through_invite(
        sessions, code, address="buur-nl", language="nl", channel=Channel.CONSOLE
    )
    async with transaction(sessions) as session:
        person = await session.scalar(
            select(Person).where(Person.language == "nl", Person.first_name.is_(None))
        )
        for n in range(5):
            await neighbours.send_tip(
                session, person=person, street_id=world.street_id, text=f"tip nummer {n}", now=NOW
            )
    async with transaction(sessions) as session:
        person = await session.get(Person, person.id)
        with pytest.raises(Exception) as refused:
            await neighbours.send_tip(
                session, person=person, street_id=world.street_id, text="nog een tip", now=NOW
            )
    assert getattr(refused.value, "key", None) == "neighbours.too_many_tips"
    assert await count(sessions, Delivery) == 5

    # The deliveries do not say who sent the tips: "tip:<token>:<gangmaker>".
    async with sessions() as session:
        gm = await session.scalar(select(Person).where(Person.first_name == "Fatima"))
        keys = list(await session.scalars(select(Delivery.key)))
        counts = list(await session.scalars(select(NeighbourTip.person_id)))
    assert len({k.split(":")[1] for k in keys}) == 5
    assert all(re.fullmatch(rf"tip:[0-9a-f]{{12}}:{gm.id}", k) for k in keys), keys
    assert all(str(person.id) not in k.split(":")[:2] for k in keys)
    assert counts == [person.id] * 5  # the limit is counted from these rows

    # A day later the limit starts again, and the retention job forgets the old counts.
    later = NOW + dt.timedelta(hours=25)
    async with transaction(sessions) as session:
        assert await retention.run_retention(session, now=later, remove_files=False)
        person = await session.get(Person, person.id)
        await neighbours.send_tip(
            session, person=person, street_id=world.street_id, text="weer een tip", now=later
        )
    assert await count(sessions, NeighbourTip) == 1

    # Forgetting the sender leaves no trace of who sent tips; the gangmakers keep the tips.
    async with transaction(sessions) as session:
        person = await session.get(Person, person.id)
        await privacy.forget_person(session, person, now=later)
    assert await count(sessions, NeighbourTip) == 0
    assert await count(sessions, Delivery) == 6


# --- bad input ----------------------------------------------------------------------------------


async def test_unknown_codes_and_the_gangmaker_code_subscribe_nobody(sessions) -> None:
    world = await make_world(sessions)
    await invite_code(sessions, world)
    async with sessions() as session:
        street = await session.get(Street, world.street_id)
        gangmaker_code = street.invite_code
    chat = ChatHarness(sessions, address="resident")  # consented already
    for payload in ("n-ZZZZZZZZ", f"n-{gangmaker_code}", "n-🙂"):
        await chat.send(f"/start {payload}")
        assert "Deze uitnodiging werkt niet (meer)." in chat.text, chat.dump()
        assert (await chat.state()).dialog == "menu"
    # A new person with a bad link still gets through first contact, then the explanation.
    new = ChatHarness(sessions, address="new-1")
    await new.send("/start n-AAAA")
    await new.press("nl")
    await new.press("yes")
    assert "Deze uitnodiging werkt niet (meer)." in new.text
    assert await count(sessions, StreetSubscription) == 0
    # The gangmaker invite code still makes nobody a neighbour, and a neighbour code makes
    # nobody a gangmaker.
    async with sessions() as session:
        resident = await session.scalar(select(Person).where(Person.first_name == "Noor"))
        assert resident is not None
        assert not await street_news.permissions.is_gangmaker_of(session, resident, world.street_id)


async def test_news_refuses_a_past_date_bad_times_and_no_subscribers(sessions) -> None:
    world = await make_world(sessions)
    gm = await open_street_news(sessions)
    await gm.choose("Straatnieuws sturen")
    assert "Nog geen enkele buur krijgt het straatnieuws. Nodig eerst je buren uit" in gm.text
    assert (await gm.state()).step == "what"

    code = await invite_code(sessions, world)
    await subscribe_through_invite(
        sessions, code, address="buur-tr", language="tr", channel=Channel.CONSOLE
    )
    await gm.send("menu")
    await gm.choose("Straatnieuws")
    await gm.choose("Straatnieuws sturen")
    await gm.choose("Opruimdag")
    for text, answer in (
        ("1-5-2026", "Die datum is al voorbij"),  # today is 12 May 2026
        ("gisteren", "Die datum is al voorbij"),
        ("32-13", "Die datum bestaat niet"),
        ("🎉", "Ik snap die datum niet."),
        ("1 mei 2028", "Die datum is te ver weg."),
    ):
        await gm.send(text)
        assert answer in gm.text, gm.dump()
        assert (await gm.state()).step == "date"
    await gm.send("morgen")
    await gm.send("25:99")
    assert (await gm.state()).step == "time"
    await gm.send("10 uur")
    await gm.send("x" * 81)
    assert "Die plek is te lang" in gm.text
    assert (await gm.state()).step == "place"
    await gm.send("het pleintje")
    assert "Opruimdag: op woensdag 13 mei 2026 om 10:00" in gm.text
    await gm.press("no")
    assert "Oké, er is niets verstuurd." in gm.text
    assert await count(sessions, StreetNews) == 0
    assert await count(sessions, Delivery) == 0


async def test_only_gangmakers_send_news_and_three_a_day(sessions) -> None:
    world = await make_world(sessions)
    code = await invite_code(sessions, world)
    await subscribe_through_invite(
        sessions, code, address="buur-uk", language="uk", channel=Channel.CONSOLE
    )
    slots = {"date": "2026-05-20"}
    async with transaction(sessions) as session:
        street = await session.get(Street, world.street_id)
        resident = await session.scalar(select(Person).where(Person.first_name == "Noor"))
        with pytest.raises(Exception) as refused:
            await street_news.send_news(
                session,
                actor=resident,
                street=street,
                template="weather",
                slots=slots,
                today=NOW.date(),
                now=NOW,
            )
        assert getattr(refused.value, "key", None) == "perm.not_your_street"
        gm = await session.scalar(select(Person).where(Person.first_name == "Fatima"))
        for _ in range(3):
            await street_news.send_news(
                session,
                actor=gm,
                street=street,
                template="weather",
                slots=slots,
                today=NOW.date(),
                now=NOW,
            )
        with pytest.raises(Exception) as refused:
            await street_news.send_news(
                session,
                actor=gm,
                street=street,
                free_text="Nog eentje",
                today=NOW.date(),
                now=NOW,
            )
        assert getattr(refused.value, "key", None) == "street_news.too_many"
    assert await count(sessions, StreetNews) == 3
    async with sessions() as session:
        bodies = list(await session.scalars(select(Delivery.body)))
    uk = translator("uk", ZONE)
    assert len(bodies) == 3
    assert all(
        uk._("News from your street {street}:", street="Zaagmolenstraat") in b for b in bodies
    )


def test_every_template_renders_in_every_language() -> None:
    from bot.i18n import shipped_languages

    slots = {"date": "2026-06-13", "time": 14 * 60 + 30, "place": "Plein 1"}
    for language in shipped_languages():
        t = translator(language, ZONE)
        for key, template in street_news.TEMPLATES.items():
            text = street_news.render(
                t,
                street="Zaagmolenstraat",
                template=key,
                slots={s: slots[s] for s in template.slots},
                free_text=None,
            )
            assert "{" not in text and "Zaagmolenstraat" in text
            if language != "en":
                assert t.tr(template.text, date="", time="", place="") != template.text.msgid
