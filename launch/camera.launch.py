"""A camera (usb_cam or v4l2_camera), the device emulator, the edge node and the consumer:
the whole AgileNN pipeline on one computer, without the microcontroller.

    ros2 launch agilenn_ros camera.launch.py camera:=usb_cam video_device:=/dev/video0
    ros2 launch agilenn_ros camera.launch.py camera:=folder path:=/data/images rate:=5.0
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, GroupAction
from launch.conditions import IfCondition, LaunchConfigurationEquals
from launch.substitutions import LaunchConfiguration, PythonExpression
from launch_ros.actions import Node, PushRosNamespace
from launch_ros.parameter_descriptions import ParameterValue


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
             condition=LaunchConfigurationEquals("camera", "usb_cam"), output="screen"),
        Node(package="v4l2_camera", executable="v4l2_camera_node", name="v4l2_camera",
             parameters=[{"video_device": LaunchConfiguration("video_device"),
                          "image_size": [ParameterValue(LaunchConfiguration("image_width"), value_type=int),
                                         ParameterValue(LaunchConfiguration("image_height"), value_type=int)]}],
             remappings=[("image_raw", image_topic)],
             condition=LaunchConfigurationEquals("camera", "v4l2_camera"), output="screen"),
        Node(package="agilenn_ros", executable="agilenn_device", name="agilenn_device", output="screen", emulate_tty=True,
             parameters=[{"model": ParameterValue(LaunchConfiguration("model"), value_type=str),
                          "source": ParameterValue(emulator_source, value_type=str),
                          "image_topic": ParameterValue(image_topic, value_type=str),
                          "path": ParameterValue(LaunchConfiguration("path"), value_type=str),
                          "rate_hz": ParameterValue(LaunchConfiguration("rate"), value_type=float),
                          "codec": ParameterValue(LaunchConfiguration("codec"), value_type=str),
                          "device_id": ParameterValue(LaunchConfiguration("device_id"), value_type=str)}]),
        Node(package="agilenn_ros", executable="agilenn_edge", name="agilenn_edge", output="screen", emulate_tty=True,
             parameters=[{"model": ParameterValue(LaunchConfiguration("model"), value_type=str)}]),
        Node(package="agilenn_ros", executable="agilenn_consumer", name="agilenn_consumer", output="screen",
             emulate_tty=True, condition=IfCondition(LaunchConfiguration("consumer"))),
    ])
    return LaunchDescription([*args, nodes])
