"""Take the README's sandbox screenshots with headless Chromium: python scripts/screenshots.py

Starts a fresh sandbox on a free loopback port, plays the demo users in the page (typing and
pressing buttons as a person would) through the whole walk-through, and saves PNGs under
docs/img/: each scene cropped to the chats that take part, from the scene's first message, as a
256-colour PNG. Uses Debian's /usr/bin/chromium and its colour emoji font (scripts/browser.sh
installs both); never downloads a browser.
"""

from __future__ import annotations

import asyncio
import io
import re
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.async_api import Locator, Page  # noqa: E402

from bot import demo  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.sandbox import Sandbox  # noqa: E402
from tests.browser import chromium  # noqa: E402

OUT = ROOT / "docs" / "img"
WIDE = {"width": 1440, "height": 820}
PHONE = {"width": 390, "height": 780}
COLUMN_PX = 380
TIMEOUT_MS = 15_000
CODE = re.compile(r"核验码：\s*([\d ]+)")
NUMBER = re.compile(r"LN-\d{8}-\d{4}")
ANNOUNCEMENT = "关于 2026 年稳岗补贴申报的通知：请于 12 月 20 日前在省政务服务网提交申报材料。"

# Runs in the page: a stage below the chats holding copies of the given chats side by side, each
# grown to show its messages from one index up to another, without the composer. Copies, so that
# one chat can fill two columns; inline styles, as the page's Content-Security-Policy forbids
# injected style sheets.
STAGE = """([columns, width]) => {
  const stage = document.createElement("div");
  stage.id = "stage";
  Object.assign(stage.style, {
    display: "grid", gridTemplateColumns: `repeat(${columns.length}, ${width}px)`, gap: "0.6rem",
    padding: "0.6rem", width: "max-content", background: "var(--bg)",
  });
  for (const [id, from, to] of columns) {
    const copy = document.getElementById(`chat-${id}`).cloneNode(true);
    copy.removeAttribute("id");
    Object.assign(copy.style, { display: "flex", height: "auto", minHeight: "0" });
    copy.querySelector(".messages").style.overflow = "visible";
    for (const part of copy.querySelectorAll(".composer, .toast, .commands")) part.remove();
    const items = [...copy.querySelectorAll(".messages > li")];
    for (const item of [...items.slice(0, from), ...items.slice(to ?? items.length)]) item.remove();
    stage.append(copy);
  }
  document.body.append(stage);
}"""

Column = tuple[demo.Persona, int, int | None]
"""A chat in a scene: whose, from which message, up to which (None: to the end)."""


def chat(page: Page, persona: demo.Persona) -> Locator:
    return page.locator(f"#chat-{persona.telegram_id}")


def bot_says(page: Page, persona: demo.Persona, text: str) -> Locator:
    return chat(page, persona).locator(".message.bot", has_text=text).last


async def send(page: Page, persona: demo.Persona, text: str, *, until: str = "") -> None:
    """Type ``text`` as ``persona``; wait for the bot's next message (containing ``until``)."""
    box = chat(page, persona)
    before = await box.locator(".message.bot").count()
    await box.locator("input.text").fill(text)
    await box.locator("input.text").press("Enter")
    await box.locator(".message.bot").nth(before).wait_for()
    if until:
        await bot_says(page, persona, until).wait_for()


async def press(page: Page, persona: demo.Persona, label: str, *, until: str = "") -> None:
    """Press the last inline button containing ``label``; wait for ``until`` or a new message."""
    box = chat(page, persona)
    before = await box.locator(".message.bot").count()
    await box.locator(".inline-keyboard .button", has_text=label).last.click()
    if until:
        await bot_says(page, persona, until).wait_for()
    else:
        await box.locator(".message.bot").nth(before).wait_for()


async def mark(page: Page, persona: demo.Persona, text: str = "") -> int:
    """Where a scene starts: the index of the last message containing ``text``, or (with no
    text) of the next message to come."""
    items = chat(page, persona).locator(".messages > li")
    if not text:
        return await items.count()
    script = "(items, text) => items.findLastIndex((item) => item.textContent.includes(text))"
    found: int = await items.evaluate_all(script, text)
    if found < 0:
        raise SystemExit(f"no message with {text!r} for {persona.label_en}")
    return found


def save(png: bytes, name: str) -> None:
    """Save as a 256-colour optimised PNG (a third of the size, no visible loss for UI text)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    small = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(OUT / name, optimize=True)
    print(f"  docs/img/{name}  {small.width}x{small.height}  {(OUT / name).stat().st_size} B")


async def shot(target: Page | Locator, name: str) -> None:
    save(await target.screenshot(), name)


async def scene(page: Page, name: str, *columns: Column) -> None:
    """The given chats side by side, each from its first message to its last."""
    spec = [[persona.telegram_id, start, end] for persona, start, end in columns]
    await page.evaluate(STAGE, [spec, COLUMN_PX])
    try:
        await shot(page.locator("#stage"), name)
    finally:
        await page.evaluate("() => document.getElementById('stage').remove()")


async def scenes(page: Page) -> None:
    for persona in demo.PERSONAS:
        await send(page, persona, "/start")
    await shot(page, "sandbox-overview.png")
    await press(page, demo.ENTREPRENEUR, "帮助")
    await shot(chat(page, demo.ENTREPRENEUR), "entrepreneur-start.png")
    await shot(chat(page, demo.OFFICIAL), "official-start.png")
    await shot(chat(page, demo.ADMIN), "admin-start.png")
    await chat(page, demo.SECOND_ENTREPRENEUR).locator("button[data-lang='en']").click()
    await send(page, demo.SECOND_ENTREPRENEUR, "/start")
    await shot(chat(page, demo.SECOND_ENTREPRENEUR), "english.png")
    await verification(page)
    number = await intake(page)
    await answer(page, number)
    await close_out(page)
    await broadcast(page)
    await page.set_viewport_size(PHONE)
    await page.click(f"#tab-{demo.ENTREPRENEUR.telegram_id}")
    await shot(page, "phone.png")


async def verification(page: Page) -> None:
    """The vice-governor issues a spoken code; the entrepreneur checks it and sees the card."""
    official, you = demo.OFFICIAL, demo.ENTREPRENEUR
    await press(page, official, "生成核验码")
    await press(page, official, "沈阳远航", until="核验码：")
    await shot(chat(page, official), "official-issues-code.png")
    found = CODE.search(await bot_says(page, official, "核验码：").inner_text())
    if found is None:
        raise SystemExit("the official's code message has no code in it")
    start = await mark(page, you)
    await press(page, you, "核验官员")
    await send(page, you, found.group(1).strip(), until="核验通过")
    await bot_says(page, official, "已被核验").wait_for()
    await scene(
        page,
        "verification-walkthrough.png",
        (official, await mark(page, official, "核验码："), None),
        (you, start, None),
    )


async def intake(page: Page) -> str:
    """张伟 files an overdue-payments request, from the menu button to its number."""
    you = demo.ENTREPRENEUR
    start = await mark(page, you)
    await press(page, you, "提交诉求", until="请选择诉求类别")
    await press(page, you, "拖欠账款", until="欠款方")
    await send(page, you, "沈阳某装备集团有限公司", until="拖欠金额")
    await send(page, you, "86万元", until="什么时候")
    await send(page, you, "2025年8月", until="请描述")
    await send(page, you, "去年交付的两台数控机床，验收合格后尾款一直未付，多次催告无果。")
    await press(page, you, "写完了", until="紧急吗")
    await press(page, you, "一般", until="请核对")
    await press(page, you, "提交", until="已收到您的诉求")
    found = NUMBER.search(await bot_says(page, you, "已收到您的诉求").inner_text())
    if found is None:
        raise SystemExit("the entrepreneur was not given a request number")
    middle = await mark(page, you, "请描述")
    await scene(page, "request-intake.png", (you, start, middle), (you, middle, None))
    return found.group(0)


async def answer(page: Page, number: str) -> None:
    """The vice-governor gets the new request, acknowledges it and answers; 张伟 reads both."""
    official, you = demo.OFFICIAL, demo.ENTREPRENEUR
    await bot_says(page, official, number).wait_for()
    start = await mark(page, you)
    await press(page, official, "受理", until="状态：已受理")
    await bot_says(page, you, "已由").wait_for()
    await press(page, official, "回复", until="请发送给")
    await send(page, official, "已联系欠款单位，对方承诺本月底前付清尾款。", until="已发送")
    await bot_says(page, you, "对方承诺").wait_for()
    await scene(
        page,
        "request-answered.png",
        (official, await mark(page, official, "拖欠账款"), None),
        (you, start, None),
    )


async def close_out(page: Page) -> None:
    """The vice-governor marks it resolved; 张伟 confirms it is solved, rates it, comments."""
    official, you = demo.OFFICIAL, demo.ENTREPRENEUR
    start = (await mark(page, official), await mark(page, you))
    await press(page, official, "办结", until="请写明")
    await send(page, official, "尾款 86 万元已于今日到账。", until="已标记为办结")
    await bot_says(page, you, "问题解决了吗").wait_for()
    await press(page, you, "已解决", until="请为这次办理打分")
    await bot_says(page, official, "已销号").wait_for()
    await scene(page, "request-solved.png", (official, start[0], None), (you, start[1], None))
    rating = await mark(page, you, "请为这次办理打分")
    await press(page, you, "⭐⭐⭐⭐⭐", until="谢谢您的评价")
    await press(page, you, "写意见", until="请发送您的意见")
    await send(page, you, "办得很快，谢谢！", until="意见已记录")
    await scene(page, "request-rated.png", (you, rating, None))


async def broadcast(page: Page) -> None:
    """The admin composes an announcement, previews it, confirms; both entrepreneurs get it."""
    admin, first, second = demo.ADMIN, demo.ENTREPRENEUR, demo.SECOND_ENTREPRENEUR
    start = (await mark(page, admin), await mark(page, first), await mark(page, second))
    await press(page, admin, "发布公告", until="请发送公告内容")
    await send(page, admin, ANNOUNCEMENT, until="请选择接收对象")
    await press(page, admin, "全部企业", until="接收人数")
    await press(page, admin, "立即发送", until="确认立即")
    await scene(page, "broadcast-compose.png", (admin, start[0], None))
    await press(page, admin, "确认发送", until="公告 #")
    for persona in (first, second):
        await bot_says(page, persona, "稳岗补贴").wait_for()
    await bot_says(page, admin, "已完成").wait_for()
    await scene(
        page,
        "broadcast-received.png",
        (admin, await mark(page, admin, "已完成"), None),
        (first, start[1], None),
        (second, start[2], None),
    )


async def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    settings = Settings.model_validate({"sandbox": {"port": 0}})
    async with Sandbox(settings) as sandbox, chromium() as browser:
        page = await browser.new_page(locale="zh-CN", viewport=WIDE, device_scale_factor=1)
        page.set_default_timeout(TIMEOUT_MS)
        await page.goto(sandbox.url)
        await page.wait_for_selector("body[data-ready]")
        print(f"sandbox at {sandbox.url}; screenshots:")
        await scenes(page)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
