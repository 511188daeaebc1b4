"""A long main menu (a gangmaker who is also a project leader) comes in pages: nothing is cut
off, Settings and Help stay reachable, and "More" / "Back" move between the pages."""

from __future__ import annotations

from bot.conversation import MAX_OPTIONS
from bot.db import transaction
from bot.models import Area, Organisation, Role, StreetStatus
from tests import factories
from tests.chat import ChatHarness, make_world


async def leader_and_gangmaker(sessions) -> ChatHarness:
    world = await make_world(sessions)
    async with transaction(sessions) as s:
        area = await s.get(Area, world.area_id)
        org = await s.get(Organisation, world.org_id)
        both = await factories.person(
            s, org, "Bram", address="both", roles=((Role.LEADER, area.id),)
        )
        await factories.street(
            s, org, area, "Bramstraat", status=StreetStatus.ACTIVE, gangmakers=(both,)
        )
    return ChatHarness(sessions, address="both")


async def test_a_long_menu_has_pages_and_nothing_is_cut_off(sessions) -> None:
    chat = await leader_and_gangmaker(sessions)
    await chat.send("menu")
    first = chat.options
    assert len(first) == MAX_OPTIONS
    assert first[-1] == "Meer"
    assert "Te beoordelen aanvragen" in first or "Mijn straat" in first
    await chat.choose("Meer")
    second = chat.options
    assert second[-1] == "Terug"
    assert "Instellingen" in second and "Hulp" in second
    # Every entry is on exactly one page.
    seen = first[:-1] + second[:-1]
    assert len(seen) == len(set(seen))
    await chat.choose("Instellingen")
    assert "Mijn gegevens" in chat.options  # the settings dialog answered
    await chat.send("menu")
    assert chat.options == first  # a new menu starts on its first page
    await chat.choose("Meer")
    await chat.choose("Terug")
    assert chat.options == first


async def test_a_short_menu_has_no_pages(sessions) -> None:
    await make_world(sessions)
    chat = ChatHarness(sessions, address="gm")
    await chat.send("menu")
    assert "Meer" not in chat.options
    assert "Instellingen" in chat.options
