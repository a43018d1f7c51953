"""Speech port: what robot nodes need from a text-to-speech engine (no TTS library here)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

ZH_CN = "zh-CN"
EN = "en"
SUPPORTED_LANGUAGES = (ZH_CN, EN)


class SpeakerError(RuntimeError):
    """The speaker cannot say this (missing voice, engine failure, bad language)."""


def normalize_speech_language(language: str) -> str:
    """ "" / "zh" / "zh_CN" / "cmn" -> "zh-CN"; "en" / "en-US" / "en-GB" -> "en"; else SpeakerError."""
    lang = (language or "").strip().lower().replace("_", "-")
    if lang in ("", "zh", "cmn", "zh-cn", "zh-hans") or lang.startswith("zh-"):
        return ZH_CN
    if lang == "en" or lang.startswith("en-"):
        return EN
    raise SpeakerError(f"language {language!r}: expected one of {', '.join(SUPPORTED_LANGUAGES)}")


@runtime_checkable
class Speaker(Protocol):
    def speak_to_file(self, text: str, language: str, wav_path: Path) -> float:
        """Synthesize `text` in `language` into a WAV file at wav_path; return its duration in s."""
        ...
