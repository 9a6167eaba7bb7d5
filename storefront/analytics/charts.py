"""Charts as SVG rendered on the server: no JavaScript, no CDN (mainland China), no float money.

Each function takes plain numbers and labels and returns a `Chart`: the SVG markup (safe to put
in a template) or, when there is nothing to draw, `empty=True` and no markup, so the template
shows an empty state instead. The SVG is decoration for sighted users: it carries role="img"
and a title, and the template puts the same figures in a table for screen readers.

Scaling: the largest value spans the plot's full height (or width, for horizontal bars); zero
stays on the base line; negative values (a day with more refunds than sales never reaches here,
but a caller might pass one) are drawn as zero rather than below the axis.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

# The plot area inside the viewBox; the SVG scales to its container's width (mobile first).
WIDTH = 640
HEIGHT = 200
PAD_LEFT = 8
PAD_RIGHT = 8
PAD_TOP = 16
PAD_BOTTOM = 24
# Horizontal bars: two rows per item, the label above its bar, so long Chinese titles never
# squeeze the bar on a phone.
ROW = 28


@dataclass(frozen=True)
class Chart:
    svg: SafeString
    empty: bool


EMPTY = Chart(svg=mark_safe(""), empty=True)


def _num(x: float) -> str:
    """Coordinates with at most two decimals: short markup, stable in tests."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _scale(values: Sequence[int], extent: float) -> list[float]:
    """Each value's length on an axis of EXTENT, the largest value filling it."""
    top = max((max(v, 0) for v in values), default=0)
    if top <= 0:
        return [0.0 for _ in values]
    return [extent * max(v, 0) / top for v in values]


def _open(title: str, width: int, height: int, css: str) -> str:
    return format_html(
        '<svg class="chart {}" viewBox="0 0 {} {}" role="img" aria-label="{}" '
        'xmlns="http://www.w3.org/2000/svg"><title>{}</title>',
        css,
        width,
        height,
        title,
        title,
    )


def _axis_labels(labels: Sequence[str], xs: Sequence[float]) -> str:
    """First, middle and last label under the plot: enough to read dates, never overlapping."""
    if not labels:
        return ""
    picks = sorted({0, len(labels) // 2, len(labels) - 1})
    anchors = {0: "start", len(labels) - 1: "end"}
    y = HEIGHT - 6
    return "".join(
        format_html(
            '<text class="chart-axis" x="{}" y="{}" text-anchor="{}">{}</text>',
            _num(xs[i]),
            y,
            anchors.get(i, "middle") if len(labels) > 1 else "middle",
            labels[i],
        )
        for i in picks
    )


def bar_chart(
    *,
    labels: Sequence[str],
    values: Sequence[int],
    title: str,
    value_text: Callable[[int], str] = str,
) -> Chart:
    """Vertical bars, one per label (e.g. orders per day). All zero or no data: empty."""
    if not values or all(v <= 0 for v in values):
        return EMPTY
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    step = plot_w / len(values)
    gap = min(step * 0.2, 4)
    heights = _scale(values, plot_h)
    base = PAD_TOP + plot_h
    bars = "".join(
        format_html(
            '<rect class="chart-bar" x="{}" y="{}" width="{}" height="{}">'
            "<title>{}: {}</title></rect>",
            _num(PAD_LEFT + i * step + gap / 2),
            _num(base - h),
            _num(step - gap),
            _num(h),
            labels[i],
            value_text(values[i]),
        )
        for i, h in enumerate(heights)
    )
    centres = [PAD_LEFT + i * step + step / 2 for i in range(len(values))]
    axis = format_html(
        '<line class="chart-base" x1="{}" y1="{}" x2="{}" y2="{}"/>',
        PAD_LEFT,
        _num(base),
        WIDTH - PAD_RIGHT,
        _num(base),
    )
    svg = _open(title, WIDTH, HEIGHT, "chart-bars") + bars + axis
    svg += _axis_labels(labels, centres) + "</svg>"
    return Chart(svg=mark_safe(svg), empty=False)  # noqa: S308 (every part escaped above)


def line_chart(
    *,
    labels: Sequence[str],
    values: Sequence[int],
    title: str,
    value_text: Callable[[int], str] = str,
) -> Chart:
    """A line with a shaded area under it (e.g. GMV per day). All zero or no data: empty."""
    if not values or all(v <= 0 for v in values):
        return EMPTY
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    base = PAD_TOP + plot_h
    heights = _scale(values, plot_h)
    if len(values) == 1:
        xs = [PAD_LEFT + plot_w / 2]
    else:
        xs = [PAD_LEFT + plot_w * i / (len(values) - 1) for i in range(len(values))]
    points = [(x, base - h) for x, h in zip(xs, heights, strict=True)]
    line = " ".join(f"{_num(x)},{_num(y)}" for x, y in points)
    area = f"{_num(xs[0])},{_num(base)} {line} {_num(xs[-1])},{_num(base)}"
    dots = "".join(
        format_html(
            '<circle class="chart-dot" cx="{}" cy="{}" r="3"><title>{}: {}</title></circle>',
            _num(x),
            _num(y),
            labels[i],
            value_text(values[i]),
        )
        for i, (x, y) in enumerate(points)
    )
    svg = _open(title, WIDTH, HEIGHT, "chart-line")
    svg += format_html('<polygon class="chart-area" points="{}"/>', area)
    svg += format_html('<polyline class="chart-stroke" fill="none" points="{}"/>', line)
    svg += dots + _axis_labels(labels, xs) + "</svg>"
    return Chart(svg=mark_safe(svg), empty=False)  # noqa: S308 (every part escaped above)


def hbar_chart(
    *,
    labels: Sequence[str],
    values: Sequence[int],
    title: str,
    value_text: Callable[[int], str] = str,
) -> Chart:
    """Horizontal bars, one row per item, label above its bar (top articles, the funnel).

    Rows keep their order (the caller sorts). No rows, or all zero: empty.
    """
    if not values or all(v <= 0 for v in values):
        return EMPTY
    width = WIDTH
    height = ROW * 2 * len(values)
    lengths = _scale(values, width - PAD_LEFT - PAD_RIGHT - 96)  # room for the value text
    rows = []
    for i, length in enumerate(lengths):
        top = i * ROW * 2
        rows.append(
            format_html(
                '<text class="chart-label" x="{}" y="{}">{}</text>'
                '<rect class="chart-bar" x="{}" y="{}" width="{}" height="{}"/>'
                '<text class="chart-value" x="{}" y="{}">{}</text>',
                PAD_LEFT,
                top + ROW - 10,
                labels[i],
                PAD_LEFT,
                top + ROW - 4,
                _num(length),
                ROW - 8,
                _num(PAD_LEFT + length + 6),
                top + ROW * 2 - 16,
                value_text(values[i]),
            )
        )
    svg = _open(title, width, height, "chart-hbars") + "".join(rows) + "</svg>"
    return Chart(svg=mark_safe(svg), empty=False)  # noqa: S308 (every part escaped above)
