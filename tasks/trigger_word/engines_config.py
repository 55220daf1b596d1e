"""Typed params of the speech engines that say the words (``collect.tts.engines``, ``collect.tts.kokoro``,
``collect.tts.pico``, ``collect.cross_engine.espeak`` and ``.pico``).

Kept apart from :mod:`tasks.trigger_word.config` (which imports these classes) so the engine
choice can move as one piece; the work is in :mod:`tasks.trigger_word.engines`.
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from tasks.config import StrictModel

# The engines: espeak-ng (formant synthesis, hundreds of voices), Kokoro-82M (neural, 5 voices
# whose blends make more) and SVOX Pico (HMM, 2 voices; pitch, rate and a formant warp make more).
ENGINES = ("espeak", "kokoro", "pico")
# tasks.audio.pico's VOICES and PITCH_RANGE (a test checks), not imported: every stage reads these
# params, and a change in the engine's module should not make them all stale.
PICO_VOICES = ("en-US", "en-GB")
PICO_PITCH_RANGE = (50, 200)
KOKORO_VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")


class KokoroTrainVoices(StrictModel):
    """Kokoro voices that say the training words when ``kokoro`` is a training engine: blends
    (weighted averages of the style vectors) of the base voices, each its own speaker group."""

    voices: int = Field(40, ge=1)
    base_voices: tuple[str, ...] = Field(KOKORO_VOICES, min_length=1)
    mix: tuple[int, int] = (2, 3)
    speeds: tuple[float, ...] = Field((0.85, 1.0, 1.15), min_length=1)
    negatives_per_voice: int = Field(3, ge=0)
    shard_size: int = Field(12, ge=1)

    @field_validator("base_voices")
    @classmethod
    def _voices(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(v) - set(KOKORO_VOICES))
        if unknown:
            raise ValueError(f"unknown Kokoro voices {unknown}; voices: {list(KOKORO_VOICES)}")
        return v

    @field_validator("speeds")
    @classmethod
    def _speeds(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if any(not 0.5 <= s <= 2.0 for s in v):
            raise ValueError("Kokoro speeds must be within 0.5-2")
        return v

    @model_validator(mode="after")
    def _mix(self) -> KokoroTrainVoices:
        if not 1 <= self.mix[0] <= self.mix[1]:
            raise ValueError("mix: [min, max] voices per blend, 1 <= min <= max")
        return self


class PicoTrainVoices(StrictModel):
    """SVOX Pico speakers that say training words when ``pico`` is a training engine.

    Pico has two voices, so a *variant* (one speaker group) is a base voice at a pitch drawn in
    ``pitch`` and a formant warp drawn in ``warp``; it says the positive at every ``rates`` x
    ``pitch_steps`` and ``negatives_per_variant`` negative words. Its takes are for training only.
    """

    variants: int = Field(40, ge=1)
    voices: tuple[str, ...] = Field(PICO_VOICES, min_length=1)
    pitch: tuple[int, int] = (60, 170)
    warp: tuple[float, float] = (0.88, 1.12)
    rates: tuple[int, ...] = Field((80, 100, 125), min_length=1)
    pitch_steps: tuple[float, ...] = Field((0.9, 1.0, 1.1), min_length=1)
    negatives_per_variant: int = Field(10, ge=0)
    shard_size: int = Field(60, ge=1)

    @field_validator("voices")
    @classmethod
    def _voices(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(v) - set(PICO_VOICES))
        if unknown:
            raise ValueError(f"unknown SVOX Pico voices {unknown}; voices: {list(PICO_VOICES)}")
        return v

    @field_validator("rates")
    @classmethod
    def _rates(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if any(not 50 <= r <= 200 for r in v):
            raise ValueError("SVOX Pico rates must be within 50-200 (percent of the voice's own)")
        return v

    @field_validator("warp")
    @classmethod
    def _warp(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0.7 <= v[0] <= v[1] <= 1.4:
            raise ValueError("warp: [lo, hi] formant factors, 0.7 <= lo <= hi <= 1.4 ([1, 1] = off)")
        return v

    @model_validator(mode="after")
    def _pitches(self) -> PicoTrainVoices:
        (lo, hi), (low, high) = self.pitch, PICO_PITCH_RANGE
        if not low <= lo <= hi <= high:
            raise ValueError(f"pitch: [lo, hi] percent of the voice's own, {low} <= lo <= hi <= {high}")
        if any(not low <= round(p * s) <= high for p in self.pitch for s in self.pitch_steps):
            raise ValueError(f"pitch x pitch_steps must stay within {low}-{high} percent (SVOX Pico's range)")
        return self


class PicoCheckVoices(StrictModel):
    """SVOX Pico takes of the cross-engine check when Pico is the engine held out of training: one
    base voice per part, plain (no warp), the positive at every pitch x rate, the first
    ``cross_engine.negative_words`` negative words at every pitch and the middle rate."""

    dev_voice: str = "en-US"
    test_voice: str = "en-GB"
    pitches: tuple[int, ...] = Field((70, 100, 140), min_length=1)
    rates: tuple[int, ...] = Field((80, 100, 125), min_length=1)

    @model_validator(mode="after")
    def _valid(self) -> PicoCheckVoices:
        if {self.dev_voice, self.test_voice} - set(PICO_VOICES) or self.dev_voice == self.test_voice:
            raise ValueError(f"dev_voice and test_voice: two different SVOX Pico voices of {list(PICO_VOICES)}")
        low, high = PICO_PITCH_RANGE
        if any(not low <= p <= high for p in self.pitches) or any(not 50 <= r <= 200 for r in self.rates):
            raise ValueError(f"pitches within {low}-{high}, rates within 50-200 (percent)")
        return self


class EspeakCheckVoices(StrictModel):
    """espeak-ng voices of the cross-engine check when espeak-ng is the engine held out of training."""

    dev_voices: int = Field(10, ge=1)
    test_voices: int = Field(15, ge=1)


def check_engines(engines: tuple[str, ...], held_out: str, check_enabled: bool) -> None:
    """Refuse an unknown engine, and a check engine that also says the training words."""
    unknown = sorted(set(engines) - set(ENGINES))
    if unknown:
        raise ValueError(f"tts.engines: unknown {unknown}; engines: {list(ENGINES)}")
    if check_enabled and held_out in engines:
        raise ValueError(f"cross_engine.engine {held_out!r} is also in tts.engines: the check's engine must "
                         "never say training words (leave it out of tts.engines, or check the other engine)")
