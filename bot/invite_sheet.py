"""Invite links for a whole roster at once: a spreadsheet to mail and a QR sheet to print."""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import qrcode

from bot.invites import Invites
from bot.tables import write_table
from storage.db import Database
from storage.invites import InviteRepository
from storage.models import InviteKind
from storage.rosters import active_enterprises, unbound_officials

HEADER = ("kind", "key", "name", "link", "expires")


@dataclass(frozen=True, slots=True)
class InviteLine:
    kind: InviteKind
    key: str  # the official's roster id or the enterprise's credit code
    name: str
    link: str
    expires_at: datetime


async def issue_roster_invites(
    db: Database,
    kind: InviteKind,
    *,
    bot_username: str,
    now: datetime,
    ttl: timedelta,
) -> list[InviteLine]:
    """One new invite per official not yet joined, or per active enterprise (for a contact)."""
    repo = Invites(InviteRepository(db), uow=db)
    lines = []
    if kind is InviteKind.OFFICIAL:
        targets = await unbound_officials(db)
    else:
        targets = await active_enterprises(db)
    for target_id, key, name in targets:
        issued = await repo.issue(
            kind=kind,
            official_id=target_id if kind is InviteKind.OFFICIAL else None,
            enterprise_id=target_id if kind is InviteKind.CONTACT else None,
            now=now,
            ttl=ttl,
        )
        lines.append(InviteLine(kind, key, name, issued.link(bot_username), issued.expires_at))
    return lines


def write_invites(lines: list[InviteLine], out: Path, tz: ZoneInfo) -> list[Path]:
    """``out`` as .xlsx or .csv, and next to it an HTML sheet of QR codes to print."""
    expires = [line.expires_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") for line in lines]
    write_table(
        out,
        HEADER,
        [
            (line.kind, line.key, line.name, line.link, when)
            for line, when in zip(lines, expires, strict=True)
        ],
    )
    sheet = out.with_suffix(".html")
    sheet.write_text(_qr_sheet(lines, expires), encoding="utf-8")
    return [out, sheet]


def _qr_png(link: str) -> str:
    buffer = io.BytesIO()
    qrcode.make(link, box_size=4, border=2).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def _qr_sheet(lines: list[InviteLine], expires: list[str]) -> str:
    cards = "\n".join(
        f'<div class="card"><img alt="QR" src="data:image/png;base64,{_qr_png(line.link)}">'
        f"<p><b>{html.escape(line.name)}</b><br>{html.escape(line.key)}<br>"
        f"有效期至 / valid until {when}</p></div>"
        for line, when in zip(lines, expires, strict=True)
    )
    return (
        '<!doctype html><html lang="zh"><meta charset="utf-8"><title>邀请二维码 / Invites</title>'
        "<style>body{font-family:sans-serif}.card{display:inline-block;width:30%;margin:1%;"
        "text-align:center;page-break-inside:avoid;border:1px dashed #999;padding:8px}"
        "img{width:160px;height:160px}p{font-size:12px;word-break:break-all}</style>"
        "<body><h1>政企直通 · 邀请二维码（一次有效，请妥善转交本人）</h1>"
        f"{cards}</body></html>"
    )
