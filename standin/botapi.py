"""The Bot API endpoint: ``/bot<token>/<method>`` and ``/file/bot<token>/<path>``.

Each call goes through the same steps as at Telegram: token, method name, parameters,
(injected faults), required parameters, flood control, the method itself; the answer is the
usual ``{"ok": ...}`` envelope with the HTTP status equal to ``error_code``. Every call is
recorded in :attr:`BotApi.calls`, and every way a call departs from the Bot API spec (a
parameter the method does not take, a required one missing) in :attr:`BotApi.violations`.
Telegram ignores a parameter it does not know; with ``strict_parameters`` the stand-in
answers it 400 "<name> is not a parameter of <method>" instead, so that a test sees it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from aiohttp import web

from standin import caller, stars
from standin.errors import ApiError, bad_request
from standin.limits import SENDING, Faults, RateLimiter
from standin.methods import METHODS, lookup
from standin.spec import Spec
from standin.state import World
from standin.waiting import Signal
from standin.wire import dumps, read_params, resolve_attachments

logger = logging.getLogger(__name__)
JSON = dict[str, Any]


@dataclass(frozen=True)
class ApiCall:
    """One Bot API call: decoded parameters, HTTP status and the answer exactly as sent."""

    method: str
    params: JSON
    status: int
    body: str
    token: str
    at: float = 0.0  # when it was answered, on the stand-in's clock

    @cached_property
    def response(self) -> JSON:
        """The answer envelope (parsed on first use; the log keeps the text)."""
        parsed: JSON = json.loads(self.body)
        return parsed

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def result(self) -> Any:
        return self.response.get("result")

    @property
    def description(self) -> str | None:
        return self.response.get("description")


class BotApi:
    """Serves the Bot API over a :class:`World`."""

    def __init__(
        self,
        world: World,
        *,
        spec: Spec,
        limiter: RateLimiter,
        faults: Faults,
        valid_tokens: Collection[str] | None,
        strict_parameters: bool = False,
    ) -> None:
        self.world = world
        self.strict_parameters = strict_parameters
        self.spec = spec
        self.limiter = limiter
        self.faults = faults
        self.valid_tokens = set(valid_tokens) if valid_tokens is not None else None
        self.calls: list[ApiCall] = []
        self.violations: list[str] = []
        self.tokens: set[str] = set()
        self.signal = Signal()  # fires after every call

    def routes(self) -> list[web.RouteDef]:
        return [
            web.route("*", "/bot{token}/{method}", self.handle),
            web.get("/file/bot{token}/{path:.+}", self.download),
        ]

    async def handle(self, request: web.Request) -> web.Response:
        """Answer one Bot API call."""
        token = request.match_info["token"]
        self.tokens.add(token)
        method = lookup(request.match_info["method"])
        params: JSON = {}
        caller.CURRENT.set(request)  # per connection task, which answers one call at a time
        try:
            self._authorize(token)
            if method is None:
                raise ApiError(404, "Not Found")
            params = resolve_attachments(self.spec.decode(method, await read_params(request)))
            body: JSON = {"ok": True, "result": await self._run(method, params)}
            status = 200
        except ApiError as error:
            status, body = error.error_code, error.envelope()
        except Exception as error:
            logger.exception("stand-in failed on %s", method)
            status = 500
            body = ApiError(500, f"Internal Server Error: {error!r}").envelope()
        text = dumps(body)
        name = method or request.match_info["method"]
        if status != 200:
            logger.info("%s answered %s %s (params %r)", name, status, body["description"], params)
        self.calls.append(ApiCall(name, params, status, text, token, self.world.clock()))
        self.signal.notify()
        return web.Response(text=text, status=status, content_type="application/json")

    async def _run(self, method: str, params: JSON) -> Any:
        self._check_parameters(method, params)
        await self.faults.apply(method, params, self.world.closing)
        self.spec.check_required(method, params)
        paid = stars.is_paid(params) and method in SENDING
        if paid:
            stars.check_balance(self.world)
        self.limiter.check(method, params.get("chat_id"), paid=paid)
        result = await METHODS[method](self.world, params)
        if paid:
            stars.charge(self.world)
        return result

    def _check_parameters(self, method: str, params: JSON) -> None:
        """Record what departs from the spec; when strict, refuse a parameter it lacks."""
        self.violations.extend(self.spec.violations(method, params))
        unknown = self.spec.unknown(method, params)
        if unknown and self.strict_parameters:
            raise bad_request(f"{unknown[0]} is not a parameter of {method}")

    def _authorize(self, token: str) -> None:
        if self.valid_tokens is not None and token not in self.valid_tokens:
            raise ApiError(401, "Unauthorized")

    async def download(self, request: web.Request) -> web.Response:
        """Serve a stored file by its file_path."""
        try:
            self._authorize(request.match_info["token"])
        except ApiError as error:
            return web.json_response(error.envelope(), status=error.error_code)
        stored = self.world.files.by_path(request.match_info["path"])
        if stored is None:
            return web.json_response(ApiError(404, "Not Found").envelope(), status=404)
        content_type = stored.mime_type or "application/octet-stream"
        return web.Response(body=stored.data, content_type=content_type)
