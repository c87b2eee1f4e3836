r"""Text from data (vendors, payers, processes, facilities, queues, reasons, categories, file names) shown as
text in Streamlit's Markdown: never a link, an image, HTML, a heading, a colour or an icon.

Streamlit renders Markdown (CommonMark + GFM: autolinked URLs and e-mail addresses, tables, strikethrough),
raw HTML is off but inline directives are on: ``:material/icon:``, ``:red[text]``, ``:blue-badge[text]``,
emoji shortcodes and ``$maths$``. CommonMark lets any ASCII punctuation be written escaped (``\\*`` is a star),
so every punctuation character of the text is escaped: nothing in it can open a construct, and what the
reader sees is exactly the text. Control characters and line breaks become spaces (a line break would start
a new block: a heading, a list, a quote). GFM's autolinks are found in the text after escapes are read (a
browser test caught ``http\:\/\/…`` still becoming a link), so an invisible word joiner (U+2060) goes into
``://``, ``www.`` and before ``@``: the text looks the same and no URL or e-mail address in it is linked. Every message, subheader, caption, help text and label that
interpolates data text goes through ``md``.
"""

from __future__ import annotations

import re
import string
from typing import Any

_PUNCTUATION = re.compile("[" + re.escape(string.punctuation) + "]")
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
JOINER = "\u2060"
#: Where GFM would start an autolink: "://" (split before the slashes), "www." (before the dot), "@".
_AUTOLINK = re.compile(r":/|(?i:www)\.|[^@]?@")


def md(value: Any) -> str:
    """The value as Markdown that renders as exactly its text (on one line)."""
    text = _BREAKS.sub(" ", str(value))
    text = _AUTOLINK.sub(lambda m: m[0][:-1] + JOINER + m[0][-1], text)
    return _PUNCTUATION.sub(lambda m: "\\" + m[0], text)


def md_list(values: Any, sep: str = ", ") -> str:
    """Several data values, each escaped, joined by an (unescaped) separator of opsdash's own."""
    return sep.join(md(v) for v in values)
