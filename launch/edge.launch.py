"""The AgileNN edge node, plus the micro-ROS agent for a real microcontroller.

    ros2 launch agilenn_ros edge.launch.py model:=cifar10 transport:=serial device:=/dev/ttyACM0
    ros2 launch agilenn_ros edge.launch.py transport:=udp4 port:=8888
    ros2 launch agilenn_ros edge.launch.py agent:=false          # features come from emulators
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution, PythonExpression
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare


def generate_launch_description() -> LaunchDescription:
    namespace = LaunchConfiguration("namespace")
    agent = LaunchConfiguration("agent")
    transport = LaunchConfiguration("transport")
    args = [
        DeclareLaunchArgument("namespace", default_value="agilenn", description="namespace of the AgileNN topics"),
        DeclareLaunchArgument("model", default_value="cifar10", description="model bundle directory or name"),
        DeclareLaunchArgument("params_file", default_value=PathJoinSubstitution([FindPackageShare("agilenn_ros"), "config", "edge.yaml"]),
                              description="edge node parameter file"),
        DeclareLaunchArgument("threads", default_value="1", description="onnxruntime threads of the edge node"),
        DeclareLaunchArgument("agent", default_value="true", choices=["true", "false"],
                              description="start the micro-ROS agent for a microcontroller"),
        DeclareLaunchArgument("transport", default_value="serial", choices=["serial", "udp4"],
                              description="micro-ROS agent transport: serial (USB/UART) or udp4 (WiFi)"),
        DeclareLaunchArgument("device", default_value="/dev/ttyACM0", description="serial device of the microcontroller"),
        DeclareLaunchArgument("baudrate", default_value="115200", description="serial baud rate"),
        DeclareLaunchArgument("port", default_value="8888", description="UDP port of the agent (transport:=udp4)"),
        DeclareLaunchArgument("agent_verbosity", default_value="4", description="micro-ROS agent verbosity (0-6)"),
        DeclareLaunchArgument("log_level", default_value="info", description="log level of the edge node"),
    ]
    edge = Node(
        package="agilenn_ros", executable="agilenn_edge", name="agilenn_edge", namespace=namespace,
        parameters=[LaunchConfiguration("params_file"),
                    {"model": ParameterValue(LaunchConfiguration("model"), value_type=str),
                     "threads": ParameterValue(LaunchConfiguration("threads"), value_type=int)}],
        arguments=["--ros-args", "--log-level", LaunchConfiguration("log_level")],
        output="screen", emulate_tty=True)
    serial_agent = Node(
        package="micro_ros_agent", executable="micro_ros_agent", name="micro_ros_agent",
        arguments=["serial", "--dev", LaunchConfiguration("device"), "-b", LaunchConfiguration("baudrate"),
                   "-v", LaunchConfiguration("agent_verbosity")],
        output="screen",
        condition=IfCondition(PythonExpression(["'", agent, "' == 'true' and '", transport, "' == 'serial'"])))
    udp_agent = Node(
        package="micro_ros_agent", executable="micro_ros_agent", name="micro_ros_agent",
        arguments=["udp4", "--port", LaunchConfiguration("port"), "-v", LaunchConfiguration("agent_verbosity")],
        output="screen",
        condition=IfCondition(PythonExpression(["'", agent, "' == 'true' and '", transport, "' == 'udp4'"])))
    return LaunchDescription([*args, edge, serial_agent, udp_agent])
