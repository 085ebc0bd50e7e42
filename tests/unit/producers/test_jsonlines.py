"""``kam publish`` logic: line numbers, reasons, counts and exit codes, without a broker."""

from __future__ import annotations

import json
from concurrent.futures import Future
from typing import Any

from producers.exceptions import DeliveryError, FieldIssue
from producers.jsonlines import LineFailure, LineRejection, publish_lines, validate_lines
from producers.publisher import DeliveryResult
from schemas import FailureType, Touchpoint


def ticket_opened(event_id: str, **payload: Any) -> str:
    return json.dumps(
        {
            "event_id": event_id,
            "account_id": "acct-1",
            "occurred_at": "2026-03-02T10:00:00Z",
            "source_system": "helpdesk",
            "event_type": "ticket_opened",
            "payload": {"ticket_id": "T-1", "priority": "high", **payload},
        }
    )


class FakePublisher:
    """Resolves every future at once; event ids in ``refuse`` fail like a broker refusal."""

    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        self.refuse = refuse
        self.published: list[str] = []
        self.flushes = 0

    def publish(self, event: Touchpoint) -> Future[DeliveryResult]:
        future: Future[DeliveryResult] = Future()
        if event.event_id in self.refuse:
            future.set_exception(
                DeliveryError(code="MSG_SIZE_TOO_LARGE", reason="too big", retriable=False,
                              topic="tp", key=event.account_id)
            )
        else:
            self.published.append(event.event_id)
            future.set_result(DeliveryResult("tp", 0, len(self.published) - 1, event.account_id,
                                             event.event_id, None))
        return future

    def flush(self, timeout: float = 30.0) -> list[object]:
        self.flushes += 1
        return []


LINES = [
    ticket_opened("e-1") + "\n",
    "\n",
    "{not json}\n",
    ticket_opened("e-2", priority="whenever") + "\n",
    "   \n",
    ticket_opened("e-3"),
]


def test_validate_lines_numbers_lines_as_in_the_file() -> None:
    outcomes = list(validate_lines(LINES))
    assert [number for number, _ in outcomes] == [1, 3, 4, 6]
    assert outcomes[1][1] == LineRejection(
        3, FailureType.NOT_JSON,
        (FieldIssue("", "Invalid JSON: key must be a string at line 1 column 2"),),
    )
    assert outcomes[2][1] == LineRejection(
        4, FailureType.SCHEMA_VIOLATION,
        (FieldIssue("payload.priority",
                    "Input should be 'low', 'normal', 'high' or 'urgent'"),),
    )
    assert str(outcomes[2][1]) == (
        "line 4: schema_violation: payload.priority: "
        "Input should be 'low', 'normal', 'high' or 'urgent'"
    )


def test_report_counts_rejections_and_exit_code() -> None:
    publisher = FakePublisher()
    report = publish_lines(LINES, publisher)
    assert publisher.published == ["e-1", "e-3"]
    assert publisher.flushes == 1
    assert (report.lines, report.published, report.failed) == (4, 2, ())
    assert [r.line_number for r in report.rejected] == [3, 4]
    assert report.exit_code == 1
    assert report.summary() == "4 lines: 2 published, 2 rejected, 0 failed"


def test_delivery_failures_keep_their_line_and_fail_the_run() -> None:
    report = publish_lines([ticket_opened("e-1"), ticket_opened("e-2")],
                           FakePublisher(refuse=frozenset({"e-2"})))
    assert report.published == 1
    assert report.rejected == ()
    [failure] = report.failed
    assert isinstance(failure, LineFailure)
    assert (failure.line_number, failure.event_id, failure.error.code) == (
        2, "e-2", "MSG_SIZE_TOO_LARGE"
    )
    assert str(failure) == "line 2: delivery failed: MSG_SIZE_TOO_LARGE: too big"
    assert report.exit_code == 1


def test_clean_file_exits_zero_and_bytes_lines_work() -> None:
    report = publish_lines([ticket_opened("e-1").encode(), b"\n"], FakePublisher())
    assert (report.lines, report.published, report.exit_code) == (1, 1, 0)
    empty = publish_lines([], FakePublisher())
    assert (empty.lines, empty.published, empty.exit_code) == (0, 0, 0)
