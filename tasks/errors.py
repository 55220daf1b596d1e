"""Errors the command line reports as a message (exit code 2) rather than a traceback."""

from __future__ import annotations


class ParamsError(ValueError):
    """A params file that cannot be used; the message names the file and the key."""


class DataError(ValueError):
    """Input data that cannot be used (too few usable files, a missing folder, ...)."""
