"""The README's walk-through, played in the sandbox page by headless Chromium, with pictures.

The demo users type and press buttons as people would; each scene is photographed cropped to the
chats that take part, from the scene's first message, and saved as a 256-colour PNG.
``scripts/screenshots.py`` plays it into docs/img/; ``tests/test_sandbox_walkthrough.py`` plays
it into a temporary directory, so that the README's pictures can always be taken again.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from PIL import Image
from playwright.async_api import Locator, Page

from sandbox import demo

WIDE = {"width": 1760, "height": 820}
PHONE = {"width": 390, "height": 780}
COLUMN_PX = 380
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
LAST_WITH = "(items, text) => items.findLastIndex((item) => item.textContent.includes(text))"

Column = tuple[demo.Persona, int, int | None]
"""A chat in a scene: whose, from which message, up to which (None: to the end)."""


class WalkthroughError(Exception):
    """The bot did not answer as the walk-through expects."""


class Walkthrough:
    """The four demo users in one page (opened at ``WIDE``), photographed into ``out``."""

    def __init__(self, page: Page, out: Path) -> None:
        self.page = page
        self.out = out
        self.taken: list[Path] = []

    async def play(self) -> list[Path]:
        """Every scene, in the README's order; the pictures taken."""
        official, admin = demo.OFFICIAL, demo.ADMIN
        first, second = demo.ENTREPRENEUR, demo.SECOND_ENTREPRENEUR
        for persona in demo.PERSONAS:
            await self.send(persona, "/start")
        await self.shot(self.page, "sandbox-overview.png")
        await self.press(first, "帮助")
        await self.shot(self.chat(first), "entrepreneur-start.png")
        await self.shot(self.chat(official), "official-start.png")
        await self.shot(self.chat(admin), "admin-start.png")
        await self.chat(second).locator("button[data-lang='en']").click()
        await self.send(second, "/start")
        await self.shot(self.chat(second), "english.png")
        await self.verification()
        number = await self.intake()
        await self.answer(number)
        await self.close_out()
        await self.broadcast()
        await self.city_office()
        await self.page.set_viewport_size(PHONE)
        await self.page.click(f"#tab-{first.telegram_id}")
        await self.shot(self.page, "phone.png")
        return self.taken

    # -- the scenes ---------------------------------------------------------------------------

    async def verification(self) -> None:
        """The vice-governor issues a spoken code; the entrepreneur checks it and sees the card."""
        official, you = demo.OFFICIAL, demo.ENTREPRENEUR
        await self.press(official, "生成核验码")
        await self.press(official, "沈阳远航", until="核验码：")
        await self.shot(self.chat(official), "official-issues-code.png")
        code = await self.find(CODE, official, "核验码：")
        start = await self.mark(you)
        await self.press(you, "核验官员")
        await self.send(you, code.group(1).strip(), until="核验通过")
        await self.says(official, "已被核验").wait_for()
        issued = await self.mark(official, "核验码：")
        await self.scene(
            "verification-walkthrough.png", (official, issued, None), (you, start, None)
        )

    async def intake(self) -> str:
        """张伟 files an overdue-payments request, from the menu button to its number."""
        you = demo.ENTREPRENEUR
        start = await self.mark(you)
        await self.press(you, "提交诉求", until="请选择诉求类别")
        await self.press(you, "拖欠账款", until="欠款方")
        await self.send(you, "沈阳某装备集团有限公司", until="拖欠金额")
        await self.send(you, "86万元", until="什么时候")
        await self.send(you, "2025年8月", until="请描述")
        await self.send(you, "去年交付的两台数控机床，验收合格后尾款一直未付，多次催告无果。")
        await self.press(you, "写完了", until="紧急吗")
        await self.press(you, "一般", until="请核对")
        await self.press(you, "提交", until="已收到您的诉求")
        number = await self.find(NUMBER, you, "已收到您的诉求")
        middle = await self.mark(you, "请描述")
        await self.scene("request-intake.png", (you, start, middle), (you, middle, None))
        return number.group(0)

    async def answer(self, number: str) -> None:
        """The vice-governor gets the request, acknowledges it and answers; 张伟 reads both."""
        official, you = demo.OFFICIAL, demo.ENTREPRENEUR
        await self.says(official, number).wait_for()
        start = await self.mark(you)
        await self.press(official, "受理", until="状态：已受理")
        await self.says(you, "已由").wait_for()
        await self.press(official, "回复", until="请发送给")
        await self.send(official, "已联系欠款单位，对方承诺本月底前付清尾款。", until="已发送")
        await self.says(you, "对方承诺").wait_for()
        card = await self.mark(official, "拖欠账款")
        await self.scene("request-answered.png", (official, card, None), (you, start, None))

    async def close_out(self) -> None:
        """The vice-governor marks it resolved; 张伟 confirms it is solved, rates it, comments."""
        official, you = demo.OFFICIAL, demo.ENTREPRENEUR
        start = (await self.mark(official), await self.mark(you))
        await self.press(official, "办结", until="请写明")
        await self.send(official, "尾款 86 万元已于今日到账。", until="已标记为办结")
        await self.says(you, "问题解决了吗").wait_for()
        await self.press(you, "已解决", until="请为这次办理打分")
        await self.says(official, "已销号").wait_for()
        await self.scene("request-solved.png", (official, start[0], None), (you, start[1], None))
        rating = await self.mark(you, "请为这次办理打分")
        await self.press(you, "⭐⭐⭐⭐⭐", until="谢谢您的评价")
        await self.press(you, "写意见", until="请发送您的意见")
        await self.send(you, "办得很快，谢谢！", until="意见已记录")
        await self.scene("request-rated.png", (you, rating, None))

    async def broadcast(self) -> None:
        """The admin composes, previews and confirms an announcement; both entrepreneurs get it."""
        admin, first, second = demo.ADMIN, demo.ENTREPRENEUR, demo.SECOND_ENTREPRENEUR
        start = (await self.mark(admin), await self.mark(first), await self.mark(second))
        await self.press(admin, "发布公告", until="请发送公告内容")
        await self.send(admin, ANNOUNCEMENT, until="请选择接收对象")
        await self.press(admin, "全部企业", until="接收人数")
        await self.press(admin, "立即发送", until="确认立即")
        await self.scene("broadcast-compose.png", (admin, start[0], None))
        await self.press(admin, "确认发送", until="公告 #")
        for persona in (first, second):
            await self.says(persona, "稳岗补贴").wait_for()
        await self.says(admin, "已完成").wait_for()
        report = await self.mark(admin, "已完成")
        await self.scene(
            "broadcast-received.png",
            (admin, report, None),
            (first, start[1], None),
            (second, start[2], None),
        )

    # -- acting as the users ------------------------------------------------------------------

    def chat(self, persona: demo.Persona) -> Locator:
        return self.page.locator(f"#chat-{persona.telegram_id}")

    def says(self, persona: demo.Persona, text: str) -> Locator:
        """The bot's last message to ``persona`` containing ``text``."""
        return self.chat(persona).locator(".message.bot", has_text=text).last

    async def city_office(self) -> None:
        """Dalian's admin reads the rates: Dalian's only, and said so; the province admin lists
        the admins of each office. (No picture: the README says what each may do.)"""
        city, province = demo.CITY_ADMIN, demo.ADMIN
        await self.send(city, "/stats", until="台账统计 · 大连市")
        await self.send(province, "/admins", until="大连市：大连营商局")

    async def send(self, persona: demo.Persona, text: str, *, until: str = "") -> None:
        """Type ``text``; wait for the bot's next message (and for one containing ``until``)."""
        box = self.chat(persona)
        before = await box.locator(".message.bot").count()
        await box.locator("input.text").fill(text)
        await box.locator("input.text").press("Enter")
        await box.locator(".message.bot").nth(before).wait_for()
        if until:
            await self.says(persona, until).wait_for()

    async def press(self, persona: demo.Persona, label: str, *, until: str = "") -> None:
        """Press the last inline button containing ``label``; wait for ``until`` or a new
        message."""
        box = self.chat(persona)
        before = await box.locator(".message.bot").count()
        await box.locator(".inline-keyboard .button", has_text=label).last.click()
        if until:
            await self.says(persona, until).wait_for()
        else:
            await box.locator(".message.bot").nth(before).wait_for()

    async def find(
        self, pattern: re.Pattern[str], persona: demo.Persona, text: str
    ) -> re.Match[str]:
        found = pattern.search(await self.says(persona, text).inner_text())
        if found is None:
            raise WalkthroughError(f"no {pattern.pattern} in {persona.label_en}'s {text!r}")
        return found

    async def mark(self, persona: demo.Persona, text: str = "") -> int:
        """Where a scene starts: the index of the last message containing ``text``, or (with no
        text) of the next message to come."""
        items = self.chat(persona).locator(".messages > li")
        if not text:
            return await items.count()
        found: int = await items.evaluate_all(LAST_WITH, text)
        if found < 0:
            raise WalkthroughError(f"no message with {text!r} for {persona.label_en}")
        return found

    # -- pictures -----------------------------------------------------------------------------

    async def scene(self, name: str, *columns: Column) -> None:
        """The given chats side by side, each from its first message to its last."""
        spec = [[persona.telegram_id, start, end] for persona, start, end in columns]
        await self.page.evaluate(STAGE, [spec, COLUMN_PX])
        try:
            await self.shot(self.page.locator("#stage"), name)
        finally:
            await self.page.evaluate("() => document.getElementById('stage').remove()")

    async def shot(self, target: Page | Locator, name: str) -> None:
        self.taken.append(save(await target.screenshot(), self.out / name))


def save(png: bytes, path: Path) -> Path:
    """Save as a 256-colour optimised PNG (about 40% of the size, no visible loss for UI text)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    small = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(path, optimize=True)
    return path
