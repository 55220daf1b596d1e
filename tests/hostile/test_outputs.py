"""Case 1: a command's output folder never destroys its inputs or a user's unrelated files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from tasks.io import OUTPUT_MARKER, OutputRefused, atomic_dir, hash_tree
from tests.conftest import ROOT, tone, write_audio, write_params
from tests.hostile.helpers import PARAMS, detector_folder, photo


def recordings(root):
    """The issue's layout: recs/activate, recs/other and a notes file beside them."""
    for s in range(5):
        for i in range(2):
            write_audio(root / "activate" / f"spk{s}" / f"take{i}.wav", tone(0.6, 16000, 300 + 40 * s + i), 16000)
        write_audio(root / "other" / f"spk{s}" / "word.wav", tone(0.5, 16000, 900 + 30 * s), 16000)
    (root / "notes.txt").write_text("which take was best\n")
    return root


def tw_main(argv):
    from flows.trigger_word.__main__ import main

    return main(argv)


@pytest.mark.parametrize("where", ["parent", "same", "inside"])
def test_dataset_out_around_or_inside_an_input_is_refused_and_nothing_is_touched(tmp_path, where):
    recs = recordings(tmp_path / "recs")
    before = hash_tree(recs)
    out = {"parent": recs, "same": recs / "activate", "inside": recs / "other" / "set"}[where]
    with pytest.raises(OutputRefused) as err:
        tw_main(["dataset", "--positives", str(recs / "activate"), "--negatives", str(recs / "other"),
                 "--out", str(out), "--clips", "10", "--force", "--params", PARAMS])
    message = str(err.value)
    assert str(out) in message and ("recs/activate" in message or "recs/other" in message)
    assert hash_tree(recs) == before and not (recs / "other" / "set").exists()


def test_dataset_out_with_unrelated_files_needs_force(tmp_path):
    recs = recordings(tmp_path / "recs")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("months of work\n")
    with pytest.raises(OutputRefused, match="not written by dlpipes.*--force"):
        tw_main(["dataset", "--positives", str(recs / "activate"), "--out", str(mine), "--clips", "4",
                 "--params", PARAMS])
    assert (mine / "thesis.tex").read_text() == "months of work\n"


@pytest.mark.usefixtures("prefect_harness")
def test_dataset_marks_its_output_and_replaces_it_whole_on_the_next_run(tmp_path, real_params):
    from tests.flows.test_trigger_word_flow import shrink

    recs = recordings(tmp_path / "recs")
    params = write_params(tmp_path / "p.yaml", shrink(real_params, tmp_path / "data"))
    out = tmp_path / "set"
    argv = ["dataset", "--positives", str(recs / "activate"), "--negatives", str(recs / "other"),
            "--out", str(out), "--clips", "6", "--params", str(params)]
    assert tw_main(argv) == 0
    assert (out / OUTPUT_MARKER).is_file() and len(pd.read_parquet(out / "clips.parquet")) == 6
    (out / "stale.txt").write_text("left by the first run\n")
    assert tw_main([*argv[:-4], "--clips", "4", "--params", str(params)]) == 0  # ours: no --force needed
    assert len(pd.read_parquet(out / "clips.parquet")) == 4 and not (out / "stale.txt").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".set.")]  # no temporary left


def test_faces_cluster_out_into_the_photos_is_refused_before_any_work(tmp_path):
    from flows.faces.__main__ import main

    photos = tmp_path / "PHOTOS"
    for i in range(6):
        photo(photos / f"img{i}.png", seed=i)
    before = hash_tree(photos)
    for out in (photos, tmp_path):  # the folder itself, and a folder around it
        with pytest.raises(OutputRefused, match="contains the input DIR"):
            main(["cluster", str(photos), "--out", str(out), "--encoder", str(tmp_path / "no-encoder"),
                  "--params", PARAMS])
    assert hash_tree(photos) == before and len(list(photos.iterdir())) == 6


def test_detect_chime_copies_of_files_with_the_same_stem_do_not_collide(tmp_path, capsys):
    model = detector_folder(tmp_path / "model")
    a = write_audio(tmp_path / "monday" / "take.wav", tone(2.5, 16000, 400), 16000)
    b = write_audio(tmp_path / "tuesday" / "take.wav", tone(2.5, 16000, 700), 16000)
    c = write_audio(tmp_path / "tuesday" / "solo.flac", tone(2.5, 16000, 500), 16000)
    chimes = tmp_path / "chimed"
    assert tw_main(["detect", str(a), str(b), str(c), "--checkpoint", str(model), "--chime-dir", str(chimes),
                    "--params", PARAMS]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    written = [r["chimed"] for r in rows]
    assert len(set(written)) == 3 and all(os.path.isfile(w) for w in written)
    assert os.path.basename(written[2]) == "solo.chimed.wav"
    assert (chimes / OUTPUT_MARKER).is_file()
    # a second run into the same folder is fine (ours); a folder holding an input is not
    assert tw_main(["detect", str(a), "--checkpoint", str(model), "--chime-dir", str(chimes),
                    "--params", PARAMS]) == 0
    with pytest.raises(OutputRefused, match="--chime-dir"):
        tw_main(["detect", str(b), "--checkpoint", str(model), "--chime-dir", str(tmp_path / "tuesday"),
                 "--params", PARAMS])
    assert sorted(p.name for p in (tmp_path / "tuesday").iterdir()) == ["solo.flac", "take.wav"]


def test_a_killed_writers_temporary_folder_is_removed_by_the_next_run(tmp_path):
    out = tmp_path / "stage_out"
    code = ("import sys, time; from tasks.io import atomic_dir\n"
            "with atomic_dir(sys.argv[1]) as tmp:\n"
            "    (tmp / 'part.bin').write_bytes(b'x' * 1000); print('writing', flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(out)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].startswith(f".stage_out.tmp-{proc.pid}-")
    time.sleep(0.05)
    with atomic_dir(out) as tmp:
        (tmp / "done.txt").write_text("ok")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stage_out"]


def test_stylize_out_onto_its_content_image_is_refused(tmp_path):
    from flows.art.__main__ import main

    content = photo(tmp_path / "holiday.png", 140)
    before = content.read_bytes()
    with pytest.raises(OutputRefused, match="is the input CONTENT"):
        main(["stylize", str(content), "builtin:swirls", "--out", str(content), "--params", PARAMS])
    assert content.read_bytes() == before


def test_human_score_out_onto_the_answers_file_is_refused(tmp_path):
    from flows.day_night.__main__ import main

    answers = tmp_path / "answers.json"
    answers.write_text('{"answers": []}\n')
    with pytest.raises(OutputRefused, match="is the input --answers"):
        main(["human-score", "--answers", str(answers), "--key", str(tmp_path / "key.json"),
              "--out", str(answers), "--params", PARAMS])
    assert answers.read_text() == '{"answers": []}\n'


def test_a_users_folder_inside_a_stage_output_is_refused_before_the_stage_replaces_it(tmp_path, real_params):
    from flows.day_night.__main__ import main as dn_main

    mine = tmp_path / "data" / "trigger_word" / "collect" / "my_takes"
    recordings(mine)
    before = hash_tree(mine)
    real_params["base"]["data_dir"] = str(tmp_path / "data")
    real_params["trigger_word"]["collect"]["user"]["positives_dir"] = str(mine / "activate")
    real_params["day_night"]["collect"]["images_dir"] = str(tmp_path / "data")  # around the stage's output
    params = str(write_params(tmp_path / "p.yaml", real_params))
    with pytest.raises(OutputRefused, match="the collect stage's output .* contains the input "
                                            "trigger_word.collect.user.positives_dir"):
        tw_main(["collect", "--params", params])
    with pytest.raises(OutputRefused, match="lies inside the input day_night.collect.images_dir"):
        dn_main(["collect", "--params", params])
    assert hash_tree(mine) == before
