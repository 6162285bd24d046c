"""What a link does to packets, per direction: the keys shared by ``links:`` and link events.

Separate from ``model.py`` so that ``events.py`` (a link's values changed at
run time use the same keys) can import it without a circular import.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import Field

from tcpsim.scenario.base import Spec as _Spec
from tcpsim.scenario.units import MAX_QUEUE, Bandwidth, Duration, Mtu, Probability, Size

__all__ = ["DirectionSpec", "GilbertSpec"]


class GilbertSpec(_Spec):
    """Gilbert-Elliott two-state loss: bursts instead of independent drops."""

    p: Probability = Field(description="Per packet, probability of going from the good to the bad state.")
    r: Probability = Field(description="Per packet, probability of going from the bad back to the good state.")
    loss_good: Probability = Field(0.0, description="Loss probability in the good state.")
    loss_bad: Probability = Field(1.0, description="Loss probability in the bad state.")


class DirectionSpec(_Spec):
    """What one direction of a link does to packets (netem-like impairments).

    Used twice: on the link itself (both directions) and in ``a_to_b`` /
    ``b_to_a``, where only the keys actually written override the link's.
    """

    bandwidth: Bandwidth | None = Field(None, description="Serialization rate; null means unlimited.")
    delay: Duration = Field(0.0, description="One-way propagation delay.")
    jitter: Duration = Field(0.0, description="Random extra delay, uniform in [0, jitter]; never reorders.")
    loss: Probability = Field(0.0, description="Independent loss probability per packet.")
    gilbert: GilbertSpec | None = Field(None, description="Bursty loss model; used instead of loss when given.")
    duplicate: Probability = Field(0.0, description="Probability that a packet is delivered twice.")
    reorder: Probability = Field(0.0, description="Probability that a packet is held back by reorder_delay.")
    reorder_delay: Duration = Field(0.0, description="Extra delay of a reordered packet; 0 means 2 x delay + 1ms.")
    corrupt: Probability = Field(0.0, description="Probability that a packet is damaged (the receiver drops it).")
    queue: Annotated[int, Field(ge=0, le=MAX_QUEUE)] | None = Field(
        1000, description="Drop-tail queue limit in packets waiting; null means unlimited (needs a bandwidth)."
    )
    queue_bytes: Size | None = Field(None, description="Drop-tail queue limit in bytes; null means none.")
    mtu: Mtu = Field(1500, description="Largest IP packet the link carries, in bytes.")

    PARAM_KEYS: ClassVar[tuple[str, ...]] = (
        "bandwidth", "delay", "jitter", "loss", "gilbert", "duplicate", "reorder",
        "reorder_delay", "corrupt", "queue", "queue_bytes", "mtu",
    )

    def params(self, override: DirectionSpec | None = None) -> dict[str, Any]:
        """The direction's values, with the keys written in ``override`` replacing them."""
        values = {k: getattr(self, k) for k in self.PARAM_KEYS}
        if override is not None:
            for key in override.model_fields_set & set(self.PARAM_KEYS):
                values[key] = getattr(override, key)
        return values
