"""Producer side of KAM Pulse: the typed publishing SDK, ``kam publish`` and the simulator."""

from producers.exceptions import (
    DeliveryError,
    FlushTimeoutError,
    InvalidTouchpointError,
    ProducerError,
    PublisherBackpressureError,
    PublisherClosedError,
    SimulationConfigError,
)
from producers.jsonlines import PublishReport, publish_command, publish_lines
from producers.publisher import (
    DeliveryFailure,
    DeliveryResult,
    PublisherOptions,
    TouchpointPublisher,
)
from producers.simulation import SimulationReport, simulate
from producers.simulator import SimulatedMessage, SimulationConfig, simulate_messages
from producers.validation import to_touchpoint
from schemas.validation import FieldIssue

__all__ = [
    "DeliveryError",
    "DeliveryFailure",
    "DeliveryResult",
    "FieldIssue",
    "FlushTimeoutError",
    "InvalidTouchpointError",
    "ProducerError",
    "PublishReport",
    "PublisherBackpressureError",
    "PublisherClosedError",
    "PublisherOptions",
    "SimulatedMessage",
    "SimulationConfig",
    "SimulationConfigError",
    "SimulationReport",
    "TouchpointPublisher",
    "publish_command",
    "publish_lines",
    "simulate",
    "simulate_messages",
    "to_touchpoint",
]
