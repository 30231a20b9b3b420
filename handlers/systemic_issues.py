"""Systemic issues (系统性问题) in the chat: admins list, open, create, group, annotate and
resolve them; entrepreneurs see similar known issues before they submit a request.

Admin commands: /issues, /issue N, /issue_new title, /issue_note N text, /issue_link N LN-…,
/similar LN-…; a request card's "🧩 Group" button opens the suggestions for that request.
Every command and every button asks the domain, which refuses anyone but an admin.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.i18n import Html, Translator
from bot.offices import scope_of
from bot.requests import Submitted
from bot.roles import Actor
from bot.similarity import Scored
from bot.systemic_issues import MATCH_KIND, IssueRefused, IssueView, Suggestions
from handlers.access import refuse, refuse_stale
from handlers.callback_data import CallbackData
from handlers.cards import answer_query, message_to, notify, send_here
from handlers.context import AppContext
from handlers.errors import edit_pressed
from handlers.menu import menu_pattern
from handlers.request_lists import NUMBER
from storage.outbox import NewMessage
from storage.requests import NewRequest
from storage.systemic_issues import Issue, IssueStatus

log = logging.getLogger(__name__)

# A card stays within Telegram's 4096 characters: so many requests, so much of each note.
CARD_REQUESTS = 20
CARD_DETAIL = 200
BUTTON_TITLE = 40


@dataclass(frozen=True, slots=True)
class IssueButton(CallbackData, prefix="si"):
    """``action`` on issue ``issue_id``; ``arg`` is a status, a request id or a page."""

    action: str
    issue_id: int
    arg: str


def _button(label: str, action: str, issue_id: int = 0, arg: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=IssueButton(action, issue_id, arg).pack())


# -- rendering -----------------------------------------------------------------------------------


def _status(texts: Translator, status: str) -> str:
    return texts(f"systemic.status.{status}")


def _heading(issue: Issue, texts: Translator) -> str:
    return texts(
        "systemic.title_line", id=issue.id, status=_status(texts, issue.status), title=issue.title
    )


def _card(context: AppContext, view: IssueView, texts: Translator) -> str:
    issue, calendar = view.issue, context.services.calendar
    lines = [
        _heading(issue, texts),
        texts("systemic.counts", enterprises=issue.enterprises, linked=issue.linked),
    ]
    lines += [
        texts(
            "systemic.request_line",
            number=r.number,
            enterprise=r.enterprise,
            summary=r.summary,
            status=texts(f"requests.status.{r.status}"),
        )
        for r in view.requests[:CARD_REQUESTS]
    ]
    if len(view.requests) > CARD_REQUESTS:
        lines.append(texts("systemic.more", count=len(view.requests) - CARD_REQUESTS))
    if view.events:
        lines += ["", texts("systemic.events")]
    for event in view.events:
        detail = _shorten(event.detail, CARD_DETAIL)
        if event.kind == "status":
            detail = " → ".join(_status(texts, s) for s in detail.split(">"))
        what = texts(f"systemic.event.{event.kind}", detail=detail, number=event.request_number)
        at = f"{calendar.local(event.at):%m-%d %H:%M}"
        lines.append(texts("systemic.event_line", at=at, what=Html(what)))
    return "\n".join(lines)


def _card_keyboard(view: IssueView, texts: Translator) -> InlineKeyboardMarkup:
    issue = view.issue
    targets = [s for s in IssueStatus if s is not issue.status]
    rows = [[_button(texts(f"systemic.button.{s}"), "status", issue.id, s)] for s in targets]
    rows.append([_button(texts("systemic.button.note"), "note", issue.id)])
    if issue.status is not IssueStatus.RESOLVED:
        rows += [
            [
                _button(
                    texts("systemic.button.unlink", number=r.number), "unlink", issue.id, str(r.id)
                )
            ]
            for r in view.requests[:CARD_REQUESTS]
        ]
    return InlineKeyboardMarkup(rows)


def _list_keyboard(
    items: list[Issue], texts: Translator, *, resolved: bool, page: int, more: bool
) -> InlineKeyboardMarkup:
    """A button per issue, then paging and the switch between unresolved and resolved."""
    rows = [
        [
            _button(
                texts("systemic.button.show", id=i.id, title=_shorten(i.title, BUTTON_TITLE)),
                "show",
                i.id,
            )
        ]
        for i in items
    ]
    kind = "r" if resolved else "o"
    nav = []
    if page > 0:
        nav.append(_button(texts("systemic.previous"), "list", 0, f"{kind}{page - 1}"))
    if more:
        nav.append(_button(texts("systemic.next"), "list", 0, f"{kind}{page + 1}"))
    switch = "systemic.show_open" if resolved else "systemic.show_resolved"
    nav.append(_button(texts(switch), "list", 0, "o0" if resolved else "r0"))
    return InlineKeyboardMarkup([*rows, nav])


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- answering -----------------------------------------------------------------------------------


async def _refused(update: Update, context: AppContext, exc: IssueRefused) -> None:
    """Tell the user why not; a non-admin at a button is logged (by id only)."""
    if exc.reason == "forbidden":
        user = update.effective_user
        log.warning("refused a systemic-issue action from user %s", user.id if user else None)
        await refuse(update, context)
        return
    texts = await context.texts(update)
    key = exc.reason if exc.reason.startswith("usage_") else f"refused.{exc.reason}"
    await notify(update, context, texts(f"systemic.{key}"))


async def _show(update: Update, context: AppContext, issue_id: int, *, edit: bool = False) -> None:
    """The issue's card, as a new message or in place of the pressed one."""
    actor = context.actor
    texts = await context.texts(update)
    view = await context.services.systemic.view(actor, issue_id)
    text, markup = _card(context, view, texts), _card_keyboard(view, texts)
    if edit and update.callback_query is not None:
        await edit_pressed(update.callback_query, text, markup)
    else:
        await send_here(update, context, text, markup)


async def _admin_args(update: Update, context: AppContext, usage: str, count: int) -> list[str]:
    """The command's arguments (at least ``count``; the policy lets only admins type them)."""
    args = list(context.args or [])
    if len(args) < count:
        raise IssueRefused(f"usage_{usage}")
    return args


async def _send_page(
    update: Update, context: AppContext, *, resolved: bool, page: int, edit: bool
) -> None:
    actor = context.actor
    texts = await context.texts(update)
    found = await context.services.systemic.page(actor, resolved=resolved, page=page)
    shown = texts("systemic.show_resolved" if resolved else "systemic.show_open")
    text = texts("systemic.list_title", shown=shown, total=found.total)
    if not found.total:
        text += "\n" + texts("systemic.list_empty")
    more = (page + 1) * context.services.settings.systemic.page_size < found.total
    markup = _list_keyboard(found.items, texts, resolved=resolved, page=page, more=more)
    await answer_query(update)
    if edit and update.callback_query is not None:
        await edit_pressed(update.callback_query, text, markup)
    else:
        await send_here(update, context, text, markup)


def _issue_id(value: str) -> int:
    cleaned = value.removeprefix("#")
    if not cleaned.isdigit() or len(cleaned) > 9:
        raise IssueRefused("not_found")
    return int(cleaned)


async def _request_id(context: AppContext, actor: Actor, number: str) -> int:
    request = await context.services.requests.by_number(number.strip().upper())
    if request is None or not NUMBER.fullmatch(number.strip()):
        raise IssueRefused("request_not_found")
    await context.services.systemic.request(actor, request.id)
    return request.id


# -- commands ------------------------------------------------------------------------------------


async def list_issues(update: Update, context: AppContext) -> None:
    """The unresolved systemic issues, a page at a time, each a button to open it."""
    try:
        await _send_page(update, context, resolved=False, page=0, edit=False)
    except IssueRefused as exc:
        await _refused(update, context, exc)


async def show_issue(update: Update, context: AppContext) -> None:
    """/issue N: the issue's card."""
    try:
        args = await _admin_args(update, context, "show", 1)
        await _show(update, context, _issue_id(args[0]))
    except IssueRefused as exc:
        await _refused(update, context, exc)


async def new_issue(update: Update, context: AppContext) -> None:
    """/issue_new title: a new open issue, shown as its card."""
    actor = context.actor
    texts = await context.texts(update)
    try:
        args = await _admin_args(update, context, "new", 1)
        issue = await context.services.systemic.create(actor, " ".join(args))
    except IssueRefused as exc:
        await _refused(update, context, exc)
        return
    await send_here(update, context, texts("systemic.created", id=issue.id))
    await _show(update, context, issue.id)


async def add_note(update: Update, context: AppContext) -> None:
    """/issue_note N text: a note on the issue (the latest goes into the resolution notice)."""
    actor = context.actor
    texts = await context.texts(update)
    try:
        args = await _admin_args(update, context, "note", 2)
        issue = await context.services.systemic.note(actor, _issue_id(args[0]), " ".join(args[1:]))
    except IssueRefused as exc:
        await _refused(update, context, exc)
        return
    await send_here(update, context, texts("systemic.noted", id=issue.id))


async def link_by_number(update: Update, context: AppContext) -> None:
    """/issue_link N LN-…: put the request in the issue."""
    actor = context.actor
    try:
        args = await _admin_args(update, context, "link", 2)
        await _link(update, context, _issue_id(args[0]), await _request_id(context, actor, args[1]))
    except IssueRefused as exc:
        await _refused(update, context, exc)


async def similar(update: Update, context: AppContext) -> None:
    """/similar LN-…: issues and open requests like this request."""
    actor = context.actor
    try:
        args = await _admin_args(update, context, "similar", 1)
        await show_suggestions(update, context, await _request_id(context, actor, args[0]))
    except IssueRefused as exc:
        await _refused(update, context, exc)


# -- suggestions ---------------------------------------------------------------------------------


async def show_suggestions(update: Update, context: AppContext, request_id: int) -> None:
    """For an admin: issues to put the request in (a button each), similar open requests,
    and a button to start a new issue from it."""
    actor = context.actor
    texts = await context.texts(update)
    services = context.services
    try:
        request = await services.systemic.request(actor, request_id)
    except IssueRefused as exc:
        await _refused(update, context, exc)
        return
    await answer_query(update)
    full = await services.requests.get(request_id)
    text = request.summary if full is None else f"{full.summary} {full.description}"
    found = await services.systemic.suggest(actor, text, exclude=request_id)
    others = [s for s in found.issues if s.item.id != request.systemic_issue_id]
    rows = _link_rows(others, request_id, texts)
    rows.append([_button(texts("systemic.button.new"), "new", 0, str(request_id))])
    body = _suggestions_text(found, texts)
    heading = texts("systemic.suggest_title", number=request.number)
    await send_here(update, context, f"{heading}\n\n{body}", InlineKeyboardMarkup(rows))


def _issue_lines(issues: list[Scored[Issue]], texts: Translator) -> list[str]:
    return [
        texts(
            "systemic.suggest_issue_line",
            id=s.item.id,
            title=s.item.title,
            status=_status(texts, s.item.status),
            linked=s.item.linked,
            score=f"{s.score:.2f}",
        )
        for s in issues
    ]


def _link_rows(
    issues: list[Scored[Issue]], request_id: int, texts: Translator
) -> list[list[InlineKeyboardButton]]:
    """A button per issue that puts the request in it."""
    label = "systemic.button.link"
    return [
        [_button(texts(label, id=s.item.id), "link", s.item.id, str(request_id))] for s in issues
    ]


def _suggestions_text(found: Suggestions, texts: Translator) -> str:
    if not found:
        return texts("systemic.suggest_none")
    lines = []
    if found.issues:
        lines.append(texts("systemic.suggest_issues"))
        lines += _issue_lines(found.issues, texts)
    if found.requests:
        lines.append(texts("systemic.suggest_requests"))
        for s in found.requests:
            issue = s.item.systemic_issue_id
            lines.append(
                texts(
                    "systemic.suggest_request_line",
                    number=s.item.number,
                    enterprise=s.item.enterprise,
                    summary=s.item.summary,
                    issue=Html(texts("systemic.in_issue", id=issue) if issue else ""),
                    score=f"{s.score:.2f}",
                )
            )
    return "\n".join(lines)


async def intake_suggestions(
    context: AppContext, actor: Actor, text: str, texts: Translator
) -> str:
    """What the entrepreneur reads under the summary before submitting: similar systemic
    issues (their titles and status only), or nothing."""
    found = await context.services.systemic.suggest(actor, text)
    if not found.issues:
        return ""
    lines = "\n".join(
        texts("systemic.intake_line", title=s.item.title, status=_status(texts, s.item.status))
        for s in found.issues
    )
    return texts("systemic.intake_suggestions", lines=Html(lines))


async def matches_for_admins(
    context: AppContext, new: NewRequest
) -> Callable[[Submitted], list[NewMessage]]:
    """The admins' notices that a request being submitted looks like unresolved systemic
    issues, each with a button to put it in one (none when nothing matches): looked up before
    the request's transaction, rendered and queued in it, so a crash cannot lose them."""
    services = context.services
    found = await services.systemic.issues_like(f"{new.summary} {new.description}")
    enterprise = await services.enterprises.get(new.enterprise_id) if found else None
    # The admins of the request's city office and the province's, each hearing of the issues
    # of their own office's scope.
    admins = []
    for admin_id in await services.offices.concerned(enterprise.city) if enterprise else ():
        scope = scope_of(await services.offices.office_of(admin_id))
        theirs = [s for s in found if scope.covers(s.item.office)]
        if theirs:
            texts = await context.texts_of(admin_id)
            admins.append((admin_id, texts, theirs))

    def notices(submitted: Submitted) -> list[NewMessage]:
        request = submitted.request
        messages = []
        for admin_id, texts, theirs in admins:
            lines = Html("\n".join(_issue_lines(theirs, texts)))
            text = texts("systemic.new_request_matches", number=request.number, lines=lines)
            markup = InlineKeyboardMarkup(_link_rows(theirs, request.id, texts))
            messages.append(message_to(services, admin_id, MATCH_KIND, text, markup))
        return messages

    return notices


# -- buttons -------------------------------------------------------------------------------------


async def on_button(update: Update, context: AppContext) -> None:
    """A button of an issue card, the list or the suggestions; refused unless from an admin."""
    button = context.button(IssueButton)
    step = _STEPS.get(button.action)
    if step is None:
        await refuse_stale(update, context)
        return
    try:
        await step(update, context, button)
    except IssueRefused as exc:
        await _refused(update, context, exc)


async def _on_list(update: Update, context: AppContext, button: IssueButton) -> None:
    kind, page = button.arg[:1], button.arg[1:]
    if kind not in ("o", "r") or not page.isdigit():
        raise IssueRefused("not_found")
    await _send_page(update, context, resolved=kind == "r", page=int(page), edit=True)


async def _on_show(update: Update, context: AppContext, button: IssueButton) -> None:
    await answer_query(update)
    await _show(update, context, button.issue_id)


async def _on_status(update: Update, context: AppContext, button: IssueButton) -> None:
    actor = context.actor
    texts = await context.texts(update)
    if button.arg not in {s.value for s in IssueStatus}:
        raise IssueRefused("not_found")
    status = IssueStatus(button.arg)
    issue, told = await context.services.systemic.set_status(actor, button.issue_id, status)
    answer = texts("systemic.status_set", id=issue.id, status=_status(texts, status))
    if status is IssueStatus.RESOLVED:
        answer += "\n" + texts("systemic.resolved_queued", count=told)
    await notify(update, context, answer)
    await _show(update, context, issue.id, edit=True)


async def _on_note(update: Update, context: AppContext, button: IssueButton) -> None:
    texts = await context.texts(update)
    await answer_query(update)
    await send_here(update, context, texts("systemic.note_how", id=button.issue_id))


async def _on_unlink(update: Update, context: AppContext, button: IssueButton) -> None:
    actor = context.actor
    texts = await context.texts(update)
    request = await context.services.systemic.request(actor, _arg_id(button))
    await context.services.systemic.unlink(actor, button.issue_id, request.id)
    await notify(
        update, context, texts("systemic.unlinked", number=request.number, id=button.issue_id)
    )
    await _show(update, context, button.issue_id, edit=True)


async def _on_link(update: Update, context: AppContext, button: IssueButton) -> None:
    await _link(update, context, button.issue_id, _arg_id(button))


async def _on_new(update: Update, context: AppContext, button: IssueButton) -> None:
    """A new issue titled after the request's summary, with the request in it."""
    actor = context.actor
    texts = await context.texts(update)
    request = await context.services.systemic.request(actor, _arg_id(button))
    title = request.summary.removesuffix("…")[:100]
    issue = await context.services.systemic.create(actor, title, request_id=request.id)
    await answer_query(update)
    await send_here(update, context, texts("systemic.created", id=issue.id))
    await _show(update, context, issue.id)


async def _link(update: Update, context: AppContext, issue_id: int, request_id: int) -> None:
    actor = context.actor
    texts = await context.texts(update)
    request = await context.services.systemic.request(actor, request_id)
    issue = await context.services.systemic.link(actor, issue_id, request.id)
    await answer_query(update)
    await send_here(update, context, texts("systemic.linked", number=request.number, id=issue.id))


def _arg_id(button: IssueButton) -> int:
    if not button.arg.isdigit() or len(button.arg) > 12:
        raise IssueRefused("request_not_found")
    return int(button.arg)


_STEPS = {
    "list": _on_list,
    "show": _on_show,
    "status": _on_status,
    "note": _on_note,
    "unlink": _on_unlink,
    "link": _on_link,
    "new": _on_new,
}

HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CommandHandler("issues", list_issues),
    CallbackQueryHandler(list_issues, pattern=menu_pattern("issues")),
    CommandHandler("issue", show_issue),
    CommandHandler("issue_new", new_issue),
    CommandHandler("issue_note", add_note),
    CommandHandler("issue_link", link_by_number),
    CommandHandler("similar", similar),
    CallbackQueryHandler(on_button, pattern=IssueButton.pattern()),
]
