"""setWebhook, deleteWebhook, getWebhookInfo, and delivery of updates to the webhook URL.

Delivery posts one update at a time with the ``X-Telegram-Bot-Api-Secret-Token`` header and
retries a failed update after a second, recording the error for getWebhookInfo. Unlike
Telegram, plain http URLs are accepted (the receiver runs on loopback in tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp

from standin.errors import bad_request

if TYPE_CHECKING:
    from standin.state import World

JSON = dict[str, Any]
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
RETRY_SECONDS = 1.0


@dataclass
class WebhookState:
    """The webhook as setWebhook configured it, and how delivery is going."""

    url: str = ""
    secret_token: str | None = None
    max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None
    task: asyncio.Task[None] | None = None


async def set_webhook(world: World, params: JSON) -> bool:
    """setWebhook: an empty url removes the webhook."""
    url = str(params.get("url") or "")
    if url and not url.startswith(("https://", "http://")):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = params.get("secret_token")
    if secret is not None and not SECRET_TOKEN.fullmatch(str(secret)):
        raise bad_request("secret token contains unallowed characters")
    await stop_delivery(world)
    if params.get("drop_pending_updates"):
        world.updates.drop_pending()
    world.updates.set_allowed(params.get("allowed_updates"))
    hook = WebhookState(url, secret, int(params.get("max_connections") or 40))
    world.webhook = hook
    if url:
        hook.task = asyncio.create_task(_deliver(world, hook))
    return True


async def delete_webhook(world: World, params: JSON) -> bool:
    """deleteWebhook: back to getUpdates, optionally dropping what is pending."""
    await stop_delivery(world)
    world.webhook = WebhookState()
    if params.get("drop_pending_updates"):
        world.updates.drop_pending()
    return True


async def get_webhook_info(world: World, params: JSON) -> JSON:
    """getWebhookInfo."""
    hook = world.webhook
    info: JSON = {
        "url": hook.url,
        "has_custom_certificate": False,
        "pending_update_count": len(world.updates.pending),
    }
    if hook.url:
        info["max_connections"] = hook.max_connections
        info["allowed_updates"] = sorted(world.updates.allowed)
    if hook.last_error_date is not None:
        info["last_error_date"] = hook.last_error_date
        info["last_error_message"] = hook.last_error_message
    return info


async def stop_delivery(world: World) -> None:
    """Cancel the delivery task, if any, and wait until it is gone."""
    task, world.webhook.task = world.webhook.task, None
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _deliver(world: World, hook: WebhookState) -> None:
    async with aiohttp.ClientSession() as session:
        while not world.closing.is_set():
            batch = await world.updates.poll(offset=None, limit=1, seconds=30.0)
            if not batch:
                continue
            update = batch[0]
            error = await _post(session, hook, update)
            if error is None:
                world.updates.remove(update)
                continue
            hook.last_error_date, hook.last_error_message = int(time.time()), error
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(RETRY_SECONDS):
                    await world.closing.wait()


async def _post(session: aiohttp.ClientSession, hook: WebhookState, update: JSON) -> str | None:
    """POST one update; the error text for getWebhookInfo, or None when it was accepted."""
    headers = {"X-Telegram-Bot-Api-Secret-Token": hook.secret_token} if hook.secret_token else {}
    try:
        async with session.post(
            hook.url, json=update, headers=headers, timeout=aiohttp.ClientTimeout(total=10)
        ) as response:
            if 200 <= response.status < 300:
                return None
            return f"Wrong response from the webhook: {response.status} {response.reason}"
    except (aiohttp.ClientError, TimeoutError) as exc:
        return f"Connection failed: {exc.__class__.__name__}"


METHODS = {
    "setWebhook": set_webhook,
    "deleteWebhook": delete_webhook,
    "getWebhookInfo": get_webhook_info,
}
