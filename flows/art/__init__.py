"""Art pipeline (neural style transfer): ``python -m flows.art <command>``.

Imports nothing, so a stage's import closure (its DVC code deps) holds only what it uses.
"""
