"""packetdrill-style scripts: the values a parsed script is made of, and the parser.

A script plays the remote peer of one simulated host. Each line is an event
with a time: a packet the peer injects (``<``), a packet the host must send
(``>``), a system call the application makes, or a shell command (only
sysctl settings are understood). The subset accepted here is the one
``docs/conformance.md`` lists; anything else is a :class:`ScriptError` that
names the file, the line and what was expected, so that a typo never turns
into a silently different test.

The parser is line-oriented (packetdrill's grammar is not, but every real
script puts one event per line); a line whose brackets are not balanced
continues on the next one.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from tcpsim.wire.segment import ACK, CWR, ECE, FIN, PSH, RST, SYN, URG

__all__ = [
    "ScriptError", "TimeKind", "When", "TcpOption", "TcpPacket", "IcmpPacket", "Expr", "Ellipsis_",
    "Num", "Word", "Str", "ListExpr", "Struct", "Call", "Or", "Syscall", "Command", "Event", "Script",
    "parse_script", "parse_file", "ICMP_TYPES", "UNREACH_CODES",
]


class ScriptError(Exception):
    """A script that cannot be parsed: ``path:line: what was expected``."""

    def __init__(self, path: str, line: int, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")


# ----------------------------------------------------------------------------- values


class TimeKind(Enum):
    ABSOLUTE = "absolute"              # 0.100
    RELATIVE = "relative"              # +0.1
    ANY = "any"                        # *
    ABSOLUTE_RANGE = "absolute range"  # 1.0~1.2
    RELATIVE_RANGE = "relative range"  # +1.0~+1.2


@dataclass(frozen=True, slots=True)
class When:
    """The time column. ``end`` is the end of a range (ranges only)."""

    kind: TimeKind
    start: float = 0.0
    end: float | None = None

    @property
    def relative(self) -> bool:
        return self.kind in (TimeKind.RELATIVE, TimeKind.RELATIVE_RANGE)

    def text(self) -> str:
        sign = "+" if self.relative else ""
        if self.kind is TimeKind.ANY:
            return "*"
        if self.end is not None:
            return f"{sign}{self.start:g}~{sign}{self.end:g}"
        return f"{sign}{self.start:g}"


@dataclass(frozen=True, slots=True)
class TcpOption:
    """One TCP option as written: ``mss 1460`` is ``TcpOption("mss", (1460,))``."""

    kind: str            # mss, sackOK, TS, nop, eol, wscale, sack
    values: tuple[int, ...] = ()

    def text(self) -> str:
        if self.kind == "TS":
            return f"TS val {self.values[0]} ecr {self.values[1]}"
        if self.kind == "sack":
            return "sack " + " ".join(f"{a}:{b}" for a, b in zip(self.values[::2], self.values[1::2], strict=True))
        if self.values:
            return f"{self.kind} {self.values[0]}"
        return self.kind


@dataclass(frozen=True, slots=True)
class TcpPacket:
    """A TCP packet line. Numbers are relative to each side's ISN, as written.

    ``ports`` is (source, destination) as written, or None for the script's
    current connection. ``window`` None means "not checked" (outbound only);
    ``options`` None means ``<...>``: options not checked (outbound only).
    """

    inbound: bool
    ports: tuple[int, int] | None
    flags: int
    flags_text: str
    seq: int
    length: int
    ack: int | None
    window: int | None
    options: tuple[TcpOption, ...] | None
    text: str


ICMP_TYPES: dict[str, int] = {
    "echo_reply": 0, "unreachable": 3, "source_quench": 4, "redirect": 5, "echo_request": 8,
    "time_exceeded": 11, "parameter_problem": 12,
}

# Destination Unreachable codes by packetdrill's names (RFC 792, RFC 1122).
UNREACH_CODES: dict[str, int] = {
    "net_unreachable": 0, "host_unreachable": 1, "protocol_unreachable": 2, "port_unreachable": 3,
    "frag_needed": 4, "source_route_failed": 5, "net_unknown": 6, "host_unknown": 7,
    "source_host_isolated": 8, "net_prohibited": 9, "host_prohibited": 10, "net_unreachable_for_tos": 11,
    "host_unreachable_for_tos": 12, "packet_filtered": 13, "precedence_violation": 14,
    "precedence_cutoff": 15,
}


@dataclass(frozen=True, slots=True)
class IcmpPacket:
    """An inbound ICMP error. ``echoed`` is the quoted TCP (seq, length) relative to the
    local ISN, or None: quote the last segment the host sent on that connection."""

    type: int
    code: int
    echoed: tuple[int, int] | None
    mtu: int | None
    text: str


# System call arguments and results: a tiny expression language.


@dataclass(frozen=True, slots=True)
class Ellipsis_:
    """``...``: fill in (an argument) or don't care (a result)."""

    def text(self) -> str:
        return "..."


@dataclass(frozen=True, slots=True)
class Num:
    value: int

    def text(self) -> str:
        return str(self.value)


@dataclass(frozen=True, slots=True)
class Word:
    """A symbol: SOCK_STREAM, SO_ERROR, an errno name, O_NONBLOCK..."""

    name: str

    def text(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Str:
    value: str

    def text(self) -> str:
        return f'"{self.value}"'


@dataclass(frozen=True, slots=True)
class ListExpr:
    items: tuple[Expr, ...]

    def text(self) -> str:
        return "[" + ", ".join(i.text() for i in self.items) + "]"


@dataclass(frozen=True, slots=True)
class Struct:
    """``{onoff=1, linger=0}``; fields without a name get ``""``."""

    fields: tuple[tuple[str, Expr], ...]

    def get(self, name: str) -> Expr | None:
        for k, v in self.fields:
            if k == name:
                return v
        return None

    def text(self) -> str:
        return "{" + ", ".join(f"{k}={v.text()}" if k else v.text() for k, v in self.fields) + "}"


@dataclass(frozen=True, slots=True)
class Call:
    """``htons(8080)``, ``inet_addr("192.0.2.1")`` inside a sockaddr."""

    name: str
    args: tuple[Expr, ...]

    def text(self) -> str:
        return f"{self.name}(" + ", ".join(a.text() for a in self.args) + ")"


@dataclass(frozen=True, slots=True)
class Or:
    """``O_RDWR|O_NONBLOCK``."""

    items: tuple[Expr, ...]

    def text(self) -> str:
        return "|".join(i.text() for i in self.items)


Expr = Ellipsis_ | Num | Word | Str | ListExpr | Struct | Call | Or


@dataclass(frozen=True, slots=True)
class Syscall:
    """``name(args) = result [ERRNO (text)]``; ``end`` is the return time of a
    blocking call (``0.1...0.2 connect(...)``), relative like the start."""

    name: str
    args: tuple[Expr, ...]
    result: Expr
    errno: str | None
    end: float | None
    text: str

    def call_text(self) -> str:
        return f"{self.name}(" + ", ".join(a.text() for a in self.args) + ")"

    def expected_text(self) -> str:
        if self.errno is not None:
            return f"{self.result.text()} {self.errno}"
        return self.result.text()


@dataclass(frozen=True, slots=True)
class Command:
    """A back-quoted shell command: its sysctl settings (name, value), and what was ignored."""

    sysctls: tuple[tuple[str, str], ...]
    ignored: tuple[str, ...]
    text: str


@dataclass(frozen=True, slots=True)
class Event:
    line: int
    when: When
    action: TcpPacket | IcmpPacket | Syscall | Command


@dataclass
class Script:
    path: str
    options: dict[str, str] = field(default_factory=dict)
    option_lines: dict[str, int] = field(default_factory=dict)
    init: list[tuple[int, Command]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- parsing

_FLAG_BITS = {"S": SYN, "F": FIN, "R": RST, "P": PSH, ".": ACK, "U": URG, "E": ECE, "W": CWR}

_NUM = r"(?:\d+(?:\.\d+)?|\.\d+)"
_TIME_RE = re.compile(
    rf"""^(?:
        (?P<any>\*)
      | (?P<rs>\+)?(?P<start>{_NUM})
        (?: \s*~\s*(?P<re>\+)?(?P<rend>{_NUM})
          | \s*\.\.\.\s*(?P<bs>\+)?(?P<bend>{_NUM}) )?
    )(?=\s|$)""",
    re.VERBOSE,
)
_TCP_RE = re.compile(
    r"""^(?:(?P<sport>\d+)\s*>\s*(?P<dport>\d+)\s+)?
         (?P<flags>[SFRPUEW.\-]+)\s+
         (?P<start>\d+)\s*:\s*(?P<end>\d+)\s*\(\s*(?P<len>\d+)\s*\)
         (?P<rest>.*)$""",
    re.VERBOSE,
)
_TOKEN_RE = re.compile(
    r"""\s*(?:
        (?P<ellipsis>\.\.\.)
      | (?P<hex>0[xX][0-9a-fA-F]+)
      | (?P<int>\d+)
      | (?P<str>"(?:[^"\\]|\\.)*")
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<punct>[()\[\]{},=|\-])
    )""",
    re.VERBOSE,
)


def _strip_comments(text: str) -> str:
    """Remove ``/* */`` and ``//`` comments and ``%{ }%`` blocks, keeping newlines
    (so line numbers stay right) and leaving back-quoted commands and strings alone."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"' or c == "`":
            # A string or a command ends at its closing quote, or at the end of the line.
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                if text[j] == "\\":
                    j += 1
                j += 1
            if j < n and text[j] == c:
                j += 1
            out.append(text[i:j])
            i = j
        elif text.startswith("/*", i) or text.startswith("%{", i):
            close = "*/" if c == "/" else "}%"
            j = text.find(close, i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, text) of each non-empty event; unbalanced brackets continue."""
    lines = _strip_comments(text).split("\n")
    result: list[tuple[int, str]] = []
    buf = ""
    start = 0
    for no, raw in enumerate(lines, 1):
        line = raw.strip()
        if not buf:
            if not line:
                continue
            start = no
            buf = line
        else:
            buf += " " + line
        depth = sum(buf.count(o) - buf.count(c) for o, c in ("()", "[]", "{}"))
        if depth > 0 or buf.count("`") % 2:
            continue
        result.append((start, buf))
        buf = ""
    if buf:
        result.append((start, buf))
    return result


def _num(text: str) -> float:
    return float(text)


class _Parser:
    def __init__(self, path: str) -> None:
        self.path = path
        self.script = Script(path)

    def error(self, line: int, message: str) -> ScriptError:
        return ScriptError(self.path, line, message)

    # -- top level --------------------------------------------------------------

    def parse(self, text: str) -> Script:
        for line, body in _logical_lines(text):
            if body.startswith("--"):
                if self.script.events:
                    raise self.error(line, "expected an event: '--option=value' lines must come before the first event")
                self.option(line, body)
            elif body.startswith("`") and not self.script.events:
                self.script.init.append((line, self.command(line, body)))
            else:
                self.script.events.append(self.event(line, body))
        if not self.script.events:
            raise self.error(max(1, text.count("\n")), "expected at least one event (a packet or a system call)")
        first = self.script.events[0]
        if first.when.kind is not TimeKind.ABSOLUTE or first.when.start != 0:
            raise self.error(first.line, f"expected the first event at time 0, got '{first.when.text()}'")
        return self.script

    def option(self, line: int, body: str) -> None:
        m = re.fullmatch(r"--([A-Za-z0-9_\-]+)(?:\s*=\s*(\S.*))?", body)
        if not m:
            raise self.error(line, f"expected '--name=value', got '{body}'")
        name = m.group(1).replace("-", "_")
        value = (m.group(2) or "").strip().strip('"')
        self.script.options[name] = value
        self.script.option_lines[name] = line

    # -- events -----------------------------------------------------------------

    def event(self, line: int, body: str) -> Event:
        m = _TIME_RE.match(body)
        if not m:
            word = body.split()[0] if body.split() else body
            raise self.error(line, f"expected a time ('0.1', '+0.1', '*', '1.0~1.2' or '0.1...0.2') "
                                   f"at the start of the line, got '{word}'")
        rest = body[m.end():].strip()
        end: float | None = None
        if m.group("any"):
            when = When(TimeKind.ANY)
        else:
            start = _num(m.group("start"))
            rel = bool(m.group("rs"))
            if m.group("rend") is not None:
                if bool(m.group("re")) != rel:
                    raise self.error(line, "expected both ends of a time range to be absolute or both relative ('+')")
                rend = _num(m.group("rend"))
                if rend < start:
                    raise self.error(line, f"expected a time range that goes forward, got {start:g}~{rend:g}")
                when = When(TimeKind.RELATIVE_RANGE if rel else TimeKind.ABSOLUTE_RANGE, start, rend)
            else:
                when = When(TimeKind.RELATIVE if rel else TimeKind.ABSOLUTE, start)
            if m.group("bend") is not None:
                end = _num(m.group("bend"))
                if not rel and end < start:
                    raise self.error(line, f"expected a blocking call's end time after its start, got {start:g}...{end:g}")
        if not rest:
            raise self.error(line, "expected a packet, a system call or a `command` after the time")
        action: TcpPacket | IcmpPacket | Syscall | Command
        if rest[0] in "<>":
            action = self.packet(line, rest)
        elif rest[0] == "`":
            action = self.command(line, rest)
        elif re.match(r"[A-Za-z_]\w*\s*\(", rest):
            action = self.syscall(line, rest, end)
        else:
            raise self.error(line, f"expected a packet ('<' or '>'), a system call or a `command`, got '{rest.split()[0]}'")
        if end is not None and not isinstance(action, Syscall):
            raise self.error(line, "expected a system call after 'START...END' (the form of a blocking call)")
        outbound = isinstance(action, TcpPacket) and not action.inbound
        if not outbound and when.kind not in (TimeKind.ABSOLUTE, TimeKind.RELATIVE):
            what = "an inbound packet" if isinstance(action, TcpPacket | IcmpPacket) else "this event"
            raise self.error(line, f"expected a plain time for {what}: '{when.text()}' (any time or a range) "
                                   "is only for outbound packets")
        return Event(line, when, action)

    # -- packets ----------------------------------------------------------------

    def packet(self, line: int, text: str) -> TcpPacket | IcmpPacket:
        inbound = text[0] == "<"
        body = text[1:].strip()
        if body.startswith("icmp"):
            if not inbound:
                raise self.error(line, "expected '<' before icmp: the runner injects ICMP errors, it does not check outbound ones")
            return self.icmp(line, body[4:].strip(), text)
        m = _TCP_RE.match(body)
        if not m:
            raise self.error(line, "expected a TCP packet 'FLAGS START:END(LEN) [ack N] [win N] [<options>]' "
                                   f"or 'icmp TYPE [CODE]', got '{body}'")
        flags_text = m.group("flags")
        flags = 0
        if flags_text != "-":
            for ch in flags_text:
                if ch == "-":
                    raise self.error(line, f"expected TCP flags from 'SFRP.UEW' or a lone '-', got '{flags_text}'")
                flags |= _FLAG_BITS[ch]
        start, end, length = int(m.group("start")), int(m.group("end")), int(m.group("len"))
        if (start + length) & 0xFFFFFFFF != end & 0xFFFFFFFF:
            raise self.error(line, f"expected END = START + LEN in {start}:{end}({length})")
        if length > 65535:
            raise self.error(line, f"expected a payload length below 65536, got {length}")
        ports = (int(m.group("sport")), int(m.group("dport"))) if m.group("sport") else None
        if ports is not None and not all(0 < p < 65536 for p in ports):
            raise self.error(line, f"expected ports 1..65535, got {ports[0]}>{ports[1]}")
        ack, window, options = self.tcp_rest(line, m.group("rest").strip(), inbound)
        if ack is not None and not flags & ACK:
            raise self.error(line, f"expected the '.' (ACK) flag with 'ack {ack}', got flags '{flags_text}'")
        if inbound and window is None:
            raise self.error(line, "expected 'win N' on an inbound packet (packetdrill requires the window of injected packets)")
        return TcpPacket(inbound, ports, flags, flags_text, start, length, ack, window, options, text)

    def tcp_rest(self, line: int, rest: str, inbound: bool) -> tuple[int | None, int | None, tuple[TcpOption, ...] | None]:
        ack: int | None = None
        window: int | None = None
        options: tuple[TcpOption, ...] | None = ()
        while rest:
            m = re.match(r"ack\s+(\d+)", rest)
            if m and ack is None and window is None:
                ack = int(m.group(1))
                if ack > 0xFFFFFFFF:
                    raise self.error(line, f"expected an ack number below 2**32, got {ack}")
                rest = rest[m.end():].strip()
                continue
            m = re.match(r"win\s+(\d+)", rest)
            if m and window is None:
                window = int(m.group(1))
                if window > 0xFFFF:
                    raise self.error(line, f"expected a window field of 0..65535, got {window}")
                rest = rest[m.end():].strip()
                continue
            if rest.startswith("<"):
                close = rest.find(">")
                if close < 0 or rest[close + 1:].strip():
                    raise self.error(line, f"expected '<options>' to end the packet, got '{rest}'")
                inner = rest[1:close].strip()
                if inner == "...":
                    if inbound:
                        raise self.error(line, "expected explicit options: '<...>' is only for outbound packets")
                    options = None
                else:
                    options = tuple(self.tcp_option(line, o.strip()) for o in inner.split(",")) if inner else ()
                rest = ""
                continue
            raise self.error(line, f"expected 'ack N', 'win N' or '<options>' after the sequence numbers, got '{rest.split()[0]}'")
        return ack, window, options

    def tcp_option(self, line: int, text: str) -> TcpOption:
        words = text.split()
        if not words:
            raise self.error(line, "expected a TCP option between commas, got nothing")
        kind = words[0]
        try:
            if kind in ("nop", "eol", "sackOK") and len(words) == 1:
                return TcpOption(kind)
            if kind in ("mss", "wscale") and len(words) == 2:
                v = int(words[1])
                if (kind == "mss" and not 0 <= v <= 0xFFFF) or (kind == "wscale" and not 0 <= v <= 255):
                    raise ValueError
                return TcpOption(kind, (v,))
            if kind == "TS" and len(words) == 5 and words[1] == "val" and words[3] == "ecr":
                return TcpOption("TS", (int(words[2]), int(words[4])))
            if kind == "sack" and len(words) >= 2:
                vals: list[int] = []
                for blk in words[1:]:
                    a, b = blk.split(":")
                    vals += [int(a), int(b)]
                return TcpOption("sack", tuple(vals))
        except ValueError:
            pass
        raise self.error(line, f"expected a TCP option (mss N, sackOK, TS val N ecr N, nop, wscale N, eol, "
                               f"sack A:B ...), got '{text}'")

    def icmp(self, line: int, body: str, text: str) -> IcmpPacket:
        words = body.replace("[", " [").split()
        if not words:
            raise self.error(line, f"expected an ICMP type ({', '.join(ICMP_TYPES)}) after 'icmp'")
        tname = words.pop(0)
        if tname not in ICMP_TYPES:
            raise self.error(line, f"expected an ICMP type ({', '.join(ICMP_TYPES)}), got '{tname}'")
        itype = ICMP_TYPES[tname]
        code = 0
        if words and not words[0].startswith("[") and words[0] != "mtu":
            cname = words.pop(0)
            if cname.startswith("code_") and cname[5:].isdigit():
                code = int(cname[5:])
            elif tname == "unreachable" and cname in UNREACH_CODES:
                code = UNREACH_CODES[cname]
            elif tname == "time_exceeded" and cname in ("ttl_exceeded", "exceeded_ttl"):
                code = 0
            else:
                known = ", ".join(UNREACH_CODES) if tname == "unreachable" else "code_N"
                raise self.error(line, f"expected an ICMP code for '{tname}' ({known}), got '{cname}'")
        mtu: int | None = None
        if words and words[0] == "mtu":
            if len(words) < 2 or not words[1].isdigit():
                raise self.error(line, "expected 'mtu N'")
            mtu = int(words[1])
            words = words[2:]
        echoed: tuple[int, int] | None = None
        if words:
            m = re.fullmatch(r"\[\s*(\d+)\s*:\s*(\d+)\s*\(\s*(\d+)\s*\)\s*\]", " ".join(words))
            if not m:
                raise self.error(line, f"expected the quoted segment as '[START:END(LEN)]', got '{' '.join(words)}'")
            s, e, n = (int(g) for g in m.groups())
            if (s + n) & 0xFFFFFFFF != e:
                raise self.error(line, f"expected END = START + LEN in [{s}:{e}({n})]")
            echoed = (s, n)
        return IcmpPacket(itype, code, echoed, mtu, text)

    # -- commands ---------------------------------------------------------------

    def command(self, line: int, body: str) -> Command:
        if not (body.startswith("`") and body.endswith("`") and len(body) >= 2):
            raise self.error(line, f"expected a back-quoted command `...`, got '{body}'")
        inner = body[1:-1]
        sysctls: list[tuple[str, str]] = []
        ignored: list[str] = []
        for part in re.split(r"\s*(?:;|&&|\n)\s*", inner):
            if not part.strip():
                continue
            try:
                words = shlex.split(part)
            except ValueError as exc:
                raise self.error(line, f"expected a shell command with balanced quotes: {exc}") from None
            prog = words[0].rsplit("/", 1)[-1] if words else ""
            if prog == "sysctl":
                args = [w for w in words[1:] if not w.startswith("-")]
                if not args or not all("=" in a for a in args):
                    raise self.error(line, f"expected 'sysctl -q name=value', got '{part}'")
                for a in args:
                    k, v = a.split("=", 1)
                    sysctls.append((k.strip().replace("/", "."), v.strip()))
            elif prog == "set_sysctls.py":
                for a in words[1:]:
                    if "=" not in a:
                        raise self.error(line, f"expected '/proc/sys/net/...=value', got '{a}'")
                    k, v = a.split("=", 1)
                    k = k.strip()
                    if k.startswith("/proc/sys/"):
                        k = k[len("/proc/sys/"):]
                    sysctls.append((k.replace("/", "."), v.strip()))
            else:
                ignored.append(part.strip())
        return Command(tuple(sysctls), tuple(ignored), body)

    # -- system calls -----------------------------------------------------------

    def syscall(self, line: int, text: str, end: float | None) -> Syscall:
        toks = _tokens(text, self, line)
        p = _ExprParser(toks, self, line, text)
        name = p.expect("word", "a system call name")
        p.expect_punct("(")
        args: list[Expr] = []
        if not p.at_punct(")"):
            args.append(p.expr())
            while p.at_punct(","):
                p.next()
                args.append(p.expr())
        p.expect_punct(")")
        if not p.at_punct("="):
            raise self.error(line, f"expected '= RESULT' after {name}(...)")
        p.next()
        result = p.expr()
        errno: str | None = None
        if p.at_kind("word"):
            errno = p.next()[1]
            if not re.fullmatch(r"E[A-Z0-9]+", errno):
                raise self.error(line, f"expected an errno name like ECONNREFUSED after the result, got '{errno}'")
        if p.at_punct("("):
            close = text.rfind(")")
            start = p.toks[p.i][2]
            if close < start or text[close + 1:].strip():
                raise self.error(line, "expected a note '(text)' at the end of the line")
            p.i = len(p.toks)
        if p.i < len(p.toks):
            raise self.error(line, f"expected the end of the line after the result, got '{p.toks[p.i][1]}'")
        if errno is not None and not (isinstance(result, Num) and result.value == -1):
            raise self.error(line, f"expected '-1' before the errno {errno}")
        return Syscall(name, tuple(args), result, errno, end, text)


def _tokens(text: str, parser: _Parser, line: int) -> list[tuple[str, str, int]]:
    toks: list[tuple[str, str, int]] = []
    i = 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        m = _TOKEN_RE.match(text, i)
        if not m or m.end() == i:
            raise parser.error(line, f"expected a system call, got an unexpected character '{text[i]}'")
        kind = m.lastgroup or ""
        toks.append((kind, m.group(kind), m.start(kind)))
        i = m.end()
    return toks


class _ExprParser:
    def __init__(self, toks: list[tuple[str, str, int]], parser: _Parser, line: int, text: str) -> None:
        self.toks = toks
        self.i = 0
        self.parser = parser
        self.line = line
        self.text = text

    def peek(self) -> tuple[str, str, int] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def next(self) -> tuple[str, str, int]:
        t = self.peek()
        if t is None:
            raise self.parser.error(self.line, "expected more of the system call, the line ended")
        self.i += 1
        return t

    def at_punct(self, p: str) -> bool:
        t = self.peek()
        return t is not None and t[0] == "punct" and t[1] == p

    def at_kind(self, kind: str) -> bool:
        t = self.peek()
        return t is not None and t[0] == kind

    def expect(self, kind: str, what: str) -> str:
        t = self.peek()
        if t is None or t[0] != kind:
            raise self.parser.error(self.line, f"expected {what}, got '{t[1] if t else 'end of line'}'")
        self.i += 1
        return t[1]

    def expect_punct(self, p: str) -> None:
        t = self.peek()
        if t is None or t[0] != "punct" or t[1] != p:
            raise self.parser.error(self.line, f"expected '{p}', got '{t[1] if t else 'end of line'}'")
        self.i += 1

    def expr(self) -> Expr:
        items = [self.primary()]
        while self.at_punct("|"):
            self.next()
            items.append(self.primary())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def primary(self) -> Expr:
        kind, val, _ = self.next()
        if kind == "ellipsis":
            return Ellipsis_()
        if kind == "int":
            return Num(int(val))
        if kind == "hex":
            return Num(int(val, 16))
        if kind == "str":
            return Str(bytes(val[1:-1], "utf-8").decode("unicode_escape"))
        if kind == "word":
            if self.at_punct("("):
                self.next()
                args: list[Expr] = []
                if not self.at_punct(")"):
                    args.append(self.expr())
                    while self.at_punct(","):
                        self.next()
                        args.append(self.expr())
                self.expect_punct(")")
                return Call(val, tuple(args))
            return Word(val)
        if kind == "punct" and val == "-":
            k2, v2, _ = self.next()
            if k2 not in ("int", "hex"):
                raise self.parser.error(self.line, f"expected a number after '-', got '{v2}'")
            return Num(-int(v2, 0))
        if kind == "punct" and val == "[":
            items: list[Expr] = []
            if not self.at_punct("]"):
                items.append(self.expr())
                while self.at_punct(","):
                    self.next()
                    items.append(self.expr())
            self.expect_punct("]")
            return ListExpr(tuple(items))
        if kind == "punct" and val == "{":
            fields: list[tuple[str, Expr]] = []
            while not self.at_punct("}"):
                t = self.peek()
                nxt = self.toks[self.i + 1] if self.i + 1 < len(self.toks) else None
                if t is not None and t[0] == "word" and nxt is not None and nxt[:2] == ("punct", "="):
                    self.i += 2
                    fields.append((t[1], self.expr()))
                else:
                    fields.append(("", self.expr()))
                if not self.at_punct("}"):
                    self.expect_punct(",")
            self.expect_punct("}")
            return Struct(tuple(fields))
        raise self.parser.error(self.line, f"expected an argument (a number, a name, '...', [..] or {{..}}), got '{val}'")


def parse_script(text: str, path: str = "<script>") -> Script:
    """Parse ``text``; raise :class:`ScriptError` for the first thing that is not understood."""
    return _Parser(path).parse(text)


def parse_file(path: str | Path) -> Script:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScriptError(str(path), 0, f"expected a readable script file: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ScriptError(str(path), 0, "expected a UTF-8 text file") from None
    return parse_script(text, str(path))
