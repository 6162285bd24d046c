"""The pure TCP core (sans-IO).

Nothing in this package schedules, sleeps, reads a clock or draws from a
global random source: every input is a call with ``now`` passed in, and
every call returns an :class:`~tcpsim.tcp.connection.Output` value. The
SimPy adapters in ``tcpsim.net`` drive it.
"""

from tcpsim.tcp.config import PROFILES, TcpConfig, make_config
from tcpsim.tcp.connection import Connection, Event, Output, TimerKind, rst_for_closed
from tcpsim.tcp.listener import Listener
from tcpsim.tcp.state import TRANSITIONS, State

__all__ = [
    "PROFILES", "TcpConfig", "make_config",
    "Connection", "Event", "Output", "TimerKind", "rst_for_closed",
    "Listener", "State", "TRANSITIONS",
]
