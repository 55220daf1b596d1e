"""Typed params of the word encoder stage (``trigger_word.word_encoder`` in params.yaml).

Kept apart from :mod:`tasks.trigger_word.config` (which only imports this class) so the
trigger word by embeddings can move as one piece.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from tasks.config import StrictModel

# Everyday English words the encoder may also train on, said by espeak-ng train voices
# (more distinct words teach it what makes two words differ). None is a held-out word.
VOCABULARY = (
    "apple", "river", "yellow", "mountain", "basket", "candle", "doctor", "engine", "forest", "guitar",
    "hammer", "island", "jacket", "ladder", "mirror", "napkin", "orange", "pencil", "rabbit", "silver",
    "tunnel", "velvet", "wallet", "zebra", "bottle", "castle", "dinner", "finger", "garlic", "harbor",
    "insect", "jungle", "kettle", "lemon", "magnet", "needle", "oyster", "puzzle", "rocket", "saddle",
    "turtle", "valley", "winter", "anchor", "banner", "carpet", "desert", "falcon", "goblin", "helmet",
    "button", "monkey", "planet", "sunday", "ticket", "butter", "camera", "dragon", "flower", "garage",
    "honey", "letter", "market", "office", "parrot", "salad", "tiger", "under", "violin", "bridge",
    "circle", "danger", "energy", "family", "golden", "hunter", "invite", "jelly", "lesson", "memory",
    "nature", "object", "pocket", "quiet", "record", "signal", "temple", "useful", "vision", "wonder",
    "arrow", "beacon", "cobalt", "domino", "echo", "fabric", "gravity", "horizon", "igloo", "jasmine",
    "blanket", "cabinet", "dolphin", "elephant", "fountain", "granite", "history", "kingdom", "lobster", "mustard",
    "notebook", "pattern", "quarter", "reptile", "sandwich", "thunder", "umbrella", "vitamin", "whistle", "balcony",
)


class WordEncoderParams(StrictModel):
    """The trigger word by embeddings: its encoder's data, training, threshold rule and check."""

    # Words never trained on: enrolled and measured in the dev and test checks.
    held_out_words: tuple[str, ...] = ("activate",)
    dev_words: tuple[str, ...] = ("marmalade", "lighthouse")
    test_words: tuple[str, ...] = ("pineapple", "saxophone")
    vocabulary: int = Field(120, ge=0, le=len(VOCABULARY))
    vocabulary_voices: int = Field(8, ge=1)
    lexicon_words: int = Field(2000, ge=0)
    lexicon_voices: int = Field(2, ge=1)
    pico_lexicon_voices: int = Field(2, ge=0)
    pico_vocabulary_voices: int = Field(2, ge=0)
    pico_pitch: tuple[int, int] = (60, 160)
    pico_rate: tuple[int, int] = (70, 150)
    kokoro_speeds: tuple[float, ...] = (0.8, 0.9, 1.0, 1.1, 1.2)
    cut_fraction: float = Field(0.0, ge=0, le=1)
    cut_steps: tuple[int, int] = (3, 5)
    train_voices: int = Field(0, ge=0)
    train_takes: int = Field(1500, ge=0)
    eval_voices: int = Field(8, ge=1)
    window_steps: int = Field(12, ge=2)
    jitter_steps: int = Field(2, ge=0)
    train_word_to_background_db: tuple[float, float] = (0.0, 25.0)
    word_to_background_db: tuple[float, float] = (0.0, 15.0)
    background_db: tuple[float, float] = (-40.0, -25.0)
    hidden: int = Field(96, ge=4)
    dim: int = Field(64, ge=2)
    dropout: float = Field(0.1, ge=0, lt=1)
    epochs: int = Field(12, ge=1)
    batch_words: int = Field(16, ge=2)
    batch_takes: int = Field(6, ge=2)
    learning_rate: float = Field(2e-3, gt=0)
    margin: float = Field(0.4, gt=0)
    bank_windows: int = Field(4000, ge=10)
    bank_quantile: float = Field(0.999, gt=0, le=1)
    agree_quantile: float = Field(0.99, gt=0, le=1)
    enrol_takes: int = Field(3, ge=3, le=10)
    target_fa_per_hour: float = Field(0.5, ge=0)
    negative_minutes: float = Field(10.0, gt=0)
    refractory_s: float = Field(1.0, ge=0)
    match_window_s: float = Field(1.0, gt=0)
    match_early_s: float = Field(0.3, ge=0)
    evaluate_test: bool = True
    threads: int = Field(1, ge=1)
    scorer: Literal["encoder", "match", "fused"] = "fused"
    match_weight: float = Field(0.25, ge=0, le=1)
    match_extra_steps: int = Field(4, ge=0, le=12)
    match_norm: bool = True
    match_speeds: tuple[float, ...] = (0.9, 1.1)
    match_noise_db: tuple[float, ...] = (10.0,)
    match_pitch_semitones: tuple[float, ...] = ()
    match_warps: tuple[float, ...] = ()
    step_bank_steps: int = Field(20000, ge=0)

    @model_validator(mode="after")
    def _words_apart(self) -> WordEncoderParams:
        held = {w.lower() for w in (*self.held_out_words, *self.dev_words, *self.test_words)}
        if clash := sorted(held & set(VOCABULARY[:self.vocabulary])):
            raise ValueError(f"held-out words {clash} are in the encoder's training vocabulary")
        for name in ("train_word_to_background_db", "word_to_background_db", "background_db"):
            lo, hi = getattr(self, name)
            if lo > hi:
                raise ValueError(f"{name}: first value must not exceed the second")
        for name, (lo, hi) in (("pico_pitch", (50, 200)), ("pico_rate", (20, 500))):
            a, b = getattr(self, name)
            if not lo <= a <= b <= hi:
                raise ValueError(f"{name}: [{a}, {b}] must be a range inside {lo}-{hi} (percent)")
        if not 1 <= self.cut_steps[0] <= self.cut_steps[1]:
            raise ValueError("cut_steps: [min, max] steps, 1 <= min <= max")
        if self.scorer != "encoder" and self.step_bank_steps < 100:
            raise ValueError(f"scorer {self.scorer}: its rule needs a step bank, step_bank_steps >= 100")
        if any(not 0.5 <= s <= 2.0 for s in self.match_speeds):
            raise ValueError(f"match_speeds: {list(self.match_speeds)}: each factor must lie in 0.5-2")
        if any(not -10.0 <= d <= 40.0 for d in self.match_noise_db):
            raise ValueError(f"match_noise_db: {list(self.match_noise_db)}: each level must lie in -10 to 40 dB")
        if any(not -12.0 <= s <= 12.0 or s == 0 for s in self.match_pitch_semitones):
            raise ValueError(f"match_pitch_semitones: {list(self.match_pitch_semitones)}: each shift must lie in "
                             "-12 to 12 semitones and not be 0")
        if any(not 0.7 <= a <= 1.4 or a == 1 for a in self.match_warps):
            raise ValueError(f"match_warps: {list(self.match_warps)}: each formant factor must lie in 0.7-1.4 and "
                             "not be 1")
        if any(not 0.5 <= s <= 2.0 for s in self.kokoro_speeds):
            raise ValueError("kokoro_speeds: each speed must be within 0.5-2.0")
        return self
