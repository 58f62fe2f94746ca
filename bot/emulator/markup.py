"""Reply markup checked as Telegram checks it, so a keyboard the real API would refuse is refused in tests too."""

from __future__ import annotations

import json
from typing import Any

from bot.emulator.errors import _bad_request
from bot.emulator.html_check import _checked_link

MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


def _parse_reply_markup(raw: Any) -> dict[str, Any] | None:
    """Validates reply_markup like Telegram: inline buttons, callback_data size, button count."""
    if raw is None or raw == "":
        return None
    try:
        markup = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        markup = None
    if not isinstance(markup, dict):
        raise _bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad_request('field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays')
        buttons = [button for row in rows for button in row]
        if len(buttons) > MAX_INLINE_BUTTONS:
            raise _bad_request("reply markup is too long")
        for button in buttons:
            _check_inline_button(button)
    return markup


def _check_inline_button(button: Any) -> None:
    """One inline button: text plus exactly one action; callback_data at most 64 bytes."""
    prefix = "can't parse inline keyboard button: "
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise _bad_request(prefix + 'Field "text" must be of type String')
    actions = [name for name in _BUTTON_ACTIONS if name in button]
    if not actions:
        raise _bad_request(prefix + "Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise _bad_request(prefix + f"exactly one of the optional fields must be used, got {', '.join(actions)}")
    data = button.get("callback_data")
    if "callback_data" in button and (not isinstance(data, str) or len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES):
        raise _bad_request("BUTTON_DATA_INVALID")
    url = button.get("url")
    if "url" in button and (not isinstance(url, str) or _checked_link(url) is None):
        raise _bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")


def _inline_buttons(markup: dict[str, Any] | None) -> list[dict[str, Any]]:
    """All buttons of an inline keyboard, row by row."""
    if not markup or "inline_keyboard" not in markup:
        return []
    return [button for row in markup["inline_keyboard"] for button in row]
