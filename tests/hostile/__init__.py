"""Hostile and careless inputs, met the way a user meets them (see README.md in this folder).

test_outputs.py   case 1: output folders (dataset --out, cluster --out, --chime-dir, stylize --out,
                  human-score --out, stage outputs around a user's folder) never destroy inputs or
                  unrelated files; ours are marked and replaced whole; chimed copies never collide;
                  a killed run's temporary folders are cleaned up by the next run.
test_images.py    case 4: decompression bombs (a limit in params), 16-bit and float images, tiny images.
test_loading.py   case 5: no pickle anywhere (a scan of the code), the training state in safetensors +
                  JSON, a crafted, truncated or corrupt state is set aside and training starts over.
test_params.py    missing or null sections, strict types, thresholds and counts on the command line.
test_audio.py     phase-cancelling stereo, a WAV cut short, MP3 read by every command, symlink loops,
                  a 2-hour file refused from its header.
test_process.py   process hygiene: the pipeline ends dvc and the stage on SIGTERM and their runs end
                  Crashed/Cancelled (slow), it removes killed stages' temporaries, outputs and
                  reports persist while a stage runs, the server warns off loopback.
"""
