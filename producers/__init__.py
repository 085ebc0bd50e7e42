"""Producer side of KAM Pulse: the typed publishing SDK, ``kam publish`` and the simulator."""

from producers.exceptions import (
    DeliveryError,
    FieldIssue,
    FlushTimeoutError,
    InvalidTouchpointError,
    ProducerError,
    PublisherBackpressureError,
    PublisherClosedError,
)
from producers.publisher import (
    DeliveryFailure,
    DeliveryResult,
    PublisherOptions,
    TouchpointPublisher,
)
from producers.validation import to_touchpoint

__all__ = [
    "DeliveryError",
    "DeliveryFailure",
    "DeliveryResult",
    "FieldIssue",
    "FlushTimeoutError",
    "InvalidTouchpointError",
    "ProducerError",
    "PublisherBackpressureError",
    "PublisherClosedError",
    "PublisherOptions",
    "TouchpointPublisher",
    "to_touchpoint",
]
