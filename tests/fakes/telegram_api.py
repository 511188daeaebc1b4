"""A local fake of the Telegram Bot API for end-to-end tests of an aiogram 3 bot.

The fake is a real aiohttp server on ``127.0.0.1`` (random free port). Point aiogram at it with
``TelegramAPIServer.from_base(tg.api_base)`` and the real client code (sessions, polling, webhook
handler, error mapping) runs against it; nothing contacts Telegram.

Every call is checked against the Bot API specification (``/work/shared/telegram/api.json``, or
``$TELEGRAM_API_SPEC``): unknown or missing parameters, wrong types and the limits Telegram
enforces (text length, ``callback_data`` size, ...) are answered with ``400 Bad Request`` and
recorded in ``tg.violations``. See :class:`FakeTelegram` for the test-facing API.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import mimetypes
import os
import re
import time
from collections.abc import AsyncIterator, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from aiohttp import ClientError, ClientSession, ClientTimeout, MultipartReader, web

DEFAULT_SPEC_PATH = Path("/work/shared/telegram/api.json")

# Problem kinds (Violation.kind)
UNKNOWN_METHOD = "unknown_method"
UNKNOWN_PARAMETER = "unknown_parameter"
MISSING_PARAMETER = "missing_parameter"
WRONG_TYPE = "wrong_type"
LIMIT = "limit"

_SCALARS = {"Integer", "Float", "String", "Boolean", "True", "InputFile"}
_DISCRIMINATOR = re.compile(r'(?:must be|always) "?([a-z_]+)"?')
_INT_RE = re.compile(r"-?\d+")


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request (``InputFile`` as the bot uploaded it)."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes


class Call(NamedTuple):
    """One API call as the fake received it: ``method, params = call``.

    ``params`` holds decoded values (``chat_id`` is an int, ``reply_markup`` a dict, an uploaded
    ``photo`` an :class:`UploadedFile`).
    """

    method: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Violation:
    """A call that breaks the Bot API contract (answered with 400 Bad Request)."""

    method: str
    kind: str
    description: str
    params: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class WebhookDelivery:
    """One POST of an update to the bot's webhook."""

    update: dict[str, Any]
    status: int | None
    body: bytes = b""
    error: str | None = None
    reply: Call | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class FakeApiError(Exception):
    """Raise inside a handler (or queue with ``fail_next``) to answer with an API error."""

    def __init__(
        self,
        status: int,
        description: str,
        *,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        super().__init__(f"{status}: {description}")
        self.status = status
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        parameters = {}
        if self.retry_after is not None:
            parameters["retry_after"] = self.retry_after
        if self.migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = self.migrate_to_chat_id
        if parameters:
            body["parameters"] = parameters
        return body


# --------------------------------------------------------------------------- specification


def _describe(value: Any) -> str:
    if isinstance(value, UploadedFile):
        return "uploaded file"
    return type(value).__name__


class ApiSpec:
    """The Bot API specification (``api.json``): ``methods.<name>.fields`` and ``types``.

    Problems are ``(kind, message)`` tuples; an empty list means the value is fine.
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self.version: str = data.get("version", "?")
        self.types: dict[str, dict[str, Any]] = data["types"]
        self.methods: dict[str, dict[str, Any]] = data["methods"]
        self._by_lower = {name.lower(): name for name in self.methods}
        self._tags: dict[str, tuple[str, str] | None] = {}

    @classmethod
    def default_path(cls) -> Path:
        return Path(os.environ.get("TELEGRAM_API_SPEC") or DEFAULT_SPEC_PATH)

    @classmethod
    def load(cls, path: str | Path | None = None) -> ApiSpec:
        return _load_spec(str(path or cls.default_path()))

    # -- lookup ------------------------------------------------------------------------

    def method_name(self, name: str) -> str | None:
        """The canonical name of a method (Telegram matches method names case-insensitively)."""
        return self._by_lower.get(name.lower())

    def fields(self, method: str) -> dict[str, dict[str, Any]]:
        return {f["name"]: f for f in self.methods[method].get("fields", [])}

    def field_types(self, method: str, name: str) -> list[str]:
        spec = self.fields(method).get(name)
        return list(spec["types"]) if spec else []

    # -- checks ------------------------------------------------------------------------

    def check_params(
        self, method: str, params: dict[str, Any], *, tolerated: Collection[str] = ()
    ) -> list[tuple[str, str]]:
        """Unknown (and not ``tolerated``), missing and mistyped top-level parameters."""
        fields = self.fields(method)
        problems: list[tuple[str, str]] = []
        for name in params:
            if name not in fields and name not in tolerated:
                problems.append((UNKNOWN_PARAMETER, f"unknown parameter {name!r}"))
        for name, spec in fields.items():
            if spec["required"] and name not in params:
                problems.append((MISSING_PARAMETER, f"parameter {name!r} is required"))
        for name, value in params.items():
            if name in fields:
                problems += self.check_value(value, fields[name]["types"], name, lenient=True)
        return problems

    def check_value(
        self, value: Any, types: list[str], path: str, *, lenient: bool = False
    ) -> list[tuple[str, str]]:
        """Check a value against alternatives like ``["Integer", "String"]``.

        ``lenient`` is for top-level parameters, which Telegram coerces (``"123"`` is a fine
        Integer there); values inside JSON objects must have the right JSON type.
        """
        results = [(t, self._check(value, t, path, lenient)) for t in types]
        if any(not problems for _, problems in results):
            return []
        if len(results) == 1:
            return results[0][1]
        # Explain with the alternative the value is shaped like (an object, an array).
        shaped = [
            (len(set(value) - self._field_names(t)) if isinstance(value, dict) else 0, problems)
            for t, problems in results
            if (isinstance(value, dict) and t in self.types)
            or (isinstance(value, list) and t.startswith("Array of "))
        ]
        if shaped:
            return min(shaped, key=lambda item: (item[0], len(item[1])))[1]
        return [(WRONG_TYPE, f"{path}: expected {' or '.join(types)}, got {_describe(value)}")]

    def _field_names(self, type_name: str) -> set[str]:
        spec = self.types[type_name]
        names = {f["name"] for f in spec.get("fields", [])}
        for sub in spec.get("subtypes") or []:
            names |= self._field_names(sub)
        return names

    def check_object(self, obj: Any, type_name: str, path: str = "") -> list[tuple[str, str]]:
        """Check a JSON object against a type (``Message``, ``Update``, ``ChatMember``...)."""
        path = path or type_name
        if not isinstance(obj, dict):
            return [(WRONG_TYPE, f"{path}: expected {type_name}, got {_describe(obj)}")]
        spec = self.types[type_name]
        if spec.get("subtypes"):
            return self._check_variant(obj, type_name, path)
        fields = {f["name"]: f for f in spec.get("fields", [])}
        problems: list[tuple[str, str]] = []
        tag = self.discriminator(type_name) if spec.get("subtype_of") else None
        if tag and tag[0] in obj and obj[tag[0]] != tag[1]:
            problems.append((WRONG_TYPE, f"{path}.{tag[0]}: must be {tag[1]!r}"))
        for key in obj:
            if key not in fields:
                problems.append((UNKNOWN_PARAMETER, f"{path}: unknown field {key!r}"))
        for name, f in fields.items():
            if f["required"] and name not in obj:
                problems.append((MISSING_PARAMETER, f"{path}: field {name!r} is required"))
            elif name in obj:
                problems += self.check_value(obj[name], f["types"], f"{path}.{name}")
        return problems

    def _check_variant(self, obj: dict[str, Any], type_name: str, path: str) -> list[Any]:
        for sub in self.types[type_name]["subtypes"]:
            problems = self.check_object(obj, sub, path)
            if not problems:
                return []
            tag = self.discriminator(sub)
            if tag and obj.get(tag[0]) == tag[1]:
                return problems  # the variant it claims to be
        tag_fields = {
            t[0] for s in self.types[type_name]["subtypes"] if (t := self.discriminator(s))
        }
        shown = {k: obj.get(k) for k in sorted(tag_fields)}
        return [(WRONG_TYPE, f"{path}: no variant of {type_name} matches {shown}")]

    def discriminator(self, type_name: str) -> tuple[str, str] | None:
        """``("type", "chat")`` for ``BotCommandScopeChat``: the field and value naming it."""
        if type_name not in self._tags:
            self._tags[type_name] = None
            for f in self.types[type_name].get("fields", []):
                m = _DISCRIMINATOR.search(f.get("description", ""))
                if f["name"] in {"type", "status", "source"} and m:
                    self._tags[type_name] = (f["name"], m.group(1))
                    break
        return self._tags[type_name]

    def _check(self, value: Any, type_expr: str, path: str, lenient: bool) -> list[Any]:
        if type_expr.startswith("Array of "):
            inner = type_expr.removeprefix("Array of ")
            if not isinstance(value, list):
                return [(WRONG_TYPE, f"{path}: expected {type_expr}, got {_describe(value)}")]
            problems: list[tuple[str, str]] = []
            for i, item in enumerate(value):
                problems += self._check(item, inner, f"{path}[{i}]", False)
            return problems
        if type_expr in _SCALARS:
            if _scalar_ok(value, type_expr, lenient):
                return []
            return [(WRONG_TYPE, f"{path}: expected {type_expr}, got {_describe(value)}")]
        if type_expr in self.types:
            return self.check_object(value, type_expr, path)
        return [(WRONG_TYPE, f"{path}: unknown type {type_expr} in the specification")]


def _scalar_ok(value: Any, type_expr: str, lenient: bool) -> bool:
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if type_expr == "Integer":
        return is_int or (lenient and isinstance(value, str) and bool(_INT_RE.fullmatch(value)))
    if type_expr == "Float":
        if is_int or isinstance(value, float):
            return True
        if lenient and isinstance(value, str):
            with contextlib.suppress(ValueError):
                float(value)
                return True
        return False
    if type_expr == "String":
        return isinstance(value, str) or (lenient and (is_int or isinstance(value, float)))
    if type_expr == "Boolean":
        return isinstance(value, bool) or (lenient and value in {"true", "false"})
    if type_expr == "True":
        return value is True or (lenient and value == "true")
    if type_expr == "InputFile":
        return isinstance(value, UploadedFile) or (
            isinstance(value, str) and value.startswith("attach://")
        )
    return False


@functools.cache
def _load_spec(path: str) -> ApiSpec:
    with open(path, encoding="utf-8") as fh:
        return ApiSpec(json.load(fh))


# --------------------------------------------------------------------------- helpers


@contextlib.asynccontextmanager
async def serve_app(app: web.Application, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Serve an aiohttp app on a random free port; yields its base URL (``http://host:port``)."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


def _json_form_types(spec: ApiSpec, types: list[str]) -> bool:
    return any(t.startswith("Array of ") or (t in spec.types and t != "InputFile") for t in types)


def _coerce(spec: ApiSpec, raw: str, types: list[str]) -> Any:
    """Decode one form value the way Telegram does: JSON for objects, numbers, booleans."""
    if _json_form_types(spec, types) and raw[:1] in "[{":
        with contextlib.suppress(ValueError):
            return json.loads(raw)
        return raw
    if "Integer" in types and _INT_RE.fullmatch(raw):
        return int(raw)
    if "Float" in types and "String" not in types:
        with contextlib.suppress(ValueError):
            return float(raw)
    if ("Boolean" in types or "True" in types) and raw in {"true", "false"}:
        return raw == "true"
    return raw


def _attachments(value: Any) -> set[str]:
    """Names referenced as ``attach://<name>`` anywhere inside a decoded value."""
    if isinstance(value, str):
        return {value.removeprefix("attach://")} if value.startswith("attach://") else set()
    if isinstance(value, dict):
        return set().union(*(_attachments(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_attachments(v) for v in value)) if value else set()
    return set()


# --------------------------------------------------------------------------- formatting


class EntityParseError(ValueError):
    """Telegram's ``Bad Request: can't parse entities: ...``."""


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_TOKEN = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*)?)>|<|&(#x[0-9a-fA-F]+|#\d+|\w+);"
)
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_ATTR = re.compile(r'([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|\'([^\']*)\'|([^\s"\']+))')


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's HTML parse mode: plain text and entities (offsets in UTF-16 units)."""
    out: list[str] = []
    entities: list[dict[str, Any]] = []
    stack: list[tuple[str, int, dict[str, Any]]] = []
    pos = 0
    length = 0  # UTF-16 length of out

    def emit(chunk: str) -> None:
        nonlocal length
        out.append(chunk)
        length += _utf16_len(chunk)

    def offset() -> int:
        return len(text[: m.start()].encode())

    for m in _HTML_TOKEN.finditer(text):
        emit(text[pos : m.start()])
        pos = m.end()
        closing, tag, attrs, entity = m.group(1), m.group(2), m.group(3) or "", m.group(4)
        if entity is not None:
            if entity.startswith("#"):
                code = int(entity[2:], 16) if entity[1] in "xX" else int(entity[1:])
                emit(chr(code))
            else:
                emit(_HTML_NAMED.get(entity, m.group(0)))
            continue
        if tag is None:
            raise EntityParseError(f'Unexpected "<" at byte offset {offset()}')
        tag = tag.lower()
        if tag not in _HTML_TAGS:
            kind = "end" if closing else "start"
            raise EntityParseError(f'Unsupported {kind} tag "{tag}" at byte offset {offset()}')
        if not closing:
            attributes = {
                a.group(1).lower(): next(g for g in a.groups()[1:] if g is not None)
                for a in _HTML_ATTR.finditer(attrs)
            }
            if tag == "span" and attributes.get("class") != "tg-spoiler":
                raise EntityParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {offset()}'
                )
            stack.append((tag, length, attributes))
            continue
        if not stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {offset()}")
        open_tag, start, attributes = stack.pop()
        if open_tag != tag:
            raise EntityParseError(
                f'Unmatched end tag at byte offset {offset()}, expected "</{open_tag}>", '
                f'found "</{tag}>"'
            )
        if length == start:
            continue
        entity_dict: dict[str, Any] = {
            "type": _HTML_TAGS[tag],
            "offset": start,
            "length": length - start,
        }
        if tag == "a":
            href = attributes.get("href", "")
            entity_dict["url"] = href
        elif tag == "blockquote" and "expandable" in attrs:
            entity_dict["type"] = "expandable_blockquote"
        elif tag == "tg-emoji":
            entity_dict["custom_emoji_id"] = attributes.get("emoji-id", "")
        elif tag == "code" and stack and stack[-1][0] == "pre":
            language = attributes.get("class", "").removeprefix("language-")
            if language:
                entity_dict = {
                    "type": "pre",
                    "offset": start,
                    "length": length - start,
                    "language": language,
                }
        entities.append(entity_dict)
    emit(text[pos:])
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    # a <pre><code class="language-x"> pair is one pre entity
    merged: list[dict[str, Any]] = []
    for e in entities:
        same = [x for x in merged if x["offset"] == e["offset"] and x["length"] == e["length"]]
        if e["type"] == "pre" and same and same[0]["type"] == "pre":
            same[0].update(e)
            continue
        merged.append(e)
    return "".join(out), merged


_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")


def parse_markdown_v2(text: str) -> str:
    """Plain text of a MarkdownV2 message; raises like Telegram on unescaped reserved chars."""
    out: list[str] = []
    i = 0
    in_code = False
    link_depth = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text):
                raise EntityParseError("Can't parse entities: unexpected end of text")
            out.append(text[i + 1])
            i += 2
            continue
        if ch == "`":
            in_code = not in_code
            if text.startswith("```", i):
                i += 3
                # optional language right after the opening fence
                if in_code:
                    while i < len(text) and text[i] not in "\n":
                        i += 1
                continue
            i += 1
            continue
        if in_code:
            out.append(ch)
            i += 1
            continue
        if ch in "*_~|":
            i += 2 if text.startswith(ch * 2, i) and ch in "_|" else 1
            continue
        if ch == "[":
            link_depth += 1
            i += 1
            continue
        if ch == "]" and link_depth:
            link_depth -= 1
            if text.startswith("(", i + 1):
                end = text.find(")", i + 2)
                if end == -1:
                    raise EntityParseError("Can't find end of a URL")
                i = end + 1
            else:
                i += 1
            continue
        if ch == ">" and (i == 0 or text[i - 1] == "\n"):
            i += 1
            continue
        if ch in _MDV2_RESERVED:
            raise EntityParseError(
                f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
            )
        out.append(ch)
        i += 1
    if in_code:
        raise EntityParseError("Can't find end of Pre entity")
    return "".join(out)


def parse_markdown(text: str) -> str:
    """Plain text of a legacy Markdown message (approximate)."""
    plain = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"(?<!\\)[*_`]", "", plain).replace("\\", "")


def render_text(
    text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """The plain text and entities Telegram stores for ``text`` sent with ``parse_mode``."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text), []
    if mode == "markdown":
        return parse_markdown(text), []
    if mode:
        raise FakeApiError(400, f"Bad Request: unsupported parse_mode {parse_mode!r}")
    return text, list(entities or [])


def _now() -> int:
    return int(time.time())


def _button_problems(button: Any, path: str) -> list[tuple[str, str]]:
    if not isinstance(button, dict):
        return []
    problems = []
    actions = [k for k in button if k not in _BUTTON_ACTIONS_IGNORED]
    if len(actions) != 1:
        problems.append(
            (
                LIMIT,
                f"can't parse inline keyboard button: {path} needs exactly one of url, "
                f"callback_data, ... (has {actions or 'none'})",
            )
        )
    data = button.get("callback_data")
    if isinstance(data, str) and not 1 <= len(data.encode()) <= 64:
        problems.append(
            (
                LIMIT,
                f"BUTTON_DATA_INVALID: {path}.callback_data is {len(data.encode())} bytes, "
                "1-64 allowed",
            )
        )
    return problems


# --------------------------------------------------------------------------- the fake


_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
_FORBIDDEN = {
    "private": "Forbidden: bot was blocked by the user",
    "group": "Forbidden: bot was kicked from the group chat",
    "supergroup": "Forbidden: bot was kicked from the supergroup chat",
    "channel": "Forbidden: bot is not a member of the channel chat",
}
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
_CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}
_BUTTON_ACTIONS_IGNORED = {"text", "icon_custom_emoji_id", "style"}
# Parameters removed from the documentation that Telegram still honours and aiogram still sends
# (``DefaultBotProperties(link_preview_is_disabled=True)`` adds disable_web_page_preview to every
# sendMessage). Pass ``tolerated_parameters=DEPRECATED_PARAMETERS`` to accept them.
DEPRECATED_PARAMETERS: dict[str, set[str]] = {
    "*": {"disable_web_page_preview", "reply_to_message_id", "allow_sending_without_reply"},
}
# Telegram leaves these out when allowed_updates is not given.
_NOT_DEFAULT_UPDATES = {"chat_member", "message_reaction", "message_reaction_count"}


class FakeTelegram:
    """A fake Telegram Bot API server for one bot token.

    ``async with FakeTelegram(token="123:ABC") as tg:`` serves on ``tg.api_base``; give aiogram
    ``AiohttpSession(api=tg.api_server())`` (= ``TelegramAPIServer.from_base(tg.api_base)``).

    Recordings: ``calls`` (``Call(method, params)``, refused ones included), ``violations``
    (contract breaches, answered 400), ``errors`` (every non-ok answer as
    ``(method, status, description)``), ``webhook_deliveries``, ``dropped_updates`` (types left
    out by ``allowed_updates``), ``internal_errors`` (bugs in the fake; raised on exit).

    Updates: the async builders (``user_message``, ``user_presses``, ``user_photo``,
    ``user_sticker``, ``user_voice``, ``edited_message``, ``channel_post``, ``my_chat_member``,
    ``group_message``) and ``push_update`` queue an Update for getUpdates or, with a webhook
    set, POST it there and return once the webhook answered.

    State the bot sees: ``sent_messages(chat_id)``, ``last_message(chat_id)``,
    ``reply_keyboard(chat_id)``, ``commands(scope, language_code)``, ``menu_button(chat_id)``,
    ``webhook``, ``pending_updates``, ``file_bytes(file_id)``, ``callback_answer(query_id)``.
    Set-up: ``add_user``, ``add_chat``, ``add_file``, ``set_blocked``. Behaviour:
    ``fail_next``, ``delay``, ``set_result``. Sending to an unknown chat answers "chat not
    found" unless ``strict_chats=False``.
    """

    def __init__(
        self,
        token: str = "123:ABC",
        *,
        spec: ApiSpec | None = None,
        bot_username: str = "gangmaker_test_bot",
        bot_first_name: str = "Gangmaker",
        strict_chats: bool = True,
        tolerated_parameters: Mapping[str, Iterable[str]] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.token = token
        self.tolerated_parameters = {
            method: set(names) for method, names in (tolerated_parameters or {}).items()
        }
        self.spec = spec or ApiSpec.load()
        self.host = host
        self.strict_chats = strict_chats
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        # getMe adds the bot's capabilities; messages carry the plain User
        self.me: dict[str, Any] = {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.api_base = ""
        # recordings
        self.calls: list[Call] = []
        self.violations: list[Violation] = []
        self.errors: list[tuple[str, int, str]] = []
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.dropped_updates: list[dict[str, Any]] = []
        self.internal_errors: list[str] = []
        # updates
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 100_000_001
        self._allowed_updates: set[str] | None = None
        self._webhook: dict[str, Any] | None = None
        self._webhook_error: tuple[int, str] | None = None
        self._poll_generation = 0
        self._poll_end_reason = ""
        self._changed = asyncio.Event()
        self._closing = False
        self._delivery_lock = asyncio.Lock()
        # chats, messages, files
        self._users: dict[int, dict[str, Any]] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._blocked: set[int] = set()
        self._messages: dict[int, dict[int, dict[str, Any]]] = {}
        self._bot_messages: dict[int, list[int]] = {}
        self._reply_keyboards: dict[int, dict[str, Any] | None] = {}
        self._message_seq: dict[int, int] = {}
        self._files: dict[str, dict[str, Any]] = {}
        self._file_seq = 0
        self._callback_queries: dict[str, dict[str, Any]] = {}
        self._callback_seq = 0
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._menu_buttons: dict[int | None, dict[str, Any]] = {}
        # behaviour
        self._failures: dict[str, list[FakeApiError]] = {}
        self._delays: dict[str, float] = {}
        self._results: dict[str, Any] = {}
        self._consumed: set[int] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stack: contextlib.AsyncExitStack | None = None
        self._http: ClientSession | None = None

    # -- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
        if self.internal_errors and exc_info[0] is None:
            raise AssertionError(
                "fake Telegram failed internally:\n" + "\n".join(self.internal_errors)
            )

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._stack = contextlib.AsyncExitStack()
        self.api_base = await self._stack.enter_async_context(serve_app(app, self.host))
        self._http = await self._stack.enter_async_context(ClientSession())

    async def close(self) -> None:
        self._closing = True
        self._notify()  # long polls answer right away
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _notify(self) -> None:
        """Wake everyone waiting for a change (new update, new call, closing)."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_change(self, timeout: float) -> bool:
        if timeout <= 0:
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)
            return True
        return False

    def api_server(self) -> Any:
        """aiogram's ``TelegramAPIServer`` for this fake (aiogram is imported lazily)."""
        from aiogram.client.telegram import TelegramAPIServer

        return TelegramAPIServer.from_base(self.api_base)

    # -- fault injection and custom results ----------------------------------------------

    def fail_next(
        self,
        method: str,
        status: int = 500,
        description: str | None = None,
        *,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (``"*"``: any method) with an error."""
        if retry_after is None and status == 429:
            retry_after = 1
        text = description or _DEFAULT_DESCRIPTIONS.get(status, f"Error {status}")
        text = text.format(retry_after=retry_after)
        key = "*" if method == "*" else self._canonical(method)
        for _ in range(times):
            self._failures.setdefault(key, []).append(
                FakeApiError(
                    status, text, retry_after=retry_after, migrate_to_chat_id=migrate_to_chat_id
                )
            )

    def delay(self, method: str, seconds: float) -> None:
        """Answer every call of ``method`` (``"*"``: any) ``seconds`` later; 0 removes it."""
        key = "*" if method == "*" else self._canonical(method)
        if seconds > 0:
            self._delays[key] = seconds
        else:
            self._delays.pop(key, None)

    def set_result(self, method: str, result: Any) -> None:
        """Answer ``method`` with ``result`` (or ``result(params)``; may be async) from now on."""
        self._results[self._canonical(method)] = result

    def _canonical(self, method: str) -> str:
        name = self.spec.method_name(method)
        if name is None:
            raise ValueError(f"{method!r} is not a Bot API method")
        return name

    # -- recordings ------------------------------------------------------------------------

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        """The params of every call of ``method``."""
        name = self._canonical(method)
        return [c.params for c in self.calls if c.method == name]

    async def wait_for_call(
        self,
        method: str,
        predicate: Any = None,
        timeout: float = 5,
    ) -> Call:
        """The first call of ``method`` (matching ``predicate(params)``) not returned before.

        Each call is handed out once, so successive waits walk through successive calls.
        """
        name = self._canonical(method)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for index, call in enumerate(self.calls):
                if index in self._consumed or call.method != name:
                    continue
                if predicate is None or predicate(call.params):
                    self._consumed.add(index)
                    return call
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closing:
                recent = "\n".join(f"  {c.method} {c.params}" for c in self.calls[-10:])
                raise TimeoutError(
                    f"no {name} call{' matching the predicate' if predicate else ''} "
                    f"within {timeout}s; last calls:\n{recent or '  (none)'}"
                )
            await self._wait_change(remaining)

    # -- HTTP ------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error_response("?", FakeApiError(401, "Unauthorized"))
        name = request.match_info["method"]
        try:
            raw, files = await self._read_body(request)
        except ValueError as exc:
            return self._error_response(name, FakeApiError(400, f"Bad Request: {exc}"))
        status, payload, _ = await self._dispatch(name, raw, files)
        return web.json_response(payload, status=status)

    async def _read_body(self, request: web.Request) -> tuple[dict[str, Any], dict[str, Any]]:
        raw: dict[str, Any] = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if request.content_type == "application/json":
            body = await request.json() if request.can_read_body else {}
            if not isinstance(body, dict):
                raise ValueError("request body must be a JSON object")
            raw.update(body)
        elif request.can_read_body:
            form = await request.post()
            if not form and request.content_type not in (
                "application/x-www-form-urlencoded",
                "multipart/form-data",
            ):
                raise ValueError(f"unsupported content type {request.content_type}")
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    data = value.file.read()
                    files[key] = UploadedFile(key, value.filename, value.content_type, data)
                else:
                    raw[key] = value if isinstance(value, str) else bytes(value).decode()
        return raw, files

    def _error_response(self, method: str, error: FakeApiError) -> web.Response:
        self.errors.append((method, error.status, error.description))
        return web.json_response(error.payload(), status=error.status)

    def _decode(
        self, method: str, raw: dict[str, Any], files: dict[str, UploadedFile]
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        fields = self.spec.fields(method)
        params: dict[str, Any] = {}
        problems: list[tuple[str, str]] = []
        used: set[str] = set()
        for key, value in raw.items():
            types = fields[key]["types"] if key in fields else []
            if isinstance(value, str):
                value = _coerce(self.spec, value, types)
            if isinstance(value, str) and value.startswith("attach://") and "InputFile" in types:
                attached = value.removeprefix("attach://")
                if attached in files:
                    value = files[attached]
                    used.add(attached)
                else:
                    problems.append((WRONG_TYPE, f"{key}: attached file {attached!r} not found"))
            used |= _attachments(value)
            params[key] = value
        for key, upload in files.items():
            if key in used or isinstance(params.get(key), UploadedFile):
                continue
            params[key] = upload  # a file sent directly as the parameter (or an unknown one)
        return params, problems

    async def _dispatch(
        self, name: str, raw: dict[str, Any], files: dict[str, UploadedFile]
    ) -> tuple[int, dict[str, Any], Call | None]:
        method = self.spec.method_name(name)
        if method is None:
            self.violations.append(Violation(name, UNKNOWN_METHOD, f"unknown method {name!r}", raw))
            self.errors.append((name, 404, "Not Found"))
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}, None
        params, problems = self._decode(method, raw, files)
        call = Call(method, params)
        self.calls.append(call)
        self._notify()
        tolerated = self.tolerated_parameters.get("*", set()) | self.tolerated_parameters.get(
            method, set()
        )
        problems += self.spec.check_params(method, params, tolerated=tolerated)
        if not problems:
            problems += self._check_limits(method, params)
        if problems:
            for kind, description in problems:
                self.violations.append(Violation(method, kind, description, params))
            error = FakeApiError(400, f"Bad Request: {problems[0][1]}")
            self.errors.append((method, error.status, error.description))
            return error.status, error.payload(), call
        pause = self._delays.get(method, self._delays.get("*", 0))
        if pause:
            await asyncio.sleep(pause)
        try:
            failures = self._failures.get(method) or self._failures.get("*")
            if failures:
                raise failures.pop(0)
            result = await self._call_handler(method, params)
        except FakeApiError as error:
            self.errors.append((method, error.status, error.description))
            return error.status, error.payload(), call
        except Exception as exc:
            self.internal_errors.append(f"{method}: {type(exc).__name__}: {exc}")
            return 500, {"ok": False, "error_code": 500, "description": f"fake: {exc!r}"}, call
        returns = self.spec.methods[method].get("returns", [])
        wrong = self.spec.check_value(result, returns, f"{method} result") if returns else []
        if wrong:
            self.internal_errors.append(f"{method}: result does not match the spec: {wrong}")
        return 200, {"ok": True, "result": result}, call

    async def _call_handler(self, method: str, params: dict[str, Any]) -> Any:
        if method in self._results:
            result = self._results[method]
            if callable(result):
                result = result(params)
                if asyncio.iscoroutine(result):
                    result = await result
            return result
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            returns = self.spec.methods[method].get("returns", [])
            if returns in (["Boolean"], ["True"]):
                return True
            raise FakeApiError(501, f"Not Implemented: the fake has no {method}; use set_result")
        return await handler(params)

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error_response("file", FakeApiError(401, "Unauthorized"))
        path = request.match_info["path"]
        for info in self._files.values():
            if info.get("file_path") == path and info.get("data") is not None:
                return web.Response(body=info["data"], content_type="application/octet-stream")
        return self._error_response("file", FakeApiError(404, "Not Found"))

    # -- limits Telegram enforces --------------------------------------------------------

    def _check_limits(self, method: str, params: dict[str, Any]) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []

        def limit(message: str) -> None:
            problems.append((LIMIT, message))

        def rendered(key: str, mode_key: str, entities_key: str) -> str | None:
            try:
                plain, _ = render_text(
                    str(params[key]), params.get(mode_key), params.get(entities_key)
                )
            except EntityParseError as exc:
                limit(f"can't parse entities: {exc}")
                return None
            except FakeApiError as exc:
                limit(exc.description.removeprefix("Bad Request: "))
                return None
            return plain

        if method in {"sendMessage", "editMessageText"} and "text" in params:
            plain = rendered("text", "parse_mode", "entities")
            if plain is not None and not plain.strip():
                limit("message text is empty")
            elif plain is not None and len(plain) > 4096:
                limit(f"message is too long ({len(plain)} > 4096 characters)")
        if "caption" in params and "caption" in self.spec.fields(method):
            plain = rendered("caption", "parse_mode", "caption_entities")
            if plain is not None and len(plain) > 1024:
                limit(f"message caption is too long ({len(plain)} > 1024 characters)")
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and isinstance(markup.get("inline_keyboard"), list):
            for r, row in enumerate(markup["inline_keyboard"]):
                for c, button in enumerate(row if isinstance(row, list) else []):
                    problems += _button_problems(button, f"reply_markup.inline_keyboard[{r}][{c}]")
        if method == "answerCallbackQuery" and len(str(params.get("text", ""))) > 200:
            limit(f"answer text is too long ({len(str(params['text']))} > 200 characters)")
        if method == "setMyCommands" and isinstance(params.get("commands"), list):
            commands = params["commands"]
            if len(commands) > 100:
                limit(f"too many commands ({len(commands)} > 100)")
            for i, command in enumerate(commands):
                if not re.fullmatch(r"[a-z0-9_]{1,32}", command.get("command", "")):
                    limit(
                        f"BOT_COMMAND_INVALID: commands[{i}].command {command.get('command')!r}"
                        " must be 1-32 of a-z, 0-9 and _"
                    )
                if not 1 <= len(command.get("description", "")) <= 256:
                    limit(f"commands[{i}].description must be 1-256 characters")
        if (
            "MyCommands" in method
            and params.get("language_code", "")
            and not re.fullmatch(r"[a-z]{2}", str(params["language_code"]))
        ):
            limit(f"language_code {params['language_code']!r} is not a two-letter ISO 639-1 code")
        if method == "setWebhook":
            secret = params.get("secret_token")
            if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
                limit("secret token must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
            if not 1 <= int(params.get("max_connections", 40)) <= 100:
                limit("max_connections must be 1-100")
        if method == "sendChatAction" and params.get("action") not in _CHAT_ACTIONS:
            limit(f"wrong parameter action in request: {params.get('action')!r}")
        if method == "getUpdates" and not 1 <= int(params.get("limit", 100)) <= 100:
            limit("limit must be 1-100")
        return problems

    # -- chats and users ---------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "nl",
    ) -> dict[str, Any]:
        """Register (or update) a user and their private chat with the bot; returns the User."""
        user: dict[str, Any] = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name or f"User{user_id}",
        }
        chat: dict[str, Any] = {"id": user_id, "type": "private", "first_name": user["first_name"]}
        for key, value in (("last_name", last_name), ("username", username)):
            if value:
                user[key] = chat[key] = value
        if language_code:
            user["language_code"] = language_code
        self._users[user_id] = user
        self._chats[user_id] = chat
        return user

    def add_chat(
        self,
        chat_id: int,
        *,
        chat_type: str | None = None,
        title: str | None = None,
        username: str | None = None,
    ) -> dict[str, Any]:
        """Register a group, supergroup (``-100...``) or channel; returns the Chat."""
        if chat_type is None:
            chat_type = "supergroup" if str(chat_id).startswith("-100") else "group"
        chat: dict[str, Any] = {
            "id": chat_id,
            "type": chat_type,
            "title": title or f"Chat {chat_id}",
        }
        if username:
            chat["username"] = username
        self._chats[chat_id] = chat
        return chat

    def set_blocked(self, chat_id: int, blocked: bool = True) -> None:
        """Make sends to a chat fail with 403 (user blocked the bot / bot kicked from group)."""
        if blocked:
            self._blocked.add(chat_id)
        else:
            self._blocked.discard(chat_id)

    def _user(self, user_id: int, language_code: str | None = None) -> dict[str, Any]:
        user = self._users.get(user_id)
        if user is None:
            return self.add_user(user_id, language_code=language_code)
        if language_code and user.get("language_code") != language_code:
            user = self._users[user_id] = {**user, "language_code": language_code}
        return user

    def _find_chat(self, ref: Any) -> dict[str, Any] | None:
        if isinstance(ref, str) and ref.startswith("@"):
            name = ref[1:].lower()
            return next(
                (c for c in self._chats.values() if c.get("username", "").lower() == name), None
            )
        with contextlib.suppress(TypeError, ValueError):
            return self._chats.get(int(ref))
        return None

    def _target_chat(self, params: dict[str, Any], *, sending: bool = True) -> dict[str, Any]:
        ref = params.get("chat_id")
        chat = self._find_chat(ref)
        if chat is None:
            if self.strict_chats or not isinstance(ref, int):
                raise FakeApiError(400, "Bad Request: chat not found")
            if ref > 0:
                self.add_user(ref)
            chat = self._chats[ref] if ref > 0 else self.add_chat(ref)
        if sending and chat["id"] in self._blocked:
            raise FakeApiError(403, _FORBIDDEN[chat["type"]])
        return chat

    # -- messages ----------------------------------------------------------------------

    def sent_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """Messages the bot sent to a chat, oldest first, as they are now (edits applied,
        deleted ones left out)."""
        stored = self._messages.get(chat_id, {})
        return [stored[mid] for mid in self._bot_messages.get(chat_id, []) if mid in stored]

    def last_message(self, chat_id: int) -> dict[str, Any] | None:
        """The newest message the bot sent to a chat that still exists, or None."""
        messages = self.sent_messages(chat_id)
        return messages[-1] if messages else None

    def reply_keyboard(self, chat_id: int) -> dict[str, Any] | None:
        """The custom reply keyboard the user currently sees (None after ReplyKeyboardRemove)."""
        return self._reply_keyboards.get(chat_id)

    def _new_message_id(self, chat_id: int) -> int:
        self._message_seq[chat_id] = self._message_seq.get(chat_id, 0) + 1
        return self._message_seq[chat_id]

    def _store(self, message: dict[str, Any], *, by_bot: bool) -> dict[str, Any]:
        chat_id = message["chat"]["id"]
        self._messages.setdefault(chat_id, {})[message["message_id"]] = message
        if by_bot:
            self._bot_messages.setdefault(chat_id, []).append(message["message_id"])
        return message

    def _bot_message(
        self, params: dict[str, Any], chat: dict[str, Any], content: dict[str, Any]
    ) -> dict[str, Any]:
        chat_id = chat["id"]
        reply_to = None
        reply = params.get("reply_parameters")
        if reply is None and "reply_to_message_id" in params:  # deprecated form
            reply = {
                "message_id": int(params["reply_to_message_id"]),
                "allow_sending_without_reply": params.get("allow_sending_without_reply")
                in {True, "true"},
            }
        if isinstance(reply, dict):
            reply_to = self._messages.get(chat_id, {}).get(reply.get("message_id"))
            if reply_to is None and not reply.get("allow_sending_without_reply"):
                raise FakeApiError(400, "Bad Request: message to be replied not found")
        message: dict[str, Any] = {
            "message_id": self._new_message_id(chat_id),
            "date": _now(),
            "chat": chat,
        }
        if chat["type"] == "channel":
            message["sender_chat"] = chat
        else:
            message["from"] = self.bot_user
        if reply_to is not None:
            message["reply_to_message"] = {
                k: v for k, v in reply_to.items() if k != "reply_to_message"
            }
        if params.get("protect_content"):
            message["has_protected_content"] = True
        message.update(content)
        markup = params.get("reply_markup")
        if isinstance(markup, dict):
            if "inline_keyboard" in markup:
                message["reply_markup"] = markup  # only inline keyboards come back in a Message
            elif "keyboard" in markup:
                self._reply_keyboards[chat_id] = markup
            elif markup.get("remove_keyboard"):
                self._reply_keyboards[chat_id] = None
        return self._store(message, by_bot=True)

    def _editable(self, params: dict[str, Any]) -> dict[str, Any]:
        if "inline_message_id" in params:
            raise FakeApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        if "chat_id" not in params or "message_id" not in params:
            raise FakeApiError(400, "Bad Request: chat_id and message_id are required")
        chat = self._target_chat(params, sending=False)
        message = self._messages.get(chat["id"], {}).get(params["message_id"])
        if message is None:
            raise FakeApiError(400, "Bad Request: message to edit not found")
        if message["message_id"] not in self._bot_messages.get(chat["id"], []):
            raise FakeApiError(400, "Bad Request: message can't be edited")
        return message

    def _replace(self, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        keys = ("text", "entities", "caption", "caption_entities", "reply_markup")
        if all(old.get(k) == new.get(k) for k in keys):
            raise FakeApiError(400, _NOT_MODIFIED)
        new["edit_date"] = _now()
        self._messages[new["chat"]["id"]][new["message_id"]] = new
        return new

    # -- files -------------------------------------------------------------------------

    def add_file(
        self,
        data: bytes | None = None,
        *,
        file_id: str | None = None,
        file_path: str | None = None,
        file_name: str | None = None,
        mime_type: str | None = None,
        folder: str = "documents",
    ) -> str:
        """Register a file the bot can ``getFile`` and download; returns its file_id."""
        self._file_seq += 1
        file_id = file_id or f"fake-file-{self._file_seq:04d}"
        if file_path is None:
            suffix = Path(file_name).suffix if file_name else ""
            file_path = f"{folder}/file_{self._file_seq}{suffix}"
        info: dict[str, Any] = {
            "file_id": file_id,
            "file_unique_id": "u" + hashlib.sha1(file_id.encode()).hexdigest()[:15],
            "file_path": file_path,
            "data": data,
        }
        if data is not None:
            info["file_size"] = len(data)
        if file_name:
            info["file_name"] = file_name
        if mime_type or file_name:
            info["mime_type"] = mime_type or mimetypes.guess_type(file_name or "")[0]
        self._files[file_id] = info
        return file_id

    def file_bytes(self, file_id: str) -> bytes | None:
        """The bytes behind a file_id (what the bot uploaded, or what a test registered)."""
        info = self._files.get(file_id)
        return None if info is None else info.get("data")

    def _file_ref(self, file_id: str) -> dict[str, Any]:
        info = self._files[file_id]
        ref = {"file_id": file_id, "file_unique_id": info["file_unique_id"]}
        if "file_size" in info:
            ref["file_size"] = info["file_size"]
        return ref

    def _photo_sizes(self, file_id: str, data: bytes | None = None) -> list[dict[str, Any]]:
        if file_id not in self._files:
            self.add_file(
                data if data is not None else b"\xff\xd8\xff fake jpeg",
                file_id=file_id,
                folder="photos",
                file_name="photo.jpg",
            )
        sizes = []
        for suffix, (width, height) in (("-s", (90, 67)), ("-m", (320, 240)), ("", (1280, 960))):
            size_id = file_id + suffix
            if size_id not in self._files:
                info = self._files[file_id]
                self.add_file(info["data"], file_id=size_id, folder="photos", file_name="photo.jpg")
            sizes.append({**self._file_ref(size_id), "width": width, "height": height})
        return sizes

    def _input_file(
        self, value: Any, folder: str, *, known_only: bool = True
    ) -> tuple[str, UploadedFile | None]:
        """file_id for an InputFile-or-String parameter (upload, known file_id or URL)."""
        if isinstance(value, UploadedFile):
            return self.add_file(
                value.data,
                folder=folder,
                file_name=value.filename,
                mime_type=None
                if value.content_type == "application/octet-stream"
                else value.content_type,
            ), value
        value = str(value)
        if value in self._files:
            return value, None
        if value.startswith(("http://", "https://")):
            name = value.rsplit("/", 1)[-1] or None
            return self.add_file(None, folder=folder, file_name=name), None
        raise FakeApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    def _caption(self, params: dict[str, Any]) -> dict[str, Any]:
        if "caption" not in params:
            return {}
        caption, entities = render_text(
            str(params["caption"]), params.get("parse_mode"), params.get("caption_entities")
        )
        return {"caption": caption, **({"caption_entities": entities} if entities else {})}

    # -- API methods -------------------------------------------------------------------

    async def _api_getMe(self, params: dict[str, Any]) -> Any:
        return self.me

    async def _api_sendMessage(self, params: dict[str, Any]) -> Any:
        chat = self._target_chat(params)
        text, entities = render_text(
            str(params["text"]), params.get("parse_mode"), params.get("entities")
        )
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        return self._bot_message(params, chat, content)

    async def _api_editMessageText(self, params: dict[str, Any]) -> Any:
        old = self._editable(params)
        if "text" not in params:
            raise FakeApiError(400, "Bad Request: message text is empty")
        if "text" not in old:
            raise FakeApiError(400, "Bad Request: there is no text in the message to edit")
        text, entities = render_text(
            str(params["text"]), params.get("parse_mode"), params.get("entities")
        )
        new = {k: v for k, v in old.items() if k not in {"entities", "reply_markup", "edit_date"}}
        new["text"] = text
        if entities:
            new["entities"] = entities
        # Like Telegram: an edit without reply_markup drops the inline keyboard.
        if isinstance(params.get("reply_markup"), dict):
            new["reply_markup"] = params["reply_markup"]
        return self._replace(old, new)

    async def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> Any:
        old = self._editable(params)
        new = {k: v for k, v in old.items() if k not in {"reply_markup", "edit_date"}}
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            new["reply_markup"] = markup
        return self._replace(old, new)

    async def _api_deleteMessage(self, params: dict[str, Any]) -> Any:
        chat = self._target_chat(params, sending=False)
        if self._messages.get(chat["id"], {}).pop(params["message_id"], None) is None:
            raise FakeApiError(400, "Bad Request: message to delete not found")
        return True

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        query = self._callback_queries.get(str(params["callback_query_id"]))
        if query is None or query["answered"]:
            raise FakeApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        query["answered"] = True
        query["answer"] = params
        return True

    async def _api_sendChatAction(self, params: dict[str, Any]) -> Any:
        self._target_chat(params)
        return True

    async def _api_sendPhoto(self, params: dict[str, Any]) -> Any:
        chat = self._target_chat(params)
        file_id, upload = self._input_file(params["photo"], "photos")
        sizes = self._photo_sizes(file_id, upload.data if upload else None)
        return self._bot_message(params, chat, {"photo": sizes, **self._caption(params)})

    async def _api_sendDocument(self, params: dict[str, Any]) -> Any:
        chat = self._target_chat(params)
        file_id, _ = self._input_file(params["document"], "documents")
        info = self._files[file_id]
        document = self._file_ref(file_id)
        for key in ("file_name", "mime_type"):
            if info.get(key):
                document[key] = info[key]
        return self._bot_message(params, chat, {"document": document, **self._caption(params)})

    async def _api_getFile(self, params: dict[str, Any]) -> Any:
        file_id = str(params["file_id"])
        if file_id not in self._files:
            raise FakeApiError(400, "Bad Request: invalid file_id")
        return {**self._file_ref(file_id), "file_path": self._files[file_id]["file_path"]}

    # commands and menu button

    @staticmethod
    def _scope_key(scope: Any) -> str:
        scope = scope if isinstance(scope, dict) else {"type": "default"}
        return json.dumps(scope, sort_keys=True)

    def commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> Any:
        """The commands the bot set for a scope and language (what getMyCommands answers)."""
        return list(self._commands.get((self._scope_key(scope), language_code), []))

    async def _api_setMyCommands(self, params: dict[str, Any]) -> Any:
        key = (self._scope_key(params.get("scope")), str(params.get("language_code", "")))
        self._commands[key] = list(params["commands"])
        return True

    async def _api_getMyCommands(self, params: dict[str, Any]) -> Any:
        return self.commands(params.get("scope"), str(params.get("language_code", "")))

    async def _api_deleteMyCommands(self, params: dict[str, Any]) -> Any:
        key = (self._scope_key(params.get("scope")), str(params.get("language_code", "")))
        self._commands.pop(key, None)
        return True

    def menu_button(self, chat_id: int | None = None) -> dict[str, Any]:
        """The menu button set for a private chat (None: the default for all chats)."""
        default = self._menu_buttons.get(None, {"type": "commands"})
        return self._menu_buttons.get(chat_id, default) if chat_id is not None else default

    async def _api_setChatMenuButton(self, params: dict[str, Any]) -> Any:
        chat_id = params.get("chat_id")
        if chat_id is not None:
            self._target_chat(params, sending=False)
        button = params.get("menu_button") or {"type": "default"}
        if button.get("type") == "default":
            self._menu_buttons.pop(chat_id, None)
        else:
            self._menu_buttons[chat_id] = button
        return True

    async def _api_getChatMenuButton(self, params: dict[str, Any]) -> Any:
        return self.menu_button(params.get("chat_id"))

    # -- updates: long polling ---------------------------------------------------------

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates queued for getUpdates (not yet confirmed with a higher offset)."""
        return list(self._updates)

    @property
    def webhook(self) -> dict[str, Any] | None:
        """The webhook the bot set (url, secret_token, ...), or None in polling mode."""
        return dict(self._webhook) if self._webhook else None

    def _allowed(self, update: dict[str, Any]) -> bool:
        kind = next((k for k in update if k != "update_id"), None)
        if self._allowed_updates is None or not self._allowed_updates:
            return kind not in _NOT_DEFAULT_UPDATES
        return kind in self._allowed_updates

    def _set_allowed_updates(self, params: dict[str, Any]) -> None:
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = set(params["allowed_updates"])

    def _deliverable(self) -> list[dict[str, Any]]:
        """The queue without updates of types the bot did not ask for (those are dropped)."""
        keep = []
        for update in self._updates:
            (keep if self._allowed(update) else self.dropped_updates).append(update)
        self._updates = keep
        return keep

    def _end_long_polls(self, reason: str) -> None:
        self._poll_generation += 1
        self._poll_end_reason = reason
        self._notify()

    async def _api_getUpdates(self, params: dict[str, Any]) -> Any:
        if self._webhook:
            raise FakeApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self._end_long_polls(
            "Conflict: terminated by other getUpdates request; "
            "make sure that only one bot instance is running"
        )
        generation = self._poll_generation
        self._set_allowed_updates(params)
        offset = int(params.get("offset", 0))
        if offset < 0:
            self._updates = self._updates[offset:]
        elif offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        limit = int(params.get("limit", 100))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0, int(params.get("timeout", 0)))
        while True:
            if generation != self._poll_generation:
                raise FakeApiError(409, self._poll_end_reason)
            batch = self._deliverable()[:limit]
            if batch or self._closing:
                return batch
            if not await self._wait_change(deadline - loop.time()):
                return []

    # -- updates: webhook --------------------------------------------------------------

    async def _api_setWebhook(self, params: dict[str, Any]) -> Any:
        url = str(params["url"])
        if not url:
            return await self._api_deleteWebhook(params)
        if not re.match(r"https?://[^/\s]+", url):
            raise FakeApiError(400, "Bad Request: bad webhook: invalid webhook URL specified")
        self._webhook = {
            "url": url,
            "secret_token": params.get("secret_token"),
            "max_connections": int(params.get("max_connections", 40)),
        }
        if "ip_address" in params:
            self._webhook["ip_address"] = params["ip_address"]
        self._webhook_error = None
        self._set_allowed_updates(params)
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._end_long_polls("Conflict: terminated by setWebhook request")
        if self._updates:
            self._spawn(self._flush_to_webhook())
        return True

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> Any:
        self._webhook = None
        self._webhook_error = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _api_getWebhookInfo(self, params: dict[str, Any]) -> Any:
        info: dict[str, Any] = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook:
            info["url"] = self._webhook["url"]
            info["max_connections"] = self._webhook["max_connections"]
            if "ip_address" in self._webhook:
                info["ip_address"] = self._webhook["ip_address"]
            if self._allowed_updates:
                info["allowed_updates"] = sorted(self._allowed_updates)
            if self._webhook_error:
                info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    async def _flush_to_webhook(self) -> None:
        for update in list(self._updates):
            if not self._webhook:
                return
            self._updates.remove(update)
            await self._deliver(update)

    async def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Hand an Update to the bot: queue it for getUpdates, or POST it to the webhook.

        ``update_id`` is filled in when missing. Returns the update. In webhook mode this
        returns after the webhook answered (see ``webhook_deliveries``).
        """
        update = dict(update)
        if "update_id" not in update:
            update["update_id"] = self._next_update_id
        self._next_update_id = max(self._next_update_id, update["update_id"]) + 1
        problems = self.spec.check_object(update, "Update")
        if problems:
            raise ValueError(f"not a valid Update: {problems}")
        if self._webhook:
            await self._deliver(update)
        else:
            self._updates.append(update)
            self._notify()
        return update

    async def _deliver(self, update: dict[str, Any]) -> WebhookDelivery:
        async with self._delivery_lock:
            if not self._allowed(update):
                self.dropped_updates.append(update)
                return WebhookDelivery(update, None, error="dropped: not in allowed_updates")
            delivery = await self._post_to_webhook(update)
            self.webhook_deliveries.append(delivery)
            if not delivery.ok:
                # Telegram keeps the update and retries later; the fake keeps it queued.
                self._updates.append(update)
                self._webhook_error = (_now(), delivery.error or f"HTTP {delivery.status}")
            self._notify()
            return delivery

    async def _post_to_webhook(self, update: dict[str, Any]) -> WebhookDelivery:
        assert self._webhook is not None and self._http is not None
        headers = {"Content-Type": "application/json"}
        if self._webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = self._webhook["secret_token"]
        raw: dict[str, Any] = {}
        files: dict[str, UploadedFile] = {}
        try:
            async with self._http.post(
                self._webhook["url"],
                data=json.dumps(update),
                headers=headers,
                timeout=ClientTimeout(total=60),
            ) as resp:
                if resp.content_type == "multipart/form-data" and resp.status < 300:
                    reader = MultipartReader.from_response(resp)
                    async for part in reader:
                        if part.filename:
                            data = await part.read()
                            files[part.name] = UploadedFile(part.name, part.filename, None, data)
                        else:
                            raw[part.name] = await part.text()
                    body = b""
                else:
                    body = await resp.read()
                status = resp.status
                if resp.content_type == "application/json" and status < 300:
                    with contextlib.suppress(ValueError):
                        decoded = json.loads(body or b"{}")
                        raw = decoded if isinstance(decoded, dict) else {}
        except (ClientError, TimeoutError) as exc:
            return WebhookDelivery(update, None, error=f"{type(exc).__name__}: {exc}")
        if status >= 300:
            return WebhookDelivery(
                update,
                status,
                body,
                error=f"Wrong response from the webhook: {status} {resp.reason}",
            )
        reply = None
        if raw.get("method"):
            # The bot answered the update with a method call in the response body.
            _, _, reply = await self._dispatch(str(raw.pop("method")), raw, files)
        return WebhookDelivery(update, status, body, reply=reply)

    # -- update builders ---------------------------------------------------------------

    def _incoming(
        self,
        chat: dict[str, Any],
        user: dict[str, Any] | None,
        content: dict[str, Any],
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": self._new_message_id(chat["id"]),
            "date": _now(),
            "chat": chat,
        }
        if user is not None:
            message["from"] = user
        else:
            message["sender_chat"] = chat
        message.update(content)
        return self._store(message, by_bot=False)

    def _private_chat(self, user_id: int, language_code: str | None = None) -> Any:
        user = self._user(user_id, language_code)
        return self._chats[user_id], user

    @staticmethod
    def _text_content(text: str) -> dict[str, Any]:
        content: dict[str, Any] = {"text": text}
        command = re.match(r"/[A-Za-z0-9_]+(@\w+)?", text)
        if command:
            length = _utf16_len(command.group(0))
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return content

    async def user_message(
        self,
        user_id: int,
        text: str,
        *,
        language_code: str | None = "nl",
        chat_type: str = "private",
    ) -> dict[str, Any]:
        """A user sends ``text`` (``/commands`` get a bot_command entity).

        Non-private ``chat_type`` uses the chat ``-user_id`` (group) or ``-100…user_id``
        (supergroup); see ``group_message`` to pick the chat.
        """
        chat, user = self._private_chat(user_id, language_code)
        if chat_type != "private":
            chat_id = -user_id if chat_type == "group" else -(10**12 + user_id)
            chat = self._chats.get(chat_id) or self.add_chat(chat_id, chat_type=chat_type)
        message = self._incoming(chat, user, self._text_content(text))
        return await self.push_update({"message": message})

    async def group_message(self, chat_id: int, user_id: int, text: str) -> dict[str, Any]:
        """``user_id`` writes ``text`` in a group (``-100…`` ids are supergroups)."""
        user = self._user(user_id)
        chat = self._chats.get(chat_id) or self.add_chat(chat_id)
        message = self._incoming(chat, user, self._text_content(text))
        return await self.push_update({"message": message})

    async def channel_post(self, chat_id: int, text: str) -> dict[str, Any]:
        """A post in a channel the bot is in (``sender_chat`` is the channel, no ``from``)."""
        chat = self._chats.get(chat_id) or self.add_chat(chat_id, chat_type="channel")
        message = self._incoming(chat, None, self._text_content(text))
        return await self.push_update({"channel_post": message})

    async def user_photo(
        self,
        user_id: int,
        file_id: str | None = None,
        *,
        caption: str | None = None,
        data: bytes | None = None,
    ) -> dict[str, Any]:
        """A user sends a photo (three sizes; the largest has ``file_id``; getFile works)."""
        chat, user = self._private_chat(user_id)
        file_id = file_id or f"photo-{self._file_seq + 1:04d}"
        content: dict[str, Any] = {"photo": self._photo_sizes(file_id, data)}
        if caption:
            content["caption"] = caption
        return await self.push_update({"message": self._incoming(chat, user, content)})

    async def user_sticker(
        self, user_id: int, *, emoji: str = "👍", file_id: str | None = None
    ) -> dict[str, Any]:
        chat, user = self._private_chat(user_id)
        file_id = self.add_file(
            b"RIFF fake webp", file_id=file_id, folder="stickers", file_name="sticker.webp"
        )
        sticker = {
            **self._file_ref(file_id),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return await self.push_update({"message": self._incoming(chat, user, {"sticker": sticker})})

    async def user_voice(
        self,
        user_id: int,
        *,
        duration: int = 3,
        file_id: str | None = None,
        data: bytes | None = None,
    ) -> dict[str, Any]:
        chat, user = self._private_chat(user_id)
        file_id = self.add_file(
            data or b"OggS fake voice",
            file_id=file_id,
            folder="voice",
            file_name="voice.oga",
            mime_type="audio/ogg",
        )
        voice = {**self._file_ref(file_id), "duration": duration, "mime_type": "audio/ogg"}
        return await self.push_update({"message": self._incoming(chat, user, {"voice": voice})})

    async def edited_message(
        self, user_id: int, text: str, *, message_id: int | None = None
    ) -> dict[str, Any]:
        """The user edits a text message of theirs (by default their last one)."""
        chat, user = self._private_chat(user_id)
        stored = self._messages.setdefault(chat["id"], {})
        bot_ids = set(self._bot_messages.get(chat["id"], []))
        if message_id is None:
            mine = [mid for mid, m in stored.items() if mid not in bot_ids and "text" in m]
            message_id = mine[-1] if mine else None
        old = stored.get(message_id) if message_id is not None else None
        if old is None:
            old = self._incoming(chat, user, {"text": text})
        new = {k: v for k, v in old.items() if k not in {"text", "entities", "edit_date"}}
        new.update(self._text_content(text))
        new["edit_date"] = max(_now(), old["date"] + 1)
        stored[new["message_id"]] = new
        return await self.push_update({"edited_message": new})

    async def user_presses(
        self,
        user_id: int,
        callback_data: str,
        message_id: int | None = None,
        *,
        chat_id: int | None = None,
        strict: bool = True,
    ) -> dict[str, Any]:
        """The user presses an inline button with ``callback_data``.

        By default on the newest bot message in the chat that has such a button; with ``strict``
        the message must exist and carry that button (as in a real client). The query id is
        ``update["callback_query"]["id"]``; the bot should answer it (answerCallbackQuery).
        """
        user = self._user(user_id)
        chat_id = user_id if chat_id is None else chat_id
        chat = self._chats.get(chat_id) or self.add_chat(chat_id)

        def has_button(msg: dict[str, Any]) -> bool:
            rows = msg.get("reply_markup", {}).get("inline_keyboard", [])
            return any(b.get("callback_data") == callback_data for row in rows for b in row)

        if message_id is None:
            candidates = [m for m in self.sent_messages(chat_id) if has_button(m)]
            if not candidates and strict:
                raise LookupError(
                    f"no bot message in chat {chat_id} has a button {callback_data!r}"
                )
            message_id = candidates[-1]["message_id"] if candidates else 1
        message = self._messages.get(chat_id, {}).get(message_id)
        if strict and (message is None or not has_button(message)):
            raise LookupError(
                f"message {message_id} in chat {chat_id} has no button "
                f"{callback_data!r} (it has {message and message.get('reply_markup')})"
            )
        if message is None:
            message = {"chat": chat, "message_id": message_id, "date": 0}  # InaccessibleMessage
        self._callback_seq += 1
        query_id = f"{abs(user_id)}{self._callback_seq:06d}"
        self._callback_queries[query_id] = {"answered": False, "user_id": user_id}
        query = {
            "id": query_id,
            "from": user,
            "message": message,
            "chat_instance": str(int(hashlib.sha1(str(chat_id).encode()).hexdigest()[:15], 16)),
            "data": callback_data,
        }
        return await self.push_update({"callback_query": query})

    def callback_answer(self, query_id: str) -> dict[str, Any] | None:
        """The answerCallbackQuery params for a query, or None while unanswered."""
        return self._callback_queries.get(query_id, {}).get("answer")

    def _chat_member(self, user: dict[str, Any], status: str) -> dict[str, Any]:
        """A ChatMember of the variant for ``status``, required fields filled from the spec."""
        variant = next(
            s
            for s in self.spec.types["ChatMember"]["subtypes"]
            if self.spec.discriminator(s) == ("status", status)
        )
        member: dict[str, Any] = {"status": status, "user": user}
        defaults = {"Boolean": False, "Integer": 0, "String": ""}
        for f in self.spec.types[variant]["fields"]:
            if f["required"] and f["name"] not in member:
                member[f["name"]] = defaults[f["types"][0]]
        if status == "restricted":
            member["is_member"] = True
        return member

    async def my_chat_member(
        self,
        user_id: int,
        status: str = "kicked",
        *,
        chat_id: int | None = None,
        old_status: str | None = None,
    ) -> dict[str, Any]:
        """The bot's membership changes: ``kicked`` (user blocked the bot), ``member``
        (unblocked / added to a group), ``left``, ``administrator``…; done by ``user_id``.

        Sends to a chat where the bot is ``kicked``/``left`` fail with 403 afterwards.
        """
        user = self._user(user_id)
        chat_id = user_id if chat_id is None else chat_id
        chat = self._chats.get(chat_id) or self.add_chat(chat_id)
        if old_status is None:
            old_status = (
                "member"
                if status != "member"
                else ("kicked" if chat["type"] == "private" else "left")
            )
        self.set_blocked(chat_id, status in {"kicked", "left"})
        change = {
            "chat": chat,
            "from": user,
            "date": _now(),
            "old_chat_member": self._chat_member(self.bot_user, old_status),
            "new_chat_member": self._chat_member(self.bot_user, status),
        }
        return await self.push_update({"my_chat_member": change})
