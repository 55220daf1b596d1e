"""Day/night image pipeline flows; ``python -m flows.day_night <stage>`` runs one stage."""

from flows.day_night.collect import collect
from flows.day_night.human import human_sheet
from flows.day_night.split import split
from flows.day_night.sweep import sweep
from flows.day_night.train import train
from flows.day_night.validate import validate

__all__ = ["collect", "human_sheet", "split", "sweep", "train", "validate"]
