"""Params of collect's real recordings (``trigger_word.collect.real_audio``); see :mod:`tasks.trigger_word.real_audio`."""

from __future__ import annotations

from pydantic import Field

from tasks.config import StrictModel


class RealFolder(StrictModel):
    """One folder of installed recordings, with where they come from and their licence."""

    dir: str
    # Files under ``dir`` matching this glob (relative to ``dir``).
    pattern: str = "**/*.wav"
    # Debian package (or other origin) the files come from, e.g. debian:fillets-ng-data-nl.
    source: str
    licence: str
    # Transcripts (glob relative to ``dir``) in fillets-ng's dialogs_*.lua form, or null.
    texts: str | None = None


_ASTERISK = "/usr/share/asterisk/sounds"
_FILLETS = "/usr/share/games/fillets-ng"
# Never fr or ru: those are the cross-engine check's dev and test negatives.
SPEECH = (
    RealFolder(dir=f"{_ASTERISK}/es_MX_f_Allison", source="debian:asterisk-core-sounds-es-wav",
               licence="CC-BY-SA-3.0"),
    RealFolder(dir=f"{_ASTERISK}/it_IT_m_Carlo", source="debian:asterisk-core-sounds-it-wav",
               licence="CC-BY-SA-3.0"),
    RealFolder(dir=_FILLETS, pattern="sound/*/nl/*.ogg", source="debian:fillets-ng-data-nl", licence="GPL-2",
               texts="script/*/dialogs*.lua"),
    RealFolder(dir=_FILLETS, pattern="sound/*/cs/*.ogg", source="debian:fillets-ng-data-cs", licence="GPL-2",
               texts="script/*/dialogs*.lua"),
)
BACKGROUNDS = (
    RealFolder(dir=f"{_FILLETS}/music", pattern="*.ogg", source="debian:fillets-ng-data", licence="GPL-2"),
    RealFolder(dir="/usr/share/games/frozen-bubble/snd", pattern="*zik*.ogg", source="debian:frozen-bubble-data",
               licence="GPL-2"),
)


class RealAudioParams(StrictModel):
    enabled: bool = False
    speech: tuple[RealFolder, ...] = SPEECH
    speech_files_per_dir: int = Field(200, ge=0)
    speech_max_s: float = Field(4.0, gt=0)
    babble_share: float = Field(0.15, ge=0, le=1)
    exclude: tuple[str, ...] = ("activ", "aktiv", "attiv")
    backgrounds: tuple[RealFolder, ...] = BACKGROUNDS


class IntelligibilityParams(StrictModel):
    """pocketsphinx's check of synthesised positive takes (tasks/audio/intelligibility.py)."""

    enabled: bool = False
    # Manifest sources whose positive takes are checked (tts: espeak-ng).
    sources: tuple[str, ...] = ("tts",)
