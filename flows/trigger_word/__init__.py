"""Trigger-word pipeline flows; ``python -m flows.trigger_word <stage>`` runs one stage."""

from flows.trigger_word.collect import collect
from flows.trigger_word.dataset import dataset
from flows.trigger_word.evaluate import evaluate
from flows.trigger_word.features import features
from flows.trigger_word.split import split
from flows.trigger_word.synthesize import synthesize
from flows.trigger_word.train import train
from flows.trigger_word.word_encoder import word_encoder

__all__ = ["collect", "dataset", "evaluate", "features", "split", "synthesize", "train", "word_encoder"]
