"""Day/night image pipeline: ``python -m flows.day_night <stage|command>``; one module per stage.

Imports nothing, so a stage's import closure (its DVC code deps) holds only what it uses
(``flows/__init__.py`` sets ``OMP_WAIT_POLICY`` before torch loads).
"""
