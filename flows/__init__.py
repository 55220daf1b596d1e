"""Prefect flows: one module per pipeline, one flow per DVC stage.

Importing this package sets Prefect defaults suited to local, offline runs before Prefect
itself is imported (explicit environment settings still win).
"""

import os

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "tasks,models")
