"""Build the aiohttp application and run it on HOST:PORT."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.db import make_engine

ENGINE_KEY = web.AppKey("engine", AsyncEngine)


async def healthz(request: web.Request) -> web.Response:
    """200 when the database answers, 503 otherwise (load balancers and Procfile platforms)."""
    try:
        async with request.app[ENGINE_KEY].connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # any database failure means "not healthy", never a 500 page
        return web.json_response({"status": "unavailable", "error": type(exc).__name__}, status=503)
    return web.json_response({"status": "ok"})


def build_app(engine: AsyncEngine) -> web.Application:
    app = web.Application()
    app[ENGINE_KEY] = engine
    app.router.add_get("/healthz", healthz)

    async def close_engine(app: web.Application) -> None:
        await app[ENGINE_KEY].dispose()

    app.on_cleanup.append(close_engine)
    return app


def serve(settings: Settings) -> int:
    app = build_app(make_engine(settings.database_url))
    web.run_app(app, host=settings.host, port=settings.port, print=None)
    return 0
