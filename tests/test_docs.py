"""The README stays a short guide, and every relative link in it and in docs/ resolves."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README_MAX_BYTES = 15_500
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub makes for a document's headings (lower case, punctuation dropped)."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code or not (m := re.match(r"#{1,6} (.+)", line)):
            continue
        text = unicodedata.normalize("NFC", m.group(1).strip().lower())
        slug = "".join(ch for ch in text if ch.isalnum() or ch in " -_").replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


def broken_links(doc: Path) -> list[str]:
    text = doc.read_text(encoding="utf-8")
    text_no_code = re.sub(r"```.*?```", "", text, flags=re.S)
    broken = []
    for target in LINK.findall(text_no_code):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        file = (doc.parent / path).resolve() if path else doc
        if not file.exists():
            broken.append(f"{target} (no file {file.relative_to(ROOT) if file.is_relative_to(ROOT) else file})")
        elif anchor and file.suffix == ".md" and anchor not in github_anchors(file.read_text(encoding="utf-8")):
            broken.append(f"{target} (no heading #{anchor} in {file.name})")
    return broken


def test_readme_is_a_short_guide() -> None:
    size = len((ROOT / "README.md").read_bytes())
    assert size <= README_MAX_BYTES, (
        f"README.md is {size:,} bytes (at most {README_MAX_BYTES:,}): move history to "
        "docs/experiments.md and reference material to docs/reference.md")


@pytest.mark.parametrize("doc", documents(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(doc: Path) -> None:
    assert broken_links(doc) == [], f"{doc.relative_to(ROOT)}: broken links"


def test_link_checker_sees_a_broken_link(tmp_path: Path) -> None:
    doc = tmp_path / "x.md"
    doc.write_text("# Top\n\n[ok](#top) [gone](missing.md) [anchor](x.md#nowhere) [web](https://x.org)\n"
                   "```\n[in code](not-checked.md)\n```\n")
    assert broken_links(doc) == ["missing.md (no file " + str(tmp_path / "missing.md") + ")",
                                 "x.md#nowhere (no heading #nowhere in x.md)"]


def test_github_anchors() -> None:
    md = "## Day / night images\n## Art (neural style transfer)\n### Guarantees: a, b\n## day_night\n## Faces\n## Faces\n"
    assert github_anchors(md) == {"day--night-images", "art-neural-style-transfer", "guarantees-a-b",
                                  "day_night", "faces", "faces-1"}
