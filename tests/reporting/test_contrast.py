"""report.html's text is readable: every text colour our stylesheet sets, and every one of pytest-html's
that would show, has a contrast ratio of at least 4.5:1 with its background (WCAG 2 success criterion
1.4.3, "Contrast (Minimum)", https://www.w3.org/TR/WCAG22/#contrast-minimum; relative luminance and
contrast ratio as WCAG defines them).  pytest-html's own stylesheet greys the whole table (#999, 2.8:1):
ours overrides each such rule."""
from __future__ import annotations

import re
from pathlib import Path

import pytest_html

from bedrock_key_audit.reporting import html_report as hr

WHITE = "#ffffff"


def _luminance(colour: str) -> float:
    h = colour.lstrip("#").lower()
    if len(h) == 3:
        h = "".join(c * 2 for c in h)

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(int(h[i:i + 2], 16) / 255) for i in (0, 2, 4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


NAMED = {"black": "#000000", "white": "#ffffff", "green": "#008000", "red": "#ff0000", "orange": "#ffa500"}


def _rules(css: str) -> list[tuple[list[str], dict[str, str]]]:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    out = []
    for sel, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        decls = dict((k.strip(), v.strip()) for k, _, v in (d.partition(":") for d in body.split(";")) if v.strip())
        out.append(([s.strip() for s in sel.replace("<style>", "").split(",")], decls))
    return out


def _colour(value: str | None) -> str | None:
    if value is None:
        return None
    value = NAMED.get(value, value)
    return value if re.fullmatch(r"#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}", value) else None


def test_contrast_of_known_pairs():
    assert round(contrast("#999999", WHITE), 2) == 2.85  # pytest-html's table grey
    assert round(contrast("#000000", WHITE), 1) == 21.0


def test_every_text_colour_of_ours_reads_at_4_5_to_1():
    low = []
    for selectors, decls in _rules(hr.CSS):
        fg = _colour(decls.get("color"))
        if fg is None:
            continue
        bg = _colour(decls.get("background") or decls.get("background-color")) or WHITE
        if contrast(fg, bg) < 4.5:
            low.append(f"{','.join(selectors)}: {fg} on {bg} ({contrast(fg, bg):.2f}:1)")
    assert not low, low


def test_pytest_htmls_pale_text_is_overridden():
    theirs = (Path(pytest_html.__file__).parent / "resources" / "style.css").read_text()
    ours = {s for selectors, decls in _rules(hr.CSS) if "color" in decls for s in selectors}
    pale = []
    for selectors, decls in _rules(theirs):
        fg = _colour(decls.get("color"))
        bg = _colour(decls.get("background") or decls.get("background-color")) or WHITE
        if fg is None or contrast(fg, bg) >= 4.5:
            continue
        # hover hints ("(show details)") and text on pytest-html's own coloured buttons are not ours to judge
        pale += [s for s in selectors if ":hover" not in s and "button" not in s and s not in ours]
    assert not pale, f"pytest-html's pale text colour not overridden in html_report.CSS: {pale}"
    assert {"#results-table", "span.passed", ".passed .col-result"} <= ours
