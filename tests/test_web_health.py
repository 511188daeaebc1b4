"""The health endpoint load balancers and platforms poll."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer

from bot.db import make_engine
from bot.web.app import build_app


async def test_healthz_is_200_when_the_database_answers(db_url: str) -> None:
    app = build_app(make_engine(db_url))
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/healthz")
        assert response.status == 200
        assert (await response.json())["status"] == "ok"


async def test_healthz_is_503_when_the_database_is_gone() -> None:
    unreachable = make_engine("postgresql+asyncpg://nobody:x@127.0.0.1:1/none")
    app = build_app(unreachable)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/healthz")
        assert response.status == 503
