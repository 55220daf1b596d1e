"""Image decoding, checks and hashing shared by the image pipelines (day/night, faces)."""
