"""Payout points cash a gangmaker's code once; unknown codes and other people are refused
kindly and nothing changes."""

from __future__ import annotations

from sqlalchemy import select

from bot.db import transaction
from bot.models import (
    AuditEntry,
    BudgetRequest,
    Organisation,
    PayoutPoint,
    RequestStatus,
    Role,
)
from bot.services import budget
from tests import factories
from tests.chat import ChatHarness
from tests.factories import NOW
from tests.test_dialog_leader import person_at, setup

NBSP = "\u00a0"


async def approved(sessions, amount: int = 17500):
    st = await setup(sessions, amount=amount)
    async with transaction(sessions) as s:
        admin = await person_at(s, "admin")
        request = await budget.review_request(
            s, actor=admin, request_id=st.request_id, decision="approve", now=NOW
        )
        return st, request.payout_code


async def request_row(sessions, request_id: int) -> BudgetRequest:
    async with sessions() as s:
        return await s.get(BudgetRequest, request_id)


async def at_code(sessions, address: str = "payout") -> ChatHarness:
    chat = ChatHarness(sessions, address=address)
    await chat.send("menu")
    await chat.choose("Code uitbetalen")
    return chat


async def test_a_code_is_cashed_once(sessions) -> None:
    st, code = await approved(sessions)
    chat = await at_code(sessions)
    assert chat.last_text == "Typ de code van de gangmaker. Die staat in een bericht van ons."
    assert chat.options == ["Terug naar het menu"]

    loose = f" {code[:4].lower()}-{code[4:].lower()} "  # as people type it
    await chat.send(loose)
    assert chat.last_text == (
        f"Code: {code}\n"
        "Straat: Zaagmolenstraat (Delfshaven)\n"
        f"Bedrag: €{NBSP}175,00\n"
        "Status: goedgekeurd\n"
        "\n"
        f"€{NBSP}175,00 aan de gangmaker geven?"
    )
    assert chat.options == ["Ja, uitbetaald", "Andere code", "Terug naar het menu"]
    assert (await request_row(sessions, st.request_id)).paid_at is None

    await chat.choose("Ja, uitbetaald")
    assert chat.replies[0].text == f"Betaald. Geef €{NBSP}175,00 aan de gangmaker."
    assert chat.last_text.startswith("Typ de code van de gangmaker.")  # ready for the next one
    request = await request_row(sessions, st.request_id)
    assert request.status == RequestStatus.PAID
    assert request.paid_at == NOW
    async with sessions() as s:
        point = await s.scalar(select(PayoutPoint))
        assert request.paid_at_point_id == point.id
        audit = await s.scalar(select(AuditEntry).where(AuditEntry.action == "payout.redeemed"))
        assert audit.object_id == st.request_id

    chat.clock.advance(hours=2)
    await chat.send(code)
    assert chat.last_text == (
        f"Code: {code}\n"
        "Straat: Zaagmolenstraat (Delfshaven)\n"
        f"Bedrag: €{NBSP}175,00\n"
        "Status: uitbetaald\n"
        "\n"
        "Al betaald op 12 mei 2026. Betaal niet nog een keer."
    )
    assert chat.options == ["Andere code", "Terug naar het menu"]
    await chat.choose("Terug naar het menu")
    assert (await chat.state()).dialog == "menu"
    assert (await request_row(sessions, st.request_id)).paid_at == NOW


async def test_two_desks_at_once_pay_only_once(sessions) -> None:
    _st, code = await approved(sessions)
    chat = await at_code(sessions)
    await chat.send(code)
    async with transaction(sessions) as s:  # the admin was a moment quicker
        admin = await person_at(s, "admin")
        await budget.redeem_payout(s, actor=admin, code=code, now=NOW)
    await chat.choose("Ja, uitbetaald")
    assert chat.text.startswith("Deze code is al gebruikt op 12 mei 2026.")
    assert (await chat.state()).step == "check"


async def test_unknown_code_and_other_input_are_answered_kindly(sessions) -> None:
    st, _code = await approved(sessions)
    chat = await at_code(sessions)
    for typed in ("ABCDEFGH", "🙂", "x" * 900, st.reference):
        await chat.send(typed)
        assert chat.text == "Die code ken ik niet. Kijk hem na en probeer het nog eens.", typed
        assert (await chat.state()).step == "code"
    await chat.send("x" * 5000)
    assert chat.text.startswith("Dat is een heel lang bericht.")
    await chat.send_photo()
    assert chat.text.startswith("Ik kan hier alleen tekst lezen.")
    await chat.send("help")
    assert chat.text.startswith("Typ de code van 8 letters en cijfers, zoals K7M2QX8A.")
    assert (await request_row(sessions, st.request_id)).paid_at is None
    await chat.choose("Terug naar het menu")
    assert (await chat.state()).dialog == "menu"


async def test_a_gangmaker_cannot_cash_a_code(sessions) -> None:
    st, _code = await approved(sessions)
    payout = ChatHarness(sessions, address="payout")
    await payout.send("menu")
    number = str(payout.options.index("Code uitbetalen") + 1)

    chat = ChatHarness(sessions, address="gm")
    await chat.send("menu")
    assert "Code uitbetalen" not in chat.options
    await chat.press("redeem")
    assert chat.text.startswith("Die keuze kan niet meer.")
    assert (await chat.state()).dialog == "menu"
    await chat.send(number)  # the payout point's menu number: some other, harmless entry
    assert (await chat.state()).dialog != "redeem"
    assert (await request_row(sessions, st.request_id)).paid_at is None


async def test_several_payout_points_choose_first(sessions) -> None:
    st, code = await approved(sessions)
    async with transaction(sessions) as s:
        org = await s.get(Organisation, st.world.org_id)
        first = await s.scalar(select(PayoutPoint))
        second = PayoutPoint(
            organisation_id=org.id, area_id=None, name="Wijkcentrum Oost", address="Oostweg 2"
        )
        s.add(second)
        await s.flush()
        await factories.person(
            s,
            org,
            "Els",
            address="two-desks",
            roles=((Role.PAYOUT, first.id), (Role.PAYOUT, second.id)),
        )
        second_id = second.id
    chat = await at_code(sessions, "two-desks")
    assert chat.last_text == "Op welk adres betaal je uit?"
    assert chat.options == ["Buurthuis Delfshaven", "Wijkcentrum Oost"]
    await chat.choose("Wijkcentrum Oost")
    assert chat.last_text == (
        "Uitbetaaladres: Wijkcentrum Oost\n"
        "Typ de code van de gangmaker. Die staat in een bericht van ons."
    )
    await chat.send(code)
    await chat.send("1")
    assert chat.replies[0].text == f"Betaald. Geef €{NBSP}175,00 aan de gangmaker."
    assert (await request_row(sessions, st.request_id)).paid_at_point_id == second_id


async def test_in_english(sessions) -> None:
    st, code = await approved(sessions, amount=12550)
    async with transaction(sessions) as s:
        kees = await person_at(s, "payout")
        kees.language = "en"
    chat = ChatHarness(sessions, address="payout")
    await chat.send("menu")
    await chat.choose("Cash a payout code")
    await chat.send(code)
    assert "Amount: €125.50" in chat.last_text
    await chat.choose("Yes, paid out")
    assert chat.replies[0].text == "Paid. Give €125.50 to the gangmaker."
    assert (await request_row(sessions, st.request_id)).paid_at == NOW
