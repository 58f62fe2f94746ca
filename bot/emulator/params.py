"""Bot API parameters read as PTB sends them (query, form, multipart or JSON), with Telegram's 400 for bad ones."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bot.emulator.errors import BotApiError, _bad_request
from bot.emulator.state import UploadedFile


class _Params:
    """Typed access to parameters that arrive as JSON values or as form/query strings."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def text(self, name: str) -> str | None:
        """A String parameter."""
        value = self.raw.get(name)
        return None if value is None else str(value)

    def integer(self, name: str) -> int | None:
        """An Integer parameter; a malformed one is a 400."""
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _bad_request(f'field "{name}" must be of type Integer') from None

    def flag(self, name: str) -> bool:
        """A Boolean parameter (PTB sends JSON 'true', forms may say 'True' or '1')."""
        return self.raw.get(name) in (True, 1, "true", "True", "1")

    def json(self, name: str) -> Any:
        """An object/array parameter, sent by PTB as a JSON string inside forms."""
        value = self.raw.get(name)
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise _bad_request(f"can't parse {name} JSON object") from None


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Query string plus urlencoded, multipart (files become UploadedFile) or JSON body."""
    params: dict[str, Any] = dict(request.query)
    if not request.body_exists:
        return params
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise _bad_request("can't parse JSON object") from None
        if not isinstance(body, dict):
            raise _bad_request("can't parse JSON object")
        params.update(body)
        return params
    try:
        form = await request.post()
    except web.HTTPRequestEntityTooLarge:
        raise BotApiError(413, "Request Entity Too Large") from None
    for key, value in form.items():
        if isinstance(value, web.FileField):
            params[key] = UploadedFile(value.filename, value.file.read(), value.content_type)
        else:
            params[key] = value
    return params
