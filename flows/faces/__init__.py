"""Faces pipeline: ``python -m flows.faces <stage|command>`` (stage flows live one per module)."""
