"""Verifying an official: spoken codes (/code, /verify) and checks of a number, WeChat ID,
e-mail address or Telegram account (/check)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    KeyboardButtonRequestUsers,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest, Forbidden, RetryAfter, TimedOut
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.channels import InvalidHandle, read_typed
from bot.i18n import Html, Translator, say_when
from bot.offices import PROVINCE
from bot.phones import InvalidPhone
from bot.roles import ANY_ENTERPRISE, Actor
from bot.verification import CheckResult, LookupResult, Verdict, parse_code, valid_for
from handlers import dialogue_state
from handlers.access import refuse_stale
from handlers.callback_data import CallbackData
from handlers.common import cancel
from handlers.context import AppContext, BotData
from handlers.dialogue_state import VERIFY
from handlers.journeys import Conversation
from handlers.menu import MenuAction, menu_pattern
from handlers.stored_dialogue import stored_conversation
from storage.models import Official

log = logging.getLogger(__name__)

TYPING_CODE, CHECKING = range(2)
SHARE_REQUEST_ID = 1


@dataclass(frozen=True, slots=True)
class CodeFor(CallbackData, prefix="code"):
    enterprise_id: int  # 0: a code for any of the official's enterprises


def local_time(context: AppContext, texts: Translator, moment: datetime) -> str:
    """The moment in the reader's words: the time if today, else tomorrow's or with its date."""
    services = context.services
    return say_when(texts, moment, now=services.clock.now(), tz=services.settings.locale.tz)


async def official_card(
    context: AppContext, official: Official, actor: Actor, texts: Translator
) -> str:
    """The official's card as the bot's records have it, with their tie to the user's firms."""
    lines = [
        texts("verification.card", name=official.name, title=official.title, body=official.body),
    ]
    if official.responsibilities:
        lines.append(texts("verification.responsibilities", text=official.responsibilities))
    ours = [
        e.name
        for e in actor.enterprises
        if (d := await context.services.officials.designated_for(e.id)) and d.id == official.id
    ]
    if ours:
        lines.append(texts("verification.designated", enterprises="、".join(ours)))
    elif actor.enterprises:
        lines.append(texts("verification.not_designated"))
    return "\n".join(lines)


def report_button(texts: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts("verification.report"), callback_data=MenuAction("report").pack()
                )
            ]
        ]
    )


async def notify(
    context: AppContext,
    telegram_id: int,
    key: str,
    *,
    reply_markup: InlineKeyboardMarkup | None = None,
    **params: object,
) -> bool:
    """Send one text to another user in their language, now; False if it was not (surely)
    delivered. Used for a contact notice, which is only worth sending before its window
    closes and whose sender is told how many contacts it reached: so it is not queued in the
    outbox; a blocked user is marked unreachable, a time-out is not repeated."""
    services = context.services
    texts = await context.texts_of(telegram_id)
    try:
        await context.bot.send_message(telegram_id, texts(key, **params), reply_markup=reply_markup)
    except Forbidden:
        await services.accounts.mark_unreachable(telegram_id, services.clock.now())
        return False
    except (BadRequest, RetryAfter, TimedOut) as exc:
        log.warning("could not (surely) deliver to a user: %s", exc.message)
        return False
    return True


async def alert_burst(context: AppContext) -> None:
    settings = context.services.settings
    for admin_id in await context.services.offices.admins_of(PROVINCE):  # province-wide
        await notify(
            context,
            admin_id,
            "verification.burst_alert",
            count=settings.verification.global_alert_failures,
            minutes=int(settings.verification.global_alert_window_minutes),
        )


# Officials: a spoken code ----------------------------------------------------------------


async def ask_code_scope(update: Update, context: AppContext) -> None:
    """Offer a code for one of the official's enterprises, or for any of them."""
    actor = context.actor
    texts = await context.texts(update)
    assert update.effective_chat is not None
    if update.callback_query is not None:
        await update.callback_query.answer()
    official = actor.official
    assert official is not None, "the policy lets only officials issue codes"
    rows = [[InlineKeyboardButton(texts("verification.code_any"), callback_data=CodeFor(0).pack())]]
    for enterprise_id in await context.services.officials.portfolio_ids(official.id):
        enterprise = await context.services.enterprises.get(enterprise_id)
        if enterprise is not None:
            rows.append(
                [InlineKeyboardButton(enterprise.name, callback_data=CodeFor(enterprise.id).pack())]
            )
    await context.bot.send_message(
        update.effective_chat.id,
        texts("verification.code_scope"),
        reply_markup=InlineKeyboardMarkup(rows),
    )


async def issue_code(update: Update, context: AppContext) -> None:
    """Show the official a fresh code to read out, and until when it works."""
    query = update.callback_query
    assert query is not None
    actor = context.actor
    texts = await context.texts(update)
    choice = context.button(CodeFor)
    services = context.services
    # The policy admitted an official, and the firm as one of theirs (PORTFOLIO).
    official = actor.official
    assert official is not None
    scope = (
        None
        if choice.enterprise_id == ANY_ENTERPRISE
        else await services.enterprises.get(choice.enterprise_id)
    )
    if choice.enterprise_id != ANY_ENTERPRISE and scope is None:
        await refuse_stale(update, context)
        return
    await query.answer()
    issued = await services.verifier.issue(
        official, choice.enterprise_id or None, services.clock.now()
    )
    await query.edit_message_text(
        texts(
            "verification.code_issued",
            code=issued.display,
            until=local_time(context, texts, issued.expires_at),
            scope=scope.name if scope is not None else texts("verification.code_any"),
        )
    )


# Entrepreneurs: check a spoken code ------------------------------------------------------


def step(state: Mapping[str, Any]) -> int:
    """Where a stored check stands (bot/dialogues.py keeps it): a code or a number awaited."""
    return TYPING_CODE if state.get("awaits") == "code" else CHECKING


async def ask_for_code(update: Update, context: AppContext) -> int:
    """Ask the user to type the code the caller reads out."""
    texts = await context.texts(update)
    await dialogue_state.begin(
        update, context, VERIFY, texts("verification.ask_code"), awaits="code"
    )
    return TYPING_CODE


async def check_code(update: Update, context: AppContext) -> int:
    """Say whether the typed code proves the caller is the official, and tell the official."""
    message = update.effective_message
    assert message is not None and message.text is not None
    services = context.services
    texts = await context.texts(update)
    code = parse_code(message.text, services.settings.verification.code_digits)
    if code is None:
        await message.reply_text(
            texts("verification.malformed", digits=services.settings.verification.code_digits)
        )
        return TYPING_CODE
    actor = context.actor
    await dialogue_state.forget(update, context)
    result = await services.verifier.check(actor, code, services.clock.now())
    await message.reply_text(**await _verdict(context, actor, texts, result))
    if result.official is not None and result.code is not None:
        await _tell_official(context, actor, result)
    if result.burst:
        await alert_burst(context)
    return ConversationHandler.END


async def _verdict(
    context: AppContext, actor: Actor, texts: Translator, result: CheckResult
) -> dict[str, Any]:
    if result.retry_at is not None:
        until = local_time(context, texts, result.retry_at)
        return {"text": texts("verification.throttled", until=until)}
    if result.verdict is Verdict.OWN_CODE:
        return {"text": texts("verification.own_code")}
    if result.official is None or result.code is None:
        return {"text": texts("verification.not_verified"), "reply_markup": report_button(texts)}
    card = await official_card(context, result.official, actor, texts)
    issued = local_time(context, texts, result.code.issued_at)
    return {"text": texts("verification.verified", card=Html(card), issued=issued)}


async def _tell_official(context: AppContext, actor: Actor, result: CheckResult) -> None:
    assert result.official is not None and result.code is not None
    if result.official.telegram_id is None:
        return
    scope = valid_for(result.code)
    names = [e.name for e in actor.enterprises if e.id in scope]
    to = result.official.telegram_id
    texts = Translator(await context.services.accounts.language_of(to))
    await notify(
        context,
        to,
        "verification.code_checked",
        issued=local_time(context, texts, result.code.issued_at),
        enterprise="、".join(names),
    )


# Entrepreneurs: check a number or an account ---------------------------------------------


async def ask_number(update: Update, context: AppContext) -> int:
    """Ask for the number, WeChat ID or address that made contact, or offer to pick the
    Telegram account."""
    texts = await context.texts(update)
    pick = KeyboardButton(
        texts("verification.pick_account"),
        request_users=KeyboardButtonRequestUsers(
            SHARE_REQUEST_ID, user_is_bot=False, max_quantity=1
        ),
    )
    keyboard = ReplyKeyboardMarkup([[pick]], resize_keyboard=True, one_time_keyboard=True)
    question = texts("verification.ask_number")
    await dialogue_state.begin(update, context, VERIFY, question, keyboard, awaits="number")
    return CHECKING


async def check_number(update: Update, context: AppContext) -> int:
    """Say whether a typed number, WeChat ID or e-mail address is a registered official's."""
    message = update.effective_message
    assert message is not None and message.text is not None and update.effective_user is not None
    services = context.services
    texts = await context.texts(update)
    try:
        typed = read_typed(message.text)
    except InvalidHandle as refused:
        await message.reply_text(texts(f"verification.bad_{refused.channel}"))
        return CHECKING
    except InvalidPhone:
        await message.reply_text(texts("verification.bad_number"))
        return CHECKING
    await dialogue_state.forget(update, context)
    user_id, now = update.effective_user.id, services.clock.now()
    if typed.handle is not None:
        result = await services.verifier.lookup_handle(user_id, typed.handle, now)
        await _lookup_answer(update, context, texts, result, typed.handle.channel)
    else:
        assert typed.phone is not None
        result = await services.verifier.lookup_phone(user_id, typed.phone, now)
        await _lookup_answer(update, context, texts, result, "phone")
    return ConversationHandler.END


async def check_account(update: Update, context: AppContext) -> int:
    """Say whether a shared Telegram account is a registered official's."""
    message = update.effective_message
    assert (
        message is not None
        and message.users_shared is not None
        and update.effective_user is not None
    )
    services = context.services
    texts = await context.texts(update)
    shared = message.users_shared.users[0].user_id
    await dialogue_state.forget(update, context)
    result = await services.verifier.lookup_account(
        update.effective_user.id, shared, services.clock.now()
    )
    await _lookup_answer(update, context, texts, result, "account")
    return ConversationHandler.END


async def _lookup_answer(
    update: Update, context: AppContext, texts: Translator, result: LookupResult, what: str
) -> None:
    assert update.effective_message is not None
    actor = context.actor
    if result.retry_at is not None:
        until = local_time(context, texts, result.retry_at)
        text = texts("verification.throttled", until=until)
        await update.effective_message.reply_text(text, reply_markup=ReplyKeyboardRemove())
    elif result.official is not None:
        card = await official_card(context, result.official, actor, texts)
        text = texts(f"verification.{what}_known", card=Html(card))
        await update.effective_message.reply_text(text, reply_markup=ReplyKeyboardRemove())
    else:
        await update.effective_message.reply_text(
            texts(f"verification.{what}_unknown"), reply_markup=ReplyKeyboardRemove()
        )
        await update.effective_message.reply_text(
            texts("verification.report_hint"), reply_markup=report_button(texts)
        )
    if result.burst:
        await alert_burst(context)


def verify_conversation(bot_data: BotData) -> Conversation:
    """Fresh per Application: the conversation keeps who is where in memory, and which check
    the user is at is stored (bot/dialogues.py), so that a restart takes it up."""
    return stored_conversation(
        bot_data,
        name="verification",
        entry_points=[
            CommandHandler("verify", ask_for_code),
            CallbackQueryHandler(ask_for_code, pattern=menu_pattern("verify")),
            CommandHandler("check", ask_number),
            CallbackQueryHandler(ask_number, pattern=menu_pattern("check")),
        ],
        states={
            TYPING_CODE: [MessageHandler(filters.TEXT & ~filters.COMMAND, check_code)],
            CHECKING: [
                MessageHandler(filters.TEXT & ~filters.COMMAND, check_number),
                MessageHandler(filters.StatusUpdate.USERS_SHARED, check_account),
            ],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        steps={VERIFY: step},
        expired={VERIFY: "verification.expired"},
    )


def handlers(bot_data: BotData) -> list[BaseHandler[Any, Any, Any]]:
    return [
        verify_conversation(bot_data),
        CommandHandler("code", ask_code_scope),
        CallbackQueryHandler(ask_code_scope, pattern=menu_pattern("code")),
        CallbackQueryHandler(issue_code, pattern=CodeFor.pattern()),
    ]
