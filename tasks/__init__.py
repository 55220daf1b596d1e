"""Plain, typed functions that do the pipelines' work; no Prefect imports here."""
