"""The Making Data Count icons on a page: one chart's reading, and the legend in words (SVG from opsdash.icons,
shown by st.image as data URIs, so no request leaves the server)."""

from __future__ import annotations

import streamlit as st

from opsdash import icons, spc
from opsdash.views import SpcView

WIDTH = 44


def reading(view: SpcView) -> None:
    """The chart's variation and assurance icons, each with its words."""
    variation = spc.variation(view.chart) if len(view.chart) else None
    assurance = spc.assurance(view.chart, view.target, view.kpi.direction) if len(view.chart) else None
    side = spc.latest_side(view.chart) if len(view.chart) else None
    words_v = icons.VARIATION_WORDS.get(variation or "", icons.NO_READING)
    if side and variation in ("improvement", "concern", "neutral"):
        words_v += f" (values {side})"
    words_a = (icons.ASSURANCE_WORDS.get(assurance or "", "") if assurance else
               "No assurance reading: no target" if view.target is None else "No assurance reading")
    st.image([icons.icon_svg(variation, side), icons.assurance_svg(assurance)], caption=[words_v, words_a],
             width=WIDTH)


def legend() -> None:
    """Every icon and what it means, folded away under the chart."""
    with st.expander("What the SPC icons mean"):
        pairs = icons.legend()
        st.image([svg for svg, _ in pairs], caption=[w for _, w in pairs], width=WIDTH)
        st.caption("Variation (the first icons): H or L says whether the latest values are higher or lower than "
                   "the mean. Assurance (P, F, ?): whether the process limits lie wholly on the target's good side, "
                   "wholly on its bad side, or either side of it. Blue is better, orange worse, grey neither; the "
                   "letter and the shape say the same without colour.")
