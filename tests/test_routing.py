"""Routing rules from the config: checked at start, and followed when an enterprise has no
designated official."""

from __future__ import annotations

import pytest

from bot.config import RoutingSettings, Settings
from bot.credit_code import make_credit_code
from bot.services import Services
from scenarios.roster import OTHER_OFFICIAL_ID, add_contact, make_cast
from standin import TelegramStandin
from storage.models import Stage
from tests.test_requests_flow import submit_payments_request

CAROL_ID = 700003


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test settings with two rules, written the ways an operator might."""
    rules = [
        {"category": "ip", "city": "Shenyang", "official": "LN-001"},
        {"category": "payments", "city": "沈阳", "official": "DL-002"},
    ]
    return settings.model_copy(update={"routing": RoutingSettings.model_validate({"rules": rules})})


@pytest.mark.usefixtures("bot")
async def test_a_rule_routes_a_request_of_an_enterprise_without_a_designated_official(
    standin: TelegramStandin, services: Services
) -> None:
    await make_cast(services)
    enterprise = await services.directory.add_enterprise(
        name="沈阳无人联系机电有限公司",
        credit_code=make_credit_code("91210100MA0000077"),
        city="shenyang",
        stage=Stage.GROWTH,
        industry="机电",
        now=services.clock.now(),
    )
    await add_contact(services, enterprise, CAROL_ID)
    carol = standin.user(CAROL_ID, first_name="Carol", language_code="zh-hans")
    li_na = standin.user(OTHER_OFFICIAL_ID, first_name="李娜", started=True)

    received = await submit_payments_request(carol)
    assert "LN-20260302-0001" in received and "李娜" in received
    card = await li_na.expect_message()
    assert "新诉求" in card.text and "LN-20260302-0001" in card.text
    request = await services.requests.by_number("LN-20260302-0001")
    assert request is not None and request.official_id is not None
    official = await services.officials.get(request.official_id)
    assert official is not None and official.external_id == "DL-002"
    assert standin.errors == []
