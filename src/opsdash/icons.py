"""Variation and assurance icons in the manner of NHS England's Making Data Count, drawn here as SVG.

Variation: a circle in the reading's colour (blue improvement, orange concern, purple neutral, grey common
cause) holding a run of dots; a special cause also carries H (values higher) or L (values lower) and its last
dots leave the line upwards or downwards. Assurance: a circle holding P (will consistently pass the target),
F (will consistently fail it) or ? (hit and miss), over a dashed target line. No SPC reading (too coarse, no
data, no target) is a grey dashed circle with a dash. Colour is never the only cue: every icon has its letter or
shape, and its words in a <title> (and in ``legend``), from the one wording of the readings in labels.py.
Colours are the Okabe-Ito palette's (charts.py).
"""

from __future__ import annotations

import html

from opsdash import labels

BLUE, ORANGE, PURPLE, GREY = "#0072B2", "#E69F00", "#CC79A7", "#7F7F7F"
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
    side = SIDES.get(direction or "")
    words = labels.variation_words(variation, {"H": "higher", "L": "lower"}.get(side or ""))
    if variation not in _VARIATION_COLOURS:
        return _svg(words, _ring(GREY, dashed=True) + _letter("–", GREY, 62), size)
    colour = _VARIATION_COLOURS[variation]
    if variation == "common_cause":
        ys = [62, 58, 64, 60, 62, 58, 62]
        return _svg(words, _ring(colour) + _dots(ys, [GREY] * 7), size)
    letter = side or ""
    ys = [70, 72, 70, 72, 70, 72, 70] if not side else (
        [72, 74, 72, 74, 66, 60, 56] if side == "H" else [60, 58, 60, 58, 66, 72, 76])
    return _svg(words, _ring(colour) + _letter(letter, colour) + _dots(ys, [GREY] * 4 + [colour] * 3), size)


def assurance_svg(assurance: str | None, size: int = 48) -> str:
    """The assurance icon (spc.assurance): P, F or ? in a circle over a dashed target line; no reading (no
    target, or too coarse) a grey dashed circle."""
    words = labels.assurance_words(assurance)
    if assurance not in _ASSURANCE:
        return _svg(words, _ring(GREY, dashed=True) + _letter("–", GREY, 62), size)
    colour, letter = _ASSURANCE[assurance]
    target = f'<line x1="18" y1="70" x2="82" y2="70" stroke="{colour}" stroke-width="3" stroke-dasharray="6 4"/>'
    ys = {"P": [58, 60, 57, 60, 58], "F": [80, 78, 81, 78, 80], "?": [62, 76, 60, 78, 64]}[letter]
    xs = [26 + i * 12 for i in range(5)]
    dots = "".join(f'<circle cx="{x}" cy="{y}" r="4" fill="{GREY}"/>' for x, y in zip(xs, ys))
    return _svg(words, _ring(colour) + _letter(letter, colour) + target + dots, size)


def legend() -> list[tuple[str, str]]:
    """Every icon with its words, in reading order: (svg, words)."""
    words = labels.VARIATION_WORDS
    out = [(icon_svg(v, side), f"{words[v]}, values {side} ({SIDES[side]})")
           for v in ("improvement", "concern") for side in ("higher", "lower")]
    out += [(icon_svg(v, "higher" if v == "neutral" else None), words[v])
            for v in ("neutral", "common_cause", "too_coarse")]
    out += [(assurance_svg(a), w) for a, w in labels.ASSURANCE_WORDS.items() if a != "too_coarse"]
    return out
