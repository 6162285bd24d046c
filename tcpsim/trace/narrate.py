"""Narration: every state change as one plain sentence, in English or Chinese.

``3.021s server 198.51.100.1:80 SYN_RECV → ESTABLISHED: ACK of our SYN-ACK
received: handshake complete (RFC 9293 §3.10.7.4)``

Why: a state timeline shows *that* a connection moved; the sentence says
*why*, with the clause of the RFC to read next. The cause text and the RFC
section come from the STATE record itself (the TCP core writes them where it
decides), so the narration can never drift from what the code did.

Translation (``lang="zh"``) goes through three steps, so it degrades instead
of failing: the exact cause text; then patterns for causes with a variable
part (``RST received in {state}``, ``keepalive: {n} probes unanswered``);
then, for a cause nobody translated yet, the meaning of the transition
itself (from the same table as the state diagram) followed by the English
cause in brackets. State names and RFC numbers stay as they are: they are
what the student will look up.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from tcpsim.trace.records import APP, STATE, Trace

__all__ = ["LANGS", "narrate", "narrate_call", "narrate_record", "translate_cause", "format_time", "live", "watching"]

# errno names as a socket call reports them (strerror), in Chinese; English in tcpsim.net.socket.ERRNO_TEXT.
_ZH_ERRNO: dict[str, str] = {
    "ECONNREFUSED": "连接被拒绝",
    "ETIMEDOUT": "连接超时",
    "ECONNRESET": "连接被对端重置",
    "EPIPE": "管道破裂（对端已关闭，写入失败）",
    "EHOSTUNREACH": "主机不可达",
    "ENETUNREACH": "网络不可达",
    "EADDRINUSE": "地址已被占用",
    "EADDRNOTAVAIL": "无法分配请求的地址",
    "EINPROGRESS": "操作正在进行（非阻塞 connect）",
    "EAGAIN": "资源暂时不可用（非阻塞调用会阻塞）",
    "ENOTCONN": "传输端点未连接",
    "EISCONN": "传输端点已连接",
    "EBADF": "错误的文件描述符",
    "EINVAL": "无效参数",
    "ECONNABORTED": "软件导致连接中止",
    "EALREADY": "操作已在进行",
    "ENOPROTOOPT": "协议不可用",
    "EHOSTDOWN": "主机已关闭",
    "EOPNOTSUPP": "不支持的操作",
}

LANGS = ("en", "zh")

# Exact cause texts written by tcpsim/tcp and tcpsim/net. A cause missing here still
# narrates (see translate_cause); tests/viz lists the literal causes in the core that
# have no entry, as a reminder, without failing.
_ZH_EXACT: dict[str, str] = {
    "listen(): passive open": "listen()：被动打开，开始监听",
    "connect(): active open, SYN sent": "connect()：主动打开，已发送 SYN",
    "SYN received on a listening socket": "监听套接字收到 SYN",
    "ACK carries a valid SYN cookie: request rebuilt from it": "ACK 携带有效的 SYN cookie：据此重建连接请求",
    "close() in SYN_SENT: TCB deleted, nothing sent": "在 SYN_SENT 状态调用 close()：删除 TCB，不发送任何报文",
    "shutdown(SHUT_WR) in SYN_SENT: TCB deleted": "在 SYN_SENT 状态调用 shutdown(SHUT_WR)：删除 TCB",
    "close(): FIN queued after any pending data": "close()：FIN 排在待发数据之后",
    "shutdown(SHUT_WR): FIN queued after any pending data": "shutdown(SHUT_WR)：FIN 排在待发数据之后",
    "close() after the peer's FIN: FIN queued": "对端已发 FIN 后调用 close()：FIN 已排队",
    "shutdown(SHUT_WR) after the peer's FIN: FIN queued": "对端已发 FIN 后调用 shutdown(SHUT_WR)：FIN 已排队",
    "abort(): SO_LINGER 0 or ABORT call": "abort()：SO_LINGER 为 0 或调用 ABORT",
    "close() with SO_LINGER {on, 0}: abortive close": "SO_LINGER {on, 0} 时调用 close()：异常关闭（发送 RST）",
    "listener closed: half-open request dropped": "监听套接字已关闭：丢弃半开连接请求",
    "listener closed before accept(): RST": "accept() 之前监听套接字已关闭：发送 RST",
    "accept queue full and tcp_abort_on_overflow=1": "全连接队列已满且 tcp_abort_on_overflow=1",
    "TIME_WAIT timer (2MSL) expired": "TIME_WAIT 定时器（2MSL）到期",
    "FIN_WAIT_2 timeout of an orphaned socket (tcp_fin_timeout)": "孤儿套接字的 FIN_WAIT_2 超时（tcp_fin_timeout）",
    "SYN-ACK retransmissions exhausted (tcp_synack_retries): request dropped":
        "SYN-ACK 重传次数用尽（tcp_synack_retries）：丢弃连接请求",
    "SYN retransmissions exhausted: connect() fails": "SYN 重传次数用尽：connect() 失败",
    "retransmission timeout: too many retransmissions": "重传超时：重传次数过多",
    "RST acknowledging our SYN: connection refused": "收到确认我方 SYN 的 RST：连接被拒绝",
    "SYN-ACK received acknowledging our SYN": "收到确认我方 SYN 的 SYN-ACK",
    "SYN received in SYN_SENT: simultaneous open": "在 SYN_SENT 状态收到 SYN：同时打开",
    "RST in SYN_RCVD (passive open): back to LISTEN, request discarded": "被动打开的 SYN_RCVD 收到 RST：回到 LISTEN，丢弃请求",
    "RST received: connection reset by peer": "收到 RST：连接被对端重置",
    "SYN in SYN_RCVD (passive open): back to LISTEN": "被动打开的 SYN_RCVD 收到 SYN：回到 LISTEN",
    "ACK of our SYN-ACK received: handshake complete": "收到对我方 SYN-ACK 的确认：三次握手完成",
    "data arrived after close(): RST": "close() 之后又收到数据：发送 RST",
    "FIN received: the peer has finished sending": "收到 FIN：对端已发送完毕",
    "FIN received while our FIN is unacknowledged: simultaneous close": "我方 FIN 尚未被确认时收到 FIN：同时关闭",
    "FIN received in FIN_WAIT_2": "在 FIN_WAIT_2 状态收到 FIN",
    "close() with unread received data: RST instead of FIN": "接收缓冲区仍有未读数据时调用 close()：发送 RST 而不是 FIN",
    "new SYN for this 4-tuple in TIME_WAIT: old connection retired": "TIME_WAIT 状态下同一四元组收到新的 SYN：旧连接退役",
    "RST in SYN_RCVD (active open): connection refused": "主动打开的 SYN_RCVD 收到 RST：连接被拒绝",
    "ACK of our FIN received": "收到对我方 FIN 的确认",
    "ACK of our FIN received in CLOSING": "在 CLOSING 状态收到对我方 FIN 的确认",
    "ACK of our FIN received in LAST_ACK": "在 LAST_ACK 状态收到对我方 FIN 的确认",
    "close() of the listening socket": "关闭监听套接字",
    "TIME_WAIT 4-tuple reused by connect() (tcp_tw_reuse)": "connect() 复用了处于 TIME_WAIT 的四元组（tcp_tw_reuse）",
    "host crashed: TCB lost": "主机崩溃：TCB 丢失",
    "host crashed: listener lost": "主机崩溃：监听套接字丢失",
}

_ZH_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^ICMP error (\S+) while connecting$"), "连接过程中收到 ICMP 差错 {0}"),
    (re.compile(r"^keepalive: (\d+) probes unanswered$"), "保活：{0} 个探测报文无应答"),
    (re.compile(r"^RST received in (\S+)$"), "在 {0} 状态收到 RST"),
    (re.compile(r"^(.+): FIN queued after any pending data$"), "{0}：FIN 排在待发数据之后"),
    (re.compile(r"^(.+) after the peer's FIN: FIN queued$"), "对端已发 FIN 后调用 {0}：FIN 已排队"),
]

# The meaning of each edge of the transition table, for causes without a translation.
_ZH_EDGES: dict[tuple[str, str], str] = {
    ("CLOSED", "LISTEN"): "被动打开（listen）",
    ("CLOSED", "SYN_SENT"): "主动打开（connect），发送 SYN",
    ("LISTEN", "SYN_RECV"): "收到 SYN，发送 SYN,ACK",
    ("LISTEN", "CLOSED"): "关闭监听套接字",
    ("SYN_SENT", "SYN_RECV"): "收到 SYN（同时打开），发送 SYN,ACK",
    ("SYN_SENT", "ESTABLISHED"): "收到 SYN,ACK，发送 ACK",
    ("SYN_SENT", "CLOSED"): "关闭、收到 RST、ICMP 差错或 SYN 超时",
    ("SYN_RECV", "ESTABLISHED"): "收到对 SYN 的 ACK",
    ("SYN_RECV", "LISTEN"): "收到 RST（被动打开）",
    ("SYN_RECV", "FIN_WAIT1"): "关闭，发送 FIN",
    ("SYN_RECV", "CLOSED"): "RST、SYN,ACK 超时或中止",
    ("ESTABLISHED", "FIN_WAIT1"): "关闭，发送 FIN",
    ("ESTABLISHED", "CLOSE_WAIT"): "收到 FIN，发送 ACK",
    ("ESTABLISHED", "CLOSED"): "RST、中止或重传超时",
    ("FIN_WAIT1", "FIN_WAIT2"): "收到对 FIN 的 ACK",
    ("FIN_WAIT1", "CLOSING"): "收到 FIN，发送 ACK",
    ("FIN_WAIT1", "CLOSED"): "RST、中止或重传超时",
    ("FIN_WAIT2", "TIME_WAIT"): "收到 FIN，发送 ACK",
    ("FIN_WAIT2", "CLOSED"): "FIN_WAIT_2 超时、RST 或中止",
    ("CLOSE_WAIT", "LAST_ACK"): "关闭，发送 FIN",
    ("CLOSE_WAIT", "CLOSED"): "RST、中止或重传超时",
    ("CLOSING", "TIME_WAIT"): "收到对 FIN 的 ACK",
    ("CLOSING", "CLOSED"): "RST、中止或重传超时",
    ("LAST_ACK", "CLOSED"): "收到对 FIN 的 ACK、RST 或重传超时",
    ("TIME_WAIT", "CLOSED"): "2MSL 超时、RST 或 SYN 复用",
}


def translate_cause(cause: str, old: str, new: str, lang: str) -> str:
    """``cause`` in ``lang``; untranslated causes fall back to the edge's meaning plus the English text."""
    if lang == "en":
        return cause
    exact = _ZH_EXACT.get(cause)
    if exact is not None:
        return exact
    for pattern, template in _ZH_PATTERNS:
        m = pattern.match(cause)
        if m:
            parts = [_ZH_EXACT.get(g, g) for g in m.groups()]
            return template.format(*parts)
    edge = _ZH_EDGES.get((old, new))
    if edge is not None:
        return f"{edge}（{cause}）" if cause else edge
    return cause


def format_time(t: float) -> str:
    """Seconds with up to six decimals, at least three: ``3.021s``, ``0.045826s``."""
    text = f"{t:.6f}".rstrip("0")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(3, '0')}s"


def narrate_record(r: tuple[Any, ...], lang: str = "en") -> str:
    """One STATE record as a sentence."""
    t, _, node, conn, old, new, cause, rfc = r
    local, _, remote = conn.partition(">")
    who = f"{node} {local}" + (" (listening)" if remote == "0.0.0.0:*" and lang == "en" else
                                "（监听）" if remote == "0.0.0.0:*" else "")
    why = translate_cause(cause, old, new, lang)
    text = f"{format_time(t)} {who} {old} \u2192 {new}"
    if why:
        text += (": " if lang == "en" else "：") + why
    if rfc:
        text += f" ({rfc})" if lang == "en" else f"（{rfc}）"
    return text


def narrate_call(r: tuple[Any, ...], lang: str = "en") -> str:
    """One scripted call (APP record ``what="step"``): ``5.000s client c: recv(s, 100) → ECONNRESET (...)``."""
    from tcpsim.net.socket import ERRNO_TEXT

    t, _, node, app, _, d = r
    text = f"{format_time(t)} {node} {app}: {d.get('text', d.get('call', '?'))} \u2192 "
    errno = d.get("errno")
    if d.get("interrupted"):
        text += "killed while blocked" if lang == "en" else "阻塞中被终止"
    elif errno is not None:
        meaning = ERRNO_TEXT.get(errno, errno) if lang == "en" else _ZH_ERRNO.get(errno, errno)
        text += f"{errno} ({meaning})" if lang == "en" else f"{errno}（{meaning}）"
    else:
        text += str(d.get("result"))
    if d.get("ok") is False:
        text += f"  [expected {d.get('expect')}]" if lang == "en" else f"  [预期 {d.get('expect')}]"
    return text


def narrate(records: Iterable[tuple[Any, ...]], lang: str = "en") -> Iterator[str]:
    """Every state change and every scripted socket call of a trace, in order."""
    for r in records:
        if r[1] == STATE:
            yield narrate_record(r, lang)
        elif r[1] == APP and r[4] == "step":
            yield narrate_call(r, lang)


def live(echo: Callable[[str], None], lang: str = "en") -> Callable[[tuple[Any, ...]], None]:
    """A ``Trace.state_hooks`` callback that prints each state change as it happens."""
    def hook(r: tuple[Any, ...]) -> None:
        echo(narrate_record(r, lang))
    return hook


@contextmanager
def watching(hook: Callable[[tuple[Any, ...]], None]) -> Iterator[None]:
    """Every Trace created inside the block calls ``hook`` on each state change."""
    Trace.default_state_hooks.append(hook)
    try:
        yield
    finally:
        Trace.default_state_hooks.remove(hook)
