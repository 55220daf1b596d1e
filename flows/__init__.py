"""Prefect flows: one module per pipeline, one flow per DVC stage.

Importing this package sets Prefect defaults suited to local, offline runs before Prefect
itself is imported (explicit environment settings still win).
"""

import os

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "tasks,models")
# OpenMP threads that spin while waiting for work burn the cores other processes need: on a
# busy 2-core machine torch training ran 4-8x slower with the default (active) policy.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
