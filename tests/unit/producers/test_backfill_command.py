"""``kam backfill`` logic without a broker: chunks, progress, checkpoints, resume, run twice."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from kam.settings import KafkaSettings, TopicSettings
from producers.backfill import BackfillError, BackfillOptions, backfill_command, fingerprint
from tests.unit.producers.test_jsonlines import FakePublisher, ticket_opened

KAFKA = KafkaSettings(bootstrap_servers="broker:9092")
TOPICS = TopicSettings()


def history(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "history.jsonl"
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def run(
    path: Path, publisher: FakePublisher, tmp_path: Path, **options: object
) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = backfill_command(
        str(path), kafka=KAFKA, topics=TOPICS, out=out, publisher=publisher,  # type: ignore[arg-type]
        options=BackfillOptions(checkpoints=tmp_path / "points", **options),  # type: ignore[arg-type]
    )  # fmt: skip
    return code, out.getvalue().splitlines()


def lines_with_progress(text: list[str]) -> list[str]:
    """The output with the (timing-dependent) rates blanked."""
    return [line.rsplit(", ", 1)[0] if line.endswith(" lines/s") else line for line in text]


def test_chunks_are_acknowledged_then_checkpointed_and_a_second_run_publishes_nothing(
    tmp_path: Path,
) -> None:
    path = history(tmp_path, [ticket_opened(f"e-{i}") for i in range(5)] + ["{not json}"])
    publisher = FakePublisher()

    code, out = run(path, publisher, tmp_path, chunk_lines=2)

    [checkpoint] = (tmp_path / "points").glob("*.json")
    assert code == 1  # a line was rejected
    assert publisher.published == [f"e-{i}" for i in range(5)]
    assert publisher.flushes == 3
    assert lines_with_progress(out) == [
        f"backfill: {path}, 6 lines (checkpoint {checkpoint})",
        "backfill: line 2 of 6 (33%): 2 published, 0 rejected",
        "backfill: line 4 of 6 (67%): 4 published, 0 rejected",
        "line 6: not_json: Invalid JSON: key must be a string at line 1 column 2",
        "backfill: line 6 of 6 (100%): 5 published, 1 rejected",
        f"6 lines: 5 published, 1 rejected, 0 failed (topic {TOPICS.touchpoints})",
        "event times 2026-03-02T10:00:00+00:00 to 2026-03-02T10:00:00+00:00; 5 older than the"
        " longest KPI window (30d) before now: stored, outside the KPIs of workers that follow"
        " the clock (see docs/operations.md)",
    ]
    stored = json.loads(checkpoint.read_text())
    assert (stored["lines_done"], stored["published"], stored["complete"]) == (6, 5, True)
    assert stored["sha256"] == fingerprint(path)[0]

    again = FakePublisher()
    code, out = run(path, again, tmp_path)
    assert (code, again.published) == (0, [])
    assert out[0].startswith(f"backfill: {path} (sha256 {stored['sha256'][:12]}) was backfilled")
    assert out[0].endswith("--again publishes it once more (every event then stored twice)")

    code, _ = run(path, again, tmp_path, again=True)
    assert again.published == [f"e-{i}" for i in range(5)]


def test_an_undelivered_chunk_stops_the_run_and_the_next_run_resumes_at_it(
    tmp_path: Path,
) -> None:
    path = history(tmp_path, [ticket_opened(f"e-{i}") for i in range(6)])
    failing = FakePublisher(refuse=frozenset({"e-3"}))

    with pytest.raises(BackfillError) as stopped:
        run(path, failing, tmp_path, chunk_lines=2)

    assert str(stopped.value) == (
        "1 records of lines 3-4 not delivered (line 4: MSG_SIZE_TOO_LARGE: too big); the "
        "checkpoint stays after line 2: fix the cause and run the same command again to "
        "resume there"
    )
    assert failing.published == ["e-0", "e-1", "e-2"]
    working = FakePublisher()
    code, out = run(path, working, tmp_path, chunk_lines=2)
    assert code == 0
    assert working.published == ["e-2", "e-3", "e-4", "e-5"]  # e-2 is published twice
    assert out[0].startswith(f"backfill: resuming {path} after line 2 (checkpoint ")
    assert out[-2] == f"6 lines: 6 published, 0 rejected, 0 failed (topic {TOPICS.touchpoints})"


def test_another_topic_or_cluster_has_its_own_checkpoint(tmp_path: Path) -> None:
    path = history(tmp_path, [ticket_opened("e-1")])
    run(path, FakePublisher(), tmp_path)
    elsewhere = FakePublisher()
    out = io.StringIO()
    backfill_command(
        str(path), kafka=KafkaSettings(bootstrap_servers="other:9092"), topics=TOPICS, out=out,
        publisher=elsewhere, options=BackfillOptions(checkpoints=tmp_path / "points"),  # type: ignore[arg-type]
    )  # fmt: skip
    assert elsewhere.published == ["e-1"]
    assert len(list((tmp_path / "points").glob("*.json"))) == 2


def test_an_unwritable_checkpoint_fails_before_publishing(tmp_path: Path) -> None:
    path = history(tmp_path, [ticket_opened("e-1")])
    (tmp_path / "points").write_text("a file, not a directory")
    publisher = FakePublisher()
    with pytest.raises(BackfillError, match=r"cannot write the checkpoint .*: choose another"):
        run(path, publisher, tmp_path)
    assert publisher.published == []
