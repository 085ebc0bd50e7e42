"""The touchpoint event catalogue: one model per event type, a discriminated union over all.

Every event shares the envelope (:class:`TouchpointBase`); ``event_type`` selects the payload
model and fixes the contact point, so an event can never claim the wrong contact point.
Payloads carry the timestamps a KPI needs (``opened_at`` on a resolution, ``promised_at`` on a
delivery), so every KPI can be computed from one event without joining earlier ones.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from schemas.wire import (
    MAX_DAYS_LATE,
    MAX_LIST_ITEMS,
    Currency,
    Id,
    Money,
    Quantity,
    Reference,
    SchemaVersion,
    StrictBool,
    Text,
    WireInt,
    WireTime,
)

SCHEMA_VERSION: Final = 1
SUPPORTED_SCHEMA_VERSIONS = frozenset({1})


class ContactPoint(StrEnum):
    SALES = "sales"
    LOGISTICS = "logistics"
    SUPPORT = "support"
    BILLING = "billing"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Payload(BaseModel):
    """Base of every payload: strict about unknown fields so typos are caught at the edge."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class TouchpointBase(BaseModel):
    """Envelope fields shared by every touchpoint event."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: Id
    account_id: Id
    occurred_at: WireTime
    source_system: Id
    schema_version: SchemaVersion = SCHEMA_VERSION
    trace_id: Id | None = None


# --- sales ---------------------------------------------------------------------------------
class QuoteRequestedPayload(Payload):
    quote_id: Id


class QuoteSentPayload(Payload):
    quote_id: Id
    requested_at: WireTime
    amount: Money | None = None


class OrderPlacedPayload(Payload):
    order_id: Id
    amount: Money
    currency: Currency = "EUR"


class OrderConfirmedPayload(Payload):
    order_id: Id
    placed_at: WireTime


class OrderChangedPayload(Payload):
    order_id: Id
    change: Literal["changed", "cancelled"]
    initiated_by: Literal["customer", "supplier"]
    reason: Text = ""


class ExecutiveMeetingPayload(Payload):
    meeting_id: Id
    attendees: list[Id] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)


class QuoteRequested(TouchpointBase):
    event_type: Literal["quote_requested"]
    contact_point: Literal[ContactPoint.SALES] = ContactPoint.SALES
    payload: QuoteRequestedPayload


class QuoteSent(TouchpointBase):
    event_type: Literal["quote_sent"]
    contact_point: Literal[ContactPoint.SALES] = ContactPoint.SALES
    payload: QuoteSentPayload


class OrderPlaced(TouchpointBase):
    event_type: Literal["order_placed"]
    contact_point: Literal[ContactPoint.SALES] = ContactPoint.SALES
    payload: OrderPlacedPayload


class OrderConfirmed(TouchpointBase):
    event_type: Literal["order_confirmed"]
    contact_point: Literal[ContactPoint.SALES] = ContactPoint.SALES
    payload: OrderConfirmedPayload


class OrderChanged(TouchpointBase):
    event_type: Literal["order_changed"]
    contact_point: Literal[ContactPoint.SALES] = ContactPoint.SALES
    payload: OrderChangedPayload


class ExecutiveMeetingHeld(TouchpointBase):
    event_type: Literal["executive_meeting_held"]
    contact_point: Literal[ContactPoint.SALES] = ContactPoint.SALES
    payload: ExecutiveMeetingPayload


# --- logistics -----------------------------------------------------------------------------
class ShipmentDispatchedPayload(Payload):
    shipment_id: Id
    order_id: Reference = None
    promised_at: WireTime


class DeliveryCompletedPayload(Payload):
    shipment_id: Id
    promised_at: WireTime
    delivered_at: WireTime
    ordered_qty: Quantity
    delivered_qty: Quantity
    damaged_qty: Quantity = 0
    order_id: Reference = None
    """The order this event belongs to (optional): links it into an incident chain."""


class DeliveryFailedPayload(Payload):
    shipment_id: Id
    reason: Text = ""
    order_id: Reference = None
    """The order this event belongs to (optional): links it into an incident chain."""


class ReturnReceivedPayload(Payload):
    shipment_id: Id
    quantity: Quantity
    reason: Text = ""
    order_id: Reference = None
    """The order this event belongs to (optional): links it into an incident chain."""


class ShipmentDispatched(TouchpointBase):
    event_type: Literal["shipment_dispatched"]
    contact_point: Literal[ContactPoint.LOGISTICS] = ContactPoint.LOGISTICS
    payload: ShipmentDispatchedPayload


class DeliveryCompleted(TouchpointBase):
    event_type: Literal["delivery_completed"]
    contact_point: Literal[ContactPoint.LOGISTICS] = ContactPoint.LOGISTICS
    payload: DeliveryCompletedPayload


class DeliveryFailed(TouchpointBase):
    event_type: Literal["delivery_failed"]
    contact_point: Literal[ContactPoint.LOGISTICS] = ContactPoint.LOGISTICS
    payload: DeliveryFailedPayload


class ReturnReceived(TouchpointBase):
    event_type: Literal["return_received"]
    contact_point: Literal[ContactPoint.LOGISTICS] = ContactPoint.LOGISTICS
    payload: ReturnReceivedPayload


# --- support -------------------------------------------------------------------------------
class TicketOpenedPayload(Payload):
    ticket_id: Id
    priority: Priority
    channel: Text = "email"
    order_id: Reference = None
    """The order this event belongs to (optional): links it into an incident chain."""


class TicketRespondedPayload(Payload):
    ticket_id: Id
    priority: Priority
    opened_at: WireTime
    order_id: Reference = None
    """The order this event belongs to (optional): links it into an incident chain."""


class TicketReopenedPayload(Payload):
    ticket_id: Id
    order_id: Reference = None
    """The order this event belongs to (optional): links it into an incident chain."""


class TicketEscalatedPayload(Payload):
    ticket_id: Id
    level: WireInt = Field(default=1, ge=1, le=100)
    reason: Text = ""
    order_id: Reference = None
    """The order this event belongs to (optional): links it into an incident chain."""


class CsatPayload(Payload):
    score: WireInt = Field(ge=1, le=5)
    ticket_id: Id | None = None
    order_id: Reference = None
    """The order this event belongs to (optional): links it into an incident chain."""


class NpsPayload(Payload):
    score: WireInt = Field(ge=0, le=10)


class TicketOpened(TouchpointBase):
    event_type: Literal["ticket_opened"]
    contact_point: Literal[ContactPoint.SUPPORT] = ContactPoint.SUPPORT
    payload: TicketOpenedPayload


class TicketFirstResponse(TouchpointBase):
    event_type: Literal["ticket_first_response"]
    contact_point: Literal[ContactPoint.SUPPORT] = ContactPoint.SUPPORT
    payload: TicketRespondedPayload


class TicketResolved(TouchpointBase):
    event_type: Literal["ticket_resolved"]
    contact_point: Literal[ContactPoint.SUPPORT] = ContactPoint.SUPPORT
    payload: TicketRespondedPayload


class TicketReopened(TouchpointBase):
    event_type: Literal["ticket_reopened"]
    contact_point: Literal[ContactPoint.SUPPORT] = ContactPoint.SUPPORT
    payload: TicketReopenedPayload


class TicketEscalated(TouchpointBase):
    event_type: Literal["ticket_escalated"]
    contact_point: Literal[ContactPoint.SUPPORT] = ContactPoint.SUPPORT
    payload: TicketEscalatedPayload


class CsatSubmitted(TouchpointBase):
    event_type: Literal["csat_submitted"]
    contact_point: Literal[ContactPoint.SUPPORT] = ContactPoint.SUPPORT
    payload: CsatPayload


class NpsSubmitted(TouchpointBase):
    event_type: Literal["nps_submitted"]
    contact_point: Literal[ContactPoint.SUPPORT] = ContactPoint.SUPPORT
    payload: NpsPayload


# --- billing -------------------------------------------------------------------------------
class InvoiceIssuedPayload(Payload):
    invoice_id: Id
    amount: Money
    currency: Currency = "EUR"
    due_at: WireTime
    order_id: Reference = None
    """The order this event belongs to (optional): links it into an incident chain."""


class InvoiceDisputedPayload(Payload):
    invoice_id: Id
    reason: Text = Field(min_length=1)
    amount_disputed: Money | None = None
    order_id: Reference = None
    """The order this event belongs to (optional): links it into an incident chain."""


class DisputeResolvedPayload(Payload):
    invoice_id: Id
    disputed_at: WireTime
    outcome: Literal["credited", "upheld", "withdrawn"]
    order_id: Reference = None
    """The order this event belongs to (optional): links it into an incident chain."""


class PaymentReceivedPayload(Payload):
    invoice_id: Id
    amount: Money
    days_late: WireInt = Field(ge=0, le=MAX_DAYS_LATE)
    order_id: Reference = None
    """The order this event belongs to (optional): links it into an incident chain."""


class CreditNotePayload(Payload):
    invoice_id: Id
    amount: Money
    caused_by_error: StrictBool
    reason: Text = ""
    order_id: Reference = None
    """The order this event belongs to (optional): links it into an incident chain."""


class PaymentFailedPayload(Payload):
    invoice_id: Id
    reason: Text = ""
    order_id: Reference = None
    """The order this event belongs to (optional): links it into an incident chain."""


class InvoiceIssued(TouchpointBase):
    event_type: Literal["invoice_issued"]
    contact_point: Literal[ContactPoint.BILLING] = ContactPoint.BILLING
    payload: InvoiceIssuedPayload


class InvoiceDisputed(TouchpointBase):
    event_type: Literal["invoice_disputed"]
    contact_point: Literal[ContactPoint.BILLING] = ContactPoint.BILLING
    payload: InvoiceDisputedPayload


class DisputeResolved(TouchpointBase):
    event_type: Literal["dispute_resolved"]
    contact_point: Literal[ContactPoint.BILLING] = ContactPoint.BILLING
    payload: DisputeResolvedPayload


class PaymentReceived(TouchpointBase):
    event_type: Literal["payment_received"]
    contact_point: Literal[ContactPoint.BILLING] = ContactPoint.BILLING
    payload: PaymentReceivedPayload


class CreditNoteIssued(TouchpointBase):
    event_type: Literal["credit_note_issued"]
    contact_point: Literal[ContactPoint.BILLING] = ContactPoint.BILLING
    payload: CreditNotePayload


class PaymentFailed(TouchpointBase):
    event_type: Literal["payment_failed"]
    contact_point: Literal[ContactPoint.BILLING] = ContactPoint.BILLING
    payload: PaymentFailedPayload


Touchpoint = Annotated[
    QuoteRequested
    | QuoteSent
    | OrderPlaced
    | OrderConfirmed
    | OrderChanged
    | ExecutiveMeetingHeld
    | ShipmentDispatched
    | DeliveryCompleted
    | DeliveryFailed
    | ReturnReceived
    | TicketOpened
    | TicketFirstResponse
    | TicketResolved
    | TicketReopened
    | TicketEscalated
    | CsatSubmitted
    | NpsSubmitted
    | InvoiceIssued
    | InvoiceDisputed
    | DisputeResolved
    | PaymentReceived
    | CreditNoteIssued
    | PaymentFailed,
    Field(discriminator="event_type"),
]
"""Any touchpoint event; validate with :data:`TOUCHPOINT_ADAPTER`."""

TOUCHPOINT_ADAPTER: TypeAdapter[Touchpoint] = TypeAdapter(Touchpoint)

EVENT_TYPES: dict[str, type[TouchpointBase]] = {
    get_args(model.model_fields["event_type"].annotation)[0]: model
    for model in get_args(get_args(Touchpoint)[0])
}
"""Every catalogued event type name -> its model."""


def contact_point_of(event_type: str) -> ContactPoint:
    """The contact point an event type belongs to."""
    return ContactPoint(EVENT_TYPES[event_type].model_fields["contact_point"].default)


def parse_touchpoint(raw: bytes | str) -> Touchpoint:
    """Validate one JSON document as a touchpoint (raises ``pydantic.ValidationError``)."""
    return TOUCHPOINT_ADAPTER.validate_json(raw)
