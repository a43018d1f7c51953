"""Text to speech with pyttsx3 (espeak-ng on Linux), written to WAV files; no audio device needed.

espeak-ng silently ignores unknown voice names ("zh" keeps the English voice, which then reads
Chinese characters one by one), so the voice is looked up in the engine's voice list and checked
after setting it. pyttsx3 engines are process-wide singletons and not thread-safe: every call
goes through one lock, and each save_to_file gets its own runAndWait (queued saves write only
the last file).
"""

from __future__ import annotations

import contextlib
import io
import threading
import time
import wave
from pathlib import Path
from typing import Any

from robots.core.speech import EN, ZH_CN, SpeakerError, normalize_speech_language

# Voice ids tried first, then any voice whose language matches.
_PREFERRED_VOICES = {ZH_CN: ("sit/cmn", "cmn"), EN: ("gmw/en-us", "gmw/en", "en-us", "en")}
_VOICE_LANGUAGES = {ZH_CN: ("cmn", "zh"), EN: ("en-us", "en-gb", "en")}
_VOICE_NAMES = {ZH_CN: "Mandarin (espeak-ng 'cmn')", EN: "English"}

# pyttsx3.init() returns one shared engine per driver name, so the lock is process-wide too.
_ENGINE_LOCK = threading.Lock()

__all__ = ["Pyttsx3Speaker", "SpeakerError", "wav_duration_s"]


def wav_duration_s(wav_path: Path) -> float:
    with wave.open(str(wav_path), "rb") as wav:
        return wav.getnframes() / float(wav.getframerate())


def _wait_for_complete_file(path: Path, timeout_s: float, settle_s: float = 0.1) -> bool:
    """Wait until ``path`` holds more than a WAV header and stops growing.

    The espeak driver's runAndWait sometimes returns before its file is written (seen here with
    longer Mandarin answers: the file appeared about a second later).
    """
    deadline = time.monotonic() + timeout_s
    last_size = -1
    while time.monotonic() < deadline:
        size = path.stat().st_size if path.exists() else -1
        if size > 44 and size == last_size:
            return True
        last_size = size
        time.sleep(settle_s)
    return False


class Pyttsx3Speaker:
    """Speaker port implementation: speak_to_file(text, language, wav_path) -> duration_s."""

    def __init__(self, *, rate_wpm: int | None = None, driver_name: str = "espeak") -> None:
        self._rate_wpm = rate_wpm
        self._driver_name = driver_name
        self._engine: Any = None
        self._voice_ids: dict[str, str] = {}

    @property
    def current_voice_id(self) -> str | None:
        """The voice the engine reports as in effect (e.g. 'sit/cmn')."""
        with _ENGINE_LOCK:
            return self._engine.getProperty("voice") if self._engine is not None else None

    def _ensure_engine(self) -> Any:
        if self._engine is None:
            try:
                import pyttsx3  # adapter-only dependency, imported lazily

                self._engine = pyttsx3.init(self._driver_name)
            except Exception as exc:  # noqa: BLE001 - pyttsx3 raises many kinds; name the cause
                raise SpeakerError(f"pyttsx3 driver {self._driver_name!r} failed to start: {exc}") from exc
            if self._rate_wpm is not None:
                self._engine.setProperty("rate", self._rate_wpm)
        return self._engine

    def _voice_id(self, engine: Any, language: str) -> str:
        if language in self._voice_ids:
            return self._voice_ids[language]
        voices = engine.getProperty("voices") or []
        by_id = {v.id.lower(): v for v in voices}
        chosen = next((vid for vid in _PREFERRED_VOICES[language] if vid in by_id), None)
        if chosen is None:
            wanted = _VOICE_LANGUAGES[language]
            chosen = next(
                (v.id.lower() for v in voices if any(lang.lower() in wanted for lang in (v.languages or []))),
                None,
            )
        if chosen is None:
            raise SpeakerError(
                f"{_VOICE_NAMES[language]} voice not available among {len(voices)} espeak-ng voices "
                "(install espeak-ng-data)"
            )
        self._voice_ids[language] = chosen
        return chosen

    def _queue_voice(self, engine: Any, language: str) -> str:
        """Queue the voice change; it takes effect inside the next runAndWait.

        Not a runAndWait of its own: the espeak driver re-synthesizes the previous text into the
        previous file on every runAndWait, which would overwrite the last WAV.
        """
        voice_id = self._voice_id(engine, language)
        try:
            engine.setProperty("voice", voice_id)
        except Exception as exc:  # noqa: BLE001
            raise SpeakerError(f"setting voice {voice_id!r} failed: {exc}") from exc
        return voice_id

    def speak_to_file(self, text: str, language: str, wav_path: Path) -> float:
        if not text.strip():
            raise SpeakerError("nothing to say: text is empty")
        lang = normalize_speech_language(language)
        wav_path = Path(wav_path)
        wav_path.parent.mkdir(parents=True, exist_ok=True)
        with _ENGINE_LOCK:
            engine = self._ensure_engine()
            voice_id = self._queue_voice(engine, lang)
            wav_path.unlink(missing_ok=True)
            try:
                # The espeak driver prints "Audio saved to ..." on stdout; keep stdout clean.
                with contextlib.redirect_stdout(io.StringIO()):
                    engine.save_to_file(text, str(wav_path))
                    engine.runAndWait()
            except Exception as exc:  # noqa: BLE001
                raise SpeakerError(f"synthesis to {wav_path} failed: {exc}") from exc
            in_effect = (engine.getProperty("voice") or "").lower()
            if in_effect != voice_id:
                wav_path.unlink(missing_ok=True)
                raise SpeakerError(
                    f"{_VOICE_NAMES[lang]} voice {voice_id!r} did not take effect (engine uses {in_effect!r})"
                )
        if not _wait_for_complete_file(wav_path, timeout_s=15.0):
            raise SpeakerError(f"synthesis wrote no audio to {wav_path}")
        try:
            return wav_duration_s(wav_path)
        except (wave.Error, EOFError) as exc:
            raise SpeakerError(f"{wav_path}: not a readable WAV file: {exc}") from exc
