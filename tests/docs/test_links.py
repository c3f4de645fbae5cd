"""Every relative link in README.md, CHANGELOG.md and docs/*.md points at a file that exists,
and every #anchor at a heading of that file (GitHub's slugs)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^[ \t]*(```|~~~).*?^[ \t]*\1[^\n]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _prose(text: str) -> str:
    """The page without fenced blocks: a '## x' or '[a](b)' inside code is not markdown."""
    return _FENCE.sub("", text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: the rendered text, lowercased, punctuation dropped."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", _prose(page.read_text()), re.MULTILINE):
        base = slug(heading)
        name, n = base, 0
        while name in found:  # a repeated heading gets -1, -2, ...
            n += 1
            name = f"{base}-{n}"
        found.add(name)
    return found


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in _LINK.findall(_CODE_SPAN.sub("", _prose(page.read_text()))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, file:
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading with that anchor in {linked.name}")
    return broken


def test_the_pages_exist() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in PAGES}
    assert {"README.md", "CHANGELOG.md", "docs/flags.md", "docs/http-api.md", "docs/runbook.md"} <= names


def test_every_relative_link_resolves() -> None:
    broken = {p.relative_to(ROOT).as_posix(): b for p in PAGES if (b := broken_links(p))}
    assert broken == {}


def test_the_readme_links_every_doc() -> None:
    readme = (ROOT / "README.md").read_text()
    assert sorted(p.name for p in PAGES if p.parent.name == "docs" and f"(docs/{p.name})" not in readme) == []


def test_the_checker_catches_a_missing_file_and_anchor(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other\n\n## Rolling a flag back: the runbook's three methods\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n[ok](other.md#rolling-a-flag-back-the-runbooks-three-methods) [self](#page)\n"
        "[gone](missing.md) [bad anchor](other.md#nope) [web](https://example.com/x.md)\n"
        "`[in code](missing-too.md)`\n\n```md\n[in a block](missing-three.md)\n## Not a heading\n```\n"
        "- a list item:\n\n   ```md\n   [indented block](missing-four.md)\n   ```\n"
        "[not a heading](#not-a-heading)\n"
    )
    assert broken_links(page) == [
        "missing.md: no such file",
        "other.md#nope: no heading with that anchor in other.md",
        "#not-a-heading: no heading with that anchor in page.md",
    ]


def test_slugs_follow_github() -> None:
    assert slug("Tiers (flag `USE_HIERARCHICAL_TIERS`)") == "tiers-flag-use_hierarchical_tiers"
    assert slug("Quickstart: from nothing to a remembered fact in an agent's prompt") == (
        "quickstart-from-nothing-to-a-remembered-fact-in-an-agents-prompt"
    )
    assert slug("Admin: feature flags") == "admin-feature-flags"
