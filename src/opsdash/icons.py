"""Variation and assurance icons in the manner of NHS England's Making Data Count, drawn here as SVG.

Variation: a circle in the reading's colour (blue improvement, orange concern, purple neutral, grey common
cause) holding a run of dots; a special cause also carries H (values higher) or L (values lower) and its last
dots leave the line upwards or downwards. Assurance: a circle holding P (will consistently pass the target),
F (will consistently fail it) or ? (hit and miss), over a dashed target line. No SPC reading (too coarse, no
data, no target) is a grey dashed circle with a dash. Colour is never the only cue: every icon has its letter or
shape, and its words in a <title> (and in ``legend``). Colours are the Okabe-Ito palette's (charts.py).
"""

from __future__ import annotations

import html

BLUE, ORANGE, PURPLE, GREY = "#0072B2", "#E69F00", "#CC79A7", "#7F7F7F"
#: The variation readings (spc.POINT_TYPES) in words, for the legend and the icons' titles.
VARIATION_WORDS: dict[str, str] = {
    "improvement": "Special cause: improvement",
    "concern": "Special cause: concern",
    "neutral": "Special cause: neither improvement nor concern",
    "common_cause": "Common cause: no significant change",
    "too_coarse": "No SPC reading: too coarse",
}
ASSURANCE_WORDS: dict[str, str] = {
    "consistently_pass": "The process will consistently meet the target",
    "consistently_fail": "The process will consistently miss the target",
    "hit_and_miss": "The process will hit and miss the target",
    "too_coarse": "No SPC reading: too coarse",
}
NO_READING = "No SPC reading"
_VARIATION_COLOURS = {"improvement": BLUE, "concern": ORANGE, "neutral": PURPLE, "common_cause": GREY}
_ASSURANCE = {"consistently_pass": (BLUE, "P"), "consistently_fail": (ORANGE, "F"), "hit_and_miss": (GREY, "?")}
SIDES = {"higher": "H", "high": "H", "lower": "L", "low": "L"}


def _svg(title: str, body: str, size: int) -> str:
    t = html.escape(title)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" width="{size}" height="{size}" '
            f'role="img" aria-label="{t}"><title>{t}</title>{body}</svg>')


def _ring(colour: str, dashed: bool = False) -> str:
    dash = ' stroke-dasharray="8 6"' if dashed else ""
    return f'<circle cx="50" cy="50" r="45" fill="#FFFFFF" stroke="{colour}" stroke-width="7"{dash}/>'


def _letter(text: str, colour: str, y: int = 47) -> str:
    return (f'<text x="50" y="{y}" text-anchor="middle" font-family="Arial, Helvetica, sans-serif" '
            f'font-size="34" font-weight="bold" fill="{colour}">{html.escape(text)}</text>')


def _dots(ys: list[float], colours: list[str]) -> str:
    xs = [22 + i * 9.3 for i in range(len(ys))]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
    out = f'<polyline points="{line}" fill="none" stroke="{GREY}" stroke-width="2"/>'
    return out + "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{c}"/>' for x, y, c in zip(xs, ys, colours))


def icon_svg(variation: str | None, direction: str | None = None, size: int = 48) -> str:
    """The variation icon for a reading (spc.variation) whose latest values are `direction` ("higher" or
    "lower", the side of the mean; shown as H or L on a special cause). None or an unknown reading: no reading."""
    if variation not in _VARIATION_COLOURS:
        words = VARIATION_WORDS.get(variation or "", NO_READING)
        return _svg(words, _ring(GREY, dashed=True) + _letter("–", GREY, 62), size)
    colour = _VARIATION_COLOURS[variation]
    words = VARIATION_WORDS[variation]
    if variation == "common_cause":
        ys = [62, 58, 64, 60, 62, 58, 62]
        return _svg(words, _ring(colour) + _dots(ys, [GREY] * 7), size)
    side = SIDES.get(direction or "")
    letter = side or ""
    ys = [70, 72, 70, 72, 70, 72, 70] if not side else (
        [72, 74, 72, 74, 66, 60, 56] if side == "H" else [60, 58, 60, 58, 66, 72, 76])
    words += {"H": " (values higher)", "L": " (values lower)", "": ""}[letter]
    return _svg(words, _ring(colour) + _letter(letter, colour) + _dots(ys, [GREY] * 4 + [colour] * 3), size)


def assurance_svg(assurance: str | None, size: int = 48) -> str:
    """The assurance icon (spc.assurance): P, F or ? in a circle over a dashed target line; no reading (no
    target, or too coarse) a grey dashed circle."""
    if assurance not in _ASSURANCE:
        words = ASSURANCE_WORDS.get(assurance or "", "No assurance reading: no target")
        return _svg(words, _ring(GREY, dashed=True) + _letter("–", GREY, 62), size)
    colour, letter = _ASSURANCE[assurance]
    target = f'<line x1="18" y1="70" x2="82" y2="70" stroke="{colour}" stroke-width="3" stroke-dasharray="6 4"/>'
    ys = {"P": [58, 60, 57, 60, 58], "F": [80, 78, 81, 78, 80], "?": [62, 76, 60, 78, 64]}[letter]
    xs = [26 + i * 12 for i in range(5)]
    dots = "".join(f'<circle cx="{x}" cy="{y}" r="4" fill="{GREY}"/>' for x, y in zip(xs, ys))
    return _svg(ASSURANCE_WORDS[assurance], _ring(colour) + _letter(letter, colour) + target + dots, size)


def legend() -> list[tuple[str, str]]:
    """Every icon with its words, in reading order: (svg, words)."""
    out = [(icon_svg("improvement", "higher"), VARIATION_WORDS["improvement"] + ", values higher (H)"),
           (icon_svg("improvement", "lower"), VARIATION_WORDS["improvement"] + ", values lower (L)"),
           (icon_svg("concern", "higher"), VARIATION_WORDS["concern"] + ", values higher (H)"),
           (icon_svg("concern", "lower"), VARIATION_WORDS["concern"] + ", values lower (L)"),
           (icon_svg("neutral", "higher"), VARIATION_WORDS["neutral"]),
           (icon_svg("common_cause"), VARIATION_WORDS["common_cause"]),
           (icon_svg("too_coarse"), VARIATION_WORDS["too_coarse"])]
    out += [(assurance_svg(a), words) for a, words in ASSURANCE_WORDS.items() if a != "too_coarse"]
    return out
