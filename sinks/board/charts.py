"""Charts as SVG documents drawn by pygal, shown as ``<img>`` so that no script runs.

pygal embeds a small configuration script in every SVG (for optional tooltips); an SVG loaded
as an image never runs scripts, so the pages keep ``script-src 'none'`` and read the same with
JavaScript off. Every chart also has its numbers in text on the page (alt text, tables).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from functools import lru_cache

import pygal
from pygal.style import Style

from sinks.board.model import TrendPoint

COLOURS = {
    "overall": "#1f2937",
    "sales": "#7c3aed",
    "logistics": "#0369a1",
    "support": "#b45309",
    "billing": "#047857",
}
_STYLE = Style(
    background="transparent",
    plot_background="transparent",
    font_family="sans-serif",
    colors=tuple(COLOURS.values()),
)

_SPARK_STYLE = Style(
    background="transparent", plot_background="transparent",
    colors=(COLOURS["overall"], COLOURS["overall"]),
)


def data_uri(svg: str | bytes) -> str:
    raw = svg.encode() if isinstance(svg, str) else svg
    return "data:image/svg+xml;base64," + base64.b64encode(raw).decode()


def sparkline(points: Sequence[TrendPoint]) -> str:
    """A 0-100 sparkline of a daily score series, as a data URI."""
    return _sparkline(tuple(p.value for p in points))


@lru_cache(maxsize=4096)
def _sparkline(values: tuple[float | None, ...]) -> str:
    """pygal takes about 25 ms per chart; most series are the same from one load to the next."""
    chart = pygal.Line(
        style=_SPARK_STYLE, range=(0, 100), width=160, height=36, stroke_style={"width": 3},
        js=[], disable_xml_declaration=True, no_prefix=True, allow_interruptions=True,
    )
    chart.add("overall", list(values), show_dots=False)
    # the latest value as a dot, so that a series of a single day (a new account) shows too
    last: list[float | None] = [None] * len(values)
    if values:
        last[-1] = values[-1]
    chart.add("now", last, show_dots=True, dots_size=3)
    return data_uri(chart.render_sparkline(width=160, height=36))


def trend_chart(series: Mapping[str, Sequence[TrendPoint]], *, title: str) -> str:
    """Daily score per contact point (and overall) on one 0-100 axis, as a data URI."""
    chart = pygal.Line(
        style=Style(background="transparent", plot_background="#ffffff",
                    font_family="sans-serif",
                    colors=tuple(COLOURS[name] for name in series)),
        title=title, range=(0, 100), width=900, height=320, show_dots=True, dots_size=2,
        js=[], disable_xml_declaration=True, x_label_rotation=30, show_minor_x_labels=False,
        legend_at_bottom=True, allow_interruptions=True, truncate_legend=-1,
    )
    days = next(iter(series.values()), ())
    chart.x_labels = [p.day.isoformat() for p in days]
    chart.x_labels_major = chart.x_labels[::7]
    for name, points in series.items():
        chart.add(name, [p.value for p in points])
    return data_uri(chart.render())
