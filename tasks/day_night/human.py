"""The lecture's human check: can people tell day from night at each candidate resolution?

:func:`sheet_html` writes one self-contained HTML page (images inline as data URIs, no
server) showing a sample at each resolution in shuffled order, blown up with square pixels;
the answers are downloaded from the page as JSON. The key (which item is which image at
which resolution) stays in a separate file, so the page does not give the answers away.
:func:`score_answers` compares the two and reports accuracy per resolution.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from tasks.errors import DataError
from tasks.images.thumbs import area_resize
from tasks.io import stable_unit


def plan(keys: Sequence[str], labels: Sequence[str], resolutions: Sequence[int], per_resolution: int,
         seed: int) -> list[dict]:
    """Items to show: ``per_resolution`` images per resolution (different images at each), shuffled.

    Each image is shown at one resolution only, so a person cannot recognise a picture seen
    sharper earlier in the sheet.
    """
    order = sorted(range(len(keys)), key=lambda i: stable_unit("human", seed, keys[i]))
    items = []
    for k, r in enumerate(sorted(resolutions)):
        for j, i in enumerate(order[k * per_resolution:(k + 1) * per_resolution]):
            items.append({"index": i, "resolution": int(r), "label": labels[i], "key": keys[i], "slot": j})
    items.sort(key=lambda it: stable_unit("human-order", seed, it["key"], it["resolution"]))
    for n, it in enumerate(items):
        it["id"] = f"q{n + 1:03d}"
    return items


def _png_uri(pixels: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(np.clip(np.round(pixels), 0, 255).astype(np.uint8)).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:auto;background:#f4f4f4}}
.q{{display:inline-block;margin:8px;padding:6px;background:#fff;text-align:center}}
img{{image-rendering:pixelated;width:{px}px;height:{px}px;display:block}}</style></head>
<body><h1>{title}</h1>
<p>For each picture, choose {choices}. Pictures are shown at different resolutions; answer what
you see, quickly. Then press <b>Download answers</b> and give the file to
<code>python -m flows.day_night human-score --answers FILE</code>.</p>
<form id="sheet">{questions}</form>
<p><button onclick="save()">Download answers</button> <span id="left"></span></p>
<script>
function save(){{const a={{}};document.querySelectorAll('input:checked').forEach(i=>a[i.name]=i.value);
const n=document.querySelectorAll('.q').length;
if(Object.keys(a).length<n&&!confirm((n-Object.keys(a).length)+' pictures unanswered: save anyway?'))return;
const b=new Blob([JSON.stringify({{sheet:"{sheet_id}",answers:a}},null,1)],{{type:'application/json'}});
const l=document.createElement('a');l.href=URL.createObjectURL(b);l.download='answers.json';l.click();}}
</script></body></html>
"""


def sheet_html(items: Sequence[dict], thumbs: np.ndarray, choices: Sequence[str], display_px: int,
               sheet_id: str, title: str = "Day or night?") -> str:
    """The page: every item's image at its resolution with one radio button per choice."""
    qs = []
    for it in items:
        small = area_resize(np.asarray(thumbs[it["index"]])[None], it["resolution"])[0]
        radios = " ".join(f'<label><input type="radio" name="{it["id"]}" value="{html.escape(c)}">'
                          f'{html.escape(c)}</label>' for c in choices)
        qs.append(f'<div class="q"><img src="{_png_uri(small)}" alt="{it["id"]}">{it["id"]}<br>{radios}</div>')
    return _PAGE.format(title=html.escape(title), px=display_px, choices=" or ".join(choices),
                        questions="\n".join(qs), sheet_id=sheet_id)


def score_answers(answers_path: Path | str, key: dict) -> list[dict]:
    """Accuracy per resolution from a downloaded answers file and the sheet's key."""
    path = Path(answers_path)
    if not path.is_file():
        raise DataError(f"{path}: answers file not found")
    try:
        doc = json.loads(path.read_text())
        answers = doc["answers"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: not an answers file from the human-check sheet ({exc})") from None
    if doc.get("sheet") != key["sheet"]:
        raise DataError(f"{path}: answers are for sheet {doc.get('sheet')!r}, the key is for {key['sheet']!r}; "
                        "re-run the human stage's sheet or use its matching answers")
    rows = []
    for r in sorted({it["resolution"] for it in key["items"]}):
        items = [it for it in key["items"] if it["resolution"] == r]
        answered = [it for it in items if it["id"] in answers]
        right = sum(answers[it["id"]] == it["label"] for it in answered)
        rows.append({"resolution": r, "shown": len(items), "answered": len(answered), "correct": right,
                     "accuracy": round(right / len(answered), 4) if answered else None})
    return rows
