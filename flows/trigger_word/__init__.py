"""Trigger-word pipeline: ``python -m flows.trigger_word <stage|command>``; one module per stage.

Imports nothing, so a stage's import closure (its DVC code deps) holds only what it uses.
"""
