"""Typed params of the trigger-word pipeline (the ``trigger_word`` section of params.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from tasks.audio.noise import KINDS as BACKGROUND_KINDS
from tasks.config import SplitRuleParams, StrictModel
from tasks.trigger_word.engines_config import (
    EspeakCheckVoices,
    KokoroTrainVoices,
    PicoCheckVoices,
    PicoTrainVoices,
    check_engines,
)
from tasks.trigger_word.real_audio_config import IntelligibilityParams, RealAudioParams
from tasks.trigger_word.word_encoder_config import WordEncoderParams

SPLITS = ("train", "dev", "test")


def _ordered_pair(v: tuple[float, float], what: str) -> tuple[float, float]:
    if v[0] > v[1]:
        raise ValueError(f"{what}: first value must not exceed the second")
    return v


class TTSParams(StrictModel):
    enabled: bool = True
    accents: tuple[str, ...] = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029",
                                "en-us-nyc", "en-gb-x-gbclan", "en-gb-x-gbcwmd")
    variants: tuple[str, ...] = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4",
                                 "f5", "Alex", "Andy", "Annie", "Denis", "Gene", "Jacky", "Lee",
                                 "Mario", "Michael", "Mike", "Storm", "Tweaky", "adam", "anika",
                                 "aunty", "belinda", "benjamin", "boris", "caleb", "david", "ed",
                                 "edward", "grandma", "grandpa", "ian", "john", "linda", "max",
                                 "michel", "norbert", "paul", "quincy", "rob", "robert", "shelby",
                                 "steph", "travis", "victor", "zac", "Alicia", "Andrea",
                                 "AnxiousAndy", "Diogo", "Gene2", "Henrique", "Hugo", "Marco",
                                 "Nguyen", "Reed", "RicishayMax", "RicishayMax2", "RicishayMax3",
                                 "announcer", "antonio", "edward2", "gustave", "iven", "iven2",
                                 "iven3", "iven4", "kaukovalta", "klatt", "klatt2", "klatt3",
                                 "klatt4", "klatt5", "klatt6", "m8", "marcelo", "miguel", "mike2",
                                 "pablo", "pedro", "sandro", "steph2", "steph3")
    voices: int = Field(120, ge=0)
    rates: tuple[int, ...] = Field((140, 175, 210), min_length=1)
    pitches: tuple[int, ...] = Field((35, 50, 65), min_length=1)
    negatives_per_voice: int = Field(0, ge=0)
    negative_takes: int = Field(3, ge=1)
    voices_per_shard: int = Field(5, ge=1)
    # Engines that say the training words (tasks.trigger_word.engines); espeak's keys are the above.
    engines: tuple[str, ...] = Field(("espeak",), min_length=1)
    kokoro: KokoroTrainVoices = KokoroTrainVoices()
    pico: PicoTrainVoices = PicoTrainVoices()

    @field_validator("rates")
    @classmethod
    def _rates(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if any(not 80 <= r <= 450 for r in v):
            raise ValueError("speaking rates must be within 80-450 words per minute")
        return v

    @field_validator("pitches")
    @classmethod
    def _pitches(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if any(not 0 <= p <= 100 for p in v):
            raise ValueError("pitches must be within 0-100")
        return v


class UserFolders(StrictModel):
    positives_dir: str | None = None
    negatives_dir: str | None = None
    backgrounds_dir: str | None = None


# Everyday words the babble texture is made of: none shares sounds with the trigger word.
BABBLE_WORDS = ("hello", "computer", "weather", "music", "yesterday", "kitchen", "seven", "tomorrow",
                "window", "lights", "coffee", "morning", "people", "garden", "number", "paper")


class GeneratedBackgrounds(StrictModel):
    count: int = Field(22, ge=0)
    seconds: float = Field(30.0, gt=0)
    kinds: tuple[str, ...] = BACKGROUND_KINDS
    babble_words: tuple[str, ...] = Field(BABBLE_WORDS, min_length=1)

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(v) - set(BACKGROUND_KINDS))
        if unknown:
            raise ValueError(f"unknown kinds {unknown}; known: {list(BACKGROUND_KINDS)}")
        return v


class AudioChecks(StrictModel):
    word_min_s: float = Field(0.2, gt=0)
    word_max_s: float = Field(2.0, gt=0)
    background_min_s: float = Field(10.0, gt=0)
    background_max_s: float = Field(3600.0, gt=0)
    silence_dbfs: float = Field(-50.0, le=0)
    max_clipped_fraction: float = Field(0.001, ge=0, le=1)
    trim_db: float = Field(-40.0, lt=0)


class CrossEngineMaterial(StrictModel):
    """Words of engines and speakers never used in training, for the evaluate stage's cross-engine check."""

    enabled: bool = True
    dev_voices: tuple[str, ...] = ("jf_alpha", "jf_tebukuro")
    test_voices: tuple[str, ...] = ("jf_gongitsune", "jf_nezumi", "jm_kumo")
    speeds: tuple[float, ...] = Field((0.8, 0.9, 1.0, 1.1, 1.2), min_length=1)
    negative_words: int = Field(8, ge=0)
    real_speech_dev: tuple[str, ...] = ("/usr/share/asterisk/sounds/fr_CA_f_June",)
    real_speech_test: tuple[str, ...] = ("/usr/share/asterisk/sounds/ru_RU_f_IvrvoiceRU",)
    real_speech_files: int = Field(150, ge=0)
    real_speech_max_s: float = Field(4.0, gt=0)
    shard_size: int = Field(12, ge=1)
    # The engine held out of training whose voices the check is made of: kokoro (the voices
    # above), espeak (espeak-ng voices drawn from collect.tts's grid) or pico (SVOX Pico).
    engine: Literal["kokoro", "espeak", "pico"] = "kokoro"
    espeak: EspeakCheckVoices = EspeakCheckVoices()
    pico: PicoCheckVoices = PicoCheckVoices()

    @field_validator("dev_voices", "test_voices")
    @classmethod
    def _voices(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        from tasks.audio.kokoro import VOICES

        unknown = sorted(set(v) - set(VOICES))
        if unknown:
            raise ValueError(f"unknown Kokoro voices {unknown}; voices: {list(VOICES)}")
        return v

    @model_validator(mode="after")
    def _disjoint(self) -> CrossEngineMaterial:
        if set(self.dev_voices) & set(self.test_voices):
            raise ValueError("dev_voices and test_voices must not share a voice")
        if set(self.real_speech_dev) & set(self.real_speech_test):
            raise ValueError("real_speech_dev and real_speech_test must not share a folder")
        return self


class CollectParams(StrictModel):
    sample_rate: int = Field(16000, ge=8000, le=96000)
    positive_word: str = Field("activate", min_length=1)
    negative_words: tuple[str, ...] = Field(("active", "activity", "activist", "captivate",
                                             "motivate", "cultivate", "activation", "actor",
                                             "navigate", "vacate", "hello", "computer", "weather",
                                             "music", "yesterday", "kitchen", "seven", "tomorrow",
                                             "window", "lights"), min_length=1)
    tts: TTSParams = TTSParams()
    user: UserFolders = UserFolders()
    generated_backgrounds: GeneratedBackgrounds = GeneratedBackgrounds()
    checks: AudioChecks = AudioChecks()
    cross_engine: CrossEngineMaterial = CrossEngineMaterial()
    real_audio: RealAudioParams = RealAudioParams()
    intelligibility: IntelligibilityParams = IntelligibilityParams()
    min_positives: int = Field(10, ge=1)
    min_negatives: int = Field(1, ge=0)
    min_backgrounds: int = Field(3, ge=1)

    @model_validator(mode="after")
    def _babble_without_positive(self) -> CollectParams:
        # A background is labelled all zeros, so the trigger word must not be in its chatter.
        if self.positive_word.lower() in {w.lower() for w in self.generated_backgrounds.babble_words}:
            raise ValueError(f"generated_backgrounds.babble_words holds the positive word {self.positive_word!r}")
        check_engines(self.tts.engines, self.cross_engine.engine, self.cross_engine.enabled and self.tts.enabled)
        return self


class SplitParams(SplitRuleParams):
    """Split sizes of words and backgrounds (groups of one voice or recording stay together)."""


class AugmentParams(StrictModel):
    speed: tuple[float, float] = (0.9, 1.1)
    eq_db: float = Field(6.0, ge=0)
    reverb_prob: float = Field(0.3, ge=0, le=1)
    rt60_s: tuple[float, float] = (0.2, 0.8)
    # Formant (vocal-tract-length) warp range of the train split's words; (1, 1) = off.
    warp: tuple[float, float] = (1.0, 1.0)
    # Rooms of the words with reverb: synthetic, real (tasks/audio/rir.py) or both (half each)...
    rir: Literal["synthetic", "real", "both"] = "synthetic"
    # ...in these splits' clips (the others keep synthetic rooms).
    rir_splits: tuple[str, ...] = ("train",)

    @field_validator("rir_splits")
    @classmethod
    def _rir_splits(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(v) - set(SPLITS))
        if unknown:
            raise ValueError(f"unknown split(s) {unknown}; splits are {list(SPLITS)}")
        return v

    @field_validator("speed")
    @classmethod
    def _speed(cls, v: tuple[float, float]) -> tuple[float, float]:
        if v[0] <= 0:
            raise ValueError("speed factors must be positive")
        return _ordered_pair(v, "speed")

    @field_validator("rt60_s")
    @classmethod
    def _rt60(cls, v: tuple[float, float]) -> tuple[float, float]:
        if v[0] <= 0:
            raise ValueError("rt60 must be positive")
        return _ordered_pair(v, "rt60_s")

    @field_validator("warp")
    @classmethod
    def _warp(cls, v: tuple[float, float]) -> tuple[float, float]:
        if v[0] < 0.5 or v[1] > 2.0:
            raise ValueError("warp factors must be within 0.5-2")
        return _ordered_pair(v, "warp")


class SynthesizeParams(StrictModel):
    clips: dict[str, int] = Field(default_factory=lambda: {"train": 2000, "dev": 300, "test": 300})
    clip_seconds: float = Field(10.0, gt=0)
    ty: int = Field(125, ge=1)
    label_ones: int = Field(5, ge=1)
    positives: tuple[int, int] = (0, 4)
    negatives: tuple[int, int] = (1, 3)
    background_db: tuple[float, float] = (-40.0, -25.0)
    word_to_background_db: tuple[float, float] = (5.0, 25.0)
    # Word-to-background range of the train split alone (None: word_to_background_db), so the
    # model can practise on harder mixes than dev and test are scored on.
    train_word_to_background_db: tuple[float, float] | None = (0.0, 25.0)
    augment: AugmentParams = AugmentParams()
    shard_size: int = Field(64, ge=1)
    hard_negatives_dir: str | None = None

    @field_validator("clips")
    @classmethod
    def _clips(cls, v: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(v) - set(SPLITS))
        if unknown:
            raise ValueError(f"unknown split(s) {unknown}; splits are {list(SPLITS)}")
        if any(n < 0 for n in v.values()):
            raise ValueError("clip counts must be >= 0")
        return v

    @field_validator("positives", "negatives")
    @classmethod
    def _counts(cls, v: tuple[int, int]) -> tuple[int, int]:
        if v[0] < 0:
            raise ValueError("word counts must be >= 0")
        return _ordered_pair(v, "count range")

    @field_validator("background_db", "word_to_background_db", "train_word_to_background_db")
    @classmethod
    def _db(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        return v if v is None else _ordered_pair(v, "level range")

    def for_split(self, split: str) -> SynthesizeParams:
        """The params a split's clips are drawn with (train may have its own word levels)."""
        p = self.rooms_for(split)
        if split == "train" and self.train_word_to_background_db is not None:
            return p.model_copy(update={"word_to_background_db": self.train_word_to_background_db})
        return p

    def rooms_for(self, split: str) -> SynthesizeParams:
        """The params with real rooms only where ``augment.rir_splits`` has ``split``."""
        if self.augment.rir == "synthetic" or split in self.augment.rir_splits:
            return self
        return self.model_copy(update={"augment": self.augment.model_copy(update={"rir": "synthetic"})})


class FeaturesParams(StrictModel):
    kind: str = Field("speech_embedding", pattern="^(spectrogram|logmel|speech_embedding)$")
    sample_rate: int | None = Field(16000, ge=8000, le=96000)
    n_fft: int = Field(640, ge=16)
    hop: int = Field(320, ge=1)
    n_mels: int = Field(40, ge=1)
    shard_size: int = Field(64, ge=1)


class ModelParams(StrictModel):
    head: Literal["gru", "window"] = "gru"
    conv_filters: int = Field(128, ge=1)
    conv_kernel: int = Field(1, ge=1)
    conv_stride: int = Field(1, ge=1)
    gru_units: int = Field(96, ge=1)
    gru_layers: int = Field(2, ge=1)
    dropout: float = Field(0.2, ge=0, lt=1)
    window: int = Field(16, ge=1)
    window_units: int = Field(64, ge=1)
    window_layers: int = Field(2, ge=1)
    stream_norm: Literal["none", "mean", "mean_std", "l2", "mean_l2"] = "none"
    stream_norm_s: float | None = Field(3.0, gt=0)


class SpecAugmentParams(StrictModel):
    freq_masks: int = Field(2, ge=0)
    freq_width: int = Field(6, ge=0)
    time_masks: int = Field(2, ge=0)
    time_width: int = Field(3, ge=0)
    noise_std: float = Field(0.0, ge=0)


class TrainParams(StrictModel):
    model: ModelParams = ModelParams()
    epochs: int = Field(15, ge=1)
    batch_size: int = Field(32, ge=1)
    learning_rate: float = Field(0.003, gt=0)
    lr_schedule: Literal["constant", "cosine"] = "constant"
    warmup_epochs: float = Field(0.0, ge=0)
    weight_decay: float = Field(0.0, ge=0)
    pos_weight: float | None = Field(None, gt=0)
    negative_weight: float = Field(1.0, gt=0)
    negative_window_s: float = Field(0.5, gt=0)
    ema_epochs: float = Field(2.0, ge=0)
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    focal_gamma: float = Field(0.0, ge=0)
    mixup_alpha: float = Field(0.0, ge=0)
    pool_positives: bool = False
    labels: tuple[int, int] | None = None

    @field_validator("labels")
    @classmethod
    def _labels(cls, v: tuple[int, int] | None) -> tuple[int, int] | None:
        if v is not None and v[1] < 1:
            raise ValueError("labels: [start, ones] needs at least one label step (ones >= 1)")
        return v
    spec_augment: SpecAugmentParams = SpecAugmentParams()
    threads: int = Field(2, ge=1)
    dev_target_fa_per_hour: float = Field(0.5, ge=0)


class CrossEngineCheck(StrictModel):
    """How the evaluate stage measures on the cross-engine material (see CrossEngineMaterial)."""

    clips: int = Field(100, ge=0)
    positives: tuple[int, int] = (1, 3)
    negatives: tuple[int, int] = (0, 2)
    word_to_background_db: tuple[float, float] = (0.0, 15.0)
    negative_minutes: float = Field(30.0, ge=0)

    @field_validator("positives", "negatives", "word_to_background_db")
    @classmethod
    def _pairs(cls, v: tuple) -> tuple:
        return _ordered_pair(v, "range")


class EvaluateParams(StrictModel):
    target_fa_per_hour: float = Field(0.5, ge=0)
    refractory_s: float = Field(0.5, ge=0)
    match_window_s: float = Field(1.0, gt=0)
    match_early_s: float = Field(0.2, ge=0)
    negative_minutes: float = Field(30.0, gt=0)
    negative_words: tuple[int, int] = (1, 3)
    session_minutes: float = Field(10.0, gt=0)
    threads: int = Field(2, ge=1)
    mine_minutes: float = Field(10.0, ge=0)
    mine_window_s: float = Field(1.5, gt=0)
    cross_engine: CrossEngineCheck = Field(default_factory=lambda: CrossEngineCheck())

    @field_validator("negative_words")
    @classmethod
    def _counts(cls, v: tuple[int, int]) -> tuple[int, int]:
        if v[0] < 0:
            raise ValueError("word counts must be >= 0")
        return _ordered_pair(v, "negative_words")


class TriggerWordParams(StrictModel):
    """The whole ``trigger_word`` section of params.yaml."""

    collect: CollectParams = CollectParams()
    split: SplitParams = SplitParams()
    synthesize: SynthesizeParams = SynthesizeParams()
    features: FeaturesParams = FeaturesParams()
    train: TrainParams = TrainParams()
    evaluate: EvaluateParams = EvaluateParams()
    word_encoder: WordEncoderParams = WordEncoderParams()  # the trigger word by embeddings (enrol-word)


class Layout:
    """Where each trigger-word stage writes, under ``data_dir`` (the one place paths are named)."""

    def __init__(self, data_dir: str | Path):
        root = Path(data_dir) / "trigger_word"
        self.root = root
        self.collect = root / "collect"
        self.split = root / "split"
        self.clips = root / "clips"
        self.features = root / "features"
        self.train = root / "train"  # best checkpoint (by dev quality) and its history
        self.train_state = root / "train_state"  # resumable state of a run in progress
        self.eval = root / "eval"  # negative-only audio, false accepts, misses
        self.model = root / "model"  # the shipped model: checkpoint + threshold + card
        self.hard_negatives = root / "hard_negatives"  # rounds of mined false accepts (feedback)
        self.reports = root / "reports"  # DVC metrics and plots (small, kept in git)
        self.train_metrics = self.reports / "train_metrics.json"
        self.train_history = self.reports / "train_history.csv"
        self.eval_metrics = self.reports / "eval_metrics.json"
        self.det_test = self.reports / "det_test.csv"
        self.det_dev = self.reports / "det_dev.csv"
        self.det_cross_test = self.reports / "det_cross_engine_test.csv"
        self.det_cross_dev = self.reports / "det_cross_engine_dev.csv"
        self.cross_engine = self.collect / "cross_engine"  # words of engines never in training
        self.word_encoder = root / "word_encoder"  # the encoder enrol-word uses, with its threshold rule
        self.word_encoder_metrics = self.reports / "word_encoder_metrics.json"
        self.word_encoder_history = self.reports / "word_encoder_history.csv"
        self.word_encoder_dev_curve = self.reports / "word_encoder_dev_curve.csv"
