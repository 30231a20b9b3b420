"""The bot's rate limiter: AIORateLimiter, with a way out for callers that obey 429s themselves."""

from __future__ import annotations

from typing import Any

from telegram.ext import AIORateLimiter

# rate_limit_args for a private-chat call whose caller handles RetryAfter (broadcasts do).
CALLER_HANDLES_RETRY_AFTER = -1


class RateLimiter(AIORateLimiter):
    """AIORateLimiter, except that a private-chat call may opt out of its RetryAfter retries.

    AIORateLimiter sleeps through any ``retry_after`` however long; the broadcast engine
    needs the 429 itself, to pause every send, or the whole broadcast when the wait is long.
    The call still counts against the overall limit.
    """

    async def process_request(
        self,
        callback: Any,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        if rate_limit_args != CALLER_HANDLES_RETRY_AFTER:
            return await super().process_request(
                callback, args, kwargs, endpoint, data, rate_limit_args
            )
        return await self._run_request(
            chat=True,
            group=False,
            allow_paid_broadcast=False,
            callback=callback,
            args=args,
            kwargs=kwargs,
        )
