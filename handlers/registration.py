"""/register: a user who was not invited registers their enterprise; an admin approves it.

Name → unified social credit code (checked, with the reason when wrong) → city → stage →
industry → confirm. The enterprise is stored as pending with the user as its contact; the
admins get buttons to approve or reject, and the user is told either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.cities import BY_CODE, CITIES, city_name
from bot.i18n import Translator
from bot.receipts import receipt
from bot.registration import (
    REGISTRATION_KIND,
    Application,
    BadField,
    check_city,
    check_code,
    check_industry,
    check_name,
    decide,
    register,
)
from bot.services import Services
from handlers import dialogue_state
from handlers.access import refuse_stale
from handlers.callback_data import CallbackData, StepButton
from handlers.cards import message_to, send_here, send_through_outbox
from handlers.context import AppContext
from handlers.dialogue_state import REGISTRATION
from handlers.menu import menu_pattern
from storage.models import Enterprise, Stage
from storage.outbox import NewMessage

REG_NAME, REG_CODE, REG_CITY, REG_STAGE, REG_INDUSTRY, REG_CONFIRM = range(200, 206)
TEXT = filters.TEXT & ~filters.COMMAND


@dataclass(frozen=True, slots=True)
class RegisterButton(StepButton, prefix="rg"):
    """A button of the enterprise registration conversation."""


@dataclass(frozen=True, slots=True)
class DecideButton(CallbackData, prefix="rd"):
    registration_id: int  # the registered enterprise's id
    approve: bool


FIELDS = ("name", "credit_code", "city", "stage", "industry")


def step(state: Mapping[str, Any]) -> int:
    """Where a stored registration stands: the first field it still lacks, else confirming."""
    missing = [field for field in FIELDS if field not in state]
    return REG_NAME + FIELDS.index(missing[0]) if missing else REG_CONFIRM


async def start(update: Update, context: AppContext) -> int:
    """Ask for the enterprise's registered name."""
    texts = await context.texts(update)
    await dialogue_state.begin(update, context, REGISTRATION, texts("registration.ask_name"))
    return REG_NAME


async def take_name(update: Update, context: AppContext) -> int | None:
    """Take the name; ask for the credit code."""
    return await _take_text(update, context, "name", check_name, "ask_code", REG_CODE)


async def take_code(update: Update, context: AppContext) -> int | None:
    """Take the credit code (checked); offer the cities."""
    texts = await context.texts(update)
    rows = [
        [
            RegisterButton.button(city_name(c.code, texts.language), "city", c.code)
            for c in CITIES[i : i + 3]
        ]
        for i in range(0, len(CITIES), 3)
    ]
    return await _take_text(
        update, context, "credit_code", check_code, "ask_city", REG_CITY, InlineKeyboardMarkup(rows)
    )


async def take_city(update: Update, context: AppContext) -> int | None:
    """Take the city; offer the stages."""
    choice = await RegisterButton.pressed(update, context.pressed, "city", BY_CODE)
    if choice is None:
        await refuse_stale(update, context)
        return None
    await dialogue_state.advance(update, context, city=check_city(choice.value))
    texts = await context.texts(update)
    rows = [[RegisterButton.button(texts(f"stage.{s}"), "stage", s.value)] for s in Stage]
    await send_here(update, context, texts("registration.ask_stage"), InlineKeyboardMarkup(rows))
    return REG_STAGE


async def take_stage(update: Update, context: AppContext) -> int | None:
    """Take the stage; ask for the industry."""
    choice = await RegisterButton.pressed(
        update, context.pressed, "stage", {s.value for s in Stage}
    )
    if choice is None:
        await refuse_stale(update, context)
        return None
    await dialogue_state.advance(update, context, stage=choice.value)
    texts = await context.texts(update)
    await send_here(update, context, texts("registration.ask_industry"))
    return REG_INDUSTRY


async def take_industry(update: Update, context: AppContext) -> int | None:
    """Take the industry; show everything to confirm."""
    state = await _take_text(update, context, "industry", check_industry, "", REG_CONFIRM)
    if state is None:
        return None
    texts = await context.texts(update)
    application = _application(update, context)
    rows = [
        [RegisterButton.button(texts("registration.submit"), "confirm", "yes")],
        [RegisterButton.button(texts("registration.cancel"), "confirm", "no")],
    ]
    await send_here(update, context, _describe(application, texts), InlineKeyboardMarkup(rows))
    return REG_CONFIRM


async def confirm(update: Update, context: AppContext) -> int | None:
    """Store the pending enterprise with the user's receipt (sent by the outbox right after the
    commit), then tell the admins."""
    choice = await RegisterButton.pressed(update, context.pressed, "confirm", ("yes", "no"))
    texts = await context.texts(update)
    if choice is None:
        await refuse_stale(update, context)
        return None
    application = _application(update, context)
    await dialogue_state.forget(update, context)
    if choice.value != "yes":
        await send_here(update, context, texts("registration.cancelled"))
        return ConversationHandler.END
    user = update.effective_user
    assert user is not None
    services = context.services
    now = services.clock.now()
    pending = texts("registration.pending", name=application.name)
    admins = await _admin_languages(context, application.city)
    try:
        await register(
            services.db,
            services.enterprises,
            application,
            user_id=user.id,
            name=user.full_name,
            now=now,
            messages=lambda enterprise: [
                receipt(user.id, pending, now=now),
                *_for_admins(services, enterprise, admins),
            ],
        )
    except BadField as exc:
        await send_here(update, context, texts(f"registration.bad.{exc.reason}", **exc.params))
        return ConversationHandler.END
    services.deliver_soon()
    return ConversationHandler.END


async def on_decision(update: Update, context: AppContext) -> None:
    """An admin approves or rejects a pending enterprise; the registrant is told."""
    query = update.callback_query
    assert query is not None
    texts = await context.texts(update)
    button = context.button(DecideButton)
    services = context.services
    enterprise = await decide(
        services.db, services.enterprises, button.registration_id, approve=button.approve
    )
    if enterprise is None:
        await query.answer(texts("registration.already_decided"), show_alert=True)
        return
    await query.answer()
    outcome = "approved" if button.approve else "rejected"
    await query.edit_message_text(texts(f"registration.{outcome}_admin", name=enterprise.name))
    if enterprise.registered_by is not None:
        user_texts = await context.texts_of(enterprise.registered_by)
        text = user_texts(f"registration.{outcome}_user", name=enterprise.name)
        told = message_to(services, enterprise.registered_by, REGISTRATION_KIND, text)
        await send_through_outbox(services, [told])


# -- helpers ----------------------------------------------------------------------------------


async def _take_text(
    update: Update,
    context: AppContext,
    field: str,
    check: Any,
    next_key: str,
    next_state: int,
    markup: InlineKeyboardMarkup | None = None,
) -> int | None:
    message = update.effective_message
    assert message is not None and message.text is not None
    texts = await context.texts(update)
    try:
        value = check(message.text)
    except BadField as exc:
        await message.reply_text(texts(f"registration.bad.{exc.reason}", **exc.params))
        return None
    await dialogue_state.advance(update, context, **{field: value})
    if next_key:
        await send_here(update, context, texts(f"registration.{next_key}"), markup)
    return next_state


def _application(update: Update, context: AppContext) -> Application:
    state = dialogue_state.state(update, context)
    return Application(
        name=state["name"],
        credit_code=state["credit_code"],
        city=state["city"],
        stage=Stage(state["stage"]),
        industry=state["industry"],
    )


def _describe(application: Application, texts: Translator) -> str:
    return texts(
        "registration.summary",
        name=application.name,
        code=application.credit_code,
        city=city_name(application.city, texts.language),
        stage=texts(f"stage.{application.stage.value}"),
        industry=application.industry,
    )


async def _admin_languages(context: AppContext, city: str) -> list[tuple[int, Translator]]:
    """Who decides a registration in ``city`` (its city office, and the province's may), each
    with their language (read before the transaction)."""
    return [
        (admin_id, await context.texts_of(admin_id))
        for admin_id in await context.services.offices.concerned(city)
    ]


def _for_admins(
    services: Services, enterprise: Enterprise, admins: list[tuple[int, Translator]]
) -> list[NewMessage]:
    """Each admin's notice of a registration to decide, with approve and reject buttons."""
    application = Application(
        enterprise.name,
        enterprise.credit_code,
        enterprise.city,
        enterprise.stage,
        enterprise.industry,
    )
    notices = []
    for admin_id, texts in admins:
        decide_buttons = [
            InlineKeyboardButton(
                texts(f"registration.{choice}"),
                callback_data=DecideButton(enterprise.id, choice == "approve").pack(),
            )
            for choice in ("approve", "reject")
        ]
        text = texts("registration.for_admins") + "\n\n" + _describe(application, texts)
        markup = InlineKeyboardMarkup([decide_buttons])
        notices.append(message_to(services, admin_id, REGISTRATION_KIND, text, markup))
    return notices


ENTRY_POINTS: list[BaseHandler[Any, Any, Any]] = [
    CommandHandler("register", start),
    CallbackQueryHandler(start, pattern=menu_pattern("register")),
]
STATES: dict[object, list[BaseHandler[Any, Any, Any]]] = {
    REG_NAME: [MessageHandler(TEXT, take_name)],
    REG_CODE: [MessageHandler(TEXT, take_code)],
    REG_CITY: [CallbackQueryHandler(take_city, pattern=RegisterButton.on("city"))],
    REG_STAGE: [CallbackQueryHandler(take_stage, pattern=RegisterButton.on("stage"))],
    REG_INDUSTRY: [MessageHandler(TEXT, take_industry)],
    REG_CONFIRM: [CallbackQueryHandler(confirm, pattern=RegisterButton.on("confirm"))],
}
HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CallbackQueryHandler(on_decision, pattern=DecideButton.pattern()),
]
