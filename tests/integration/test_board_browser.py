"""The board in a real headless Chromium: both pages render the seeded numbers, with no
console error, CSP violation or failed resource; screenshots are kept in the test's tmp dir.
Snoozes come from a real broker, published by ``kam alerts snooze``'s own function."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from kam.kafka_admin import ensure_topics
from kam.settings import BoardSettings, ClickHouseSettings, KafkaSettings, TopicSettings
from sinks.board.server import BoardServer, board_context
from sinks.notify import snooze_command
from sinks.notify.topics import notifier_topics
from tests.integration.chromium import Chromium, PageLoad, chromium_binary
from tests.unit.board.dom import parse
from tests.unit.board.seed import NOW, seeded_endpoint

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "browser-token-0123456789"

pytestmark = pytest.mark.skipif(
    chromium_binary() is None,
    reason="Debian's chromium is not installed and could not be (deploy/local/system-deps.sh "
    "runs apt-get install -y chromium)",
)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with seeded_endpoint(tmp_path_factory.mktemp("board") / "chdb") as path:
        yield path


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Chromium]:
    with Chromium(tmp_path / "profile") as chromium:
        yield chromium


def _board(seeded: Path, kafka: KafkaSettings | None, topics: TopicSettings,
           settings: BoardSettings | None = None) -> BoardServer:
    return BoardServer(board_context(
        settings=settings or BoardSettings(port=0),
        clickhouse=ClickHouseSettings(chdb_path=seeded),
        kafka=kafka,
        topics=topics,
        kpi_config_path=None,
        alert_rules_path=ROOT / "config" / "alert_rules.toml",
        tiering_path=ROOT / "config" / "tiering.toml",
        clock=lambda: NOW,
    ))


def _clean(page: PageLoad) -> PageLoad:
    assert page.errors == [], page.errors
    assert page.broken_images == [], page.broken_images
    assert page.screenshot is not None and page.screenshot.stat().st_size > 10_000
    return page


def test_both_pages_in_chromium(
    seeded: Path, browser: Chromium, tmp_path: Path, kafka_settings: KafkaSettings,
    unique_name: Callable[[str], str],
) -> None:
    topics = TopicSettings(snoozes=unique_name("t.snoozes"))
    ensure_topics(kafka_settings, notifier_topics(topics))
    until = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    assert snooze_command(kafka=kafka_settings, topics=topics, account_id="acme",
                          rule="otif_below_7d", until=until.isoformat(),
                          reason="carrier strike, agreed with the customer", created_by="ana",
                          out=io.StringIO()) == 0
    with _board(seeded, kafka_settings, topics) as server:
        portfolio = _clean(browser.load(server.url + "/", screenshot=tmp_path / "portfolio.png"))
        account = _clean(browser.load(server.url + "/accounts/acme",
                                      screenshot=tmp_path / "account.png"))
        no_script = _clean(browser.load(server.url + "/accounts/acme", javascript=False,
                                        screenshot=tmp_path / "account-without-js.png"))
        sql = _clean(browser.load(
            server.url + "/sql/kpis?account=acme&contact_point=logistics&window=7d&kpi=otif",
            screenshot=tmp_path / "sql.png"))

    dom = parse(portfolio.dom)
    acme = dom.find("tr", data_account="acme")
    assert [c.text for c in acme.find_all("td", class_="score band-amber")] == [
        "68.4", "75.0", "65.5"]
    assert acme.find("td", data_cp="logistics").text == "42.5"
    assert acme.find("td", data_poor="yes").text == "POOR logistics"
    assert acme.find("span", data_severity="critical").text == "1 critical"
    rows = [r.attrs["data-account"] for r in dom.find_all("tr") if "data-account" in r.attrs]
    assert rows == ["acme", "initech", "globex", "hooli"]

    page = parse(account.dom)
    assert page.find("div", id="worst-of").text == "worst-of (below 60) POOR logistics"
    otif = page.find("tr", data_cp="logistics", data_kpi="otif").find("td", data_window="7d")
    assert otif.text == "81.3% target >= 95.0%"
    assert page.find("td", id="tier-total").text == "80.08"
    assert len(page.find_all("img", class_="chart")) == 1
    # the same page with scripts disabled: the same numbers, the chart decoded (checked above)
    assert parse(no_script.dom).find("div", id="worst-of").text == page.find(
        "div", id="worst-of").text
    sparklines = [row.find("img") for row in dom.find_all("tr") if "data-account" in row.attrs]
    assert len(sparklines) == 4
    (snooze,) = page.find("table", id="snoozes").find_all("tr")[1:]
    assert snooze.text == (
        f"rule otif_below_7d {until:%Y-%m-%d %H:%M} UTC carrier strike, agreed with the "
        "customer ana"
    )
    assert parse(sql.dom).find("table", id="result").find_all("tr")[1].text == (
        "logistics 7d otif 0.813 2026-12-03 11:00:00.000"
    )


def test_token_login_in_chromium(seeded: Path, browser: Chromium, tmp_path: Path) -> None:
    settings = BoardSettings(port=0, token=SecretStr(TOKEN))
    with _board(seeded, None, TopicSettings(), settings) as server:
        first = _clean(browser.load(f"{server.url}/?token={TOKEN}",
                                    screenshot=tmp_path / "login.png"))
        # the cookie set by the first visit lets the browser in without the token
        again = _clean(browser.load(f"{server.url}/accounts/initech",
                                    screenshot=tmp_path / "initech.png"))
        refused = browser.load(f"{server.url.replace('127.0.0.1', 'localhost')}/")
    assert "Strategic and key accounts" in parse(first.dom).text
    assert parse(again.dom).find("div", data_cp="billing").find("a").text == "61.0"
    assert parse(refused.dom).find("section", class_="error").attrs["data-status"] == "401"
