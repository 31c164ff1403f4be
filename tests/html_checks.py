"""A small structural HTML check for page tests: balanced elements, unique ids, labelled
form controls, references (``for``, ``aria-labelledby``, ``aria-describedby``, in-page ``#``
links) that point at an element, and the page landmarks. Not a full validator, but it fails
on the mistakes templates actually make.
"""

from __future__ import annotations

from html.parser import HTMLParser

VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}
# Elements whose end tag HTML lets the parser infer; templates here always close them anyway.
OPTIONAL_END = {"p", "li", "dt", "dd", "option", "tr", "td", "th", "thead", "tbody", "tfoot"}


class _Checker(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.ids: list[str] = []
        self.references: list[tuple[str, str]] = []
        self.controls: list[dict] = []
        self.label_targets: set[str] = set()
        self.label_depth = 0
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.add(tag)
        if "id" in attributes:
            self.ids.append(attributes["id"])
        for name in ("aria-labelledby", "aria-describedby"):
            for target in (attributes.get(name) or "").split():
                self.references.append((name, target))
        if tag == "label":
            if attributes.get("for"):
                self.label_targets.add(attributes["for"])
            self.label_depth += 1
        href = attributes.get("href") or ""
        if tag == "a" and href.startswith("#") and len(href) > 1:
            self.references.append(("href", href[1:]))
        if tag in {"input", "select", "textarea"} and attributes.get("type") not in {
            "hidden",
            "submit",
            "button",
        }:
            self.controls.append({**attributes, "_wrapped": self.label_depth > 0})
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            self.problems.append(f"end tag for void element <{tag}>")
            return
        if tag == "label":
            self.label_depth -= 1
        if not self.stack:
            self.problems.append(f"stray </{tag}>")
            return
        while self.stack and self.stack[-1] != tag and self.stack[-1] in OPTIONAL_END:
            self.stack.pop()
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()
        else:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else '—'}>")


def html_problems(html: str) -> list[str]:
    checker = _Checker()
    checker.feed(html)
    checker.close()
    problems = list(checker.problems)
    unclosed = [tag for tag in checker.stack if tag not in OPTIONAL_END]
    if unclosed:
        problems.append(f"unclosed: {unclosed}")
    seen: set[str] = set()
    for element_id in checker.ids:
        if element_id in seen:
            problems.append(f"duplicate id {element_id!r}")
        seen.add(element_id)
    for kind, target in checker.references:
        if target not in seen:
            problems.append(f"{kind} points at missing id {target!r}")
    for target in checker.label_targets - seen:
        problems.append(f"label for missing id {target!r}")
    for control in checker.controls:
        labelled = (
            control["_wrapped"]
            or control.get("id") in checker.label_targets
            or control.get("aria-label")
            or control.get("aria-labelledby")
        )
        if not labelled:
            problems.append(f"unlabelled control {control.get('name')!r}")
    for landmark in ("main", "header", "nav", "footer"):
        if landmark not in checker.tags:
            problems.append(f"no <{landmark}>")
    if "h1" not in checker.tags:
        problems.append("no <h1>")
    return problems


# --------------------------------------------------------------------------- inline script

# <script> types a browser does not run: data blocks (json_script, allauth's onload data).
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}


class _InlineScriptFinder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            kind = (attributes.get("type") or "").strip().lower()
            if not attributes.get("src") and kind not in DATA_SCRIPT_TYPES:
                self.problems.append(f"<script> without src at line {self.getpos()[0]}")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> (an inline event handler)")
            if name in ("href", "src", "action", "formaction") and (
                value or ""
            ).strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:…>")
        if tag == "style":
            self.problems.append(f"<style> element at line {self.getpos()[0]}")


def inline_script_problems(html: str) -> list[str]:
    """What a Content-Security-Policy without 'unsafe-inline' would block in ``html``: scripts
    without ``src`` (data blocks excepted), inline event handlers, ``javascript:`` URLs and
    ``<style>`` elements."""
    finder = _InlineScriptFinder()
    finder.feed(html)
    finder.close()
    return finder.problems
