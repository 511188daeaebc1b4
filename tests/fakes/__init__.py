"""Test doubles for external services (nothing in here talks to the internet)."""

from tests.fakes.telegram_api import (
    DEPRECATED_PARAMETERS,
    ApiSpec,
    Call,
    EntityParseError,
    FakeApiError,
    FakeTelegram,
    UploadedFile,
    Violation,
    WebhookDelivery,
    render_text,
    serve_app,
)

__all__ = [
    "DEPRECATED_PARAMETERS",
    "ApiSpec",
    "Call",
    "EntityParseError",
    "FakeApiError",
    "FakeTelegram",
    "UploadedFile",
    "Violation",
    "WebhookDelivery",
    "render_text",
    "serve_app",
]
