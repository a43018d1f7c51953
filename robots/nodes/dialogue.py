"""Dialogue node (guidance robots): a visitor's question at the robot's screen, answered and spoken.

Service ``ask`` (hall_interfaces/AskQuestion) answers from the hall's knowledge base and has the
speech node say it (``speak``); ``visitor_text`` (std_msgs/String) takes transcribed speech the same
way and publishes the answer on ``answer_text``.
"""

from __future__ import annotations

import threading
from pathlib import Path

from hall_interfaces.srv import AskQuestion, Speak
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from std_msgs.msg import String

import hallfleet.ros_env  # noqa: F401  (loopback DDS before rclpy)
from hallfleet.knowledge import KnowledgeBase
from robots.core.dialogue import Dialogue, Reply

DEFAULT_KNOWLEDGE = Path(__file__).resolve().parents[2] / "maps" / "demo_hall" / "service_items.yaml"


class DialogueNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("dialogue", **kwargs)
        self.declare_parameter(
            "knowledge_file",
            str(DEFAULT_KNOWLEDGE),
            ParameterDescriptor(description="the hall's service-item knowledge base (YAML)"),
        )
        self.declare_parameter("speak_timeout_s", 30.0, ParameterDescriptor(description="longest wait for speech [s]"))
        self.dialogue = Dialogue(KnowledgeBase.load(self.get_parameter("knowledge_file").value))
        self._lock = threading.Lock()
        group = ReentrantCallbackGroup()
        self._speak = self.create_client(Speak, "speak", callback_group=group)
        self._answer_pub = self.create_publisher(String, "answer_text", 10)
        self.create_service(AskQuestion, "ask", self._on_ask, callback_group=group)
        self.create_subscription(String, "visitor_text", self._on_visitor_text, 10, callback_group=group)

    def _reply(self, text: str, language: str) -> Reply:
        with self._lock:
            reply = self.dialogue.respond(text, language)
        self._answer_pub.publish(String(data=reply.text))
        return reply

    def _say(self, reply: Reply) -> tuple[bool, str]:
        """Speak through the speech node; (spoken, wav path). Never blocks past speak_timeout_s."""
        if not self._speak.wait_for_service(timeout_sec=2.0):
            self.get_logger().error("speech node is not available: the answer is shown only")
            return False, ""
        done = threading.Event()
        future = self._speak.call_async(Speak.Request(text=reply.text, language=reply.language))
        future.add_done_callback(lambda _f: done.set())
        if not done.wait(self.get_parameter("speak_timeout_s").value) or future.result() is None:
            return False, ""
        result = future.result()
        return bool(result.success), result.wav_path

    def _on_ask(self, request, response):
        reply = self._reply(request.text, request.language)
        response.answer, response.language, response.item_id = reply.text, reply.language, reply.item_id or ""
        response.spoken, response.wav_path = self._say(reply)
        return response

    def _on_visitor_text(self, msg: String) -> None:
        self._say(self._reply(msg.data, ""))


def main(args: list[str] | None = None) -> None:
    from robots.nodes.spin import run_node

    run_node(DialogueNode, args)


if __name__ == "__main__":
    main()
