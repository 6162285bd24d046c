"""Run a parsed script against one simulated host and report the first mismatch.

The set-up is the one packetdrill uses, with the kernel replaced by tcpsim: a
host under test (``198.51.100.1``, the local side) and a remote node
(``192.0.2.1``) that the script plays, joined by a zero-delay link. The
remote node's TCP input is replaced by a capture that records every segment
the host sends, with its exact simulated time; inbound lines are sent from
the remote node through the link, so they reach the host's demultiplexer as
real packets would. The script itself is one SimPy process: it sleeps until
each event's time, lets everything scheduled for that instant happen (so a
system call sees the effect of a packet injected at the same time), and then
injects, calls or checks. Blocking calls return SimPy events; they run
concurrently with the rest of the script and are checked when they return,
or when their deadline passes with the call still blocked.

Mismatches are raised as :class:`Mismatch` wherever they are detected (in
the script process or in a callback), so the first one in simulated time
stops the run.

Beyond packetdrill, one more check keeps scripts honest: a segment the host
sent that no ``>`` line consumed is reported as unexpected as soon as the
script reaches a later event (or its end), so a script also states what must
*not* be sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import simpy

from tcpsim.conform.script import (
    Call,
    Command,
    Ellipsis_,
    Event,
    Expr,
    IcmpPacket,
    ListExpr,
    Num,
    Or,
    Script,
    ScriptError,
    Str,
    Struct,
    Syscall,
    TcpOption,
    TcpPacket,
    TimeKind,
    Word,
)
from tcpsim.net.link import LinkParams
from tcpsim.net.sim import Simulation
from tcpsim.net.socket import ERRNO_TEXT, SOCKET_OPTIONS, Socket, SocketError
from tcpsim.net.tcp_layer import TcpStack, stack_of
from tcpsim.tcp.config import KnobError, knob_names, make_config
from tcpsim.trace.records import STATE, Level
from tcpsim.wire.ip import IP_HEADER_LEN, IPPROTO_ICMP, IPPROTO_TCP, ICMPMessage, IPPacket
from tcpsim.wire.segment import ACK, SYN, Segment, flags_text

__all__ = [
    "LOCAL_ADDR", "REMOTE_ADDR", "LOCAL_PORT", "REMOTE_PORT", "REMOTE_ISN", "SUPPORTED_SYSCALLS",
    "Mismatch", "Outcome", "check_script", "run_script",
]

LOCAL_ADDR = "198.51.100.1"    # the host under test (RFC 5737 TEST-NET-2)
REMOTE_ADDR = "192.0.2.1"      # the peer the script plays (RFC 5737 TEST-NET-1)
LOCAL_PORT = 8080              # bind(fd, ..., ...) binds here; connect(fd, ..., ...) targets it on the peer
REMOTE_PORT = 40000            # the peer's port for inbound packets written without ports
REMOTE_ISN = 1_000_000         # the peer's ISN: inbound sequence numbers are relative to it

DEFAULT_TOLERANCE = 0.004      # seconds (packetdrill --tolerance_usecs=4000)
DEFAULT_TOLERANCE_PERCENT = 12.5
PACKET_GIVE_UP = 2.0           # wait this long past an outbound packet's expected time
ANY_TIME_LIMIT = 600.0         # a '*' packet must come within this of the previous event
_EPS = 1e-9
_MOD = 1 << 32

SUPPORTED_SYSCALLS = frozenset({
    "socket", "bind", "listen", "accept", "connect", "read", "write", "send", "recv", "close",
    "shutdown", "setsockopt", "getsockopt", "fcntl",
})

# Symbolic constants a script may use in arguments and results (Linux values).
SYMBOLS: dict[str, int] = {
    "AF_INET": 2, "PF_INET": 2, "SOCK_STREAM": 1, "IPPROTO_TCP": 6, "IPPROTO_IP": 0, "SOL_SOCKET": 1,
    "SOL_TCP": 6, "SHUT_RD": 0, "SHUT_WR": 1, "SHUT_RDWR": 2, "F_GETFL": 3, "F_SETFL": 4,
    "O_RDONLY": 0, "O_WRONLY": 1, "O_RDWR": 2, "O_NONBLOCK": 0x800, "MSG_DONTWAIT": 0x40,
}
O_RDWR = SYMBOLS["O_RDWR"]
O_NONBLOCK = SYMBOLS["O_NONBLOCK"]

# sysctls tcpsim has no knob for, with the values that describe what the core
# always does: a script that sets them to these values is run without a warning.
FIXED_BEHAVIOUR: dict[str, frozenset[str]] = {
    "net.ipv4.tcp_early_retrans": frozenset({"0"}),    # no tail loss probe (TLP)
    "net.ipv4.tcp_no_metrics_save": frozenset({"1"}),  # no per-destination metrics cache
    "net.ipv4.tcp_ecn": frozenset({"0"}),              # no ECN
    "net.ipv4.tcp_fastopen": frozenset({"0"}),         # no TCP Fast Open
    "net.ipv4.tcp_rfc1337": frozenset({"0"}),          # a RST kills TIME_WAIT (RFC 1337 not applied)
    "net.ipv4.tcp_frto": frozenset({"0"}),             # no F-RTO
    "net.ipv4.tcp_recovery": frozenset({"0"}),         # no RACK
    "net.ipv4.tcp_tso_win_divisor": frozenset({"0", "3"}),
}

KNOWN_OPTIONS = frozenset({"tolerance_usecs", "tolerance_percent", "mss", "ip_version"})


class Mismatch(Exception):
    """The first place where the host did not do what the script says."""

    def __init__(self, line: int, message: str, time: float) -> None:
        super().__init__(message)
        self.line = line
        self.message = message
        self.time = time


@dataclass
class Outcome:
    """The result of one script. ``message`` is ``path:line: ...`` when it failed."""

    path: str
    profile: str
    passed: bool
    message: str = ""
    line: int | None = None
    time: float | None = None
    warnings: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Captured:
    t: float
    seg: Segment


@dataclass(slots=True)
class _Pending:
    """A blocking call in progress."""

    event: Event
    call: Syscall
    start: float
    end: float
    done: bool = False


def _typed(value: str) -> object:
    """A sysctl value as make_config wants it: an int, a float, else the text."""
    v = value.strip().strip('"').strip("'")
    if re.fullmatch(r"-?\d+", v):
        return int(v)
    try:
        return float(v)
    except ValueError:
        return v


def check_script(script: Script, profile: str = "linux") -> list[str]:
    """Reject what the runner does not support (ScriptError); return warnings for
    what it ignores. Called before running, so an unsupported script exits 2."""
    warnings: list[str] = []
    path = script.path
    known = set(knob_names())
    for name, value in script.options.items():
        line = script.option_lines.get(name, 1)
        if name in ("tolerance_usecs", "tolerance_percent", "mss"):
            try:
                v = float(value)
                if v < 0:
                    raise ValueError
            except ValueError:
                raise ScriptError(path, line, f"expected a number >= 0 for --{name}, got '{value}'") from None
            if name == "mss" and not 88 <= v <= 65495:
                raise ScriptError(path, line, f"expected --mss between 88 and 65495, got '{value}'")
        elif name == "ip_version":
            if value != "ipv4":
                raise ScriptError(path, line, f"expected --ip_version=ipv4 (tcpsim is IPv4 only), got '{value}'")
        else:
            warnings.append(f"{path}:{line}: warning: option --{name} ignored (supported: "
                            f"--{', --'.join(sorted(KNOWN_OPTIONS))}; addresses are fixed: local {LOCAL_ADDR}, "
                            f"remote {REMOTE_ADDR})")
    commands = [(line, c) for line, c in script.init] + [
        (e.line, e.action) for e in script.events if isinstance(e.action, Command)]
    for line, cmd in commands:
        assert isinstance(cmd, Command)
        for part in cmd.ignored:
            warnings.append(f"{path}:{line}: warning: command `{part}` ignored (only sysctl settings are understood)")
        for name, value in cmd.sysctls:
            if name in known:
                try:
                    make_config(profile, {name: _typed(value)})
                except KnobError as exc:
                    raise ScriptError(path, line, f"expected a valid value for sysctl {name}: {exc}") from None
            elif name != "net.ipv4.ip_default_ttl" and value not in FIXED_BEHAVIOUR.get(name, ()):
                warnings.append(f"{path}:{line}: warning: sysctl {name}={value} ignored (tcpsim has no such knob)")
    for e in script.events:
        a = e.action
        if isinstance(a, Syscall) and a.name not in SUPPORTED_SYSCALLS:
            raise ScriptError(path, e.line, f"expected a supported system call ({', '.join(sorted(SUPPORTED_SYSCALLS))}), "
                                            f"got '{a.name}'")
        if isinstance(a, Syscall) and a.name in ("setsockopt", "getsockopt"):
            if len(a.args) < 3 or not isinstance(a.args[2], Word):
                raise ScriptError(path, e.line, f"expected {a.name}(fd, LEVEL, OPTION, value, len)")
            opt = a.args[2].name
            if opt not in SOCKET_OPTIONS:
                warnings.append(f"{path}:{e.line}: warning: socket option {opt} is not modelled "
                                f"({a.name} gives -1 ENOPROTOOPT)" if a.name == "setsockopt" else
                                f"{path}:{e.line}: warning: socket option {opt} is not modelled (reads 0)")
    return warnings


class _Runner:
    def __init__(self, script: Script, profile: str, verbose: bool) -> None:
        self.script = script
        self.path = script.path
        self.profile = profile
        self.verbose = verbose
        opts = script.options
        self.tolerance = float(opts.get("tolerance_usecs", DEFAULT_TOLERANCE * 1e6)) / 1e6
        self.percent = float(opts.get("tolerance_percent", DEFAULT_TOLERANCE_PERCENT))
        sysctls: dict[str, object] = {}
        known = set(knob_names())
        for _, cmd in script.init:
            for name, value in cmd.sysctls:
                if name in known or name == "net.ipv4.ip_default_ttl":
                    sysctls[name] = _typed(value)
        if "mss" in opts:
            sysctls["mss"] = int(float(opts["mss"]))
        self.sim = Simulation(seed=1, trace_level=Level.STATES if verbose else Level.COUNTERS)
        self.env = self.sim.env
        self.host = self.sim.add_host("local", LOCAL_ADDR, sysctls=sysctls, profile=profile)
        self.remote = self.sim.add_host("remote", REMOTE_ADDR)
        self.sim.add_link("local", "remote", LinkParams(delay=0.0, queue_packets=None, mtu=1 << 20))
        self.sim.compute_routes()
        self.stack: TcpStack = stack_of(self.host)
        self.remote.handlers[IPPROTO_TCP] = self._capture
        self.known_knobs = known

        self.fds: dict[int, Socket] = {}
        self.cur_local = LOCAL_PORT
        self.cur_remote = REMOTE_PORT
        self.local_isn: dict[tuple[int, int], int] = {}   # (local port, remote port) -> ISN
        self.last_sent: dict[tuple[int, int], Segment] = {}
        self.queue: list[_Captured] = []
        self.arrival: simpy.Event | None = None
        self.pending: _Pending | None = None
        self.pending_done: simpy.Event | None = None
        self.last_time = 0.0
        self.base = 0.0
        self.log: list[tuple[float, str]] = []
        self.traced = 0
        self.watched = self._watched_ports()

    # ---------------------------------------------------------------- set-up

    def _watched_ports(self) -> set[int]:
        """Remote ports whose outbound packets the script checks; the rest are ignored."""
        ports: set[int] = set()
        implicit = False
        for e in self.script.events:
            a = e.action
            if isinstance(a, TcpPacket):
                if a.ports is None:
                    implicit = True
                else:
                    ports.add(a.ports[0] if a.inbound else a.ports[1])
            elif isinstance(a, IcmpPacket):
                implicit = True
            elif isinstance(a, Syscall) and a.name == "connect":
                ports.add(self._sockaddr(a.args[1] if len(a.args) > 1 else Ellipsis_(), LOCAL_PORT)[1])
        if implicit:
            ports.add(REMOTE_PORT)
        return ports

    def note(self, text: str, t: float | None = None) -> None:
        if self.verbose:
            self.drain_trace()
            self.log.append((self.env.now if t is None else t, text))

    def drain_trace(self) -> None:
        """Move the host's state changes recorded so far into the verbose log, in order."""
        records = self.sim.trace.records
        for r in records[self.traced:]:
            if r[1] == STATE and r[2] == "local":
                self.log.append((r[0], f"  {r[3]}: {r[4]} -> {r[5]} ({r[6]})"))
        self.traced = len(records)

    # ---------------------------------------------------------------- capture

    def _capture(self, pkt: IPPacket) -> None:
        seg = pkt.payload
        if not isinstance(seg, Segment):
            return
        flow = (seg.sport, seg.dport)
        if seg.flags & SYN:
            # Outbound sequence numbers are relative to the ISN of the host's SYN or SYN-ACK.
            self.local_isn[flow] = seg.seq
        self.last_sent[flow] = seg
        if seg.dport not in self.watched:
            self.note(f"(ignored, port {seg.dport} not in the script) {self.render(seg, True)}")
            return
        self.note(f"host sent {self.render(seg)}")
        self.queue.append(_Captured(self.env.now, seg))
        if self.arrival is not None and not self.arrival.triggered:
            self.arrival.succeed()

    # ---------------------------------------------------------------- rendering

    def render(self, seg: Segment, ports: bool = False) -> str:
        """An outbound segment in script notation, numbers relative to the ISNs."""
        isn = self.local_isn.get((seg.sport, seg.dport), 0)
        seq = (seg.seq - isn) % _MOD
        n = len(seg.payload)
        fl = flags_text(seg.flags)
        fl = "-" if fl == "none" else fl
        text = ">" + (f" {seg.sport}>{seg.dport}" if ports else "") + f" {fl} {seq}:{(seq + n) % _MOD}({n})"
        if seg.flags & ACK:
            text += f" ack {(seg.ack - REMOTE_ISN) % _MOD}"
        text += f" win {seg.window}"
        opts = self._options_text(seg)
        if opts:
            text += f" <{opts}>"
        return text

    def _options_text(self, seg: Segment) -> str:
        parts: list[str] = []
        if seg.mss is not None:
            parts.append(f"mss {seg.mss}")
        if seg.sack_ok:
            parts.append("sackOK")
        if seg.ts_val is not None:
            parts.append(f"TS val {seg.ts_val} ecr {seg.ts_ecr or 0}")
        if seg.sack:
            parts.append("sack " + " ".join(f"{(a - REMOTE_ISN) % _MOD}:{(b - REMOTE_ISN) % _MOD}" for a, b in seg.sack))
        if seg.wscale is not None:
            parts.append(f"nop,wscale {seg.wscale}")
        return ",".join(parts)

    # ---------------------------------------------------------------- timing helpers

    def tol(self, expected: float, since: float) -> float:
        return max(self.tolerance, self.percent / 100.0 * max(expected - since, 0.0))

    def expected_time(self, e: Event) -> tuple[float, float]:
        """(start, end) of an event's window in absolute simulated time."""
        w = e.when
        base = self.last_time if w.relative else 0.0
        if w.kind is TimeKind.ANY:
            return self.last_time, self.last_time + ANY_TIME_LIMIT
        start = base + w.start
        end = base + w.end if w.end is not None else start
        return start, end

    def settle(self) -> Generator[simpy.Event, Any, None]:
        """Let everything scheduled for this instant happen first (a packet injected at
        the same time reaches the host before the next call, as in the kernel)."""
        env = self.env
        for _ in range(100_000):
            if env.peek() > env.now:
                return
            yield env.timeout(0)

    # ---------------------------------------------------------------- the script process

    def process(self) -> Generator[simpy.Event, Any, None]:
        env = self.env
        for e in self.script.events:
            a = e.action
            if isinstance(a, TcpPacket) and not a.inbound:
                yield from self.outbound(e, a)
                continue
            start, _ = self.expected_time(e)
            if isinstance(a, Syscall) and self.pending is not None:
                # packetdrill runs one system call at a time: wait for the blocked one.
                while self.pending is not None:
                    self.pending_done = env.event()
                    yield self.pending_done
            if start > env.now:
                yield env.timeout(start - env.now)
            elif env.now - start > self.tol(start, self.last_time) + _EPS:
                raise Mismatch(e.line, f"timing error: expected {self.describe(e)} at {start:.6f} s, but the "
                                       f"previous event only ended at {env.now:.6f} s", env.now)
            yield from self.settle()
            self.check_unexpected(e)
            # A blocking call's end is relative to the same base as its start.
            self.base = self.last_time if e.when.relative else 0.0
            self.last_time = env.now
            if isinstance(a, TcpPacket):
                self.inject(e, a)
            elif isinstance(a, IcmpPacket):
                self.inject_icmp(e, a)
            elif isinstance(a, Command):
                self.command(e, a)
            else:
                self.syscall(e, a)
        # The end: blocked calls must return, and nothing may be left unexplained.
        while self.pending is not None:
            self.pending_done = env.event()
            yield self.pending_done
        yield from self.settle()
        if self.queue:
            last = self.script.events[-1]
            c = self.queue[0]
            raise Mismatch(last.line, f"unexpected outbound packet '{self.render(c.seg)}' at {c.t:.6f} s "
                                      "(the script ended without expecting it)", c.t)

    def describe(self, e: Event) -> str:
        a = e.action
        if isinstance(a, TcpPacket):
            return "inbound packet" if a.inbound else "outbound packet"
        if isinstance(a, IcmpPacket):
            return "inbound ICMP"
        if isinstance(a, Syscall):
            return f"{a.call_text()}"
        return "command"

    def check_unexpected(self, e: Event) -> None:
        now = self.env.now
        for c in self.queue:
            if c.t < now - _EPS:
                raise Mismatch(e.line, f"unexpected outbound packet '{self.render(c.seg)}' at {c.t:.6f} s "
                                       f"(no '>' line expects it before this line's event at {now:.6f} s)", c.t)

    # ---------------------------------------------------------------- packets

    def flow_of(self, a: TcpPacket) -> tuple[int, int]:
        """(local port, remote port) of a packet line."""
        if a.ports is None:
            return self.cur_local, self.cur_remote
        return (a.ports[1], a.ports[0]) if a.inbound else a.ports

    def inject(self, e: Event, a: TcpPacket) -> None:
        lport, rport = self.flow_of(a)
        isn = self.local_isn.get((lport, rport), 0)
        seq = (REMOTE_ISN + a.seq) % _MOD
        ack = (isn + a.ack) % _MOD if a.ack is not None else 0
        seg = Segment(rport, lport, seq, ack, a.flags, a.window or 0, b"\0" * a.length)
        for o in a.options or ():
            if o.kind == "mss":
                seg.mss = o.values[0]
            elif o.kind == "wscale":
                seg.wscale = o.values[0]
            elif o.kind == "sackOK":
                seg.sack_ok = True
            elif o.kind == "TS":
                seg.ts_val, seg.ts_ecr = o.values
            elif o.kind == "sack":
                v = o.values
                seg.sack = tuple(((isn + v[i]) % _MOD, (isn + v[i + 1]) % _MOD) for i in range(0, len(v), 2))
        self.note(f"line {e.line}: {a.text}")
        self.remote.ip_send(LOCAL_ADDR, IPPROTO_TCP, seg)

    def inject_icmp(self, e: Event, a: IcmpPacket) -> None:
        flow = (self.cur_local, self.cur_remote)
        last = self.last_sent.get(flow)
        isn = self.local_isn.get(flow, 0)
        if last is None:
            last = Segment(flow[0], flow[1], isn, 0, 0, 0)
        if a.echoed is not None:
            last = Segment(last.sport, last.dport, (isn + a.echoed[0]) % _MOD, last.ack, last.flags, last.window,
                           b"\0" * a.echoed[1])
        size = IP_HEADER_LEN + last.header_len + len(last.payload)
        quoted = IPPacket(LOCAL_ADDR, REMOTE_ADDR, self.host.ttl, IPPROTO_TCP, last, size)
        self.note(f"line {e.line}: {a.text} (quoting {self.render(last)})")
        self.remote.ip_send(LOCAL_ADDR, IPPROTO_ICMP, ICMPMessage(a.type, a.code, quoted=quoted, sent_at=self.env.now))

    def outbound(self, e: Event, a: TcpPacket) -> Generator[simpy.Event, Any, None]:
        env = self.env
        start, end = self.expected_time(e)
        deadline = end + PACKET_GIVE_UP if e.when.kind is not TimeKind.ANY else end
        expected = a.text.strip()
        while not self.queue:
            if env.now >= deadline - _EPS:
                raise Mismatch(e.line, f"timed out waiting for packet: expected '{expected}' at {start:.6f} s, "
                                       f"nothing sent by {env.now:.6f} s", env.now)
            self.arrival = env.event()
            yield env.any_of([self.arrival, env.timeout(deadline - env.now)])
        c = self.queue.pop(0)
        problem = self.compare(a, c.seg)
        if problem:
            raise Mismatch(e.line, f"{problem} at {c.t:.6f} s (script: '{expected}'; host sent: "
                                   f"'{self.render(c.seg, a.ports is not None)}')", c.t)
        if e.when.kind is not TimeKind.ANY:
            tol = self.tol(start, self.last_time)
            if not (start - tol - _EPS <= c.t <= end + tol + _EPS):
                when = f"at {start:.6f} s" if start == end else f"in {start:.6f}~{end:.6f} s"
                raise Mismatch(e.line, f"timing error: expected outbound packet {when} but it happened at "
                                       f"{c.t:.6f} s (tolerance {tol:.6f} s): '{self.render(c.seg)}'", c.t)
        self.last_time = c.t

    def compare(self, a: TcpPacket, seg: Segment) -> str:
        """The first field where ``seg`` differs from the script's line, or ''."""
        lport, rport = self.flow_of(a)
        if (seg.sport, seg.dport) != (lport, rport):
            which = "" if a.ports is not None else " (the script's current connection)"
            return f"bad outbound ports: expected {lport}>{rport}{which} but got {seg.sport}>{seg.dport}"
        if seg.flags != a.flags:
            got = flags_text(seg.flags)
            return f"bad outbound TCP flags: expected {a.flags_text} but got {'-' if got == 'none' else got}"
        isn = self.local_isn.get((lport, rport), 0)
        seq = (seg.seq - isn) % _MOD
        if seq != a.seq % _MOD:
            return f"bad outbound sequence number: expected {a.seq} but got {seq}"
        if len(seg.payload) != a.length:
            return f"bad outbound payload length: expected {a.length} but got {len(seg.payload)}"
        if a.flags & ACK and a.ack is not None:
            ack = (seg.ack - REMOTE_ISN) % _MOD
            if ack != a.ack % _MOD:
                return f"bad outbound ack number: expected {a.ack} but got {ack}"
        if a.window is not None and seg.window != a.window:
            return f"bad outbound window: expected {a.window} but got {seg.window}"
        if a.options is not None:
            problem = self.compare_options(a.options, seg)
            if problem:
                return problem
        return ""

    def compare_options(self, want: tuple[TcpOption, ...], seg: Segment) -> str:
        """Options compared by meaning: nop and eol are padding, and the TS value is
        the host's clock, so only the echo is checked (packetdrill without a TS tick)."""
        exp: dict[str, tuple[int, ...]] = {}
        for o in want:
            if o.kind not in ("nop", "eol"):
                exp[o.kind] = o.values
        got: dict[str, tuple[int, ...]] = {}
        if seg.mss is not None:
            got["mss"] = (seg.mss,)
        if seg.sack_ok:
            got["sackOK"] = ()
        if seg.ts_val is not None:
            got["TS"] = (seg.ts_val, seg.ts_ecr or 0)
        if seg.wscale is not None:
            got["wscale"] = (seg.wscale,)
        if seg.sack:
            got["sack"] = tuple(v for a, b in seg.sack for v in ((a - REMOTE_ISN) % _MOD, (b - REMOTE_ISN) % _MOD))
        want_text = ",".join(o.text() for o in want) or "none"
        got_text = self._options_text(seg) or "none"
        if set(exp) != set(got):
            return f"bad outbound TCP options: expected <{want_text}> but got <{got_text}>"
        for k, v in exp.items():
            g = got[k]
            if k == "TS":
                if v[1] != g[1]:
                    return f"bad outbound TCP options: expected TS ecr {v[1]} but got TS ecr {g[1]}"
            elif v != g:
                return f"bad outbound TCP options: expected <{want_text}> but got <{got_text}>"
        return ""

    # ---------------------------------------------------------------- commands

    def command(self, e: Event, a: Command) -> None:
        for name, value in a.sysctls:
            if name in self.known_knobs:
                self.stack.set_sysctl(name, _typed(value))
                self.note(f"line {e.line}: sysctl {name}={value}")

    # ---------------------------------------------------------------- system calls

    def _int(self, x: Expr, e: Event, what: str) -> int:
        if isinstance(x, Num):
            return x.value
        if isinstance(x, Word) and x.name in SYMBOLS:
            return SYMBOLS[x.name]
        if isinstance(x, Or):
            v = 0
            for i in x.items:
                v |= self._int(i, e, what)
            return v
        if isinstance(x, ListExpr) and len(x.items) == 1:
            return self._int(x.items[0], e, what)
        raise Mismatch(e.line, f"expected a number for {what}, got '{x.text()}'", self.env.now)

    def _sockaddr(self, x: Expr, default_port: int) -> tuple[str, int]:
        addr, port = REMOTE_ADDR, default_port
        if isinstance(x, Struct):
            p = x.get("sin_port")
            if isinstance(p, Call) and p.args and isinstance(p.args[0], Num):
                port = p.args[0].value
            elif isinstance(p, Num):
                port = p.value
            a = x.get("sin_addr")
            if isinstance(a, Call) and a.args and isinstance(a.args[0], Str):
                addr = a.args[0].value
        return addr, port

    def _sock(self, e: Event, a: Syscall) -> Socket:
        fd = self._int(a.args[0], e, "the file descriptor") if a.args else -1
        sock = self.fds.get(fd)
        if sock is None:
            raise SocketError("EBADF", a.name)
        return sock

    def _new_fd(self, sock: Socket) -> int:
        fd = 3
        while fd in self.fds:
            fd += 1
        self.fds[fd] = sock
        return fd

    def syscall(self, e: Event, a: Syscall) -> None:
        """Start a call; check it now, or when it returns if it blocks."""
        env = self.env
        now = env.now
        result: tuple[int, str | None] | None = None
        pending: tuple[simpy.Event, Callable[[simpy.Event], tuple[int, str | None]]] | None = None
        try:
            out = getattr(self, "_sys_" + a.name)(e, a)
            if isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], simpy.Event):
                pending = out
            else:
                result = out
        except SocketError as exc:
            result = (-1, exc.errno)
        if pending is not None:
            ev, convert = pending
            if ev.triggered and a.end is None:
                ev.defused = True
                result = convert(ev)
            elif a.end is None:
                raise Mismatch(e.line, f"{a.call_text()} blocked at {now:.6f} s; expected it to return "
                                       f"{a.expected_text()} at once (write 'START...END' for a blocking call)", now)
            else:
                end = self.base + a.end
                p = _Pending(e, a, now, end)
                self.pending = p
                self.note(f"line {e.line}: {a.call_text()} blocks")

                def done(ev: simpy.Event, p: _Pending = p, convert: Callable[..., tuple[int, str | None]] = convert) -> None:
                    ev.defused = True
                    self.finish(p, convert(ev))

                ev.callbacks.append(done)
                tol = self.tol(end, now)
                self.sim.call_at(max(end + tol + 2 * _EPS, env.now), self.watchdog, p)
                return
        assert result is not None
        if a.end is not None:
            end = self.base + a.end
            tol = self.tol(end, now)
            if abs(now - end) > tol + _EPS:
                raise Mismatch(e.line, f"timing error: expected {a.call_text()} to return at {end:.6f} s but it "
                                       f"returned at {now:.6f} s (tolerance {tol:.6f} s) = {self.result_text(result)}", now)
        self.check_result(e, a, result, now)

    def watchdog(self, p: _Pending) -> None:
        if not p.done:
            raise Mismatch(p.event.line, f"timing error: expected {p.call.call_text()} to return at {p.end:.6f} s, "
                                         f"still blocked at {self.env.now:.6f} s", self.env.now)

    def finish(self, p: _Pending, result: tuple[int, str | None]) -> None:
        now = self.env.now
        p.done = True
        self.pending = None
        if self.pending_done is not None and not self.pending_done.triggered:
            self.pending_done.succeed()
        tol = self.tol(p.end, p.start)
        if abs(now - p.end) > tol + _EPS:
            raise Mismatch(p.event.line, f"timing error: expected {p.call.call_text()} to return at {p.end:.6f} s but "
                                         f"it returned at {now:.6f} s (tolerance {tol:.6f} s) = {self.result_text(result)}", now)
        self.check_result(p.event, p.call, result, now)

    def result_text(self, result: tuple[int, str | None]) -> str:
        v, err = result
        if err is not None:
            return f"{v} {err} ({ERRNO_TEXT.get(err, err)})"
        return str(v)

    def check_result(self, e: Event, a: Syscall, result: tuple[int, str | None], now: float) -> None:
        v, err = result
        self.note(f"line {e.line}: {a.call_text()} = {self.result_text(result)}", now)
        if isinstance(a.result, Ellipsis_):
            return
        want = self._int(a.result, e, "the expected result")
        if v != want or err != a.errno:
            raise Mismatch(e.line, f"{a.call_text()} returned {self.result_text(result)} at {now:.6f} s; "
                                   f"expected {a.expected_text()}", now)

    # The calls. Each returns (value, errno) or (event, convert) for a call that may block.

    def _sys_socket(self, e: Event, a: Syscall) -> tuple[int, str | None]:
        if len(a.args) > 1 and not isinstance(a.args[1], Ellipsis_) and self._int(a.args[1], e, "the type") != 1:
            return -1, "EPROTONOSUPPORT"
        return self._new_fd(self.stack.socket("script")), None

    def _sys_bind(self, e: Event, a: Syscall) -> tuple[int, str | None]:
        sock = self._sock(e, a)
        _, port = self._sockaddr(a.args[1] if len(a.args) > 1 else Ellipsis_(), LOCAL_PORT)
        sock.bind(port)
        self.cur_local = port
        return 0, None

    def _sys_listen(self, e: Event, a: Syscall) -> tuple[int, str | None]:
        sock = self._sock(e, a)
        backlog = self._int(a.args[1], e, "the backlog") if len(a.args) > 1 else 128
        sock.listen(backlog)
        return 0, None

    def _sys_accept(self, e: Event, a: Syscall) -> tuple[simpy.Event, Callable[[simpy.Event], tuple[int, str | None]]]:
        sock = self._sock(e, a)
        return sock.accept(), self._conv_accept

    def _conv_accept(self, ev: simpy.Event) -> tuple[int, str | None]:
        if not ev.ok:
            return -1, _errno(ev.value)
        sock = ev.value
        assert isinstance(sock, Socket)
        return self._new_fd(sock), None

    def _sys_connect(self, e: Event, a: Syscall) -> tuple[simpy.Event, Callable[[simpy.Event], tuple[int, str | None]]]:
        sock = self._sock(e, a)
        addr, port = self._sockaddr(a.args[1] if len(a.args) > 1 else Ellipsis_(), LOCAL_PORT)
        try:
            ev = sock.connect(addr, port)
        finally:
            if sock.lport is not None:
                self.cur_local, self.cur_remote = sock.lport, port
        return ev, self._conv_none

    def _conv_none(self, ev: simpy.Event) -> tuple[int, str | None]:
        return (0, None) if ev.ok else (-1, _errno(ev.value))

    def _conv_len(self, ev: simpy.Event) -> tuple[int, str | None]:
        if not ev.ok:
            return -1, _errno(ev.value)
        v: Any = ev.value
        return (len(v) if isinstance(v, bytes | bytearray) else int(v)), None

    def _sys_read(self, e: Event, a: Syscall) -> tuple[simpy.Event, Callable[[simpy.Event], tuple[int, str | None]]]:
        sock = self._sock(e, a)
        n = self._int(a.args[2], e, "the length") if len(a.args) > 2 else 65536
        return sock.recv(n), self._conv_len

    _sys_recv = _sys_read

    def _sys_write(self, e: Event, a: Syscall) -> tuple[simpy.Event, Callable[[simpy.Event], tuple[int, str | None]]]:
        sock = self._sock(e, a)
        n = self._int(a.args[2], e, "the length") if len(a.args) > 2 else 0
        return sock.send(bytes(n)), self._conv_len

    _sys_send = _sys_write

    def _sys_close(self, e: Event, a: Syscall) -> tuple[int, str | None]:
        sock = self._sock(e, a)
        fd = self._int(a.args[0], e, "the file descriptor")
        del self.fds[fd]
        sock.close()
        return 0, None

    def _sys_shutdown(self, e: Event, a: Syscall) -> tuple[int, str | None]:
        sock = self._sock(e, a)
        how = self._int(a.args[1], e, "how") if len(a.args) > 1 else 2
        names = {0: "SHUT_RD", 1: "SHUT_WR", 2: "SHUT_RDWR"}
        if how not in names:
            return -1, "EINVAL"
        sock.shutdown(names[how])
        return 0, None

    def _optval(self, x: Expr, e: Event) -> object:
        if isinstance(x, Struct):
            return {k: self._int(v, e, k) for k, v in x.fields}
        return self._int(x, e, "the option value")

    def _sys_setsockopt(self, e: Event, a: Syscall) -> tuple[int, str | None]:
        sock = self._sock(e, a)
        name = a.args[2].text()
        sock.setsockopt(name, self._optval(a.args[3], e) if len(a.args) > 3 else 1)
        return 0, None

    def _sys_getsockopt(self, e: Event, a: Syscall) -> tuple[int, str | None]:
        sock = self._sock(e, a)
        name = a.args[2].text()
        got = sock.getsockopt(name)
        want = a.args[3] if len(a.args) > 3 else Ellipsis_()
        if isinstance(want, ListExpr) and len(want.items) == 1:
            want = want.items[0]
        ok = True
        if isinstance(want, Ellipsis_):
            pass
        elif isinstance(want, Word) and want.name not in SYMBOLS:
            ok = got == want.name       # an errno name (SO_ERROR)
        elif isinstance(want, Struct):
            on, secs = got if isinstance(got, tuple) else (False, 0)
            exp = {k: self._int(v, e, k) for k, v in want.fields}
            ok = (int(bool(on)), int(secs)) == (exp.get("onoff", 0), exp.get("linger", 0))
        else:
            w = self._int(want, e, "the option value")
            ok = (got if isinstance(got, int) else int(bool(got)) if isinstance(got, bool) else
                  got if not isinstance(got, float) else int(got)) == w
        if not ok:
            shown = f"{{onoff={int(bool(got[0]))}, linger={got[1]}}}" if isinstance(got, tuple) else f"[{got}]"
            raise Mismatch(e.line, f"{a.call_text()} gave {shown} at {self.env.now:.6f} s; expected {want.text()}",
                           self.env.now)
        return 0, None

    def _sys_fcntl(self, e: Event, a: Syscall) -> tuple[int, str | None]:
        sock = self._sock(e, a)
        cmd = self._int(a.args[1], e, "the command") if len(a.args) > 1 else -1
        if cmd == SYMBOLS["F_GETFL"]:
            return O_RDWR | (O_NONBLOCK if sock.nonblocking else 0), None
        if cmd == SYMBOLS["F_SETFL"]:
            flags = self._int(a.args[2], e, "the flags") if len(a.args) > 2 else 0
            sock.nonblocking = bool(flags & O_NONBLOCK)
            return 0, None
        return -1, "EINVAL"

    # ---------------------------------------------------------------- run

    def run(self) -> Outcome:
        out = Outcome(self.path, self.profile, True)
        proc = self.env.process(self.process())
        try:
            self.env.run(until=proc)
        except Mismatch as m:
            out.passed = False
            out.line = m.line
            out.time = m.time
            out.message = f"{self.path}:{m.line}: {m.message}"
        except SocketError as exc:
            out.passed = False
            out.message = f"{self.path}: unexpected socket error at {self.env.now:.6f} s: {exc}"
            out.time = self.env.now
        except (ValueError, AssertionError, RuntimeError, KeyError, TypeError, AttributeError) as exc:
            out.passed = False
            out.time = self.env.now
            out.message = f"{self.path}: internal error at {self.env.now:.6f} s: {type(exc).__name__}: {exc}"
        if self.verbose:
            self.drain_trace()
            out.log = [f"{t:12.6f} {text}" for t, text in self.log]
        return out


def _errno(exc: object) -> str:
    if isinstance(exc, SocketError):
        return exc.errno
    raise exc if isinstance(exc, BaseException) else RuntimeError(str(exc))


def run_script(script: Script, profile: str = "linux", verbose: bool = False) -> Outcome:
    """Run ``script`` against a fresh simulated host with ``profile``.

    Raises :class:`ScriptError` when the script uses something the runner
    does not support (checked before anything runs).
    """
    try:
        make_config(profile)
    except KnobError as exc:
        raise ScriptError(script.path, 0, str(exc)) from None
    warnings = check_script(script, profile)
    runner = _Runner(script, profile, verbose)
    out = runner.run()
    out.warnings = warnings + out.warnings
    return out
