"""A local stand-in for Meta's Graph API (WhatsApp Cloud API): messages, media, webhooks.

``FakeGraph`` is an aiohttp server on 127.0.0.1. Point the client at :attr:`FakeGraph.base`
(``WHATSAPP_API_BASE``); it answers like Meta does:

- ``POST /v{version}/{phone_number_id}/messages``: checks the access token and the message
  against the Cloud API's limits (≤ 3 reply buttons, button titles ≤ 20 characters, unique ids,
  a list of ≤ 10 rows with titles ≤ 24 and descriptions ≤ 72, an interactive body ≤ 1024 and a
  text ≤ 4096 characters, templates that exist and are approved in that language, free-form
  messages only inside the 24-hour window) and answers with a ``wamid`` or a Meta-shaped error
  (HTTP 400 with ``{"error": {"code": 131009, ...}}``). Every message is recorded in
  :attr:`sent`; every refusal in :attr:`violations` (a contract break by our code) or
  :attr:`refused` (an error a test asked for).
- ``POST /v{version}/{phone_number_id}/media``: an upload (multipart: ``file``, ``type``,
  ``messaging_product``), checked against Meta's supported types and sizes (images: JPEG or
  PNG, at most 5 MB, and the bytes must be what ``type`` says); answers ``{"id": ...}`` and
  records it in :attr:`uploads`. A message may then carry ``image.id`` of an upload only.
- ``GET /v{version}/{media_id}``: the media's URL on this server; ``GET /media/{id}``: its bytes.
- Errors on demand: :meth:`fail_next` (e.g. 130429 throughput, 131056 pair rate limit).

Webhooks the other way: :func:`text_message`, :func:`button_reply`, :func:`list_reply`,
:func:`image_message`, :func:`location_message` and :func:`status_update` build payloads in
Meta's format; :func:`signature` signs a body with the app secret, as Meta does.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

PHONE_NUMBER_ID = "106540352242922"
WABA_ID = "102290129340398"
DISPLAY_NUMBER = "15550783881"
ACCESS_TOKEN = "EAAtest-token-for-the-fake"

BODY_MAX = 1024  # interactive body
TEXT_MAX = 4096
BUTTONS_MAX = 3
BUTTON_TITLE_MAX = 20
ROWS_MAX = 10
ROW_TITLE_MAX = 24
ROW_DESCRIPTION_MAX = 72
LIST_BUTTON_MAX = 20
ID_MAX = 256

MB = 1024 * 1024
# Meta's supported media types for uploads and their size limits (Cloud API, media reference).
MEDIA_LIMITS = {
    "image/jpeg": 5 * MB,
    "image/png": 5 * MB,
    "image/webp": 500 * 1024,  # stickers
    "audio/aac": 16 * MB,
    "audio/amr": 16 * MB,
    "audio/mpeg": 16 * MB,
    "audio/mp4": 16 * MB,
    "audio/ogg": 16 * MB,
    "video/mp4": 16 * MB,
    "video/3gpp": 16 * MB,
    "text/plain": 100 * MB,
    "application/pdf": 100 * MB,
    "application/vnd.ms-excel": 100 * MB,
    "application/msword": 100 * MB,
    "application/vnd.ms-powerpoint": 100 * MB,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": 100 * MB,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": 100 * MB,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": 100 * MB,
}
MAGIC = {
    "image/jpeg": b"\xff\xd8\xff",
    "image/png": b"\x89PNG\r\n\x1a\n",
    "application/pdf": b"%PDF",
}

# Meta's error codes the tests use.
INVALID_PARAMETER = 131009
MEDIA_UPLOAD = 131053  # "Media upload error"
THROUGHPUT = 130429  # "Rate limit hit": the number's messages per second
PAIR_RATE = 131056  # "(Business Account, Consumer Account) pair rate limit hit"
RE_ENGAGEMENT = 131047  # more than 24 hours since the person last wrote
TEMPLATE_MISSING = 132001  # "Template name does not exist in the translation"
AUTH = 190

TITLES = {
    INVALID_PARAMETER: "Invalid parameter",
    THROUGHPUT: "Rate limit hit",
    PAIR_RATE: "(Business Account, Consumer Account) pair rate limit hit",
    RE_ENGAGEMENT: "Re-engagement message",
    TEMPLATE_MISSING: "Template name does not exist in the translation",
    AUTH: "Invalid OAuth access token",
    MEDIA_UPLOAD: "Media upload error",
}


def meta_error(code: int, details: str, status: int = 400) -> web.Response:
    title = TITLES.get(code, "Error")
    body = {
        "error": {
            "message": f"(#{code}) {title}",
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details},
            "error_subcode": 2494010 if code == INVALID_PARAMETER else None,
            "fbtrace_id": "AbCdEfGhIjK",
        }
    }
    return web.json_response(body, status=status)


@dataclass(frozen=True)
class Violation:
    """A message our code sent that Meta would refuse."""

    to: str
    code: int
    details: str


@dataclass
class Sent:
    """One message Meta took."""

    id: str
    to: str
    type: str
    payload: dict[str, Any]
    at: float = field(default_factory=time.monotonic)

    @property
    def text(self) -> str:
        """What the person reads: the text, the interactive body or the template's name."""
        if self.type == "text":
            return str(self.payload["text"]["body"])
        if self.type == "interactive":
            return str(self.payload["interactive"]["body"]["text"])
        if self.type == "template":
            return f"template:{self.payload['template']['name']}"
        if self.type == "image":
            return str(self.payload["image"].get("caption") or "")
        return ""

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(id, title) of reply buttons, or of list rows."""
        if self.type != "interactive":
            return []
        interactive = self.payload["interactive"]
        action = interactive.get("action") or {}
        if interactive["type"] == "button":
            return [(b["reply"]["id"], b["reply"]["title"]) for b in action.get("buttons", [])]
        if interactive["type"] == "list":
            return [
                (row["id"], row["title"])
                for section in action.get("sections", [])
                for row in section.get("rows", [])
            ]
        return []

    @property
    def kind(self) -> str:
        """text, buttons, list, template, image ..."""
        if self.type == "interactive":
            return "buttons" if self.payload["interactive"]["type"] == "button" else "list"
        return self.type


@dataclass
class Upload:
    """One file Meta took through ``POST /{phone-number-id}/media``."""

    id: str
    mime_type: str
    filename: str
    data: bytes


class FakeGraph:
    def __init__(
        self,
        *,
        phone_number_id: str = PHONE_NUMBER_ID,
        token: str = ACCESS_TOKEN,
        templates: dict[str, set[str]] | None = None,
    ) -> None:
        self.phone_number_id = phone_number_id
        self.token = token
        # Approved templates: name -> language codes.
        self.templates = templates if templates is not None else {}
        self.sent: list[Sent] = []
        self.violations: list[Violation] = []
        self.refused: list[tuple[str, int]] = []
        self.media: dict[str, tuple[bytes, str]] = {}
        self.media_fetches: list[str] = []
        self.uploads: list[Upload] = []
        # Recipients whose 24-hour window is closed (free-form messages get 131047).
        self.closed_windows: set[str] = set()
        self._failures: list[tuple[int, str | None]] = []
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Event()
        self.base = ""

    # --- life --------------------------------------------------------------------------------

    async def __aenter__(self) -> FakeGraph:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        # Room for uploads over Meta's limits: the contract check refuses them, not aiohttp.
        app = web.Application(client_max_size=120 * MB)
        app.router.add_post("/{version}/{phone}/messages", self._messages)
        app.router.add_post("/{version}/{phone}/media", self._upload)
        app.router.add_get("/media/{media_id}", self._media_bytes)
        app.router.add_get("/{version}/{media_id}", self._media_url)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- test-facing -------------------------------------------------------------------------

    def fail_next(self, code: int, times: int = 1, *, to: str | None = None) -> None:
        """The next ``times`` messages (to ``to``, or to anyone) get Meta's error ``code``."""
        self._failures.extend([(code, to)] * times)

    def add_media(self, media_id: str, data: bytes, mime_type: str = "image/jpeg") -> None:
        self.media[media_id] = (data, mime_type)

    def to(self, address: str) -> list[Sent]:
        return [s for s in self.sent if s.to == address]

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Sent]:
        """Wait until at least ``count`` messages were taken."""
        end = time.monotonic() + timeout
        while len(self.sent) < count:
            self._changed.clear()
            remaining = end - time.monotonic()
            if remaining <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return self.sent

    # --- the API -----------------------------------------------------------------------------

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    async def _messages(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return meta_error(AUTH, "Error validating access token", status=401)
        if request.match_info["phone"] != self.phone_number_id:
            return meta_error(100, "Unknown phone number id")
        try:
            payload = await request.json()
        except ValueError:
            return meta_error(100, "body is not JSON")
        to = str(payload.get("to") or "")
        kind = str(payload.get("type") or "text")
        for index, (code, only) in enumerate(self._failures):
            if only is None or only == to:
                del self._failures[index]
                self.refused.append((to, code))
                return meta_error(code, TITLES.get(code, "error"))
        problems = self._check(payload, kind)
        if problems:
            for problem in problems:
                self.violations.append(Violation(to, INVALID_PARAMETER, problem))
            return meta_error(INVALID_PARAMETER, "; ".join(problems))
        if kind == "template":
            template = payload["template"]
            code = (template.get("language") or {}).get("code")
            if code not in self.templates.get(template.get("name"), set()):
                self.refused.append((to, TEMPLATE_MISSING))
                return meta_error(TEMPLATE_MISSING, f"template {template.get('name')} in {code}")
        elif to in self.closed_windows:
            self.refused.append((to, RE_ENGAGEMENT))
            return meta_error(RE_ENGAGEMENT, "Message failed to send because more than 24 hours")
        wamid = f"wamid.FAKE{next(self._ids):08d}"
        self.sent.append(Sent(wamid, to, kind, payload))
        self._changed.set()
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": wamid}],
            }
        )

    def _check(self, payload: dict[str, Any], kind: str) -> list[str]:
        problems: list[str] = []
        if payload.get("messaging_product") != "whatsapp":
            problems.append("messaging_product must be whatsapp")
        if not payload.get("to"):
            problems.append("to is required")
        if kind == "text":
            body = (payload.get("text") or {}).get("body")
            if not isinstance(body, str) or not body.strip():
                problems.append("text.body is required")
            elif len(body) > TEXT_MAX:
                problems.append(f"text.body is {len(body)} characters, at most {TEXT_MAX}")
        elif kind == "interactive":
            problems += self._check_interactive(payload.get("interactive") or {})
        elif kind == "template":
            template = payload.get("template") or {}
            if not template.get("name") or not (template.get("language") or {}).get("code"):
                problems.append("template needs a name and a language code")
        elif kind == "image":
            image = payload.get("image") or {}
            if not (image.get("link") or image.get("id")):
                problems.append("image needs a link or an id")
            elif image.get("id") and str(image["id"]) not in self.media:
                problems.append(f"image id {image['id']} was never uploaded")
            elif image.get("id") and not self.media[str(image["id"])][1].startswith("image/"):
                problems.append(f"image id {image['id']} is no image")
            if len(image.get("caption") or "") > BODY_MAX:
                problems.append("image caption over 1024 characters")
        else:
            problems.append(f"type {kind} is not used by this bot")
        return problems

    def _check_interactive(self, interactive: dict[str, Any]) -> list[str]:
        problems: list[str] = []
        body = (interactive.get("body") or {}).get("text")
        if not isinstance(body, str) or not body.strip():
            problems.append("interactive.body.text is required")
        elif len(body) > BODY_MAX:
            problems.append(f"interactive body is {len(body)} characters, at most {BODY_MAX}")
        action = interactive.get("action") or {}
        ids: list[str] = []
        if interactive.get("type") == "button":
            buttons = action.get("buttons") or []
            if not 1 <= len(buttons) <= BUTTONS_MAX:
                problems.append(f"{len(buttons)} reply buttons, at most {BUTTONS_MAX}")
            for button in buttons:
                reply = button.get("reply") or {}
                title = str(reply.get("title") or "")
                if not title.strip() or len(title) > BUTTON_TITLE_MAX:
                    problems.append(f"button title {title!r} not 1-{BUTTON_TITLE_MAX} characters")
                ids.append(str(reply.get("id") or ""))
        elif interactive.get("type") == "list":
            label = str(action.get("button") or "")
            if not label.strip() or len(label) > LIST_BUTTON_MAX:
                problems.append(f"list button {label!r} not 1-{LIST_BUTTON_MAX} characters")
            rows = [row for s in action.get("sections") or [] for row in s.get("rows") or []]
            if not 1 <= len(rows) <= ROWS_MAX:
                problems.append(f"{len(rows)} list rows, at most {ROWS_MAX}")
            for row in rows:
                title = str(row.get("title") or "")
                if not title.strip() or len(title) > ROW_TITLE_MAX:
                    problems.append(f"row title {title!r} not 1-{ROW_TITLE_MAX} characters")
                if len(row.get("description") or "") > ROW_DESCRIPTION_MAX:
                    problems.append("row description over 72 characters")
                ids.append(str(row.get("id") or ""))
        else:
            problems.append(f"interactive type {interactive.get('type')!r} is not used")
        if any(not i or len(i) > ID_MAX for i in ids):
            problems.append(f"ids must be 1-{ID_MAX} characters")
        if len(set(ids)) != len(ids):
            problems.append("ids must be unique")
        return problems

    async def _upload(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return meta_error(AUTH, "Error validating access token", status=401)
        if request.match_info["phone"] != self.phone_number_id:
            return meta_error(100, "Unknown phone number id")
        if not request.content_type.startswith("multipart/form-data"):
            return self._upload_refused(100, "the upload must be multipart/form-data")
        form = await request.post()
        problems: list[str] = []
        if form.get("messaging_product") != "whatsapp":
            problems.append("messaging_product must be whatsapp")
        part = form.get("file")
        declared = str(form.get("type") or "")
        if not isinstance(part, web.FileField):
            problems.append("file is required (a file part)")
            return self._upload_refused(100, "; ".join(problems))
        data = part.file.read()
        if not declared:
            problems.append("type is required")
        elif part.content_type != declared:
            problems.append(f"type {declared} but the file part says {part.content_type}")
        limit = MEDIA_LIMITS.get(declared)
        if declared and limit is None:
            problems.append(f"{declared} is not a supported media type")
        elif limit is not None and not 0 < len(data) <= limit:
            problems.append(f"{declared} of {len(data)} bytes, at most {limit}")
        magic = MAGIC.get(declared)
        if magic is not None and not data.startswith(magic):
            problems.append(f"the bytes are no {declared}")
        if problems:
            return self._upload_refused(MEDIA_UPLOAD, "; ".join(problems))
        media_id = str(1_000_000_000_000_000 + next(self._ids))
        self.media[media_id] = (data, declared)
        self.uploads.append(Upload(media_id, declared, part.filename or "", data))
        return web.json_response({"id": media_id})

    def _upload_refused(self, code: int, details: str) -> web.Response:
        self.violations.append(Violation("", code, details))
        return meta_error(code, details)

    async def _media_url(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return meta_error(AUTH, "Error validating access token", status=401)
        media_id = request.match_info["media_id"]
        if media_id not in self.media:
            return meta_error(100, "Unsupported get request", status=400)
        data, mime = self.media[media_id]
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "url": f"{self.base}/media/{media_id}",
                "mime_type": mime,
                "sha256": hashlib.sha256(data).hexdigest(),
                "file_size": len(data),
                "id": media_id,
            }
        )

    async def _media_bytes(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.Response(status=401)
        media_id = request.match_info["media_id"]
        self.media_fetches.append(media_id)
        if media_id not in self.media:
            return web.Response(status=404)
        data, mime = self.media[media_id]
        return web.Response(body=data, content_type=mime)


# --- webhooks ---------------------------------------------------------------------------------

_wamids = itertools.count(1)


def signature(body: bytes, secret: str) -> str:
    """The ``X-Hub-Signature-256`` header Meta sends with ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _envelope(value: dict[str, Any], phone_number_id: str = PHONE_NUMBER_ID) -> dict[str, Any]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": DISPLAY_NUMBER, "phone_number_id": phone_number_id},
        **value,
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"value": value, "field": "messages"}]}],
    }


def _message(
    sender: str,
    kind: str,
    content: dict[str, Any],
    *,
    message_id: str | None = None,
    name: str = "Anna",
) -> dict[str, Any]:
    message = {
        "from": sender,
        "from_user_id": bsuid(sender),
        "id": message_id or f"wamid.IN{next(_wamids):010d}",
        "timestamp": str(int(time.time())),
        "type": kind,
        **content,
    }
    return _envelope(
        {
            "contacts": [{"profile": {"name": name}, "wa_id": sender, "user_id": bsuid(sender)}],
            "messages": [message],
        }
    )


def bsuid(number: str) -> str:
    """The business-scoped user id Meta sends next to the number (since 2026)."""
    return "NL." + hashlib.sha256(number.encode()).hexdigest()[:16]


def message_id(payload: dict[str, Any]) -> str:
    return str(payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"])


def text_message(sender: str, text: str, **kw: Any) -> dict[str, Any]:
    return _message(sender, "text", {"text": {"body": text}}, **kw)


def button_reply(sender: str, button_id: str, title: str = "", **kw: Any) -> dict[str, Any]:
    content = {
        "context": {"from": DISPLAY_NUMBER, "id": "wamid.CONTEXT"},
        "interactive": {"type": "button_reply", "button_reply": {"id": button_id, "title": title}},
    }
    return _message(sender, "interactive", content, **kw)


def list_reply(sender: str, row_id: str, title: str = "", **kw: Any) -> dict[str, Any]:
    content = {
        "context": {"from": DISPLAY_NUMBER, "id": "wamid.CONTEXT"},
        "interactive": {"type": "list_reply", "list_reply": {"id": row_id, "title": title}},
    }
    return _message(sender, "interactive", content, **kw)


def image_message(sender: str, media_id: str, caption: str | None = None, **kw: Any) -> dict:
    image: dict[str, Any] = {"mime_type": "image/jpeg", "sha256": "x" * 44, "id": media_id}
    if caption:
        image["caption"] = caption
    return _message(sender, "image", {"image": image}, **kw)


def location_message(sender: str, latitude: float, longitude: float, **kw: Any) -> dict:
    return _message(
        sender, "location", {"location": {"latitude": latitude, "longitude": longitude}}, **kw
    )


def sticker_message(sender: str, **kw: Any) -> dict[str, Any]:
    sticker = {"mime_type": "image/webp", "sha256": "y" * 44, "id": "STICKER1", "animated": False}
    return _message(sender, "sticker", {"sticker": sticker}, **kw)


def status_update(
    wamid: str, status: str, recipient: str, *, error_code: int | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": str(int(time.time())),
        "recipient_id": recipient,
        "recipient_user_id": bsuid(recipient),
    }
    if status != "failed":
        entry["conversation"] = {"id": "CONV1", "origin": {"type": "utility"}}
        entry["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "utility"}
    else:
        code = error_code or RE_ENGAGEMENT
        entry["errors"] = [
            {
                "code": code,
                "title": TITLES.get(code, "error"),
                "message": TITLES.get(code, "error"),
                "error_data": {"details": "failed for the test"},
            }
        ]
    contact = {"wa_id": recipient, "user_id": bsuid(recipient)}
    return _envelope({"contacts": [contact], "statuses": [entry]})


def dumps(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


@contextlib.asynccontextmanager
async def fake_graph(**kw: Any) -> AsyncIterator[FakeGraph]:
    async with FakeGraph(**kw) as graph:
        yield graph
