"""Typed params of the speech engines that say the words (``collect.tts.engines``, ``collect.tts.kokoro``,
``collect.cross_engine.espeak``).

Kept apart from :mod:`tasks.trigger_word.config` (which imports these classes) so the engine
choice can move as one piece; the work is in :mod:`tasks.trigger_word.engines`.
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from tasks.config import StrictModel

# The engines: espeak-ng (formant synthesis, hundreds of voices) and Kokoro-82M (neural, 5 voices
# whose blends make more).
ENGINES = ("espeak", "kokoro")
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
