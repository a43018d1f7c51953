"""A visitor asks a guidance robot at its screen: the dialogue node answers and the speech node speaks."""

from __future__ import annotations

import threading
import time
import wave
from pathlib import Path

import pytest
import rclpy
from hall_interfaces.srv import AskQuestion
from rclpy.executors import MultiThreadedExecutor
from std_msgs.msg import String

import hallfleet.ros_env  # noqa: F401  (before rclpy)
from robots.drivers.tts_speaker import Pyttsx3Speaker
from robots.nodes.dialogue import DialogueNode
from robots.nodes.speech import SpeechNode

pytestmark = pytest.mark.integration


def _call(client, request, timeout_s: float = 30.0):
    future = client.call_async(request)
    deadline = time.monotonic() + timeout_s
    while not future.done():
        assert time.monotonic() < deadline, f"no answer to {request.text!r} within {timeout_s} s"
        time.sleep(0.02)
    return future.result()


def test_question_at_the_robot_is_answered_spoken_and_repeatable(tmp_path: Path) -> None:
    context = rclpy.Context()
    rclpy.init(context=context)
    ns = "dialogue_test"
    speech = SpeechNode(Pyttsx3Speaker(), tmp_path / "wav", context=context, namespace=ns)
    dialogue = DialogueNode(context=context, namespace=ns)
    visitor = rclpy.create_node("visitor_screen", namespace=ns, context=context)
    shown: list[str] = []
    visitor.create_subscription(String, "answer_text", lambda m: shown.append(m.data), 10)
    client = visitor.create_client(AskQuestion, "ask")
    executor = MultiThreadedExecutor(num_threads=4, context=context)
    for node in (speech, dialogue, visitor):
        executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        assert client.wait_for_service(timeout_sec=10.0)
        answer = _call(client, AskQuestion.Request(text="办营业执照要带什么材料？", language=""))
        assert answer.item_id == "business-licence" and answer.language == "zh-CN" and "营业执照" in answer.answer
        assert answer.spoken and Path(answer.wav_path).parent == tmp_path / "wav"
        with wave.open(answer.wav_path) as wav:
            assert wav.getnframes() / wav.getframerate() > 2.0  # a real sentence, not a click

        again = _call(client, AskQuestion.Request(text="没听清，请再说一遍", language=""))
        assert again.answer == answer.answer and again.spoken and again.wav_path != answer.wav_path

        english = _call(client, AskQuestion.Request(text="Hello!", language=""))
        assert english.language == "en" and english.item_id == "" and english.spoken
        deadline = time.monotonic() + 5
        while len(shown) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert shown[:3] == [answer.answer, again.answer, english.answer]  # what the screen shows
    finally:
        executor.shutdown(timeout_sec=5.0)
        spinner.join(timeout=5.0)
        for node in (speech, dialogue, visitor):
            node.destroy_node()
        rclpy.try_shutdown(context=context)
