"""The Python examples of docs/alerting.md run as written."""

from __future__ import annotations

import re
import time
from pathlib import Path

from sinks.notify.signing import sign

DOC = Path(__file__).resolve().parents[3] / "docs" / "alerting.md"


def test_signature_verification_example_runs_and_agrees_with_the_signer() -> None:
    (code,) = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    namespace: dict = {}
    exec(compile(code, str(DOC), "exec"), namespace)
    verify = namespace["verify_kam_signature"]
    body, now = b'{"version":1,"alerts":[]}', int(time.time())
    headers = {"X-KAM-Timestamp": str(now), "X-KAM-Signature": sign(b"k", now, body)}
    assert verify(b"k", headers, body)
    assert not verify(b"other", headers, body)
    old = now - 301
    stale = {"X-KAM-Timestamp": str(old), "X-KAM-Signature": sign(b"k", old, body)}
    assert not verify(b"k", stale, body)
