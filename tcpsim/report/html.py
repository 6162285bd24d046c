"""report.html: one self-contained page that tells the story of a run.

Why one file with everything inlined: a student mails it, opens it on a
train, attaches it to homework. So figures are inline SVG (crisp at any
zoom, text searchable, and no external file to lose), the style sheet is in
the page, and nothing is fetched from anywhere. The order follows how one
reads a run: what the scenario is about and what to learn from it; whether
its expectations held; the pictures; ``netstat`` at the moments that matter;
and the narration, one sentence per state change.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tcpsim.trace.analysis import hosts_in
from tcpsim.trace.narrate import narrate
from tcpsim.trace.netstat import Endpoint, endpoints, format_summary, format_table, snapshot

if TYPE_CHECKING:
    from tcpsim.viz.views import RunInfo

__all__ = ["write_report", "report_html", "key_moments"]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1180px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
.lesson{white-space:pre-wrap;background:#f6f8fa;border-left:4px solid #117733;padding:.8em 1em}
pre{background:#f6f8fa;padding:.7em;overflow-x:auto;font-size:13px}
figure{margin:1.5em 0}figure svg{max-width:100%;height:auto}figcaption{color:#555;font-size:14px}
table.expect{border-collapse:collapse}table.expect td,table.expect th{border:1px solid #ddd;padding:.3em .6em}
.pass{color:#117733;font-weight:bold}.fail{color:#B2182B;font-weight:bold}
.meta{color:#555}
"""


def key_moments(eps: Sequence[Endpoint], end: float | None = None) -> list[tuple[float, str]]:
    """Instants worth a netstat snapshot: first connection up, first close begun, TIME_WAIT, busiest, end."""
    firsts: dict[str, float] = {}
    changes: list[float] = []
    for ep in eps:
        for s in ep.spans:
            firsts[s.state] = min(firsts.get(s.state, s.start), s.start)
            changes.append(s.start)
        if ep.ended is not None:
            changes.append(ep.ended)
    out: list[tuple[float, str]] = []
    for state, why in (("ESTABLISHED", "first connection established"),
                       ("FIN_WAIT1", "first close begun"),
                       ("TIME_WAIT", "first TIME_WAIT")):
        if state in firsts:
            out.append((firsts[state], why))
    if changes:
        busiest = max(sorted(set(changes)), key=lambda t: sum(1 for ep in eps if ep.state_at(t) is not None))
        if all(abs(busiest - t) > 1e-9 for t, _ in out):
            out.append((busiest, "most sockets open"))
        last = end if end is not None else max(changes)
        out.append((last, "end of the run"))
    out.sort()
    return out


def _expectations(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Expectation results from summary.json, whatever their exact shape (list or mapping)."""
    raw = summary.get("expectations", summary.get("expect"))
    if isinstance(raw, dict):
        raw = raw.get("results", [{"name": k, **(v if isinstance(v, dict) else {"passed": v})} for k, v in raw.items()])
    if not isinstance(raw, list):
        return []
    return [e for e in raw if isinstance(e, dict)]


def _svg_body(svg: str) -> str:
    """The <svg> element alone (no XML prolog or DOCTYPE), ready to inline."""
    i = svg.find("<svg")
    return svg[i:] if i >= 0 else svg


def report_html(records: Sequence[tuple[Any, ...]], info: RunInfo, svgs: dict[str, str], *,
                lang: str = "en") -> str:
    """The whole page."""
    from tcpsim.viz.views import CAPTIONS

    esc = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="%s"><head><meta charset="utf-8">' % ("zh" if lang == "zh" else "en"),
             f"<title>tcpsim: {esc(info.name)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{esc(info.name)}</h1>"]
    if info.description:
        parts.append(f"<p>{esc(info.description)}</p>")
    s = info.summary
    meta = []
    if "seed" in s:
        meta.append(f"seed {s['seed']}")
    if info.end_time is not None or "end_time" in s:
        meta.append(f"simulated {info.end_time if info.end_time is not None else s['end_time']:g} s")
    if "trace_level" in s:
        meta.append(f"trace level {s['trace_level']}")
    if meta:
        parts.append(f'<p class="meta">{esc(", ".join(meta))}</p>')
    if info.lesson:
        parts.append(f'<h2>Lesson</h2><div class="lesson">{esc(info.lesson.strip())}</div>')

    exps = _expectations(s)
    if exps:
        parts.append('<h2>Expectations</h2><table class="expect"><tr><th>expectation</th><th>result</th>'
                     "<th>observed</th></tr>")
        for e in exps:
            ok = e.get("passed", e.get("ok", e.get("pass")))
            name = e.get("name") or e.get("text") or e.get("expect") or e.get("path") or "?"
            detail = e.get("observed", e.get("detail") or e.get("message") or e.get("actual") or "")
            verdict = '<span class="pass">pass</span>' if ok else '<span class="fail">FAIL</span>'
            parts.append(f"<tr><td>{esc(str(name))}</td><td>{verdict}</td><td>{esc(str(detail))}</td></tr>")
        parts.append("</table>")

    if svgs:
        parts.append("<h2>Figures</h2>")
        for name, svg in svgs.items():
            parts.append(f'<figure id="fig-{esc(name)}">{_svg_body(svg)}'
                         f"<figcaption>{esc(CAPTIONS.get(name, name))}</figcaption></figure>")

    eps = endpoints(records)
    if eps:
        parts.append("<h2>netstat -nat at key moments</h2>")
        for t, why in key_moments(eps, info.end_time):
            rows = snapshot(records, t, eps=eps)
            hosts = sorted({r.node for r in rows})
            parts.append(f"<h3>t = {t:.6g} s: {esc(why)}</h3>")
            for host in hosts:
                hr = [r for r in rows if r.node == host]
                text = "\n".join([f"{host}$ netstat -nat"] + format_table(hr, title=False) + ["",
                                 f"{host}$ netstat -nat | awk '{{print $6}}' | sort | uniq -c"] + format_summary(hr))
                parts.append(f"<pre>{esc(text)}</pre>")
            if not hosts:
                parts.append("<p>(no sockets)</p>")

    lines = list(narrate(records, lang))
    if lines:
        title = "Narration" if lang != "zh" else "叙述（每次状态变化）"
        parts.append(f"<h2>{title}</h2><pre>{esc(chr(10).join(lines))}</pre>")

    pcaps = hosts_in(records, routers=False)
    if pcaps:
        parts.append("<h2>Captures</h2><p>Open these with Wireshark or <code>tcpdump -r</code> "
                     "(next to this file): " + ", ".join(
                         f'<a href="{esc(n)}.pcap">{esc(n)}.pcap</a>' for n in pcaps) + "</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_report(records: Sequence[tuple[Any, ...]], path: Path, info: RunInfo, svgs: dict[str, str], *,
                 lang: str = "en") -> Path:
    path.write_text(report_html(records, info, svgs, lang=lang), encoding="utf-8")
    return path
