"""Figures of a sweep's table: each metric against a parameter, mean and 95% CI over replications.

One line per value of a second parameter (the *group*), one panel per
combination of the remaining swept parameters; with two parameters or more,
also a heatmap of the mean over (x, group). Colours are the gallery's (Paul
Tol's muted palette, see tcpsim/viz/style.py), every line also has its own
marker, and every heatmap cell carries its number, so colour is never the
only cue. Only runs whose status is ``done`` and whose metric is a number
count; the caption says how many runs each point averages.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tcpsim.sweep.stats import mean_ci
from tcpsim.viz.style import STATE_COLORS, new_figure, text_color_on

__all__ = ["PlotError", "choose_axes", "plot_sweep", "sweep_figure"]

# The muted palette of the state colours, in an order where neighbours contrast.
LINE_COLORS = [STATE_COLORS[s] for s in ("TIME_WAIT", "CLOSE_WAIT", "ESTABLISHED", "SYN_SENT", "FIN_WAIT1",
                                         "LAST_ACK", "FIN_WAIT2", "SYN_RECV", "CLOSING")]
LINE_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "<", ">"]
MAX_PANELS = 12


class PlotError(ValueError):
    """A choice of --x/--group/--metric/--where that the table cannot honour, worded for the user."""


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _varying(params: Sequence[dict[str, Any]]) -> list[str]:
    return [p["column"] for p in params if len(p["values"]) > 1]


def choose_axes(manifest: dict[str, Any], x: str | None, group: str | None,
                where: dict[str, Any]) -> tuple[str, str | None, list[str]]:
    """(x, group, facets): defaults are the swept parameters in file order."""
    params = manifest["parameters"]
    names = [p["column"] for p in params]
    for opt, v in (("--x", x), ("--group", group), *(("--where", k) for k in where)):
        if v is not None and v not in names:
            raise PlotError(f"{opt} {v}: not a parameter of this sweep (parameters: {', '.join(names) or 'none'})")
    free = [c for c in _varying(params) if c not in where]
    if x is None:
        if not free:
            raise PlotError("nothing to plot against: no parameter of this sweep takes more than one value")
        x = free[0]
    if group is None:
        rest = [c for c in free if c != x]
        group = rest[0] if rest else None
    if group == x:
        raise PlotError(f"--group {group}: the same parameter as --x")
    facets = [c for c in free if c not in (x, group)]
    return x, group, facets


def _ordered(values: Sequence[Any], declared: Sequence[Any]) -> list[Any]:
    seen = [v for v in declared if v in set(values)]
    return seen + sorted((v for v in set(values) if v not in seen), key=str)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _log_scale(xs: Sequence[Any]) -> bool:
    """Geometric spacing (16, 32, 64, ...): a log axis shows it evenly."""
    if len(xs) < 3 or not all(_num(v) and v > 0 for v in xs):
        return False
    s = sorted(float(v) for v in xs)
    if s[-1] / s[0] < 10:
        return False
    steps = [math.log(b / a) for a, b in zip(s, s[1:], strict=False)]
    mean = sum(steps) / len(steps)
    return max(abs(d - mean) for d in steps) < 0.35 * mean


def plot_sweep(out_dir: Path, manifest: dict[str, Any], rows: Sequence[dict[str, Any]], *, x: str | None = None,
               group: str | None = None, metrics: Sequence[str] | None = None, where: dict[str, Any] | None = None,
               formats: Sequence[str] = ("png", "svg"), prefix: str = "plot-", heatmap: bool = True,
               xscale: str = "auto") -> list[Path]:
    """Draw the figures; returns the files written."""
    view = _View(manifest, rows, x, group, metrics, where)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for metric in view.chosen:
        if not view.numeric(metric):
            continue
        paths += _save(view.lines(metric, xscale), out_dir / f"{prefix}{metric}", formats)
        if heatmap and view.group is not None:
            paths += _save(view.heatmap(metric), out_dir / f"{prefix}{metric}-heatmap", formats)
    if not paths:
        raise PlotError("no numeric value to plot in " + ", ".join(view.chosen))
    return paths


def sweep_figure(manifest: dict[str, Any], rows: Sequence[dict[str, Any]], metric: str, *, x: str | None = None,
                 group: str | None = None, where: dict[str, Any] | None = None, heatmap: bool = False,
                 xscale: str = "auto") -> Any:
    """One figure of ``plot_sweep`` as a matplotlib Figure (the Python API's ``Sweep.plot``)."""
    view = _View(manifest, rows, x, group, [metric], where)
    if not view.numeric(metric):
        raise PlotError(f"no numeric value to plot in {metric}")
    if heatmap:
        if view.group is None:
            raise PlotError("a heatmap needs a second parameter (group)")
        return view.heatmap(metric)
    return view.lines(metric, xscale)


class _View:
    """The runs to draw and how: axes, facets and panels, checked once for every figure."""

    def __init__(self, manifest: dict[str, Any], rows: Sequence[dict[str, Any]], x: str | None, group: str | None,
                 metrics: Sequence[str] | None, where: dict[str, Any] | None) -> None:
        self.where = dict(where or {})
        self.x, self.group, self.facets = choose_axes(manifest, x, group, self.where)
        self.declared = {p["column"]: p["values"] for p in manifest["parameters"]}
        known = [m["name"] for m in manifest["metrics"]]
        self.labels = {m["name"]: m.get("label") or m["name"] for m in manifest["metrics"]}
        for m in metrics or []:
            if m not in known:
                raise PlotError(f"--metric {m}: not a metric of this sweep (metrics: {', '.join(known)})")
        self.chosen = list(metrics) if metrics else known
        where_ = self.where

        def keep(r: dict[str, Any]) -> bool:
            return r.get("status") == "done" and all(_same(r.get(k), v) for k, v in where_.items())

        self.done = [r for r in rows if keep(r)]
        if not self.done:
            raise PlotError("no finished run matches" + (" --where" if where_ else "") + "; nothing to plot")
        self.panels = list(itertools.product(*(_ordered([r[f] for r in self.done], self.declared[f])
                                               for f in self.facets)))
        if len(self.panels) > MAX_PANELS:
            raise PlotError(f"{len(self.panels)} panels (one per value of {', '.join(self.facets)}) is too many; "
                            "fix some with --where NAME=VALUE or choose --x and --group")
        self.title = manifest.get("sweep", "sweep")

    def numeric(self, metric: str) -> bool:
        return any(_num(_value(r.get(metric))) for r in self.done)

    def lines(self, metric: str, xscale: str) -> Any:
        return _lines(self.done, self.declared, metric, self.labels[metric], self.x, self.group, self.facets,
                      self.panels, self.title, self.where, xscale)

    def heatmap(self, metric: str) -> Any:
        assert self.group is not None
        return _heatmap(self.done, self.declared, metric, self.labels[metric], self.x, self.group, self.facets,
                        self.panels, self.title, self.where)


def _same(a: Any, b: Any) -> bool:
    if _num(a) and _num(b):
        return float(a) == float(b)
    return _fmt(a) == _fmt(b)


def _value(v: Any) -> Any:
    return int(v) if isinstance(v, bool) else v


def _save(fig: Any, stem: Path, formats: Sequence[str]) -> list[Path]:
    out = []
    for f in formats:
        path = stem.with_name(f"{stem.name}.{f}")
        # No software version or date inside: the same table gives byte-identical files.
        meta: dict[str, Any] = {"Software": None} if f == "png" else {"Date": None} if f == "svg" else {}
        fig.savefig(path, metadata=meta)
        out.append(path)
    return out


def _cells(rows: Sequence[dict[str, Any]], metric: str, keys: dict[str, Any]) -> list[float]:
    return [float(_value(r[metric])) for r in rows
            if _num(_value(r.get(metric))) and all(_same(r.get(k), v) for k, v in keys.items())]


def _panel_title(facets: Sequence[str], values: Sequence[Any]) -> str:
    return ", ".join(f"{f} = {_fmt(v)}" for f, v in zip(facets, values, strict=True))


def _lines(rows: Sequence[dict[str, Any]], declared: dict[str, list[Any]], metric: str, label: str, x: str,
           group: str | None, facets: list[str], panels: list[tuple[Any, ...]], title: str,
           where: dict[str, Any], xscale: str) -> Any:
    n = len(panels)
    fig = new_figure(1.2 + 4.6 * n, 4.2)
    axes = fig.subplots(1, n, sharey=True, squeeze=False)[0]
    xs_all = _ordered([r[x] for r in rows], declared[x])
    numeric = all(_num(v) for v in xs_all)
    groups = _ordered([r[group] for r in rows], declared[group]) if group else [None]
    counts: set[int] = set()
    for ax, pv in zip(axes, panels, strict=True):
        fixed = dict(zip(facets, pv, strict=True))
        for gi, g in enumerate(groups):
            pts = []
            for xi, xv in enumerate(xs_all):
                keys = {**fixed, x: xv, **({group: g} if group else {})}
                vals = _cells(rows, metric, keys)
                if not vals:
                    continue
                m, h, k = mean_ci(vals)
                counts.add(k)
                pts.append((float(xv) if numeric else float(xi), m, h))
            if not pts:
                continue
            color = LINE_COLORS[gi % len(LINE_COLORS)]
            px = [p[0] for p in pts]
            pm = [p[1] for p in pts]
            lo = [p[1] - p[2] for p in pts]
            hi = [p[1] + p[2] for p in pts]
            ax.fill_between(px, lo, hi, color=color, alpha=0.18, linewidth=0)
            ax.errorbar(px, pm, yerr=[p[2] for p in pts], color=color, marker=LINE_MARKERS[gi % len(LINE_MARKERS)],
                        markersize=5, linewidth=1.6, capsize=3, elinewidth=1,
                        label=f"{_fmt(g)}" if group else None)
        if numeric and (xscale == "log" or (xscale == "auto" and _log_scale(xs_all))):
            ax.set_xscale("log")
            ax.set_xticks([float(v) for v in xs_all])
            ax.set_xticklabels([_fmt(v) for v in xs_all])
            ax.minorticks_off()
        elif not numeric:
            ax.set_xticks(range(len(xs_all)))
            ax.set_xticklabels([_fmt(v) for v in xs_all], rotation=20 if len(xs_all) > 5 else 0)
        ax.set_xlabel(x)
        ax.grid(True, color="#DDDDDD", linewidth=0.6)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        if facets:
            ax.set_title(_panel_title(facets, pv), fontsize=10)
    axes[0].set_ylabel(label)
    if group:
        axes[-1].legend(title=group, fontsize=9, title_fontsize=9, frameon=False, loc="best")
    fixed_text = "; ".join(f"{k} = {_fmt(v)}" for k, v in where.items())
    n_text = (f"{min(counts)}" if len(counts) == 1 else f"{min(counts)}-{max(counts)}") if counts else "0"
    fig.suptitle(f"{title}: {label}" + (f" ({fixed_text})" if fixed_text else ""), fontsize=12)
    caption = ("one run per point (no replications)" if n_text == "1" else
               f"mean of {n_text} runs per point; bars and band: 95% confidence interval (Student t)")
    fig.text(0.01, 0.01, caption, fontsize=8, color="#555555")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def _heatmap(rows: Sequence[dict[str, Any]], declared: dict[str, list[Any]], metric: str, label: str, x: str,
             group: str, facets: list[str], panels: list[tuple[Any, ...]], title: str, where: dict[str, Any]) -> Any:
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    xs = _ordered([r[x] for r in rows], declared[x])
    gs = _ordered([r[group] for r in rows], declared[group])
    grids = []
    for pv in panels:
        fixed = dict(zip(facets, pv, strict=True))
        grid = []
        for g in gs:
            line = []
            for xv in xs:
                vals = _cells(rows, metric, {**fixed, x: xv, group: g})
                line.append(mean_ci(vals)[0] if vals else math.nan)
            grid.append(line)
        grids.append(grid)
    flat = [v for grid in grids for line in grid for v in line if not math.isnan(v)]
    lo, hi = (min(flat), max(flat)) if flat else (0.0, 1.0)
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    norm = Normalize(lo, hi)
    cmap = colormaps["viridis"]
    n = len(panels)
    fig = new_figure(1.6 + max(3.0, 0.75 * len(xs) + 1.2) * n, 1.4 + max(2.2, 0.5 * len(gs) + 1.0))
    fig.set_layout_engine("constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    image = None
    for ax, pv, grid in zip(axes, panels, grids, strict=True):
        image = ax.imshow(grid, cmap=cmap, norm=norm, aspect="auto", origin="lower")
        for gi, line in enumerate(grid):
            for xi, v in enumerate(line):
                if math.isnan(v):
                    ax.text(xi, gi, "-", ha="center", va="center", fontsize=8, color="#777777")
                    continue
                rgba = cmap(norm(v))
                hexc = "#{:02x}{:02x}{:02x}".format(*(int(255 * c) for c in rgba[:3]))
                ax.text(xi, gi, f"{v:.3g}", ha="center", va="center", fontsize=8, color=text_color_on(hexc))
        ax.set_xticks(range(len(xs)))
        ax.set_xticklabels([_fmt(v) for v in xs], rotation=30 if len(xs) > 6 else 0)
        ax.set_yticks(range(len(gs)))
        ax.set_yticklabels([_fmt(v) for v in gs])
        ax.set_xlabel(x)
        ax.set_ylabel(group)
        if facets:
            ax.set_title(_panel_title(facets, pv), fontsize=10)
    if image is not None:
        fig.colorbar(image, ax=list(axes), label=f"{label} (mean)", shrink=0.9)
    fixed_text = "; ".join(f"{k} = {_fmt(v)}" for k, v in where.items())
    fig.suptitle(f"{title}: mean {label}" + (f" ({fixed_text})" if fixed_text else ""), fontsize=12)
    return fig
