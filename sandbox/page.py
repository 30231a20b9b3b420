"""The sandbox's web server: the chat page, the demo personas and the stand-in's control API.

The page and the control API share one origin, so the page needs no CORS and no CDN: three
static files shipped with the package, plain HTML, CSS and JavaScript.
"""

from __future__ import annotations

from dataclasses import asdict
from importlib import resources

from aiohttp import web
from aiohttp.typedefs import Handler

from sandbox import demo
from standin import TelegramStandin
from standin.control import ControlApi
from standin.sandbox_api import SandboxApi

PACKAGE = "sandbox"
UPLOAD_LIMIT = 20 * 1024 * 1024
ASSETS = {
    "/": ("index.html", "text/html"),
    "/app.js": ("app.js", "text/javascript"),
    "/style.css": ("style.css", "text/css"),
}
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def page_app(standin: TelegramStandin) -> web.Application:
    """The aiohttp application serving the page next to the control API."""
    app = web.Application(client_max_size=UPLOAD_LIMIT, middlewares=[_headers])
    app.add_routes([web.get(path, _asset) for path in ASSETS])
    app.add_routes([web.get("/sandbox/personas", _personas)])
    app.add_routes(ControlApi(standin).routes() + SandboxApi(standin).routes())
    return app


async def _asset(request: web.Request) -> web.Response:
    name, content_type = ASSETS[request.path]
    body = resources.files(PACKAGE).joinpath(name).read_text(encoding="utf-8")
    return web.Response(text=body, content_type=content_type, charset="utf-8")


async def _personas(request: web.Request) -> web.Response:
    """Who the page can act as, in display order, with labels in both languages."""
    return web.json_response({"personas": [asdict(p) for p in demo.PERSONAS]})


@web.middleware
async def _headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    response.headers.update(HEADERS)
    return response
