"""Helpers for the buyer pages' design tests: contrast from theme tokens, layout checks."""

from __future__ import annotations


def _luminance(hex_colour: str) -> float:
    value = hex_colour.lstrip("#")
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours (1 to 21)."""
    a, b = _luminance(foreground), _luminance(background)
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


# What a page's layout must not do on a phone or a desktop: scroll sideways, or offer a visible
# control smaller than 44×44 CSS px (WCAG 2.5.5; a link inside a sentence is exempt, as 2.5.8
# says). A radio or checkbox counts by its label, the whole row a thumb presses.
LAYOUT_PROBLEMS_JS = """() => {
  const problems = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > window.innerWidth + 1) {
    problems.push(`scrolls sideways: ${doc.scrollWidth}px wide in ${window.innerWidth}px`);
  }
  const sel = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button]';
  for (const el of document.querySelectorAll(sel)) {
    let target = el;
    if (el.matches('input[type=radio], input[type=checkbox]')) target = el.closest('label') || el;
    const r = target.getBoundingClientRect();
    const style = getComputedStyle(target);
    if (!r.width || !r.height || style.visibility === 'hidden') continue;  // not shown
    if (r.right <= 0 || r.left >= doc.scrollWidth) continue;  // the skip link, off screen
    if (el.tagName !== 'SUMMARY' && el.closest('details:not([open])')) continue;
    if (el.tagName === 'A' && getComputedStyle(el).display === 'inline') {
      const block = el.parentElement;
      if (block && block.textContent.trim().length > el.textContent.trim().length) continue;
    }
    if (r.width < 43.5 || r.height < 43.5) {
      const label = el.getAttribute('aria-label') || el.textContent || el.name || el.tagName;
      const size = `${Math.round(r.width)}×${Math.round(r.height)}`;
      problems.push(`${el.tagName.toLowerCase()} "${label.trim().slice(0, 40)}" is ${size}`);
    }
  }
  return problems;
}"""
