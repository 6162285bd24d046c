"""Per-host TCP knobs: one frozen config built from a named profile plus
overrides under the real knob names (Linux sysctls, Windows registry values).

Every knob is declared once in ``KNOBS`` with its field, its real names, a
one-line meaning and the source of each profile's default; ``docs/profiles.md``
is generated from the same table, so documentation and code cannot drift.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class TcpConfig:
    profile: str = "linux"
    # Retransmission timer (RFC 6298; Linux include/net/tcp.h).
    rto_initial: float = 1.0
    rto_min: float = 0.2
    rto_max: float = 120.0
    # Linux adds the minimum to the variance term (rto = srtt + max(4*rttvar, rto_min)),
    # RFC 6298 clamps the total (rto = max(srtt + 4*rttvar, rto_min)).
    rto_min_on_variance: bool = True
    clock_granularity: float = 0.001
    # Connection establishment.
    syn_retries: int = 6
    syn_linear_timeouts: int = 4
    synack_retries: int = 5
    # Data retransmission give-up: "linux" models the time tcp_retries2 back-offs
    # take from rto_min (tcp_model_timeout); "count" counts retransmissions.
    retries_mode: str = "linux"
    retries1: int = 3
    retries2: int = 15
    orphan_retries: int = 0
    # Closing.
    time_wait: float = 60.0
    fin_timeout: float = 60.0
    # Keepalive (seconds, seconds, count).
    keepalive_time: float = 7200.0
    keepalive_intvl: float = 75.0
    keepalive_probes: int = 9
    # Listen queues.
    max_syn_backlog: int = 4096
    somaxconn: int = 4096
    syncookies: int = 1
    abort_on_overflow: bool = False
    max_half_open: int = 0           # Windows TcpMaxHalfOpen (0 = no such limit)
    max_half_open_retried: int = 0   # Windows TcpMaxHalfOpenRetried
    syn_attack_protect: int = 0      # Windows SynAttackProtect
    # Ports and TIME_WAIT.
    tw_reuse: int = 2
    max_tw_buckets: int = 262144
    local_port_range: tuple[int, int] = (32768, 60999)
    # Options and windows.
    mss: int = 1460
    window_scaling: bool = True
    wscale: int = 7
    timestamps: bool = True
    sack: bool = True
    rmem: tuple[int, int, int] = (4096, 131072, 6291456)
    wmem: tuple[int, int, int] = (4096, 16384, 4194304)
    syn_window: int = 64240
    init_cwnd: int = 10
    congestion_control: str = "cubic"
    # Nagle as Linux does it (Minshall: hold a small segment only while another small one is unacked).
    nagle_minshall: bool = True
    # Delayed ACK: Linux's ATO runs from 40 ms (TCP_ATO_MIN) to 200 ms (TCP_DELACK_MAX).
    delack_min: float = 0.04
    delack_max: float = 0.2
    # ISN: "random" draws from the host's seeded stream; "rfc6528" is clock plus keyed hash.
    isn: str = "rfc6528"
    # RFC 5961 challenge ACKs per second (Linux tcp_challenge_ack_limit); 0 = unlimited.
    challenge_ack_limit: int = 0
    ip_default_ttl: int = 64
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def replace(self, **changes: Any) -> TcpConfig:
        return dataclasses.replace(self, **changes)

    @property
    def orphan_retry_count(self) -> int:
        """tcp_orphan_retries, where 0 means 8 (Linux tcp_orphan_retries())."""
        return self.orphan_retries or 8


@dataclass(frozen=True)
class Knob:
    field: str
    names: tuple[str, ...]
    meaning: str
    source: str


# The real names a scenario may use, mapped to config fields.
KNOBS: tuple[Knob, ...] = (
    Knob("syn_retries", ("net.ipv4.tcp_syn_retries", "TcpMaxConnectRetransmissions"),
         "SYN retransmissions before connect() fails with ETIMEDOUT", "ip-sysctl.rst; Windows TCP/IP registry reference"),
    Knob("syn_linear_timeouts", ("net.ipv4.tcp_syn_linear_timeouts",),
         "SYN retransmissions with a linear (un-backed-off) RTO before exponential backoff", "ip-sysctl.rst (Linux 6.5+)"),
    Knob("synack_retries", ("net.ipv4.tcp_synack_retries", "TcpMaxConnectResponseRetransmissions"),
         "SYN-ACK retransmissions before a half-open request is dropped", "ip-sysctl.rst; Windows registry"),
    Knob("retries1", ("net.ipv4.tcp_retries1",), "retransmissions before reporting a soft error (route check)", "ip-sysctl.rst"),
    Knob("retries2", ("net.ipv4.tcp_retries2", "TcpMaxDataRetransmissions"),
         "data retransmissions (modelled as time on Linux) before ETIMEDOUT", "ip-sysctl.rst; Windows registry"),
    Knob("orphan_retries", ("net.ipv4.tcp_orphan_retries",), "retries for orphaned sockets; 0 means 8", "ip-sysctl.rst"),
    Knob("time_wait", ("TcpTimedWaitDelay",), "TIME_WAIT length in seconds (Linux: fixed TCP_TIMEWAIT_LEN)", "include/net/tcp.h; Windows registry"),
    Knob("fin_timeout", ("net.ipv4.tcp_fin_timeout",), "FIN_WAIT_2 lifetime of an orphaned socket, seconds", "ip-sysctl.rst"),
    Knob("keepalive_time", ("net.ipv4.tcp_keepalive_time", "KeepAliveTime"), "idle seconds before the first keepalive probe", "ip-sysctl.rst; Windows registry (milliseconds under the Windows name)"),
    Knob("keepalive_intvl", ("net.ipv4.tcp_keepalive_intvl", "KeepAliveInterval"), "seconds between unanswered probes", "ip-sysctl.rst; Windows registry (milliseconds under the Windows name)"),
    Knob("keepalive_probes", ("net.ipv4.tcp_keepalive_probes", "TcpMaxKeepAliveProbes"), "unanswered probes before the connection is dropped", "ip-sysctl.rst"),
    Knob("max_syn_backlog", ("net.ipv4.tcp_max_syn_backlog",), "cap on half-open requests per listener", "ip-sysctl.rst"),
    Knob("somaxconn", ("net.core.somaxconn",), "cap on listen() backlog", "Documentation/networking; 4096 since Linux 5.4"),
    Knob("syncookies", ("net.ipv4.tcp_syncookies",), "0 off, 1 when the SYN queue overflows, 2 always", "ip-sysctl.rst"),
    Knob("abort_on_overflow", ("net.ipv4.tcp_abort_on_overflow",), "RST instead of dropping the ACK when the accept queue is full", "ip-sysctl.rst"),
    Knob("max_half_open", ("TcpMaxHalfOpen",), "half-open connections before SYN attack protection engages", "Windows registry"),
    Knob("max_half_open_retried", ("TcpMaxHalfOpenRetried",), "half-open connections with at least one SYN-ACK retransmission before protection engages", "Windows registry"),
    Knob("syn_attack_protect", ("SynAttackProtect",), "0 off, 1/2 shorten half-open retransmissions under attack", "Windows registry"),
    Knob("tw_reuse", ("net.ipv4.tcp_tw_reuse",), "0 off, 1 reuse TIME_WAIT ports for connect() when timestamps allow, 2 loopback only", "ip-sysctl.rst"),
    Knob("max_tw_buckets", ("net.ipv4.tcp_max_tw_buckets",), "TIME_WAIT sockets held at once; extras are destroyed", "ip-sysctl.rst"),
    Knob("local_port_range", ("net.ipv4.ip_local_port_range",), "ephemeral ports for connect(), 'low high'", "ip-sysctl.rst"),
    Knob("window_scaling", ("net.ipv4.tcp_window_scaling", "Tcp1323Opts"), "offer RFC 7323 window scaling", "ip-sysctl.rst"),
    Knob("timestamps", ("net.ipv4.tcp_timestamps",), "offer RFC 7323 timestamps", "ip-sysctl.rst"),
    Knob("sack", ("net.ipv4.tcp_sack", "SackOpts"), "offer SACK (RFC 2018)", "ip-sysctl.rst; Windows registry"),
    Knob("rmem", ("net.ipv4.tcp_rmem",), "receive buffer min default max, bytes", "ip-sysctl.rst"),
    Knob("wmem", ("net.ipv4.tcp_wmem",), "send buffer min default max, bytes", "ip-sysctl.rst"),
    Knob("init_cwnd", ("initcwnd",), "initial congestion window in segments (ip route ... initcwnd)", "include/net/tcp.h TCP_INIT_CWND"),
    Knob("congestion_control", ("net.ipv4.tcp_congestion_control",), "congestion control algorithm", "ip-sysctl.rst"),
    Knob("rto_initial", ("rto_initial", "TcpInitialRTT"), "initial RTO, seconds", "RFC 6298 §2.1; Windows registry"),
    Knob("rto_min", ("rto_min",), "lower bound on the RTO, seconds (Linux TCP_RTO_MIN)", "include/net/tcp.h"),
    Knob("rto_max", ("rto_max",), "upper bound on the RTO, seconds (Linux TCP_RTO_MAX)", "include/net/tcp.h"),
    Knob("ip_default_ttl", ("net.ipv4.ip_default_ttl", "DefaultTTL"), "TTL of packets the host originates", "ip-sysctl.rst"),
    Knob("isn", ("isn",), "ISN generator: rfc6528 (clock + keyed hash) or random (seeded stream)", "RFC 6528"),
    Knob("mss", ("mss",), "MSS this host announces (interface MTU - 40)", "RFC 9293 §3.7.1"),
    Knob("delack_min", ("delack_min", "TcpDelAckTicks"), "delayed ACK timeout, seconds", "include/net/tcp.h TCP_ATO_MIN; Windows registry"),
    Knob("msl", ("msl",), "maximum segment lifetime; sets TIME_WAIT to 2*MSL", "RFC 9293 §3.4.2"),
)

_BY_NAME: dict[str, Knob] = {}
for _k in KNOBS:
    for _n in _k.names:
        _BY_NAME[_n] = _k
        if _n.startswith("net.ipv4."):
            _BY_NAME[_n[len("net.ipv4."):]] = _k  # the short sysctl spelling
        if _n.startswith("net.core."):
            _BY_NAME[_n[len("net.core."):]] = _k


PROFILES: dict[str, TcpConfig] = {
    # A current Linux kernel (6.x defaults).
    "linux": TcpConfig(),
    # Kernels before tcp_syn_linear_timeouts: SYNs at 0,1,3,7,15,31,63 s, ETIMEDOUT at 127 s.
    "linux-classic": TcpConfig(profile="linux-classic", syn_linear_timeouts=0, somaxconn=128, max_syn_backlog=128, tw_reuse=0),
    # Windows XP / Server 2003 TCP/IP registry defaults.
    "windows-xp": TcpConfig(
        profile="windows-xp", rto_initial=3.0, rto_min=0.5, rto_max=240.0, rto_min_on_variance=False,
        clock_granularity=0.1,
        syn_retries=2, syn_linear_timeouts=0, synack_retries=2, retries_mode="count", retries2=5,
        time_wait=240.0, fin_timeout=240.0,
        keepalive_time=7200.0, keepalive_intvl=1.0, keepalive_probes=5,
        max_syn_backlog=4096, somaxconn=200, syncookies=0,
        max_half_open=100, max_half_open_retried=80, syn_attack_protect=0,
        tw_reuse=0, local_port_range=(1025, 5000),
        window_scaling=False, wscale=0, timestamps=False, sack=True,
        rmem=(4096, 17520, 17520), wmem=(4096, 8192, 8192), syn_window=17520, init_cwnd=2,
        congestion_control="reno", delack_min=0.2, delack_max=0.2, isn="random", ip_default_ttl=128,
        nagle_minshall=False,
    ),
    # The letter of RFC 9293: RTO 1 s initial and minimum (RFC 6298), MSL 2 min.
    "rfc9293": TcpConfig(
        profile="rfc9293", rto_initial=1.0, rto_min=1.0, rto_max=60.0, rto_min_on_variance=False,
        # §3.8.3: R2 for a SYN MUST cover at least 3 minutes (SYNs at 0,1,3,7,15,31,63,123 s,
        # failure at 183 s), and at least 100 s for data (here 243 s).
        syn_retries=7, syn_linear_timeouts=0, synack_retries=7, retries_mode="count", retries2=8,
        time_wait=240.0, fin_timeout=240.0,
        keepalive_time=7200.0, keepalive_intvl=75.0, keepalive_probes=9,
        syncookies=0, tw_reuse=0,
        window_scaling=False, wscale=0, timestamps=False, sack=False,
        rmem=(4096, 65535, 65535), wmem=(4096, 65535, 65535), syn_window=65535, init_cwnd=4,
        congestion_control="reno", delack_min=0.2, delack_max=0.2, isn="rfc6528", nagle_minshall=False,
    ),
    # Short timers so that a classroom demonstration finishes in seconds.
    "classroom": TcpConfig(
        profile="classroom", rto_initial=0.5, rto_min=0.1, rto_max=4.0,
        syn_retries=3, syn_linear_timeouts=0, synack_retries=3, retries_mode="count", retries2=5,
        time_wait=2.0, fin_timeout=4.0,
        keepalive_time=5.0, keepalive_intvl=1.0, keepalive_probes=3,
        isn="random",
    ),
}


class KnobError(ValueError):
    """An unknown knob or a value of the wrong kind; the message says which and what was expected."""


def knob_names() -> list[str]:
    return sorted(_BY_NAME)


def _coerce(knob: Knob, current: Any, value: Any) -> Any:
    name = knob.names[0]
    if isinstance(current, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise KnobError(f"{name}: expected 0/1 or true/false, got {_cut(value)}")
    if isinstance(current, tuple):
        parts = value.split() if isinstance(value, str) else list(value) if isinstance(value, list | tuple) else None
        if parts is None or len(parts) != len(current):
            raise KnobError(f"{name}: expected {len(current)} integers, got {_cut(value)}")
        try:
            if any(isinstance(p, bool) or (isinstance(p, str) and len(p) > 20) for p in parts):
                raise ValueError
            out = tuple(int(p) for p in parts)
        except (TypeError, ValueError, OverflowError):
            raise KnobError(f"{name}: expected {len(current)} integers, got {_cut(value)}") from None
        if knob.field == "local_port_range" and not (0 < out[0] <= out[1] <= 65535):
            raise KnobError(f"{name}: expected 'low high' with 0 < low <= high <= 65535, got {_cut(value)}")
        return out
    if isinstance(current, str):
        if not isinstance(value, str):
            raise KnobError(f"{name}: expected a name, got {_cut(value)}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise KnobError(f"{name}: expected a number, got {_cut(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise KnobError(f"{name}: expected a finite number, got {value!r}")
    if isinstance(value, int) and abs(value) > 2**63:
        raise KnobError(f"{name}: expected a value <= {_INT_MAX}, got an integer of {_digits(value)} digits")
    if value < 0:
        raise KnobError(f"{name}: expected a value >= 0, got {value!r}")
    if isinstance(current, int):
        if value != int(value):
            raise KnobError(f"{name}: expected an integer, got {value!r}")
        return int(value)
    return float(value)


# The values each knob takes, in the config's units (seconds for times), checked by ``make_config``.
# Where Linux has a bound it is Linux's; below it a knob would stall or spin a connection
# (a zero RTO or keepalive time re-arms a timer at the same instant forever).
_INT_MAX = 2**31 - 1     # sysctls are C ints
_TIME_MAX = 10_000_000.0  # seconds, as for every duration of the scenario format
_BUF_MIN = 4096           # bytes; Linux clamps socket buffers to about 2-4.5 KB (SOCK_MIN_RCVBUF/SNDBUF)
RANGES: dict[str, tuple[float, float]] = {
    "syn_retries": (1, 127),              # ip-sysctl.rst: tcp_syn_retries 1..127 (MAX_TCP_SYNCNT)
    "syn_linear_timeouts": (0, 127),
    "synack_retries": (0, 127),
    "retries1": (0, 255),
    "retries2": (0, 255),
    "orphan_retries": (0, 255),
    "time_wait": (0.0, _TIME_MAX),
    "fin_timeout": (0.0, _TIME_MAX),
    # At least 1 s as for TCP_KEEPIDLE/TCP_KEEPINTVL (the sysctls take no upper bound from Linux).
    "keepalive_time": (1.0, _TIME_MAX),
    "keepalive_intvl": (1.0, _TIME_MAX),
    "keepalive_probes": (1, 127),         # TCP_KEEPCNT: 1..MAX_TCP_KEEPCNT
    "max_syn_backlog": (0, _INT_MAX),
    "somaxconn": (0, _INT_MAX),
    "syncookies": (0, 2),
    "max_half_open": (0, _INT_MAX),
    "max_half_open_retried": (0, _INT_MAX),
    "syn_attack_protect": (0, 2),
    "tw_reuse": (0, 2),
    "max_tw_buckets": (0, _INT_MAX),
    "local_port_range": (1, 65535),
    "rmem": (_BUF_MIN, _INT_MAX),
    "wmem": (_BUF_MIN, _INT_MAX),
    "init_cwnd": (1, 65535),
    "rto_initial": (0.001, _TIME_MAX),
    "rto_min": (0.001, _TIME_MAX),
    "rto_max": (0.001, _TIME_MAX),
    "ip_default_ttl": (1, 255),
    "mss": (88, 65495),                   # TCP_MIN_MSS (include/net/tcp.h) .. 65535 - 40
    "delack_min": (0.0, _TIME_MAX),
}


def _range_problem(name: str, field: str, value: Any, scale: float = 1.0) -> str | None:
    lo, hi = RANGES.get(field, (0, _INT_MAX))
    values = value if isinstance(value, tuple) else (value,)
    if all(lo <= v <= hi for v in values):
        return None
    lo, hi = lo * scale, hi * scale
    shown = " ".join(_num(v * scale if scale != 1.0 else v) for v in values)
    if len(values) > 1:
        return f"{name}: expected {len(values)} values each >= {_show(lo)} and <= {_show(hi)}, got {shown!r}"
    return f"{name}: expected a value >= {_show(lo)} and <= {_show(hi)}, got {shown}"


# Windows expresses these in milliseconds in the registry.
_MILLISECOND_NAMES = frozenset({"KeepAliveTime", "KeepAliveInterval", "TcpInitialRTT"})


def make_config(profile: str = "linux", overrides: dict[str, Any] | None = None) -> TcpConfig:
    """The config of ``profile`` with ``overrides`` applied (keys are real knob names)."""
    try:
        cfg = PROFILES[profile]
    except KeyError:
        raise KnobError(f"unknown profile {profile!r} (expected one of: {', '.join(PROFILES)})") from None
    if not overrides:
        return cfg
    changes: dict[str, Any] = {}
    for name, value in overrides.items():
        knob = _BY_NAME.get(name)
        if knob is None:
            raise KnobError(f"unknown knob {name!r}")
        if knob.field == "msl":
            v = _coerce(Knob("time_wait", (name,), "", ""), 0.0, value)
            problem = _range_problem(name, "time_wait", 2 * v, 0.5)
            if problem is not None:
                raise KnobError(problem)
            changes["time_wait"] = 2 * v
            continue
        if name == "TcpDelAckTicks":
            ticks = _coerce(knob, 0, value)
            if ticks > 6:  # Windows: 0..6 ticks of 100 ms
                raise KnobError(f"{name}: expected a value >= 0 and <= 6, got {_show(ticks)}")
            changes["delack_min"] = changes["delack_max"] = 0.1 * ticks
            continue
        v = _coerce(knob, getattr(cfg, knob.field), value)
        if knob.field == "congestion_control" and v not in ("reno", "newreno", "cubic"):
            raise KnobError(f"{name}: expected one of reno, newreno, cubic, got {_cut(value)}")
        if knob.field == "isn" and v not in ("rfc6528", "random"):
            raise KnobError(f"{name}: expected rfc6528 or random, got {_cut(value)}")
        if name in _MILLISECOND_NAMES:
            v = v / 1000.0
        if not isinstance(v, bool | str):
            problem = _range_problem(name, knob.field, v, 1000.0 if name in _MILLISECOND_NAMES else 1.0)
            if problem is not None:
                raise KnobError(problem)
            if knob.field in ("rmem", "wmem") and not v[0] <= v[1] <= v[2]:
                raise KnobError(f"{name}: expected 'min default max' with min <= default <= max, got {_show(v)!r}")
        changes[knob.field] = v
    return cfg.replace(**changes)


def _num(v: float) -> str:
    """A number in a message: short, however large."""
    if isinstance(v, int) and abs(v) >= 10**24:
        return f"(an integer of {_digits(v)} digits)"
    if isinstance(v, float) and (abs(v) >= 1e16 or not v.is_integer()):
        return f"{v:g}"
    return _show(v)


def _digits(n: int) -> int:
    """Decimal digits of ``n`` without ``str(n)`` (which refuses more than 4,300)."""
    return len(str(abs(n))) if abs(n) < 10**300 else int(abs(n).bit_length() * math.log10(2)) + 1


def _cut(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _show(v: Any) -> str:
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, tuple):
        return " ".join(str(x) for x in v)
    if isinstance(v, float) and v == int(v):
        return str(int(v))
    return str(v)


def _range_text(k: Knob) -> str:
    """The range column of docs/profiles.md, from ``RANGES`` (what ``make_config`` checks)."""
    current = getattr(PROFILES["linux"], k.field)
    if isinstance(current, bool):
        return "0, 1"
    if isinstance(current, str):
        return "a name"
    if k.field == "delack_min":
        return "0..10000000 s (TcpDelAckTicks: 0..6 ticks of 100 ms)"
    lo, hi = RANGES.get(k.field, (0, _INT_MAX))
    unit = " s" if isinstance(current, float) else ""
    text = f"{_show(lo)}..{_show(hi)}{unit}"
    if k.field in ("rmem", "wmem"):
        text += " each, min <= default <= max"
    if k.field == "local_port_range":
        text += ", low <= high"
    if any(n in _MILLISECOND_NAMES for n in k.names):
        text += " (ms under the Windows name)"
    return text


def profiles_markdown() -> str:
    """The knob reference, generated from ``KNOBS`` and ``PROFILES`` (docs/profiles.md)."""
    names = list(PROFILES)
    lines = [
        "# TCP profiles and knobs",
        "",
        "Generated by `tcpsim profiles --markdown` from `tcpsim/tcp/config.py`; a test keeps it in sync.",
        "",
        "Each host runs one profile (`profile:` in a scenario) and may override any knob under its",
        "real name (`sysctl:` in a scenario). Times are in seconds. Windows registry values that are",
        "milliseconds in the registry (`KeepAliveTime`, `KeepAliveInterval`, `TcpInitialRTT`) are",
        "given in milliseconds too and converted. `msl` sets TIME_WAIT to 2*MSL.",
        "",
        "| knob (real names) | meaning | range | " + " | ".join(names) + " | source |",
        "|---|---|---|" + "---|" * len(names) + "---|",
    ]
    for k in KNOBS:
        if k.field == "msl":
            continue
        vals = [_show(getattr(PROFILES[n], k.field)) for n in names]
        lines.append(f"| {', '.join(f'`{n}`' for n in k.names)} | {k.meaning} | {_range_text(k)} | "
                     + " | ".join(vals) + f" | {k.source} |")
    lines += [
        "",
        "## What the profiles give",
        "",
        "- `linux`: SYNs at 0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67 s and ETIMEDOUT at 131 s",
        "  (tcp_syn_retries 6 plus 4 linear timeouts); SYN-ACKs at 0, 1, 3, 7, 15, 31 s and the request",
        "  dropped at 63 s; RTO = SRTT + max(4*RTTVAR, 200 ms); data given up after the time that",
        "  tcp_retries2=15 back-offs from 200 ms take (924.6 s); TIME_WAIT 60 s.",
        "- `linux-classic`: SYNs at 0, 1, 3, 7, 15, 31, 63 s and ETIMEDOUT at 127 s; somaxconn 128.",
        "- `windows-xp`: initial RTO 3 s, SYNs at 0, 3, 9 s and failure at 21 s; 5 data",
        "  retransmissions; TIME_WAIT 240 s; no window scaling or timestamps.",
        "- `rfc9293`: RTO 1 s initial and minimum (RFC 6298), MSL 2 min so TIME_WAIT lasts 4 min,",
        "  SYN retransmission for at least 3 minutes (§3.8.3: SYNs at 0, 1, 3, 7, 15, 31, 63, 123 s,",
        "  failure at 183 s), keepalive off unless a socket asks (as for every profile).",
        "- `classroom`: short timers (TIME_WAIT 2 s, keepalive 5/1/3 s) for demonstrations.",
        "",
    ]
    return "\n".join(lines)
