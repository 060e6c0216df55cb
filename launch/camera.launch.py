"""A camera (usb_cam or v4l2_camera), the device emulator, the edge node and the consumer:
the whole AgileNN pipeline on one computer, without the microcontroller.

    ros2 launch agilenn_ros camera.launch.py camera:=usb_cam video_device:=/dev/video0
    ros2 launch agilenn_ros camera.launch.py camera:=folder path:=/data/images rate:=5.0

The camera drivers are optional dependencies (``ros-jazzy-usb-cam``, ``ros-jazzy-v4l2-camera``):
with ``camera:=usb_cam`` or ``camera:=v4l2_camera`` the launch checks that the driver is
installed before it starts any process, and stops with one line naming the package if not.
"""
from typing import List

from launch import LaunchContext, LaunchDescription
from launch.actions import DeclareLaunchArgument, GroupAction, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import EqualsSubstitution, LaunchConfiguration, PythonExpression
from launch_ros.actions import Node, PushRosNamespace
from launch_ros.parameter_descriptions import ParameterValue

DRIVERS = {"usb_cam": "usb_cam", "v4l2_camera": "v4l2_camera"}  # camera argument -> ROS package


def _check_driver(context: LaunchContext) -> list:
    """Fail before anything starts when the chosen camera driver is not installed."""
    from ament_index_python.packages import PackageNotFoundError, get_package_prefix

    package = DRIVERS.get(LaunchConfiguration("camera").perform(context))
    if package is not None:
        try:
            get_package_prefix(package)
        except PackageNotFoundError:
            raise RuntimeError(f"camera.launch.py: camera:={package} needs the ROS package '{package}' "
                               f"(apt install ros-$ROS_DISTRO-{package.replace('_', '-')}); or use "
                               f"camera:=folder / camera:=video") from None
    return []


def generate_launch_description() -> LaunchDescription:
    camera = LaunchConfiguration("camera")
    image_topic = LaunchConfiguration("image_topic")
    args = [
        DeclareLaunchArgument("namespace", default_value="agilenn", description="namespace of all nodes and topics"),
        DeclareLaunchArgument("model", default_value="cifar10", description="model bundle directory or name"),
        DeclareLaunchArgument("camera", default_value="usb_cam", choices=["usb_cam", "v4l2_camera", "folder", "video"],
                              description="image source: a camera driver, an image folder or a video file"),
        DeclareLaunchArgument("video_device", default_value="/dev/video0", description="camera device (usb_cam, v4l2_camera)"),
        DeclareLaunchArgument("image_width", default_value="640", description="camera image width"),
        DeclareLaunchArgument("image_height", default_value="480", description="camera image height"),
        DeclareLaunchArgument("image_topic", default_value="image_raw", description="camera image topic (relative)"),
        DeclareLaunchArgument("path", default_value="", description="image folder/archive (camera:=folder) or video (camera:=video)"),
        DeclareLaunchArgument("rate", default_value="10.0", description="frames per second for folder and video sources"),
        DeclareLaunchArgument("codec", default_value="rans", choices=["rans", "packed", "lzw"], description="payload codec"),
        DeclareLaunchArgument("device_id", default_value="emulator0", description="device id written into the frames"),
        DeclareLaunchArgument("consumer", default_value="true", choices=["true", "false"],
                              description="start the example consumer that prints predictions"),
    ]
    emulator_source = PythonExpression(["'topic' if '", camera, "' in ('usb_cam', 'v4l2_camera') else '", camera, "'"])
    nodes = GroupAction([
        PushRosNamespace(LaunchConfiguration("namespace")),
        Node(package="usb_cam", executable="usb_cam_node_exe", name="usb_cam",
             parameters=[{"video_device": LaunchConfiguration("video_device"),
                          "image_width": ParameterValue(LaunchConfiguration("image_width"), value_type=int),
                          "image_height": ParameterValue(LaunchConfiguration("image_height"), value_type=int)}],
             remappings=[("image_raw", image_topic)],
             condition=IfCondition(EqualsSubstitution(camera, "usb_cam")), output="screen"),
        Node(package="v4l2_camera", executable="v4l2_camera_node", name="v4l2_camera",
             parameters=[{"video_device": LaunchConfiguration("video_device"),
                          "image_size": ParameterValue([[LaunchConfiguration("image_width")],
                                                         [LaunchConfiguration("image_height")]],
                                                        value_type=List[int])}],
             remappings=[("image_raw", image_topic)],
             condition=IfCondition(EqualsSubstitution(camera, "v4l2_camera")), output="screen"),
        # consumer, edge, device: with the consumer on, the edge subscribes to features only once
        # the consumer listens, and the device waits for the edge, so no prediction is missed
        Node(package="agilenn_ros", executable="agilenn_consumer", name="agilenn_consumer", output="screen",
             emulate_tty=True, condition=IfCondition(LaunchConfiguration("consumer"))),
        Node(package="agilenn_ros", executable="agilenn_edge", name="agilenn_edge", output="screen", emulate_tty=True,
             parameters=[{"model": ParameterValue(LaunchConfiguration("model"), value_type=str),
                          "wait_for_consumer_s": ParameterValue(
                              PythonExpression(["30.0 if '", LaunchConfiguration("consumer"), "' == 'true' else 0.0"]),
                              value_type=float)}]),
        Node(package="agilenn_ros", executable="agilenn_device", name="agilenn_device", output="screen", emulate_tty=True,
             parameters=[{"model": ParameterValue(LaunchConfiguration("model"), value_type=str),
                          "source": ParameterValue(emulator_source, value_type=str),
                          "image_topic": ParameterValue(image_topic, value_type=str),
                          "path": ParameterValue(LaunchConfiguration("path"), value_type=str),
                          "rate_hz": ParameterValue(LaunchConfiguration("rate"), value_type=float),
                          "codec": ParameterValue(LaunchConfiguration("codec"), value_type=str),
                          "device_id": ParameterValue(LaunchConfiguration("device_id"), value_type=str),
                          "wait_for_edge_s": 60.0}]),
    ])
    return LaunchDescription([*args, OpaqueFunction(function=_check_driver), nodes])
