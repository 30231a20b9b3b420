"""A fictional cast for the sandbox: officials, enterprises, the demo users and their roles.

Everyone here is invented. The numbers are chosen to look like the real thing: credit codes
carry valid check characters and the administrative division of their city, and the officials
form a chain of supervision (county → city → province) as the 督办 path needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from bot.channels import Handle, normalize_email, normalize_wechat
from bot.credit_code import make_credit_code
from bot.dispatch import NOTICE_KINDS
from bot.lifecycle import Action
from bot.services import Services
from storage.models import InviteKind, Stage
from storage.requests import NewRequest

PersonaRole = Literal["entrepreneur", "official", "admin"]
DEMO_LANGUAGE = "zh-hans"
BIND_TTL = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Persona:
    """A demo Telegram user the sandbox page acts as."""

    telegram_id: int
    first_name: str
    username: str
    role: PersonaRole
    label_zh: str
    label_en: str


ENTREPRENEUR = Persona(
    5100000001, "张伟", "zhang_wei_demo", "entrepreneur", "企业家 张伟", "Entrepreneur Zhang Wei"
)
SECOND_ENTREPRENEUR = Persona(
    5100000002, "刘洋", "liu_yang_demo", "entrepreneur", "企业家 刘洋", "Entrepreneur Liu Yang"
)
OFFICIAL = Persona(
    5200000001,
    "周明远",
    "zhou_mingyuan_demo",
    "official",
    "副省长 周明远",
    "Vice-governor Zhou Mingyuan",
)
ADMIN = Persona(
    5300000001, "营商办", "ln_office_demo", "admin", "管理员 营商办", "Admin (business office)"
)
# A city office's admin (issue 18), appointed by the province admin with a one-time link: acts
# within Dalian only (its enterprises and officials, their requests, announcements, the ledger).
CITY_ADMIN = Persona(
    5300000002,
    "大连营商局",
    "dl_office_demo",
    "admin",
    "大连市管理员 大连营商局",
    "Dalian admin (city business bureau)",
)
CITY_ADMIN_OFFICE = "dalian"
PERSONAS = (ENTREPRENEUR, SECOND_ENTREPRENEUR, OFFICIAL, ADMIN, CITY_ADMIN)


@dataclass(frozen=True, slots=True)
class DemoOfficial:
    external_id: str
    name: str
    title: str
    body: str
    level: str
    city: str
    responsibilities: str
    supervisor: str | None = None
    telegram_id: int | None = None
    wechat_ids: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()

    @property
    def handles(self) -> list[Handle]:
        """The official's WeChat IDs and work addresses, normalised as a roster import does."""
        return [normalize_wechat(w) for w in self.wechat_ids] + [
            normalize_email(e) for e in self.emails
        ]


@dataclass(frozen=True, slots=True)
class DemoEnterprise:
    name: str
    credit_prefix: str  # the first 17 characters; the check character is computed
    city: str
    stage: Stage
    industry: str
    official: str  # external id of the designated official
    contact: int | None = None  # the demo user who speaks for it

    @property
    def credit_code(self) -> str:
        return make_credit_code(self.credit_prefix)


# Supervisors come before the officials they supervise.
OFFICIALS = (
    DemoOfficial(
        "LN-PROV-01",
        "周明远",
        "副省长",
        "辽宁省人民政府",
        "province",
        "shenyang",
        "营商环境、工业和信息化",
        telegram_id=OFFICIAL.telegram_id,
        # As typed on a roster; /check finds them in any case, e.g. "zhoumy_lngov".
        wechat_ids=("ZhouMY_LNGov",),
        emails=("Zhou.Mingyuan@ln-gov.example",),
    ),
    DemoOfficial(
        "LN-PROV-02", "林晓梅", "副省长", "辽宁省人民政府", "province", "shenyang", "科技、商务"
    ),
    DemoOfficial(
        "SY-01",
        "赵国栋",
        "副市长",
        "沈阳市人民政府",
        "city",
        "shenyang",
        "工业、民营经济",
        supervisor="LN-PROV-01",
    ),
    DemoOfficial(
        "DL-01",
        "孙丽华",
        "副市长",
        "大连市人民政府",
        "city",
        "dalian",
        "港口物流、对外开放",
        supervisor="LN-PROV-02",
    ),
    DemoOfficial(
        "AS-01",
        "王海涛",
        "副市长",
        "鞍山市人民政府",
        "city",
        "anshan",
        "钢铁产业链",
        supervisor="LN-PROV-01",
    ),
    DemoOfficial(
        "JZ-01",
        "马春燕",
        "副市长",
        "锦州市人民政府",
        "city",
        "jinzhou",
        "新能源、农产品加工",
        supervisor="LN-PROV-02",
    ),
    DemoOfficial(
        "DL-GXQ-01",
        "吴建平",
        "管委会副主任",
        "大连高新区管委会",
        "county",
        "dalian",
        "科技企业服务",
        supervisor="DL-01",
    ),
)

ENTERPRISES = (
    DemoEnterprise(
        "沈阳远航精密机械有限公司",
        "91210100MA0DEMY01",
        "shenyang",
        Stage.GROWTH,
        "装备制造",
        "LN-PROV-01",
        contact=ENTREPRENEUR.telegram_id,
    ),
    DemoEnterprise(
        "大连蓝湾新材料科技有限公司",
        "91210200MA0DEMY02",
        "dalian",
        Stage.STARTUP,
        "新材料",
        "LN-PROV-01",
        contact=SECOND_ENTREPRENEUR.telegram_id,
    ),
    DemoEnterprise(
        "鞍山恒钢特种钢材股份有限公司",
        "91210300MA0DEMY03",
        "anshan",
        Stage.MATURE,
        "冶金",
        "LN-PROV-01",
    ),
    DemoEnterprise(
        "沈阳启明智能科技有限公司",
        "91210100MA0DEMY04",
        "shenyang",
        Stage.STARTUP,
        "工业软件",
        "SY-01",
    ),
    DemoEnterprise(
        "大连港湾冷链物流有限公司", "91210200MA0DEMY05", "dalian", Stage.MATURE, "物流", "DL-01"
    ),
    DemoEnterprise(
        "大连星海生物医药有限公司",
        "91210200MA0DEMY06",
        "dalian",
        Stage.GROWTH,
        "生物医药",
        "DL-GXQ-01",
    ),
    DemoEnterprise(
        "锦州光谷新能源有限公司", "91210700MA0DEMY07", "jinzhou", Stage.GROWTH, "光伏", "JZ-01"
    ),
    DemoEnterprise(
        "营口鲅鱼圈粮油食品有限公司",
        "91210800MA0DEMY08",
        "yingkou",
        Stage.MATURE,
        "农产品加工",
        "LN-PROV-02",
    ),
)


async def is_seeded(services: Services) -> bool:
    """True once the cast is in the database (a kept sandbox database is not seeded twice)."""
    return await services.officials.by_external_id(OFFICIALS[0].external_id) is not None


async def seed(services: Services) -> None:
    """Create the whole cast through the real repositories, as an operator would."""
    now = services.clock.now()
    for persona in PERSONAS:
        await services.accounts.seen(
            persona.telegram_id,
            first_name=persona.first_name,
            username=persona.username,
            telegram_language=DEMO_LANGUAGE,
            now=now,
        )
    ids: dict[str, int] = {}
    for item in OFFICIALS:
        official = await services.directory.add_official(
            external_id=item.external_id,
            name=item.name,
            title=item.title,
            body=item.body,
            level=item.level,
            city=item.city,
            responsibilities=item.responsibilities,
            now=now,
        )
        ids[item.external_id] = official.id
        for handle in item.handles:
            await services.directory.add_channel(
                official.id,
                channel=handle.channel,
                digest=services.verifier.channels.handle_digest(handle),
                hint=handle.hint,
            )
        if item.supervisor is not None:
            await services.directory.set_supervisor(official.id, ids[item.supervisor])
        if item.telegram_id is not None:
            await _bind_official(services, official.id, item.telegram_id)
    for entry in ENTERPRISES:
        enterprise = await services.directory.add_enterprise(
            name=entry.name,
            credit_code=entry.credit_code,
            city=entry.city,
            stage=entry.stage,
            industry=entry.industry,
            now=now,
        )
        await services.directory.assign(ids[entry.official], enterprise.id, now=now)
        if entry.contact is not None:
            persona = next(p for p in PERSONAS if p.telegram_id == entry.contact)
            await services.directory.add_contact(
                enterprise.id, name=persona.first_name, telegram_id=persona.telegram_id, now=now
            )
    await _appoint_city_admin(services)
    filed = await seed_requests(services)
    # The demo's invented past is not news: nobody is told of it when the sandbox opens.
    await services.outbox.repository.drop_pending(NOTICE_KINDS)
    if "factors" in filed:
        await seed_systemic_issue(services, filed["factors"])


async def _bind_official(services: Services, official_id: int, telegram_id: int) -> None:
    """Bind through a one-time invite, exactly as a real official joins."""
    now = services.clock.now()
    invite = await services.invites.issue(
        kind=InviteKind.OFFICIAL, official_id=official_id, now=now, ttl=BIND_TTL
    )
    await services.invites.redeem(invite.token, telegram_id=telegram_id, name="", now=now)


async def _appoint_city_admin(services: Services) -> None:
    """The province admin appoints Dalian's admin by a one-time link, as in the bot (/appoint)."""
    now = services.clock.now()
    province = await services.actor(ADMIN.telegram_id)
    if not province.is_province_admin:
        return
    invite = await services.offices.invite(
        CITY_ADMIN_OFFICE, by=province.telegram_id, by_office=province.office, now=now, ttl=BIND_TTL
    )
    await services.invites.redeem(
        invite.token, telegram_id=CITY_ADMIN.telegram_id, name="", now=now
    )


async def seed_requests(services: Services) -> dict[str, int]:
    """A few requests of the first demo enterprise in different states, through the real desk.

    Each entry is the request and the steps it has been through, so /my and /inbox show one
    awaiting acknowledgement, one in progress with a reply, one waiting for the enterprise,
    one resolved awaiting confirmation and one closed and rated. Returns their ids by category.
    """
    entrepreneur = await services.actor(ENTREPRENEUR.telegram_id)
    official = await services.actor(OFFICIAL.telegram_id)
    if not entrepreneur.enterprises or official.official is None:
        return {}
    enterprise_id = entrepreneur.enterprises[0].id
    filed = {}
    for request in DEMO_REQUESTS:
        submitted = await services.desk.submit(
            entrepreneur,
            NewRequest(
                enterprise_id=enterprise_id,
                submitted_by=ENTREPRENEUR.telegram_id,
                category=request.category,
                urgent=False,
                summary=request.summary,
                description=request.summary,
                details={},
            ),
        )
        request_id = filed[request.category] = submitted.request.id
        for step in request.steps:
            if isinstance(step, Action):
                by = entrepreneur if step in ENTERPRISE_ACTIONS else official
                await services.desk.act(by, request_id, step, note=STEP_NOTES.get(step, ""))
            else:
                await services.desk.post(official, request_id, text=step)
    return filed


async def seed_systemic_issue(services: Services, request_id: int) -> None:
    """One systemic issue with the demo power request in it, so that /issues has something to
    show and an entrepreneur writing about electricity sees it before submitting."""
    admin = await services.actor(ADMIN.telegram_id)
    if not admin.is_admin:
        return
    issue = await services.systemic.create(admin, DEMO_ISSUE, request_id=request_id)
    await services.systemic.note(admin, issue.id, DEMO_ISSUE_NOTE)


DEMO_ISSUE = "工业企业扩产用电增容审批周期长"
DEMO_ISSUE_NOTE = "已约省电力公司梳理增容流程，拟开通重点项目绿色通道。"


@dataclass(frozen=True, slots=True)
class DemoRequest:
    category: str
    summary: str
    steps: tuple[Action | str, ...] = ()


ENTERPRISE_ACTIONS = frozenset({Action.CONFIRM, Action.REJECT, Action.PROVIDE_INFO})
STEP_NOTES = {
    Action.RESOLVE: "已协调市人社局，补贴已于本周拨付。",
    Action.ASK_INFO: "请补充 2025 年度用电量清单。",
}
DEMO_REQUESTS = (
    DemoRequest("payments", "某国企拖欠设备款 186 万元，已逾期 9 个月"),
    DemoRequest(
        "approval",
        "新厂房施工许可审批超过承诺时限",
        (Action.ACKNOWLEDGE, "已转市住建局，本周内给出办理时间表。"),
    ),
    DemoRequest("factors", "扩产需要增容用电 2000 千伏安", (Action.ACKNOWLEDGE, Action.ASK_INFO)),
    DemoRequest(
        "policy",
        "稳岗补贴申请后一直未到账",
        (Action.ACKNOWLEDGE, "正在核实。", Action.RESOLVE),
    ),
    DemoRequest(
        "ip",
        "专利被仿冒，请求协调市场监管部门",
        (Action.ACKNOWLEDGE, "已联系市场监管局执法支队。", Action.RESOLVE, Action.CONFIRM),
    ),
)
