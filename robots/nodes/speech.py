"""Thin rclpy shell around a Speaker: service `speak` (hall_interfaces/srv/Speak), topic `spoken_text`.

Names are relative so the node lives in its robot's namespace (/<robot_id>/speak). The constructor
does not spin: the robot process adds the node to its own executor. `main()` runs it alone.
"""

import argparse
import itertools
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import rclpy
from hall_interfaces.srv import Speak
from rclpy.context import Context
from rclpy.node import Node
from std_msgs.msg import String

import hallfleet.ros_env  # noqa: F401  (must precede rclpy: loopback-only DDS)
from robots.core.speech import Speaker, SpeakerError, normalize_speech_language


class SpeechNode(Node):
    """Says sentences through a Speaker port and keeps each utterance as a WAV file in wav_dir."""

    def __init__(
        self,
        speaker: Speaker,
        wav_dir: Path,
        *,
        context: Context | None = None,
        namespace: str = "",
        node_name: str = "speech",
    ) -> None:
        super().__init__(node_name, namespace=namespace, context=context)
        self._speaker = speaker
        self._wav_dir = Path(wav_dir)
        self._wav_dir.mkdir(parents=True, exist_ok=True)
        self._counter = itertools.count(1)
        self._spoken_pub = self.create_publisher(String, "spoken_text", 10)
        self._service = self.create_service(Speak, "speak", self._on_speak)

    def _next_wav_path(self) -> Path:
        stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
        return self._wav_dir / f"speech-{stamp}-{next(self._counter):05d}.wav"

    def _on_speak(self, request: Any, response: Any) -> Any:
        text = request.text.strip()
        if not text:
            response.success = False
            response.message = "speak: field 'text' is empty"
            return response
        wav_path = self._next_wav_path()
        try:
            language = normalize_speech_language(request.language)
            duration_s = self._speaker.speak_to_file(text, language, wav_path)
        except SpeakerError as exc:
            self.get_logger().error(f"speak failed: {exc}")
            response.success = False
            response.message = str(exc)
            return response
        response.success = True
        response.message = f"spoke {len(text)} characters in {language}"
        response.wav_path = str(wav_path)
        response.duration_s = float(duration_s)
        self._spoken_pub.publish(String(data=text))
        self.get_logger().info(f"said ({language}, {duration_s:.1f} s): {text}")
        return response


def main(argv: list[str] | None = None) -> int:
    """Run the speech node alone: `python -m robots.nodes.speech [--wav-dir D] [--ros-args ...]`."""
    from rclpy.executors import ExternalShutdownException
    from rclpy.utilities import remove_ros_args

    from robots.drivers.tts_speaker import Pyttsx3Speaker

    args_in = sys.argv if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m robots.nodes.speech")
    parser.add_argument("--wav-dir", type=Path, default=Path(tempfile.gettempdir()) / "hallfleet_speech")
    parser.add_argument("--rate-wpm", type=int, default=None)
    opts = parser.parse_args(remove_ros_args(args_in)[1:])
    rclpy.init(args=args_in)
    node = SpeechNode(Pyttsx3Speaker(rate_wpm=opts.rate_wpm), opts.wav_dir)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
