"""Bot API failures carrying Telegram's own status, wording and parameters, so the bot handles real answers."""

from __future__ import annotations

from typing import Any


class BotApiError(Exception):
    """A failed Bot API call, carrying exactly what Telegram would answer."""

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        """The JSON body Telegram sends for this failure."""
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


class EntityParseError(BotApiError):
    """Telegram's 400 "can't parse entities", raised by the HTML validator."""

    def __init__(self, detail: str) -> None:
        super().__init__(400, f"Bad Request: can't parse entities: {detail}")
        self.detail = detail


def _bad_request(detail: str) -> BotApiError:
    """A 400 worded the way the Bot API words it."""
    return BotApiError(400, f"Bad Request: {detail}")
