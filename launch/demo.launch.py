"""The whole AgileNN pipeline on the bundled sample images, no hardware:
device emulator (looping over the samples) -> features -> edge node -> prediction -> consumer.

    ros2 launch agilenn_ros demo.launch.py
    ros2 topic echo /agilenn/prediction
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, GroupAction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node, PushRosNamespace
from launch_ros.parameter_descriptions import ParameterValue


def generate_launch_description() -> LaunchDescription:
    args = [
        DeclareLaunchArgument("namespace", default_value="agilenn", description="namespace of all nodes and topics"),
        DeclareLaunchArgument("model", default_value="cifar10", description="model bundle directory or name"),
        DeclareLaunchArgument("rate", default_value="5.0", description="frames per second"),
        DeclareLaunchArgument("codec", default_value="rans", choices=["rans", "packed", "lzw"], description="payload codec"),
        DeclareLaunchArgument("path", default_value="", description="labelled image folder (empty: bundled samples)"),
    ]
    model = ParameterValue(LaunchConfiguration("model"), value_type=str)
    # Start order and waits make the consumer see the first prediction: the edge subscribes to
    # features only once the consumer is matched on prediction (wait_for_consumer_s), and the
    # device sends its first frame only once the edge is matched on features (wait_for_edge_s).
    nodes = GroupAction([
        PushRosNamespace(LaunchConfiguration("namespace")),
        Node(package="agilenn_ros", executable="agilenn_consumer", name="agilenn_consumer", output="screen",
             emulate_tty=True),
        Node(package="agilenn_ros", executable="agilenn_edge", name="agilenn_edge", output="screen", emulate_tty=True,
             parameters=[{"model": model, "wait_for_consumer_s": 30.0}]),
        Node(package="agilenn_ros", executable="agilenn_device", name="agilenn_device", output="screen", emulate_tty=True,
             parameters=[{"model": model, "source": "folder", "loop": True, "wait_for_edge_s": 60.0,
                          "path": ParameterValue(LaunchConfiguration("path"), value_type=str),
                          "rate_hz": ParameterValue(LaunchConfiguration("rate"), value_type=float),
                          "codec": ParameterValue(LaunchConfiguration("codec"), value_type=str)}]),
    ])
    return LaunchDescription([*args, nodes])
