"""The sandbox: the real bot, the local Telegram stand-in and a web chat page, on loopback.

``python -m bot sandbox`` (or ``./run`` with no token) starts it; see docs/sandbox.md.
"""

from sandbox.runner import Sandbox, sandbox_settings, serve

__all__ = ["Sandbox", "sandbox_settings", "serve"]
