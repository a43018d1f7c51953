"""Real pyttsx3/espeak-ng speech to WAV, and the SpeechNode service over a real ROS 2 graph."""

import os
import random

os.environ.setdefault("ROS_DOMAIN_ID", str(random.randint(1, 200)))

import shutil  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import wave  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import rclpy  # noqa: E402
from hall_interfaces.srv import Speak  # noqa: E402
from rclpy.context import Context  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from std_msgs.msg import String  # noqa: E402

import hallfleet.ros_env  # noqa: E402,F401  (before rclpy)
from robots.core.speech import Speaker  # noqa: E402
from robots.drivers.tts_speaker import Pyttsx3Speaker  # noqa: E402
from robots.nodes.speech import SpeechNode  # noqa: E402

pytestmark = pytest.mark.integration

ZH_SENTENCE = "您好，营业执照请到A区窗口办理。"


@pytest.fixture(scope="module")
def speaker() -> Pyttsx3Speaker:
    return Pyttsx3Speaker()


def test_mandarin_sentence_is_spoken_with_the_mandarin_voice(speaker: Pyttsx3Speaker, tmp_path: Path) -> None:
    assert isinstance(speaker, Speaker)
    zh_wav = tmp_path / "zh.wav"
    duration_s = speaker.speak_to_file(ZH_SENTENCE, "zh-CN", zh_wav)
    assert "cmn" in (speaker.current_voice_id or "")
    with wave.open(str(zh_wav), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels()) == (22050, 1)
        assert wav.getnframes() / wav.getframerate() == pytest.approx(duration_s)
    assert duration_s > 0.5

    # The English voice reads the same characters one by one ("Chinese letter ..."): clearly longer.
    en_reading_s = speaker.speak_to_file(ZH_SENTENCE, "en", tmp_path / "en_reads_zh.wav")
    assert speaker.current_voice_id is not None and "cmn" not in speaker.current_voice_id
    assert abs(en_reading_s - duration_s) / duration_s > 0.2
    # Switching back restores Mandarin and the earlier file was not overwritten.
    again_s = speaker.speak_to_file(ZH_SENTENCE, "zh", tmp_path / "zh2.wav")
    assert again_s == pytest.approx(duration_s, rel=0.05)
    with wave.open(str(zh_wav), "rb") as wav:
        assert wav.getnframes() / wav.getframerate() == pytest.approx(duration_s)

    if shutil.which("sox"):
        info = subprocess.run(["sox", "--i", str(zh_wav)], capture_output=True, text=True, timeout=10, check=True)
        assert "22050" in info.stdout and "Channels       : 1" in info.stdout


def test_english_and_bad_input(speaker: Pyttsx3Speaker, tmp_path: Path) -> None:
    duration_s = speaker.speak_to_file("The toilets are next to the elevators.", "en-US", tmp_path / "en.wav")
    assert duration_s > 0.5
    from robots.core.speech import SpeakerError

    with pytest.raises(SpeakerError, match="language 'fr'"):
        speaker.speak_to_file("Bonjour", "fr", tmp_path / "fr.wav")
    with pytest.raises(SpeakerError, match="empty"):
        speaker.speak_to_file("   ", "en", tmp_path / "blank.wav")


def _wait_for(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.02)


def test_speech_node_service_over_ros(speaker: Pyttsx3Speaker, tmp_path: Path) -> None:
    context = Context()
    rclpy.init(context=context)
    executor = SingleThreadedExecutor(context=context)
    node = SpeechNode(speaker, tmp_path / "wav", context=context, namespace="guide_test")
    client_node = rclpy.create_node("speech_test_client", namespace="guide_test", context=context)
    heard: list[str] = []
    client_node.create_subscription(String, "spoken_text", lambda msg: heard.append(msg.data), 10)
    client = client_node.create_client(Speak, "speak")
    executor.add_node(node)
    executor.add_node(client_node)
    spin_thread = threading.Thread(target=executor.spin, daemon=True)
    spin_thread.start()
    try:
        assert client.wait_for_service(timeout_sec=10.0), "service /guide_test/speak not available"

        def call(text: str, language: str):
            future = client.call_async(Speak.Request(text=text, language=language))
            _wait_for(future.done, 20.0, f"speak response for {text!r}")
            return future.result()

        response = call("社保卡请到C区窗口办理。", "")
        assert response.success, response.message
        wav_path = Path(response.wav_path)
        assert wav_path.exists() and wav_path.parent == tmp_path / "wav"
        assert response.duration_s > 0.5
        _wait_for(lambda: "社保卡请到C区窗口办理。" in heard, 10.0, "spoken_text message")

        second = call("Welcome to the service hall.", "en")
        assert second.success and Path(second.wav_path).exists() and second.wav_path != response.wav_path

        bad = call("", "zh-CN")
        assert not bad.success and "empty" in bad.message
    finally:
        executor.shutdown(timeout_sec=5.0)
        spin_thread.join(timeout=5.0)
        node.destroy_node()
        client_node.destroy_node()
        rclpy.try_shutdown(context=context)
