"""Sign up a street, see my streets, share the invite code and join a street with a code."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from bot.db import transaction
from bot.models import Area, Organisation, Person, Street, StreetMembership, StreetStatus
from tests import factories
from tests.chat import ChatHarness, make_world

ROTTERDAM_AREAS = (
    "Centrum", "Charlois", "Feijenoord", "Hillegersberg-Schiebroek", "Hoek van Holland",
    "Hoogvliet", "IJsselmonde", "Kralingen-Crooswijk", "Noord", "Overschie", "Pernis",
    "Prins Alexander", "Rozenburg",
)  # fmt: skip  # plus Delfshaven from make_world: 14

ASK_NAME = (
    "Hoe heet de straat die je wilt aanmelden?\n"
    "Heb je een code van een buur gekregen? Kies dan: Ik heb een code."
)
ASK_SECTION = (
    "Meld je de hele straat aan, of een deel?\nVoor een deel: typ de huisnummers, zoals 1-47."
)
ASK_HOUSEHOLDS = "Hoeveel huishoudens wonen er ongeveer? Een schatting is goed, zoals 40."
ASK_LIEFLEED = (
    "Wil je straat ook meedoen met Lief & Leed?\n"
    "Dan krijg je €\xa0150,00 per jaar voor kleine attenties voor buren. "
    "Bijvoorbeeld bloemen, een kaartje of een bezoek."
)
ASK_CODE = "Typ de code van de straat. Een gangmaker van die straat kan je de code geven."


async def counts(sessions) -> tuple[int, int]:
    """(streets, memberships) in the database."""
    async with sessions() as s:
        streets = await s.scalar(select(func.count()).select_from(Street))
        members = await s.scalar(select(func.count()).select_from(StreetMembership))
        return streets, members


async def street_named(sessions, name: str) -> Street | None:
    async with sessions() as s:
        return await s.scalar(select(Street).where(Street.name == name))


async def gangmaker_ids(sessions, street_id: int) -> set[int]:
    async with sessions() as s:
        rows = await s.scalars(
            select(StreetMembership.person_id).where(
                StreetMembership.street_id == street_id, StreetMembership.is_gangmaker.is_(True)
            )
        )
        return set(rows)


async def add_areas(sessions, world) -> None:
    async with transaction(sessions) as s:
        org = await s.get(Organisation, world.org_id)
        for name in ROTTERDAM_AREAS:
            await factories.area(s, org, name)


async def invite_code(sessions, street_id: int) -> str:
    async with sessions() as s:
        return (await s.get(Street, street_id)).invite_code


async def at_step(chat: ChatHarness, dialog: str, step: str) -> None:
    state = await chat.state()
    assert (state.dialog, state.step) == (dialog, step), chat.dump()


async def start_signup(sessions, address: str = "resident") -> ChatHarness:
    chat = ChatHarness(sessions, address=address)
    await chat.send("menu")
    await chat.choose("Straat aanmelden")
    assert chat.last_text == ASK_NAME
    assert chat.options == ["Ik heb een code"]
    return chat


# --- sign up a new street --------------------------------------------------------------------


async def test_sign_up_a_new_street_ends_pending_with_an_invite_code(sessions) -> None:
    world = await make_world(sessions)
    before = await counts(sessions)
    chat = await start_signup(sessions)

    # Bad names: the dialog stays at the name step and nothing is stored.
    await chat.send_photo()
    assert chat.text == "Ik kan hier alleen tekst lezen. Typ je antwoord.\n\n" + ASK_NAME
    await chat.send("🏠🏡🌳")
    assert chat.text == "Typ de naam van de straat in letters."
    await chat.send("Zaagmolenstraat" * 334)  # about 5,000 characters
    assert chat.text.startswith("Dat is een heel lang bericht. Houd het kort: hooguit 1000 tekens.")
    assert chat.text.endswith(ASK_NAME)
    await chat.send("Lange" * 20)  # 100 characters
    assert chat.replies[0].text == "Die naam is te lang. Gebruik hooguit 80 tekens."
    assert chat.last_text == ASK_NAME
    await at_step(chat, "signup", "name")

    await chat.send("  Snellemanstraat ")
    assert chat.last_text == ASK_SECTION
    assert chat.options == ["Hele straat"]
    await chat.send("2-30 even")
    # One area in this organisation: no question about it.
    assert chat.last_text == ASK_HOUSEHOLDS

    # Households: words, zero and far too many are refused kindly.
    await chat.send("veel")
    assert chat.text == "Typ een getal, zoals 20."
    await chat.send("twintig")
    assert chat.text == "Typ het getal in cijfers, zoals 20."
    await chat.send("0")
    assert chat.text == "Typ een aantal huishoudens van 1 tot en met 2000."
    await chat.send("99999")
    assert chat.text == "Typ een aantal huishoudens van 1 tot en met 2000."
    await at_step(chat, "signup", "households")
    assert await counts(sessions) == before

    await chat.send("ongeveer 40")
    assert chat.last_text == ASK_LIEFLEED
    assert chat.options == ["Ja", "Nee"]
    await chat.send("ja")
    assert chat.last_text == (
        "Kijk je aanmelding even na:\n"
        "• Straat: Snellemanstraat\n"
        "• Huisnummers: 2-30 even\n"
        "• Gebied: Delfshaven\n"
        "• Huishoudens: ongeveer 40\n"
        "• Lief & Leed: ja\n\n"
        "Klopt dit? Dan stuur ik het naar een projectleider."
    )
    assert chat.options == ["Ja, aanmelden", "Iets veranderen", "Nee"]
    assert await counts(sessions) == before  # nothing stored before the yes

    await chat.choose("Ja, aanmelden")
    street = await street_named(sessions, "Snellemanstraat")
    assert street is not None
    assert chat.replies[0].text == (
        "Dank je! We hebben de aanmelding van Snellemanstraat 2-30 even ontvangen."
    )
    assert chat.replies[1].text == (
        "Een projectleider kijkt er snel naar.\n"
        f"Willen buren helpen als gangmaker? Geef ze deze code: {street.invite_code}"
    )
    assert re.fullmatch(r"[2-9A-Z]{6}", street.invite_code)
    # Back at the menu, now as gangmaker of a pending street.
    assert chat.last_text == "Wat wil je doen?"
    assert "Mijn straat" in chat.options and "Straat aanmelden" not in chat.options

    me = await chat.person()
    assert street.status == StreetStatus.PENDING
    assert (street.section, street.households, street.theme_liefleed) == ("2-30 even", 40, True)
    assert (street.area_id, street.signed_up_by_id) == (world.area_id, me.id)
    assert await gangmaker_ids(sessions, street.id) == {me.id}
    assert await counts(sessions) == (before[0] + 1, before[1] + 1)


async def test_house_numbers_typed_with_the_name_and_changing_an_answer(sessions) -> None:
    await make_world(sessions)
    chat = await start_signup(sessions)
    await chat.send("Bellevoystraat 1 t/m 47")
    assert chat.last_text == ASK_HOUSEHOLDS  # the numbers were the part of the street
    await chat.send("±25 huishoudens")
    await chat.send("nee")
    assert "• Straat: Bellevoystraat\n• Huisnummers: 1 t/m 47\n" in chat.last_text
    assert "• Huishoudens: ongeveer 25\n• Lief & Leed: nee" in chat.last_text

    await chat.choose("Iets veranderen")
    assert chat.options == [
        "Straatnaam", "Huisnummers", "Huishoudens", "Lief & Leed", "Niets, ga verder",
    ]  # fmt: skip
    await chat.choose("Huisnummers")
    assert chat.last_text == ASK_SECTION
    await chat.send("1")  # the number of "Hele straat"
    assert "• Huisnummers: de hele straat\n" in chat.last_text  # straight back to the summary
    await chat.choose("Iets veranderen")
    await chat.choose("Straatnaam")
    assert chat.last_text == "Hoe heet de straat die je wilt aanmelden?"
    assert chat.options == []
    await chat.send("Bellevoy straat")
    assert "• Straat: Bellevoy straat\n• Huisnummers: de hele straat\n" in chat.last_text
    await chat.choose("Iets veranderen")
    await chat.choose("Straatnaam")
    await chat.send("Bellevoystraat")
    await chat.choose("Iets veranderen")
    await chat.choose("Huishoudens")
    await chat.send("30")
    assert "• Huishoudens: ongeveer 30\n" in chat.last_text
    await chat.choose("Iets veranderen")
    await chat.choose("Niets")
    await chat.send("ja")

    street = await street_named(sessions, "Bellevoystraat")
    assert (street.section, street.households, street.theme_liefleed) == (None, 30, False)
    assert street.status == StreetStatus.PENDING


async def test_saying_no_at_the_summary_stores_nothing(sessions) -> None:
    await make_world(sessions)
    before = await counts(sessions)
    chat = await start_signup(sessions)
    await chat.send("Snellemanstraat")
    await chat.choose("Hele straat")
    await chat.send("12")
    await chat.send("ja")
    await chat.choose("Nee")
    assert chat.replies[0].text == "Oké. Er is niets aangemeld."
    assert chat.last_text == "Wat wil je doen?"
    assert await counts(sessions) == before


async def test_cancel_mid_way_leaves_nothing_in_the_database(sessions) -> None:
    await make_world(sessions)
    before = await counts(sessions)
    chat = await start_signup(sessions)
    await chat.send("Snellemanstraat")
    await chat.send("hulp")
    assert chat.text.startswith("Typ de huisnummers van jouw deel van de straat")
    assert chat.text.endswith(ASK_SECTION)
    await chat.send("3-9")
    await chat.send("8")
    await at_step(chat, "signup", "liefleed")
    await chat.send("annuleer")
    assert chat.replies[0].text == "Oké, we zijn gestopt."
    assert chat.last_text == "Wat wil je doen?"
    assert "Straat aanmelden" in chat.options
    await at_step(chat, "menu", "choose")
    assert await counts(sessions) == before
    assert await street_named(sessions, "Snellemanstraat") is None


async def test_a_new_resident_can_sign_up_first_thing(sessions) -> None:
    await make_world(sessions)
    chat = ChatHarness(sessions, address="brand-new")
    await chat.send("hoi")
    await chat.choose("Nederlands")
    await chat.choose("Ja")
    assert chat.last_text == "Wat wil je doen?"
    assert chat.options[0] == "Straat aanmelden"
    await chat.send("1")
    assert chat.last_text == ASK_NAME
    await chat.send("Heemraadsplein")
    await chat.choose("Hele straat")
    await chat.send("60")
    await chat.send("nee")
    await chat.send("ja")
    assert chat.replies[0].text == "Dank je! We hebben de aanmelding van Heemraadsplein ontvangen."
    street = await street_named(sessions, "Heemraadsplein")
    assert await gangmaker_ids(sessions, street.id) == {(await chat.person()).id}


# --- the street exists already -----------------------------------------------------------------


async def test_duplicate_sign_up_is_offered_as_join_and_joining_works(sessions) -> None:
    world = await make_world(sessions)  # the active Zaagmolenstraat of "gm"
    before = await counts(sessions)
    chat = await start_signup(sessions)
    await chat.send("zaagmolen str.")  # spelled differently, the same street
    await chat.choose("Hele straat")
    await chat.send("40")
    await chat.send("ja")
    await chat.choose("Ja, aanmelden")
    assert chat.last_text == (
        "Zaagmolenstraat is al aangemeld door een buur.\n"
        "Wil je meedoen als gangmaker? Dan doe je het samen."
    )
    assert chat.options == ["Ja, meedoen", "Nee, bedankt"]
    assert await counts(sessions) == before

    await chat.choose("Ja, meedoen")
    assert chat.replies[0].text == "Welkom! Je bent nu gangmaker van Zaagmolenstraat."
    assert chat.last_text == "Wat wil je doen?"
    assert "Mijn straat" in chat.options
    me = await chat.person()
    gm = await ChatHarness(sessions, address="gm").person()
    assert await gangmaker_ids(sessions, world.street_id) == {gm.id, me.id}
    assert await counts(sessions) == (before[0], before[1] + 1)  # no second street


async def test_duplicate_sign_up_declined_changes_nothing(sessions) -> None:
    await make_world(sessions)
    before = await counts(sessions)
    chat = await start_signup(sessions)
    await chat.send("Zaagmolenstraat")
    await chat.choose("Hele straat")
    await chat.send("40")
    await chat.send("nee")
    await chat.send("ja")
    await chat.choose("Nee, bedankt")
    assert chat.replies[0].text == "Oké. Er is niets veranderd."
    assert chat.last_text == "Wat wil je doen?"
    assert await counts(sessions) == before


async def test_signing_up_your_own_street_again(sessions) -> None:
    await make_world(sessions)
    before = await counts(sessions)
    chat = ChatHarness(sessions, address="gm")
    await chat.send("menu")
    await chat.choose("Mijn straat")
    await chat.choose("Straat aanmelden")
    assert chat.options == ["Ik heb een code", "Mijn straten"]
    await chat.send("Zaagmolenstraat")
    await chat.choose("Hele straat")
    await chat.send("40")
    await chat.send("ja")
    await chat.send("ja")
    assert chat.replies[0].text == "Je bent al gangmaker van Zaagmolenstraat."
    assert chat.last_text == "Wat wil je doen?"
    assert await counts(sessions) == before


async def test_a_rejected_street_signed_up_again_is_reopened(sessions) -> None:
    world = await make_world(sessions)
    async with transaction(sessions) as s:
        org, area = await s.get(Organisation, world.org_id), await s.get(Area, world.area_id)
        old = await factories.street(s, org, area, "Mathenesserweg", status=StreetStatus.REJECTED)
    chat = await start_signup(sessions)
    await chat.send("Mathenesserweg")
    await chat.choose("Hele straat")
    await chat.send("100")
    await chat.send("nee")
    await chat.send("ja")
    assert chat.replies[0].text == "Dank je! Mathenesserweg is opnieuw aangemeld."
    async with sessions() as s:
        street = await s.get(Street, old.id)
        assert (street.status, street.households) == (StreetStatus.PENDING, 100)


# --- areas: a paged list ---------------------------------------------------------------------


async def test_area_paging_by_number_and_by_label(sessions) -> None:
    world = await make_world(sessions)
    await add_areas(sessions, world)
    chat = await start_signup(sessions)
    await chat.send("Snellemanstraat")
    await chat.choose("Hele straat")
    assert chat.last_text == "In welk gebied ligt de straat?"
    first_page = [
        "Centrum", "Charlois", "Delfshaven", "Feijenoord", "Hillegersberg-Schiebroek",
        "Hoek van Holland", "Hoogvliet", "IJsselmonde", "Kralingen-Crooswijk", "Meer gebieden",
    ]  # fmt: skip
    assert chat.options == first_page

    await chat.send("10")  # "Meer gebieden" by number
    assert chat.last_text == "In welk gebied ligt de straat?"
    assert chat.options == [
        "Noord", "Overschie", "Pernis", "Prins Alexander", "Rozenburg", "Terug naar begin",
    ]  # fmt: skip
    await chat.choose("Terug naar begin")
    assert chat.options == first_page
    await chat.choose("Meer gebieden")

    await chat.send("12")  # no such option
    assert chat.replies[0].text == "Kies een van de mogelijkheden. Je kunt ook het nummer typen."
    assert chat.options[0] == "Noord"  # still the second page
    await chat.send("Atlantis")
    assert chat.replies[0].text == "Dat gebied ken ik niet. Kies er een uit de lijst."
    await chat.send("🏙️")
    assert chat.replies[0].text == "Dat gebied ken ik niet. Kies er een uit de lijst."
    await at_step(chat, "signup", "area")

    await chat.send("rozenburg")  # by label
    assert chat.last_text == ASK_HOUSEHOLDS
    await chat.send("30")
    await chat.send("nee")
    assert "• Gebied: Rozenburg\n" in chat.last_text

    # Changing the area: a label from the other page works too.
    await chat.choose("Iets veranderen")
    assert "Gebied" in chat.options
    await chat.choose("Gebied")
    assert chat.options == first_page
    await chat.send("Pernis")
    assert "• Gebied: Pernis\n" in chat.last_text
    await chat.choose("Iets veranderen")
    await chat.choose("Gebied")
    await chat.send("3")  # Delfshaven by number
    assert "• Gebied: Delfshaven\n" in chat.last_text
    await chat.send("ja")
    street = await street_named(sessions, "Snellemanstraat")
    assert street.area_id == world.area_id


# --- my streets ------------------------------------------------------------------------------


async def test_my_street_shows_status_and_shares_the_code(sessions) -> None:
    world = await make_world(sessions)
    code = await invite_code(sessions, world.street_id)
    chat = ChatHarness(sessions, address="gm")
    await chat.send("menu")
    await chat.choose("Mijn straat")
    assert chat.last_text == (
        "Zaagmolenstraat\n"
        "Status: Actief.\n"
        "Gebied: Delfshaven\n"
        "Huishoudens: ongeveer 40\n"
        "Lief & Leed: ja\n"
        "1 gangmaker\n"
        f"Code voor buren: {code}"
    )
    assert chat.options == [
        "Code delen", "Meedoen met code", "Straat aanmelden", "Terug naar het menu",
    ]  # fmt: skip
    await chat.choose("Code delen")
    assert chat.replies[0].text == "Stuur het volgende bericht door naar buren die willen helpen:"
    assert chat.replies[1].text == (
        "Doe mee met onze straat Zaagmolenstraat in de gangmaker-chat! "
        f"Kies 'Straat aanmelden' en dan 'Ik heb een code'. Typ daarna de code {code}."
    )
    assert chat.last_text == "Wat wil je nog meer doen?"
    assert chat.options[0] == "Code delen"
    await chat.choose("Terug naar het menu")
    assert chat.last_text == "Wat wil je doen?"


async def test_several_streets_with_their_status(sessions) -> None:
    world = await make_world(sessions)
    async with transaction(sessions) as s:
        org, area = await s.get(Organisation, world.org_id), await s.get(Area, world.area_id)
        gm = await s.scalar(select(Person).where(Person.first_name == "Fatima"))
        await factories.street(
            s, org, area, "Bellevoystraat", status=StreetStatus.PENDING, gangmakers=(gm,)
        )
        rejected = await factories.street(
            s, org, area, "Doelwater", status=StreetStatus.REJECTED, gangmakers=(gm,)
        )
        rejected.review_reason = "Deze straat ligt in Centrum."
        await factories.street(
            s, org, area, "Havenstraat", status=StreetStatus.INACTIVE, gangmakers=(gm,)
        )
    chat = ChatHarness(sessions, address="gm")
    await chat.send("menu")
    await chat.choose("Mijn straat")
    assert chat.last_text == (
        "Je straten:\n"
        "• Bellevoystraat: Wacht nog op een projectleider.\n"
        "• Doelwater: Niet goedgekeurd. Reden: Deze straat ligt in Centrum.\n"
        "• Havenstraat: Gestopt. Meld de straat opnieuw aan om weer te beginnen.\n"
        "• Zaagmolenstraat: Actief.\n\n"
        "Kies een straat om meer te zien of om de code te delen."
    )
    assert chat.options == [
        "Bellevoystraat", "Doelwater", "Havenstraat", "Zaagmolenstraat",
        "Meedoen met code", "Straat aanmelden", "Terug naar het menu",
    ]  # fmt: skip
    await chat.choose("Doelwater")
    assert chat.last_text.startswith(
        "Doelwater\nStatus: Niet goedgekeurd. Reden: Deze straat ligt in Centrum.\n"
    )
    assert "Code voor buren" not in chat.last_text  # a rejected street cannot be joined
    assert chat.options == [
        "Andere straten", "Meedoen met code", "Straat aanmelden", "Terug naar het menu",
    ]  # fmt: skip
    await chat.choose("Andere straten")
    await chat.send("1")
    assert chat.last_text.startswith("Bellevoystraat\nStatus: Wacht nog op een projectleider.\n")
    assert chat.options[0] == "Code delen"


async def test_only_a_rejected_street_can_still_be_seen_from_the_sign_up(sessions) -> None:
    world = await make_world(sessions)
    async with transaction(sessions) as s:
        org, area = await s.get(Organisation, world.org_id), await s.get(Area, world.area_id)
        noor = await s.scalar(select(Person).where(Person.first_name == "Noor"))
        rejected = await factories.street(
            s, org, area, "Doelwater", status=StreetStatus.REJECTED, gangmakers=(noor,)
        )
        rejected.review_reason = "Dubbel aangemeld."
    chat = ChatHarness(sessions, address="resident")
    await chat.send("menu")
    assert "Mijn straat" not in chat.options  # a rejected street makes no gangmaker
    await chat.choose("Straat aanmelden")
    assert chat.options == ["Ik heb een code", "Mijn straten"]
    await chat.choose("Mijn straten")
    assert chat.last_text.startswith(
        "Doelwater\nStatus: Niet goedgekeurd. Reden: Dubbel aangemeld.\n"
    )


# --- join with a code ------------------------------------------------------------------------


async def test_join_with_a_code_typed_loosely(sessions) -> None:
    world = await make_world(sessions)
    code = await invite_code(sessions, world.street_id)
    before = await counts(sessions)
    chat = await start_signup(sessions)
    await chat.choose("Ik heb een code")
    assert chat.last_text == ASK_CODE
    assert chat.options == ["Terug"]

    await chat.send("ZZZZZZ")
    assert chat.text == "Die code ken ik niet. Kijk hem na en probeer het nog eens."
    await chat.send("🔑")
    assert chat.text == "Die code ken ik niet. Kijk hem na en probeer het nog eens."
    await chat.send_photo()
    assert chat.text.startswith("Ik kan hier alleen tekst lezen. Typ je antwoord.")
    await chat.send("x" * 5000)
    assert chat.text.startswith("Dat is een heel lang bericht.")
    await at_step(chat, "streets", "code")
    assert await counts(sessions) == before

    loose = " ".join([code[:3].lower(), code[3:].lower()])  # "k7m x3p"
    await chat.send(f" code: {loose} ")
    assert chat.replies[0].text == "Welkom! Je bent nu gangmaker van Zaagmolenstraat."
    assert chat.last_text == "Wat wil je doen?"
    me = await chat.person()
    assert me.id in await gangmaker_ids(sessions, world.street_id)
    assert await counts(sessions) == (before[0], before[1] + 1)

    # The same code again: already a member, said kindly, nothing changes.
    await chat.choose("Mijn straat")
    await chat.choose("Meedoen met code")
    await chat.send(code.lower())
    assert chat.text == "Je bent al gangmaker van Zaagmolenstraat."
    await at_step(chat, "streets", "code")
    assert await counts(sessions) == (before[0], before[1] + 1)
    await chat.choose("Terug")
    assert chat.last_text.startswith("Zaagmolenstraat\nStatus: Actief.\n")


async def test_join_a_pending_street_and_not_a_rejected_one(sessions) -> None:
    world = await make_world(sessions)
    async with transaction(sessions) as s:
        org, area = await s.get(Organisation, world.org_id), await s.get(Area, world.area_id)
        pending = await factories.street(
            s, org, area, "Bellevoystraat", status=StreetStatus.PENDING
        )
        rejected = await factories.street(s, org, area, "Doelwater", status=StreetStatus.REJECTED)
    chat = await start_signup(sessions)
    await chat.choose("Ik heb een code")
    await chat.send(rejected.invite_code)
    assert chat.text == "Je kunt nu niet meedoen met Doelwater. De straat is niet goedgekeurd."
    assert await gangmaker_ids(sessions, rejected.id) == set()
    await chat.send(pending.invite_code)
    assert chat.replies[0].text == (
        "Welkom! Je bent nu gangmaker van Bellevoystraat.\n"
        "Een projectleider moet deze straat nog bekijken."
    )
    assert await gangmaker_ids(sessions, pending.id) == {(await chat.person()).id}


async def test_without_a_street_you_choose_sign_up_or_code(sessions) -> None:
    await make_world(sessions)
    chat = await start_signup(sessions)
    await chat.choose("Ik heb een code")
    await chat.choose("Terug")
    assert chat.last_text == (
        "Je hebt nog geen straat.\n"
        "Meld je straat aan. Of doe mee met een straat met een code van een buur."
    )
    assert chat.options == ["Meedoen met code", "Straat aanmelden", "Terug naar het menu"]
    await chat.choose("Straat aanmelden")
    assert chat.last_text == ASK_NAME
    await chat.choose("Ik heb een code")
    await chat.choose("Terug")
    await chat.choose("Terug naar het menu")
    assert chat.last_text == "Wat wil je doen?"


# --- English ---------------------------------------------------------------------------------


async def test_the_same_flow_in_english(sessions) -> None:
    world = await make_world(sessions)
    await add_areas(sessions, world)
    chat = ChatHarness(sessions, address="resident")
    await chat.send("language")
    await chat.choose("English")
    await chat.choose("Sign up a street")
    assert chat.last_text == (
        "What is the name of the street you want to sign up?\n"
        "Did a neighbour give you a code? Then choose: I have a code."
    )
    await chat.send("🏠")
    assert chat.text == "Please type the name of the street in letters."
    await chat.send("Snellemanstraat")
    assert chat.last_text == (
        "Do you sign up the whole street, or a part of it?\n"
        "For a part, type the house numbers, like 1-47."
    )
    await chat.choose("Whole street")
    assert chat.last_text == "In which area is the street?"
    assert chat.options[-1] == "More areas"
    await chat.choose("More areas")
    assert chat.options[-1] == "Back to the start"
    await chat.choose("Noord")
    assert chat.last_text == "About how many households live there? A guess is fine, like 40."
    await chat.send("lots")
    assert chat.text == "Please type a number, like 20."
    await chat.send("0")
    assert chat.text == "Type a number of households from 1 to 2000."
    await chat.send("about 35")
    assert chat.last_text == (
        "Does your street also want to join Lief & Leed?\n"
        "Then you get €150.00 a year for small attentions for neighbours. "
        "For example flowers, a card or a visit."
    )
    await chat.send("yes")
    assert chat.last_text == (
        "Please check your sign-up:\n"
        "• Street: Snellemanstraat\n"
        "• House numbers: the whole street\n"
        "• Area: Noord\n"
        "• Households: about 35\n"
        "• Lief & Leed: yes\n\n"
        "Is this right? Then I send it to a project leader."
    )
    assert chat.options == ["Yes, sign up", "Change something", "No"]
    await chat.choose("Yes, sign up")
    street = await street_named(sessions, "Snellemanstraat")
    assert chat.replies[0].text == "Thank you! We got the sign-up of Snellemanstraat."
    assert chat.replies[1].text == (
        "A project leader will check it soon.\n"
        f"Do neighbours want to help as gangmaker? Give them this code: {street.invite_code}"
    )
    assert street.status == StreetStatus.PENDING

    await chat.choose("My street")
    assert chat.last_text.startswith(
        "Snellemanstraat\nStatus: Waiting for a project leader to check it.\nArea: Noord\n"
    )
    await chat.choose("Share the code")
    assert chat.replies[1].text == (
        "Join our street Snellemanstraat on the gangmaker chat! Choose 'Sign up a street', "
        f"then 'I have a code', and type the code {street.invite_code}."
    )
    await chat.choose("Join with a code")
    assert chat.last_text == (
        "Type the code of the street. A gangmaker of that street can give it to you."
    )
    await chat.send("nope12")
    assert chat.text == "I do not know that code. Please check it and try again."
    await chat.send(street.invite_code)
    assert chat.text == "You are already a gangmaker of Snellemanstraat."
