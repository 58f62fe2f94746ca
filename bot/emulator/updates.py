"""How updates reach the bot, by long polling or by webhook, with Telegram's conflicts and delivery retries."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bot.emulator.errors import BotApiError, _bad_request
from bot.emulator.params import _Params
from bot.emulator.state import _Webhook

WEBHOOK_RETRY_DELAY = 1.0  # emulator seconds between failed webhook deliveries


class UpdateDelivery:
    """The update queue the control API fills, and getUpdates or the webhook that drain it to the bot."""

    def _enqueue(self, kind: str, payload: dict[str, Any]) -> None:
        """Queue an update; updates of a kind excluded by allowed_updates are dropped, as on Telegram."""
        if self._allowed_updates is not None and kind not in self._allowed_updates:
            return
        self.last_update_id = next(self._update_ids)
        self._updates.append({"update_id": self.last_update_id, kind: payload})
        self._updates_signal.fire()
        self._changed.fire()

    async def _get_updates(self, p: _Params) -> list[dict[str, Any]]:
        if self._webhook is not None:
            raise BotApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self._confirm_updates(p.integer("offset"))
        self._set_allowed_updates(p)
        limit = min(max(p.integer("limit") or 100, 1), 100)
        self._poll_generation += 1
        generation = self._poll_generation
        self._updates_signal.fire()  # an older long poll still waiting gets terminated below
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(p.integer("timeout") or 0, 0)
        while not self._updates and not self._closing and loop.time() < deadline:
            await self._updates_signal.wait(deadline - loop.time())
            if generation != self._poll_generation:
                raise BotApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                )
        return self._updates[:limit]

    def _confirm_updates(self, offset: int | None) -> None:
        """offset confirms every update below it; a negative one keeps only the last -offset updates."""
        if offset is None:
            return
        if offset < 0:
            self._updates = self._updates[offset:]
        else:
            self._updates = [update for update in self._updates if update["update_id"] >= offset]

    def _set_allowed_updates(self, p: _Params) -> None:
        allowed = p.json("allowed_updates")
        if allowed is not None:
            self._allowed_updates = set(allowed) or None

    async def _set_webhook(self, p: _Params) -> bool:
        url = p.text("url") or ""
        if p.flag("drop_pending_updates"):
            self._updates.clear()
        self._set_allowed_updates(p)
        if not url:
            await self._stop_webhook_task()
            return True
        # Telegram demands HTTPS on ports 443/80/88/8443; plain HTTP is allowed here for local receivers.
        if urlsplit(url).scheme not in ("http", "https"):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self._webhook = _Webhook(url, p.text("secret_token"), p.integer("max_connections") or 40)
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._deliver_webhook())
        return True

    async def _delete_webhook(self, p: _Params) -> bool:
        if p.flag("drop_pending_updates"):
            self._updates.clear()
        await self._stop_webhook_task()
        return True

    async def _stop_webhook_task(self) -> None:
        self._webhook = None
        task, self._webhook_task = self._webhook_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _get_webhook_info(self, p: _Params) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        hook = self._webhook
        if hook is not None:
            info.update(url=hook.url, max_connections=hook.max_connections, ip_address="127.0.0.1")
            if self._allowed_updates is not None:
                info["allowed_updates"] = sorted(self._allowed_updates)
            if hook.last_error_date is not None:
                info.update(last_error_date=hook.last_error_date, last_error_message=hook.last_error_message)
        return info

    async def _deliver_webhook(self) -> None:
        """POST queued updates to the webhook one at a time, in order, retrying failures."""
        while (hook := self._webhook) is not None:
            if not self._updates:
                await self._updates_signal.wait(None)
                continue
            update = self._updates[0]
            error = await self._post_update(hook, update)
            if error is None:
                if self._updates and self._updates[0] is update:
                    self._updates.pop(0)
                self._changed.fire()
                continue
            hook.last_error_date, hook.last_error_message = int(time.time()), error
            self._changed.fire()
            await asyncio.sleep(WEBHOOK_RETRY_DELAY / self.time_scale)

    async def _post_update(self, hook: _Webhook, update: dict[str, Any]) -> str | None:
        """Deliver one update; returns Telegram's last_error_message wording on failure."""
        assert self._session is not None
        headers = {"X-Telegram-Bot-Api-Secret-Token": hook.secret_token} if hook.secret_token else {}
        try:
            async with self._session.post(
                hook.url, json=update, headers=headers, timeout=aiohttp.ClientTimeout(total=10)
            ) as response:
                if 200 <= response.status < 300:
                    return None
                return f"Wrong response from the webhook: {response.status} {response.reason}"
        except aiohttp.ClientConnectorError:
            return "Connection refused"
        except TimeoutError:
            return "Read timeout expired"
        except aiohttp.ClientError as error:
            return str(error)
