"""The board's pages on seeded chdb data, over real HTTP: every number as the seed makes it."""

from __future__ import annotations

from urllib.parse import quote

from sinks.board.queries import QUERIES
from tests.unit.board.conftest import BoardFactory, get
from tests.unit.board.dom import Element, parse


def _portfolio(board: BoardFactory, query: str = "") -> Element:
    answer = get(board().url + "/" + query)
    assert answer.status == 200, answer.body
    return parse(answer.body)


def _account_rows(page: Element) -> list[Element]:
    return [row for row in page.find("table", id="portfolio").find_all("tr")
            if "data-account" in row.attrs]


def _ids(page: Element) -> list[str]:
    return [row.attrs["data-account"] for row in _account_rows(page)]


def test_portfolio_numbers_bands_worst_of_and_alerts(board: BoardFactory) -> None:
    page = _portfolio(board)
    assert _ids(page) == ["acme", "initech", "globex", "hooli"]  # worst first, no score last
    acme = page.find("tr", data_account="acme")
    scores = {cell.attrs["data-cp"]: (cell.text, cell.attrs["class"])
              for cell in acme.find_all("td") if "data-cp" in cell.attrs}
    assert scores == {
        "overall": ("68.4", "score band-amber"),
        "sales": ("90.0", "score band-green"),
        "logistics": ("42.5", "score band-red"),
        "support": ("75.0", "score band-amber"),
        "billing": ("65.5", "score band-amber"),
    }
    assert acme.find("td", data_poor="yes").text == "POOR logistics"
    assert acme.find("td", class_="owner").text == "ana"
    alerts = {s.attrs["data-severity"]: s.text for s in acme.find("td", class_="alerts")
              .find_all("span")}
    assert alerts == {"critical": "1 critical", "warning": "1 warning", "info": "0 info"}
    assert acme.find("img").attrs["alt"] == "overall score over 30 days, now 68.4"
    assert acme.find("img").attrs["src"].startswith("data:image/svg+xml;base64,")
    initech = page.find("tr", data_account="initech")
    assert initech.find("td", data_cp="billing").text == "61.0"
    assert initech.find("td", data_poor="no").text == "ok"
    assert initech.find("span", data_severity="info").text == "1 info"
    hooli = page.find("tr", data_account="hooli")
    assert hooli.find("td", data_cp="overall").attrs["class"] == "score band-none"
    assert hooli.find("td", class_="owner").text == "unassigned"
    assert "umbrella" not in _ids(page)  # standard accounts are not on the board
    assert "4 of 4 accounts shown" in page.text
    assert "30d health window" in page.text


def test_portfolio_filters_and_sorting(board: BoardFactory) -> None:
    server = board()

    def ids(query: str) -> list[str]:
        answer = get(server.url + "/?" + query)
        assert answer.status == 200, answer.body
        return _ids(parse(answer.body))

    assert ids("owner=ana") == ["acme", "initech"]
    assert ids("tier=key") == ["initech", "hooli"]
    assert ids("tier=strategic&owner=ben") == ["globex"]
    assert ids("contact_point=billing") == ["acme", "initech"]
    assert ids("sort=overall&order=desc") == ["globex", "acme", "initech", "hooli"]
    assert ids("sort=overall") == ["initech", "acme", "globex", "hooli"]
    assert ids("sort=name") == ["acme", "globex", "hooli", "initech"]
    assert ids("sort=owner") == ["acme", "initech", "globex", "hooli"]
    assert ids("sort=logistics") == ["acme", "globex", "hooli", "initech"]
    assert ids("sort=alerts&order=desc") == ["acme", "initech", "globex", "hooli"]
    assert ids("owner=&tier=&contact_point=") == ["acme", "initech", "globex", "hooli"]
    page = parse(get(server.url + "/?contact_point=billing").body)
    headers = [th.text for th in page.find("table", id="portfolio").find_all("th")]
    assert headers == ["Account", "Tier", "KAM owner", "Overall", "Worst-of ↑", "Billing",
                       "Open alerts", "Trend"]


def test_account_page(board: BoardFactory) -> None:
    answer = get(board().url + "/accounts/acme")
    assert answer.status == 200, answer.body
    page = parse(answer.body)
    assert page.find("h1", id="account-name").text == "Acme Corp (acme)"
    cards = {card.attrs["data-cp"]: (card.find("a").text, card.attrs["class"])
             for card in page.find("div", id="scores").find_all("div") if "data-cp" in card.attrs}
    assert cards == {
        "overall": ("68.4", "card band-amber"), "sales": ("90.0", "card band-green"),
        "logistics": ("42.5", "card band-red"), "support": ("75.0", "card band-amber"),
        "billing": ("65.5", "card band-amber"),
    }
    assert page.find("div", id="worst-of").attrs["data-poor"] == "yes"
    assert page.find("div", id="alert-counts").text == "open alerts 1 critical 1 warning 0 info"

    def kpi(cp: str, name: str, window: str) -> tuple[str, str]:
        cell = page.find("tr", data_cp=cp, data_kpi=name).find("td", data_window=window)
        return cell.text, cell.attrs["class"]

    assert kpi("logistics", "otif", "7d") == ("81.3% target >= 95.0%",
                                              "kpi-value status-critical")
    assert kpi("logistics", "otif", "30d") == ("90.0%", "kpi-value status-none")
    assert kpi("logistics", "otif", "24h") == ("-", "kpi-value status-none")
    assert kpi("logistics", "otif", "1h") == ("", "kpi-value")
    assert kpi("support", "sla_attainment", "7d") == ("95.0% target >= 90.0%",
                                                      "kpi-value status-ok")
    assert kpi("billing", "dispute_rate", "30d") == ("20.0% target <= 5.0%",
                                                     "kpi-value status-critical")
    assert kpi("support", "first_response_minutes_p50", "30d") == ("42 min",
                                                                   "kpi-value status-none")
    link = page.find("tr", data_cp="logistics", data_kpi="otif").find("td", data_window="7d")
    assert link.find("a").attrs["href"] == (
        "/sql/kpis?account=acme&contact_point=logistics&window=7d&kpi=otif"
    )
    open_alerts = [row.attrs["data-alert"] for row in page.find("table", id="open-alerts")
                   .find_all("tr") if "data-alert" in row.attrs]
    assert open_alerts == ["acme:logistics:otif_below_7d", "acme:billing:invoice_disputed"]
    timeline = [(row.find_all("td")[0].text, row.attrs["data-kind"], row.find_all("td")[2].text)
                for row in page.find("table", id="timeline").find_all("tr")
                if "data-kind" in row.attrs]
    assert timeline == [
        ("2026-12-03 09:00 UTC", "alert", "alert otif_below_7d firing (critical)"),
        ("2026-12-03 08:00 UTC", "touchpoint", "delivery_completed (e1, wms)"),
        ("2026-12-03 07:00 UTC", "alert", "alert invoice_disputed firing (warning)"),
        ("2026-12-03 06:00 UTC", "touchpoint", "quote_sent (e2, crm)"),
        ("2026-12-01 12:00 UTC", "alert", "alert otif_below_7d firing (warning)"),
        ("2026-11-30 12:00 UTC", "alert", "alert csat_bad resolved (warning)"),
        ("2026-11-29 12:00 UTC", "alert", "alert csat_bad firing (warning)"),
        ("2026-11-29 12:00 UTC", "touchpoint", "csat_submitted (e3, crm)"),
    ]
    assert page.find("p", id="tier-reason").text == "score 80.08 >= strategic threshold 75.00"
    assert page.find("td", id="tier-total").text == "80.08"
    assert page.find("tr", data_criterion="purchase_volume").text == (
        "purchase_volume 50000000.0 92.47 0.15 0.15 13.87"
    )
    assert page.find("p", id="snoozes").text == (
        "snoozes are not shown: no Kafka cluster configured for the board"
    )
    trend = [row.text for row in page.find("table", class_="trend-values").find_all("tr")][1:]
    assert (len(trend), trend[0], trend[19], trend[-1]) == (
        30, "2026-11-04 55.0 - - - -", "2026-11-23 80.0 - - - -",
        "2026-12-03 68.4 90.0 42.5 75.0 65.5",
    )
    assert page.find("img", class_="chart").attrs["src"].startswith("data:image/svg+xml;")


def test_sql_behind_a_number_shows_the_statement_and_its_value(board: BoardFactory) -> None:
    answer = get(board().url + "/sql/kpis?account=acme&contact_point=logistics&window=7d&kpi=otif")
    assert answer.status == 200, answer.body
    page = parse(answer.body)
    sql = page.find("pre", id="sql").text
    assert "FROM `kam`.kpi_snapshots" in sql
    assert "account_id = 'acme'" in sql and "AND kpi = 'otif'" in sql
    rows = [row.text for row in page.find("table", id="result").find_all("tr")]
    assert rows == ["contact_point window kpi value latest_as_of",
                    "logistics 7d otif 0.813 2026-12-03 11:00:00.000"]
    scores = parse(get(board().url + "/sql/scores?account=initech").body)
    assert [row.text for row in scores.find("table", id="result").find_all("tr")][1:] == [
        "initech billing 30d 61 2026-12-03 11:00:00.000",
        "initech overall 30d 61 2026-12-03 11:00:00.000",
    ]


def test_every_input_is_validated(board: BoardFactory) -> None:
    url = board().url
    cases = {
        "/?sort=bogus": (400, "sort: Input should be"),
        "/?tier=standard": (400, "tier: Input should be"),
        "/?owner=a&owner=b": (400, "parameter &#39;owner&#39; is given more than once"),
        "/?sql=SELECT%201": (400, "sql: Extra inputs are not permitted"),
        "/accounts/acme?x=1": (400, "x: Extra inputs are not permitted"),
        "/accounts/nobody": (404, "no account &#39;nobody&#39; in the accounts table"),
        "/accounts/" + quote("a'b OR 1=1", safe=""): (404, "no account"),
        "/accounts/%01": (400, "no control characters"),
        "/accounts/" + "x" * 129: (400, "1 to 128 characters"),
        "/sql/drop": (404, "no query named &#39;drop&#39;"),
        "/sql/kpis": (400, "needs the parameter &#39;account&#39;"),
        "/sql/kpis?account=acme&kpi=1%3B%20DROP": (400, "kpi: not a KPI name"),
        "/sql/kpis?account=acme&window=2d": (400, "window: Input should be"),
        "/nowhere": (404, "Not Found"),
    }
    for path, (status, text) in cases.items():
        answer = get(url + path)
        assert (path, answer.status) == (path, status)
        assert text in answer.body, (path, answer.body)
        assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    refused = get(url + "/", method="POST")
    assert (refused.status, refused.headers["Allow"]) == (405, "GET,HEAD")


def test_security_headers(board: BoardFactory) -> None:
    answer = get(board().url + "/")
    csp = answer.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script" not in csp  # so no script may run
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script" not in answer.body


def test_a_standard_account_and_an_id_with_a_slash(board: BoardFactory) -> None:
    url = board().url
    standard = parse(get(url + "/accounts/umbrella").body)
    assert standard.find("strong", class_="tier").text == "standard"
    assert [row.attrs["data-alert"] for row in standard.find("table", id="open-alerts")
            .find_all("tr") if "data-alert" in row.attrs] == ["umbrella:sales:x"]
    assert standard.find("p", id="tier-reason").text.startswith("score 0.00 < key threshold")
    answer = get(url + "/accounts/" + quote("umbrella/eu 2", safe=""))
    assert answer.status == 200, answer.body
    page = parse(answer.body)
    assert page.find("h1", id="account-name").text == "Umbrella EU (umbrella/eu 2)"
    assert 'href="/sql/account?account=umbrella%2Feu+2"' in answer.body


def test_every_named_statement_runs_for_an_account(board: BoardFactory) -> None:
    url = board().url
    counts = {}
    for name in QUERIES:
        answer = get(f"{url}/sql/{name}?account=acme")
        assert answer.status == 200, (name, answer.body)
        counts[name] = len(parse(answer.body).find("table", id="result").find_all("tr")) - 1
    assert counts == {
        "portfolio": 1, "scores": 5, "open_alerts": 2, "trend": 9, "account": 1, "kpis": 16,
        "open_alert_list": 2, "touchpoints": 3, "alert_states": 5,
    }
