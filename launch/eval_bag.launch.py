"""Play a bag into the AgileNN pipeline and record what it predicts.

    ros2 launch agilenn_ros eval_bag.launch.py bag:=eval.mcap model:=cifar10 out:=run1
    agilenn eval-bag run1 --model cifar10 --report run1_report

What runs (all in the namespace ``namespace``, default ``agilenn``):

* ``agilenn_device`` (the device emulator) with ``source:=topic`` subscribing the bag's image
  topic (``image_topic``; with ``image_transport:=compressed`` it subscribes
  ``<image_topic>/compressed``) and publishing ``features``;
* ``agilenn_edge`` publishing ``prediction`` (and ``classification``, ``label_info``);
* ``ros2 bag record`` of ``/<namespace>/prediction``, ``/<namespace>/features`` and the
  ground-truth topic (``labels_topic``, replayed from the input bag) into ``out``, so the
  recording can be scored offline: ``agilenn eval-bag <out>`` evaluates its FeatureFrames
  (edge only), reports accuracy against the ground truth and the agreement of the live
  predictions with the offline ones;
* ``ros2 bag play`` of the image topic and the ground truth of ``bag`` (only those: a bag
  that already holds predictions is not replayed into the recording) at ``rate`` after
  ``start_delay`` seconds (model loading and discovery).

When the player exits, the launch waits ``drain_s`` seconds for the last predictions and
shuts everything down (SIGINT, so ``ros2 bag record`` closes the bag cleanly). The device
emulator subscribes images best effort (sensor data QoS): on a slow machine lower ``rate``;
frames it dropped show up as ground-truth labels without features in the recording.
Run ``ros2 launch agilenn_ros eval_bag.launch.py --show-args`` for the argument list.
"""
from __future__ import annotations

from launch import LaunchContext, LaunchDescription
from launch.actions import (DeclareLaunchArgument, ExecuteProcess, LogInfo, OpaqueFunction, RegisterEventHandler,
                            Shutdown, TimerAction)
from launch.event_handlers import OnProcessExit
from launch.events.process import ProcessExited
from launch.logging import get_logger
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue

ARGUMENTS: list[tuple[str, str, str, list[str] | None]] = [
    ("bag", "", "input bag to play: a rosbag2 directory or a .mcap/.db3 file (required)", None),
    ("model", "cifar10", "model bundle directory, or a bundle name under models/", None),
    ("image_topic", "/camera/image_raw", "image topic in the bag (for compressed bags: without /compressed)", None),
    ("image_transport", "raw", "raw: sensor_msgs/Image on image_topic; compressed: CompressedImage on "
     "<image_topic>/compressed", ["raw", "compressed"]),
    ("codec", "rans", "payload codec of the device emulator", ["rans", "packed", "lzw"]),
    ("out", "", "output bag directory of ros2 bag record (empty: rosbag2_<date>)", None),
    ("storage", "mcap", "storage of the recorded bag", ["mcap", "sqlite3"]),
    ("namespace", "agilenn", "namespace of the device emulator and the edge node", None),
    ("rate", "1.0", "playback rate factor of ros2 bag play", None),
    ("labels_topic", "/ground_truth", "ground-truth topic to record along (empty: none)", None),
    ("start_delay", "5.0", "seconds before playback starts (nodes load the model, everyone discovers)", None),
    ("drain_s", "3.0", "seconds to wait after playback before shutting down", None),
]


def _absolute(namespace: str, name: str) -> str:
    ns = namespace.strip("/")
    return f"/{ns}/{name}" if ns else f"/{name}"


def _text(value: str) -> ParameterValue:
    """A string parameter even when the text looks like a number or a bool (YAML typing)."""
    return ParameterValue(value, value_type=str)


def _pipeline(context: LaunchContext) -> list:
    value = {name: LaunchConfiguration(name).perform(context) for name, *_ in ARGUMENTS}
    if not value["bag"]:
        raise RuntimeError("eval_bag.launch.py: the bag:=<path> argument is required")
    for key in ("rate", "start_delay", "drain_s"):
        try:
            float(value[key])
        except ValueError:
            raise RuntimeError(f"eval_bag.launch.py: {key}:={value[key]} is not a number") from None
    ns = value["namespace"]
    device = Node(package="agilenn_ros", executable="agilenn_device", name="agilenn_device", namespace=ns,
                  output="screen", emulate_tty=True,
                  parameters=[{"model": _text(value["model"]), "source": "topic",
                               "image_topic": _text(value["image_topic"]),
                               "image_transport": _text(value["image_transport"]), "codec": _text(value["codec"])}])
    edge = Node(package="agilenn_ros", executable="agilenn_edge", name="agilenn_edge", namespace=ns,
                output="screen", emulate_tty=True, parameters=[{"model": _text(value["model"])}])
    topics = [_absolute(ns, "prediction"), _absolute(ns, "features")]
    if value["labels_topic"]:
        topics.append(value["labels_topic"])
    record_cmd = ["ros2", "bag", "record", "-s", value["storage"]]
    if value["out"]:
        record_cmd += ["-o", value["out"]]
    record = ExecuteProcess(cmd=record_cmd + ["--topics"] + topics, name="bag_record", output="screen")
    image_topic = value["image_topic"].rstrip("/")
    if value["image_transport"] == "compressed":
        image_topic += "/compressed"
    played = [image_topic] + ([value["labels_topic"]] if value["labels_topic"] else [])
    play = ExecuteProcess(cmd=["ros2", "bag", "play", value["bag"], "--rate", value["rate"],
                               "--delay", value["start_delay"], "--disable-keyboard-controls",
                               "--wait-for-all-acked", "5000", "--topics", *played],
                          name="bag_play", output="screen")
    finish = RegisterEventHandler(OnProcessExit(target_action=play,
                                                on_exit=lambda event, _context: _after_play(event, value)))
    return [LogInfo(msg=f"eval_bag: {value['bag']} -> {ns or '/'} pipeline -> recording {', '.join(topics)}"),
            device, edge, record, finish, play]


def _after_play(event: ProcessExited, value: dict[str, str]) -> list:
    """What follows ``ros2 bag play``: drain and stop when it succeeded; stop at once, with an
    error naming its exit code, when it failed (a missing bag, an unknown storage, ...)."""
    if event.returncode != 0:
        get_logger("eval_bag").error(f"ros2 bag play {value['bag']} failed (exit code {event.returncode}); "
                                     "stopping without a complete recording")
        return [Shutdown(reason=f"eval_bag: ros2 bag play failed with exit code {event.returncode}")]
    return [LogInfo(msg=f"bag played; stopping in {value['drain_s']} s"),
            TimerAction(period=float(value["drain_s"]), actions=[Shutdown(reason="eval_bag: bag finished")])]


def generate_launch_description() -> LaunchDescription:
    declared = [DeclareLaunchArgument(name, default_value=default, description=description,
                                      **({"choices": choices} if choices else {}))
                for name, default, description, choices in ARGUMENTS]
    return LaunchDescription(declared + [OpaqueFunction(function=_pipeline)])
