"""/new: an entrepreneur tells the bot what blocks the business, step by step, and submits it.

The draft is saved to the database after every step, so a timeout or a restart loses nothing:
the next /new offers to resume it. The "received" receipt is queued with the request, in the
transaction that stores it, and sent by the outbox right after the commit (bot/receipts.py).
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

from bot.config import CATEGORIES
from bot.deadlines import estimated_years
from bot.dispatch import official_label
from bot.i18n import Html, Translator
from bot.intake import EDITABLE, BadAnswer, Draft
from bot.requests import Submitted
from bot.roles import Actor
from bot.services import Services
from handlers import dialogue_state, systemic_issues
from handlers.access import refuse_stale
from handlers.callback_data import StepButton
from handlers.cards import attachment_of, local_date, send_here
from handlers.context import AppContext
from handlers.menu import menu_pattern

# Conversation states: one per step of the draft, plus the resume question.
ENTERPRISE, CATEGORY, QUESTION, DESCRIPTION, URGENCY, CONFIRM, RESUME = range(7)
STATE_OF_STEP = {
    "enterprise": ENTERPRISE,
    "category": CATEGORY,
    "question": QUESTION,
    "description": DESCRIPTION,
    "urgency": URGENCY,
    "confirm": CONFIRM,
}


URGENCIES = ("normal", "urgent")
# In a saved draft: /new asked whether to go on with it, and the user has not answered yet.
OFFERED = "offered"
BEFORE_DESCRIPTION = ("enterprise", "category", "question")


@dataclass(frozen=True, slots=True)
class IntakeButton(StepButton, prefix="in"):
    """A button of the intake conversation."""


def _buttons(texts: Translator, rows: list[list[tuple[str, str, str]]]) -> InlineKeyboardMarkup:
    """Rows of (label key or text, step, value) as an inline keyboard."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=IntakeButton(step, value).pack())]
            for row in rows
            for label, step, value in row
        ]
    )


async def start(update: Update, context: AppContext) -> int:
    """Begin a request, or offer to resume the saved draft."""
    await _answer(update)
    actor = context.actor
    texts = await context.texts(update)
    saved = await context.services.drafts.read(actor.telegram_id)
    if saved is not None:
        # The question is where the user is now, after a restart too (see step()).
        offered = {**saved, OFFERED: True}
        await context.services.drafts.keep(actor.telegram_id, offered)
        keyboard = _buttons(
            texts,
            [
                [(texts("intake.resume"), "resume", "yes")],
                [(texts("intake.discard"), "resume", "no")],
            ],
        )
        await send_here(update, context, texts("intake.draft_found"), keyboard)
        return RESUME
    draft = Draft()
    if len(actor.enterprises) == 1:
        draft.enterprise_id = actor.enterprises[0].id
    return await _advance(update, context, draft)


async def resume(update: Update, context: AppContext) -> int:
    """Continue the saved draft where it stopped, or throw it away and start afresh."""
    choice = await IntakeButton.pressed(update, context.pressed, "resume", ("yes", "no"))
    if choice is None:
        await refuse_stale(update, context)
        return RESUME
    actor = context.actor
    saved = await context.services.drafts.read(actor.telegram_id)
    if choice.value != "yes" or saved is None:
        await context.services.drafts.drop(actor.telegram_id)
        saved = {}
    draft = Draft.from_data(saved)
    if draft.enterprise_id not in actor.enterprise_ids:
        draft.enterprise_id = actor.enterprises[0].id if len(actor.enterprises) == 1 else None
    return await _advance(update, context, draft)


async def choose_enterprise(update: Update, context: AppContext) -> int | None:
    """Take the enterprise the request is for (only one the user speaks for)."""
    actor = context.actor
    offered = {str(i) for i in actor.enterprise_ids}
    choice = await IntakeButton.pressed(update, context.pressed, "enterprise", offered)
    if choice is None:
        await refuse_stale(update, context)
        return None
    draft = await _draft(context, actor.telegram_id)
    draft.enterprise_id = int(choice.value)
    return await _advance(update, context, draft)


async def choose_category(update: Update, context: AppContext) -> int | None:
    """Take the category and go on to its questions."""
    choice = await IntakeButton.pressed(update, context.pressed, "category", CATEGORIES)
    if choice is None:
        await refuse_stale(update, context)
        return None
    actor = context.actor
    draft = await _draft(context, actor.telegram_id)
    draft.choose_category(choice.value)
    return await _advance(update, context, draft)


async def answer_question(update: Update, context: AppContext) -> int | None:
    """Take the answer to the category's current question."""
    message = update.effective_message
    assert message is not None and message.text is not None
    actor = context.actor
    draft = await _draft(context, actor.telegram_id)
    try:
        draft.answer(message.text)
    except BadAnswer as exc:
        texts = await context.texts(update)
        await message.reply_text(texts(f"intake.bad.{exc.reason}"))
        return None
    return await _advance(update, context, draft)


async def add_description(update: Update, context: AppContext) -> int | None:
    """Add a text, photo or document to the description; ask for more or "done"."""
    message = update.effective_message
    assert message is not None
    actor = context.actor
    texts = await context.texts(update)
    draft = await _draft(context, actor.telegram_id)
    try:
        attachment = attachment_of(message)
        if attachment is None:
            draft.describe(message.text or "")
        else:
            draft.attach(attachment)
    except BadAnswer as exc:
        await message.reply_text(texts(f"intake.bad.{exc.reason}"))
        return None
    await context.services.drafts.keep(actor.telegram_id, draft.to_data())
    done = _buttons(texts, [[(texts("intake.done"), "description", "done")]])
    await send_here(update, context, texts("intake.description_added"), done)
    return None


async def finish_description(update: Update, context: AppContext) -> int | None:
    """The description is complete: go on to urgency."""
    if await IntakeButton.pressed(update, context.pressed, "description", ("done",)) is None:
        await refuse_stale(update, context)
        return None
    actor = context.actor
    draft = await _draft(context, actor.telegram_id)
    try:
        draft.finish_description()
    except BadAnswer as exc:
        texts = await context.texts(update)
        await send_here(update, context, texts(f"intake.bad.{exc.reason}"))
        return None
    return await _advance(update, context, draft)


async def choose_urgency(update: Update, context: AppContext) -> int | None:
    """Take the urgency and show the summary."""
    choice = await IntakeButton.pressed(update, context.pressed, "urgency", URGENCIES)
    if choice is None:
        await refuse_stale(update, context)
        return None
    actor = context.actor
    draft = await _draft(context, actor.telegram_id)
    draft.urgent = choice.value == "urgent"
    return await _advance(update, context, draft)


async def confirm(update: Update, context: AppContext) -> int | None:
    """Submit, edit one part, or cancel, from the summary."""
    choice = await IntakeButton.pressed(
        update, context.pressed, "confirm", ("submit", "edit", "cancel", *EDITABLE)
    )
    if choice is None:
        await refuse_stale(update, context)
        return None
    actor = context.actor
    if choice.value == "submit":
        return await submit(update, context)
    if choice.value == "cancel":
        await context.services.drafts.drop(actor.telegram_id)
        texts = await context.texts(update)
        await send_here(update, context, texts("intake.cancelled"))
        return ConversationHandler.END
    draft = await _draft(context, actor.telegram_id)
    if choice.value == "edit":
        return await _ask_what_to_edit(update, context)
    if _may_edit(actor, choice.value):
        draft.edit(choice.value)
    return await _advance(update, context, draft)


def _may_edit(actor: Actor, part: str) -> bool:
    """The enterprise is a choice only for someone who speaks for several."""
    return part != "enterprise" or len(actor.enterprises) > 1


async def submit(update: Update, context: AppContext) -> int:
    """Store the request with its receipt for the entrepreneur (number, holder and dates) and
    the holder's notice; the outbox sends the receipt right after the commit."""
    actor = context.actor
    texts = await context.texts(update)
    services = context.services
    draft = await _draft(context, actor.telegram_id)
    if draft.next_step() != "confirm" or draft.enterprise_id not in actor.enterprise_ids:
        return await _advance(update, context, draft)
    new = draft.to_new_request(actor.telegram_id)
    await services.desk.submit(
        actor,
        new,
        from_draft=True,
        receipt=lambda stored: _received(services, texts, stored),
        notices=await systemic_issues.matches_for_admins(context, new),
    )
    return ConversationHandler.END


def _received(services: Services, texts: Translator, submitted: Submitted) -> str:
    """The receipt: "received", the number, who holds it, and the expected dates."""
    request = submitted.request
    received = texts(
        f"intake.received_{submitted.route.reason}",
        number=request.number,
        official=official_label(submitted.route.official, texts),
        acknowledge_due=local_date(services, request.acknowledge_due_at),
        resolve_due=local_date(services, request.resolve_due_at),
    )
    years = estimated_years(
        services.calendar, request.created_at, request.acknowledge_due_at, request.resolve_due_at
    )
    if years:
        received += "\n\n" + texts(
            "holidays.estimated_note", years=", ".join(str(year) for year in years)
        )
    return received


async def off_script(update: Update, context: AppContext) -> None:
    """Stickers, voice, locations, text where a button is expected, or a photo or file before
    or after the description: say what to do."""
    texts = await context.texts(update)
    message = update.effective_message
    assert message is not None
    if attachment_of(message) is not None:
        actor = context.actor
        draft = await _draft(context, actor.telegram_id)
        key = (
            "intake.media_later" if draft.next_step() in BEFORE_DESCRIPTION else "intake.media_more"
        )
    else:
        key = "intake.use_buttons" if message.text else "intake.unsupported"
    await message.reply_text(texts(key))


async def cancel(update: Update, context: AppContext) -> int:
    """Leave the intake; the draft is thrown away."""
    actor = context.actor
    await context.services.drafts.drop(actor.telegram_id)
    texts = await context.texts(update)
    await send_here(update, context, texts("intake.cancelled"))
    return ConversationHandler.END


async def timed_out(update: Update, context: AppContext) -> None:
    """The conversation expired: the draft stays saved for the next /new."""
    texts = await context.texts(update)
    if not await dialogue_state.forget(update, context) and update.effective_chat is not None:
        await context.bot.send_message(update.effective_chat.id, texts("intake.timed_out"))


# -- asking for the next step -------------------------------------------------------------------


def step(state: Mapping[str, Any]) -> int:
    """Where a stored draft stands (after a restart): at the question whether to go on with
    it, if /new asked it; else at its first missing part."""
    if state.get(OFFERED):
        return RESUME
    return STATE_OF_STEP[Draft.from_data(dict(state)).next_step()]


async def _advance(update: Update, context: AppContext, draft: Draft) -> int:
    """Save the draft and ask for its first missing part."""
    actor = context.actor
    await context.services.drafts.keep(actor.telegram_id, draft.to_data())
    texts = await context.texts(update)
    step = draft.next_step()
    text, keyboard = await _prompt(context, step, draft, texts, actor)
    if step == "confirm":
        description = "\n".join(draft.description)
        text += await systemic_issues.intake_suggestions(context, actor, description, texts)
    await send_here(update, context, text, keyboard)
    return STATE_OF_STEP[step]


async def _prompt(
    context: AppContext,
    step: str,
    draft: Draft,
    texts: Translator,
    actor: Actor,
) -> tuple[str, InlineKeyboardMarkup | None]:
    if step == "enterprise":
        rows = [[(e.name, "enterprise", str(e.id))] for e in actor.enterprises]
        return texts("intake.ask_enterprise"), _buttons(texts, rows)
    if step == "category":
        rows = [[(texts(f"intake.category.{c}"), "category", c)] for c in CATEGORIES]
        explained = "\n".join(
            texts(
                "intake.category_line",
                name=texts(f"intake.category.{c}"),
                hint=texts(f"intake.category_hint.{c}"),
            )
            for c in CATEGORIES
        )
        return texts("intake.ask_category", categories=Html(explained)), _buttons(texts, rows)
    if step == "question":
        return texts(f"intake.question.{draft.next_question()}"), None
    if step == "description":
        return texts("intake.ask_description"), None
    if step == "urgency":
        rows = [[(texts(f"intake.urgency.{u}"), "urgency", u)] for u in URGENCIES]
        return texts("intake.ask_urgency"), _buttons(texts, rows)
    return await _summary(context, draft, texts, actor)


async def _summary(
    context: AppContext, draft: Draft, texts: Translator, actor: Actor
) -> tuple[str, InlineKeyboardMarkup]:
    # One the user speaks for was read when they were identified (this update); another (a
    # draft from before they stopped speaking for it) is read as before.
    enterprise = actor.enterprise(draft.enterprise_id) or await context.services.enterprises.get(
        draft.enterprise_id or 0
    )
    details = "".join(
        texts("requests.detail_line", question=texts(f"intake.question_label.{k}"), answer=v)
        for k, v in draft.answers.items()
    )
    text = texts(
        "intake.summary",
        enterprise=enterprise.name if enterprise else "",
        category=texts(f"intake.category.{draft.category}"),
        details=Html(details),
        description="\n\n".join(draft.description)[:2500],
        files=len(draft.attachments),
        urgency=texts(f"intake.urgency.{'urgent' if draft.urgent else 'normal'}"),
    )
    rows = [
        [(texts("intake.submit"), "confirm", "submit")],
        [(texts("intake.edit"), "confirm", "edit")],
        [(texts("intake.cancel"), "confirm", "cancel")],
    ]
    return text, _buttons(texts, rows)


async def _ask_what_to_edit(update: Update, context: AppContext) -> int:
    actor = context.actor
    texts = await context.texts(update)
    parts = [part for part in EDITABLE if _may_edit(actor, part)]
    rows = [[(texts(f"intake.edit_part.{part}"), "confirm", part)] for part in parts]
    await send_here(update, context, texts("intake.ask_edit"), _buttons(texts, rows))
    return CONFIRM


# -- small helpers ------------------------------------------------------------------------------


async def _draft(context: AppContext, telegram_id: int) -> Draft:
    return Draft.from_data(await context.services.drafts.read(telegram_id) or {})


async def _answer(update: Update) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer()


MEDIA = filters.PHOTO | filters.Document.ALL
TEXT = filters.TEXT & ~filters.COMMAND
OTHER = ~filters.COMMAND & ~filters.StatusUpdate.ALL

ENTRY_POINTS: list[BaseHandler[Any, Any, Any]] = [
    CommandHandler("new", start),
    CallbackQueryHandler(start, pattern=menu_pattern("new")),
]
STATES: dict[object, list[BaseHandler[Any, Any, Any]]] = {
    RESUME: [CallbackQueryHandler(resume, pattern=IntakeButton.on("resume"))],
    ENTERPRISE: [CallbackQueryHandler(choose_enterprise, pattern=IntakeButton.on("enterprise"))],
    CATEGORY: [CallbackQueryHandler(choose_category, pattern=IntakeButton.on("category"))],
    QUESTION: [MessageHandler(TEXT, answer_question)],
    DESCRIPTION: [
        MessageHandler(TEXT | MEDIA, add_description),
        CallbackQueryHandler(finish_description, pattern=IntakeButton.on("description")),
    ],
    URGENCY: [CallbackQueryHandler(choose_urgency, pattern=IntakeButton.on("urgency"))],
    CONFIRM: [CallbackQueryHandler(confirm, pattern=IntakeButton.on("confirm"))],
}
