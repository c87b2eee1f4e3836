"""The Making Data Count icons on a page: one chart's reading, and the legend in words (SVG from opsdash.icons,
shown by st.image as data URIs, so no request leaves the server)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from opsdash import icons, labels, spc
from opsdash.ui.text import md
from opsdash.views import SpcView

WIDTH = 40


def _row(svg: str, words: str, container: Any = None) -> None:
    """One icon beside its words."""
    left, right = (container or st).columns([1, 14], vertical_alignment="center")
    left.image(svg, width=WIDTH)
    right.markdown(md(words))


def reading_words(view: SpcView) -> tuple[str, str, str | None, str | None]:
    """The chart's variation and assurance readings in words (labels.py's one wording), and the readings."""
    variation = spc.variation(view.chart) if len(view.chart) else None
    assurance = spc.assurance(view.chart, view.target, view.kpi.direction) if len(view.chart) else None
    side = spc.latest_side(view.chart) if len(view.chart) else None
    return (labels.variation_words(variation, side), labels.assurance_words(assurance, view.target is not None),
            variation, assurance)


def reading(view: SpcView) -> None:
    """The chart's variation and assurance icons, each with its words."""
    words_v, words_a, variation, assurance = reading_words(view)
    side = spc.latest_side(view.chart) if len(view.chart) else None
    a, b = st.columns(2)
    _row(icons.icon_svg(variation, side), "Variation: " + words_v, a)
    _row(icons.assurance_svg(assurance), "Assurance: " + words_a, b)


def legend() -> None:
    """Every icon and what it means, folded away under the chart."""
    with st.expander("What the SPC icons mean"):
        for svg, words in icons.legend():
            _row(svg, words)
        st.caption("H or L: the latest values are higher or lower than the mean. P, F or ?: the process limits lie "
                   "wholly on the target's good side, wholly on its bad side, or either side of it. Blue is better, "
                   "orange worse, purple neither, grey no change; the letter and the shape say the same without "
                   "colour. A dashed grey circle: no reading.")
