"""The dashboard's server-rendered SVG charts: scaled right, escaped, empty data → empty state."""

from __future__ import annotations

import re
from xml.etree import ElementTree

from storefront.analytics.charts import (
    HEIGHT,
    PAD_BOTTOM,
    PAD_TOP,
    bar_chart,
    hbar_chart,
    line_chart,
)

SVG = "{http://www.w3.org/2000/svg}"
PLOT_H = HEIGHT - PAD_TOP - PAD_BOTTOM
BASE = PAD_TOP + PLOT_H


def parse(chart) -> ElementTree.Element:
    """The chart as XML: it must be well-formed to be drawn at all."""
    return ElementTree.fromstring(str(chart.svg))


def test_bars_are_proportional_to_their_values_the_largest_filling_the_plot():
    chart = bar_chart(labels=["a", "b", "c", "d"], values=[10, 5, 0, 20], title="Orders")
    rects = parse(chart).findall(f"{SVG}rect")
    heights = [float(r.get("height")) for r in rects]
    assert heights == [PLOT_H / 2, PLOT_H / 4, 0, PLOT_H]
    # Every bar stands on the base line.
    for rect, h in zip(rects, heights, strict=True):
        assert float(rect.get("y")) + h == BASE
    # Bars are laid out left to right in the order given, without overlapping.
    xs = [float(r.get("x")) for r in rects]
    widths = [float(r.get("width")) for r in rects]
    assert xs == sorted(xs)
    assert all(x + w <= nxt for x, w, nxt in zip(xs, widths, xs[1:], strict=False))


def test_bar_tooltips_and_title_say_the_figures():
    chart = bar_chart(
        labels=["12-01", "12-02"], values=[3, 7], title="每日订单", value_text=lambda n: f"{n} 单"
    )
    root = parse(chart)
    assert root.get("role") == "img"
    assert root.get("aria-label") == "每日订单"
    assert root.find(f"{SVG}title").text == "每日订单"
    tips = [t.text for t in root.iter(f"{SVG}title")][1:]
    assert tips == ["12-01: 3 单", "12-02: 7 单"]


def test_line_points_scale_to_the_plot_and_span_its_width():
    chart = line_chart(labels=["1", "2", "3"], values=[0, 50, 100], title="GMV")
    root = parse(chart)
    points = [
        tuple(float(n) for n in p.split(","))
        for p in root.find(f"{SVG}polyline").get("points").split()
    ]
    ys = [y for _x, y in points]
    assert ys == [BASE, BASE - PLOT_H / 2, PAD_TOP]
    xs = [x for x, _y in points]
    assert xs[0] < xs[1] < xs[2]
    assert xs[1] - xs[0] == xs[2] - xs[1]  # evenly spaced days
    assert len(root.findall(f"{SVG}circle")) == 3


def test_line_of_one_day_is_drawn_in_the_middle():
    root = parse(line_chart(labels=["12-01"], values=[8800], title="GMV"))
    (point,) = root.find(f"{SVG}polyline").get("points").split()
    assert float(point.split(",")[1]) == PAD_TOP


def test_horizontal_bars_keep_the_callers_order_and_scale_by_the_largest():
    chart = hbar_chart(labels=["读", "点", "买"], values=[200, 50, 100], title="漏斗")
    root = parse(chart)
    widths = [float(r.get("width")) for r in root.findall(f"{SVG}rect")]
    assert widths[0] == max(widths)
    assert widths[1] == widths[0] / 4
    assert widths[2] == widths[0] / 2
    labels = [t.text for t in root.findall(f"{SVG}text") if t.get("class") == "chart-label"]
    assert labels == ["读", "点", "买"]


def test_money_values_are_shown_with_the_callers_formatter():
    from core.money import yuan

    chart = hbar_chart(labels=["碗"], values=[12345], title="GMV", value_text=yuan)
    values = [t.text for t in parse(chart).findall(f"{SVG}text") if t.get("class") == "chart-value"]
    assert values == ["¥123.45"]


def test_empty_or_all_zero_data_gives_an_empty_state_not_a_crash():
    for make in (bar_chart, line_chart, hbar_chart):
        for values in ([], [0, 0, 0]):
            chart = make(labels=[str(i) for i in range(len(values))], values=values, title="x")
            assert chart.empty
            assert str(chart.svg) == ""


def test_negative_values_are_drawn_as_zero_never_below_the_axis():
    root = parse(bar_chart(labels=["a", "b"], values=[-5, 10], title="x"))
    rects = root.findall(f"{SVG}rect")
    assert float(rects[0].get("height")) == 0
    assert float(rects[0].get("y")) == BASE


def test_labels_are_escaped_so_a_title_cannot_inject_markup():
    evil = '</title><script>alert(1)</script><text x="0">'
    chart = hbar_chart(labels=[evil], values=[1], title=evil)
    svg = str(chart.svg)
    assert "<script>" not in svg
    root = parse(chart)  # still well-formed
    assert root.find(f"{SVG}title").text == evil
    assert not re.search(r"<script", svg, re.I)


def test_a_single_large_value_does_not_overflow_the_viewbox():
    root = parse(bar_chart(labels=["a"], values=[2_000_000_000], title="x"))
    rect = root.find(f"{SVG}rect")
    assert float(rect.get("y")) >= 0
    assert float(rect.get("height")) <= PLOT_H
