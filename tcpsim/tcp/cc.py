"""Congestion control behind one small interface (RFC 5681 Reno, RFC 9438 CUBIC).

The connection keeps ``cwnd`` and ``ssthresh`` in bytes and runs loss
recovery itself (NewReno, RFC 6582, or SACK-based, RFC 6675); an algorithm
only decides how the window grows on new ACKs and how far it falls on loss.
"""

from __future__ import annotations

from typing import Protocol


class CCState(Protocol):
    """The parts of a connection an algorithm reads and writes."""

    mss: int
    cwnd: int
    ssthresh: int
    srtt: float | None

    def flight_size(self) -> int: ...


class Reno:
    """RFC 5681: slow start, then one MSS per RTT; halve on loss."""

    name = "reno"
    __slots__ = ()

    def on_ack(self, c: CCState, acked: int, now: float) -> None:
        mss = c.mss
        if c.cwnd < c.ssthresh:
            c.cwnd += min(acked, mss)  # slow start (RFC 5681 eq. 2)
        else:
            c.cwnd += max(mss * mss // max(c.cwnd, 1), 1)  # congestion avoidance (eq. 3)

    def ssthresh_on_loss(self, c: CCState, now: float) -> int:
        return max(c.flight_size() // 2, 2 * c.mss)  # RFC 5681 eq. 4

    def on_rto(self, c: CCState, now: float) -> None:
        return None


class Cubic:
    """RFC 9438 CUBIC, in segments, with the Reno-friendly region and fast convergence."""

    name = "cubic"
    C = 0.4
    BETA = 0.7
    __slots__ = ("w_max", "w_last_max", "k", "epoch", "w_est", "cwnd_at_epoch")

    def __init__(self) -> None:
        self.w_max = 0.0
        self.w_last_max = 0.0
        self.k = 0.0
        self.epoch: float | None = None
        self.w_est = 0.0
        self.cwnd_at_epoch = 0.0

    def on_ack(self, c: CCState, acked: int, now: float) -> None:
        mss = c.mss
        if c.cwnd < c.ssthresh:
            c.cwnd += min(acked, mss)
            return
        cwnd = c.cwnd / mss
        if self.epoch is None:
            self.epoch = now
            self.cwnd_at_epoch = cwnd
            self.w_est = cwnd
            if self.w_max < cwnd:
                # No loss yet at this size: start on the plateau's far side.
                self.k = 0.0
                self.w_max = cwnd
            else:
                self.k = ((self.w_max - cwnd) / self.C) ** (1 / 3)
        rtt = c.srtt or 0.0
        t = now - self.epoch
        target = self.C * (t + rtt - self.k) ** 3 + self.w_max
        # Reno-friendly estimate (RFC 9438 §4.3).
        alpha = 3 * (1 - self.BETA) / (1 + self.BETA)
        self.w_est += alpha * (acked / mss) / cwnd
        if self.w_est > target:
            target = self.w_est
        if target > cwnd:
            inc = (target - cwnd) / cwnd * (acked / mss)
            inc = min(inc, 0.5 * acked / mss)  # never faster than slow start's half
        else:
            inc = 0.01 * (acked / mss) / cwnd
        c.cwnd = max(int((cwnd + inc) * mss), mss)

    def ssthresh_on_loss(self, c: CCState, now: float) -> int:
        cwnd = c.cwnd / c.mss
        # Fast convergence (RFC 9438 §4.7).
        if cwnd < self.w_last_max:
            self.w_last_max = cwnd
            self.w_max = cwnd * (1 + self.BETA) / 2
        else:
            self.w_last_max = cwnd
            self.w_max = cwnd
        self.epoch = None
        return max(int(cwnd * self.BETA * c.mss), 2 * c.mss)

    def on_rto(self, c: CCState, now: float) -> None:
        self.epoch = None


ALGORITHMS: dict[str, type[Reno] | type[Cubic]] = {"reno": Reno, "newreno": Reno, "cubic": Cubic}


def make_cc(name: str) -> Reno | Cubic:
    try:
        return ALGORITHMS[name]()
    except KeyError:
        raise ValueError(f"unknown congestion control {name!r} (expected one of: {', '.join(ALGORITHMS)})") from None
