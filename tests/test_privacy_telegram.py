"""My data on Telegram: the export arrives as a document (a real upload to the fake Bot API),
and deleting on confirmation leaves the chat as a stranger."""

from __future__ import annotations

import json

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.chat import make_world
from tests.fakes import FakeTelegram
from tests.fakes.telegram_api import UploadedFile
from tests.test_telegram_e2e import (
    USER,
    first_contact,
    option_values,
    running,
    telegram_person,
)
from tests.test_telegram_e2e import tg as tg  # the fake Bot API fixture


async def test_my_data_arrives_as_a_json_document_and_deletion_forgets(
    tg: FakeTelegram, engine: AsyncEngine, sessions, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("PRIVACY_EXPORT_DIR", str(tmp_path))
    await make_world(sessions)
    async with running("polling", tg, engine, sessions) as bench:
        await first_contact(bench)
        await bench.press("settings")
        sent = await bench.press("mydata")
        assert option_values(sent[-1]) == ["delete", "export", "back"]
        await bench.press("export")
        [call] = tg.calls_of("sendDocument")
        upload = call["document"]
        assert isinstance(upload, UploadedFile) and upload.filename.endswith(".json")
        data = json.loads(upload.data)
        assert data["tables"]["channel_identity"][0]["address"] == str(USER)
        assert call["caption"] == "Hier is alles wat we over je bewaren, als bestand."

        await bench.press("mydata")
        await bench.press("delete")
        sent = await bench.press("yes")
        assert "gewist" in sent[-1]["text"]
        assert await telegram_person(sessions, USER) is None
    assert tg.violations == []
