"""Hostile and careless inputs, met the way a user meets them (see README.md in this folder).

test_outputs.py   case 1: output folders never destroy inputs or unrelated files; chimed copies never
                  collide; a killed run's temporary folders are cleaned up by the next run.
test_images.py    case 4: decompression bombs (a limit in params), 16-bit and float images, tiny images.
test_loading.py   case 5: no pickle anywhere (a scan of the code), the training state in safetensors +
                  JSON, a crafted, truncated or corrupt state is set aside and training starts over.
test_params.py    missing or null sections, strict types, thresholds and counts on the command line.
test_audio.py     phase-cancelling stereo, a WAV cut short, MP3 read by every command, symlink loops,
                  a 2-hour file refused from its header.
test_process.py   process hygiene: the pipeline ends its children on SIGTERM, reports stay while a
                  stage runs, the server warns off loopback.
"""
