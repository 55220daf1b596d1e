"""Stage `train`: the lecture's triplet loss on the train people, then the choice made on dev.

``faces.train.learn`` says what is trained: ``adapter`` (a small network on top of the
pretrained dlib ResNet embedding) or ``scratch`` (the small CNN, from nothing). Both it and
the pretrained encoder get a verification threshold calibrated on the dev people for the
target false-accept rate; whichever has the higher TAR at that FAR on dev (the pretrained one
on a tie) is written as ``train/encoder``, the encoder the database stage and the commands
use. The trained one is kept in ``train/trained`` for evaluate's side-by-side comparison.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from prefect import flow

from flows.runtime import logger, publish_markdown, publish_table, stage_main, with_runner
from tasks.config import BaseParams
from tasks.faces import encoder as E
from tasks.faces.config import DatabaseParams, DetectParams, FacesParams, Layout, TrainParams
from tasks.faces.fit import card_for, fit
from tasks.faces.metrics import probe_scores, verification
from tasks.faces.split import gallery_and_probes
from tasks.faces.splitdata import calibrate, embed_split, load_split
from tasks.io import atomic_dir, write_json


@flow(name="faces-train")
def train(base: BaseParams, params: TrainParams, detect: DetectParams, database: DatabaseParams,
          faces: str, crops: str, people: str, pretrained: str, out_dir: str) -> dict:
    """Write ``encoder/`` (the better on dev), ``trained/``, ``candidates.json``, ``calibration.json``, ``history.json``."""
    log = logger()
    args = (Path(faces), Path(crops), Path(people))
    tr, dev = (load_split(*args, split, Path(pretrained)) for split in ("train", "dev"))
    gal = np.array(gallery_and_probes(dev.ids, list(dev.persons), database.gallery_per_person))

    def dev_auc(enc: E.Encoder) -> dict:
        emb = embed_split(enc, dev)
        d, same = probe_scores(emb[gal], dev.persons[gal], emb[~gal], dev.persons[~gal])
        return {"dev_auc": verification(d, same, database.target_far)[0]["auc"]}

    trained, history = fit(params, detect, tr, base.seed, dev_auc, log)
    cands = {"trained": trained}
    if dev.base is not None:
        cands["pretrained"] = E.pretrained_encoder(detect.settings())
    cal = {name: calibrate(embed_split(enc, dev), dev.persons, dev.ids, database.gallery_per_person,
                           database.target_far) for name, enc in cands.items()}
    chosen = max(cands, key=lambda n: (cal[n]["dev_tar_at_far"], cal[n]["dev_auc"], n == "pretrained"))
    n_people, n_photos = len(set(tr.persons)), len(tr.persons)
    meta = {"train_people": n_people, "train_photos": n_photos, "chosen_on_dev": chosen}
    with atomic_dir(out_dir) as tmp:
        digests = {}
        for name, enc in cands.items():
            card = card_for(enc.kind, name == chosen, cal[name], params, n_people, n_photos)
            for folder in ([name] if name == "trained" else []) + (["encoder"] if name == chosen else []):
                digests[name] = E.save_encoder(Path(tmp) / folder, enc.kind, enc.model, detect.settings(),
                                               meta | {"calibration": cal[name]}, card)
            digests.setdefault(name, enc.hash)
        summary = {"chosen": chosen, "encoder": cands[chosen].kind, "candidates": {
            n: cal[n] | {"kind": cands[n].kind, "weights": digests[n]} for n in cands}}
        write_json(Path(tmp) / "candidates.json", summary)
        write_json(Path(tmp) / "history.json", history)
        write_json(Path(tmp) / "calibration.json", cal[chosen] | {"encoder": cands[chosen].kind,
                                                                   "weights": digests[chosen]})
    publish_table("faces-train-history", history, "Training history (loss, violating triplets, dev AUC)")
    publish_table("faces-train-candidates", [{"candidate": n, **v} for n, v in summary["candidates"].items()],
                  "Candidates on the dev people (the better TAR at the target FAR is used)")
    publish_markdown("faces-train-card", card_for(cands[chosen].kind, True, cal[chosen], params, n_people, n_photos),
                     "Face encoder model card")
    log.info("faces train: %s chosen on dev (%s)", chosen, {n: round(c["dev_tar_at_far"], 4) for n, c in cal.items()})
    return summary


def run(base: BaseParams, params: FacesParams, layout: Layout, runner: str | None = None) -> None:
    """Stage faces_train: the triplet loss, then the encoder chosen on dev."""
    L = layout
    with_runner(train, base, runner)(base, params.train, params.detect, params.database, str(L.faces), str(L.crops),
                                     str(L.assignments), str(L.pretrained), str(L.train))


if __name__ == "__main__":
    stage_main(run, "faces", FacesParams, Layout)
