"""The AgileNN edge node, plus the micro-ROS agent for a real microcontroller.

    ros2 launch agilenn_ros edge.launch.py model:=cifar10 transport:=serial device:=/dev/ttyACM0
    ros2 launch agilenn_ros edge.launch.py transport:=udp4 port:=8888
    ros2 launch agilenn_ros edge.launch.py agent:=false          # features come from emulators

The agent (package ``micro_ros_agent``) is not a dependency of this package: it is built
from source (micro_ros_setup) or run from its Docker image. With ``agent:=true`` (the
default) the launch checks that it is installed before it starts any process and stops with
one line saying so if it is not; use ``agent:=false`` when the agent runs elsewhere.
"""
from launch import LaunchContext, LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import AndSubstitution, EqualsSubstitution, LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

AGENT_PACKAGE = "micro_ros_agent"


def _check_agent(context: LaunchContext) -> list:
    """Fail before anything starts when agent:=true and the agent is not installed (else
    the edge would start, launch would fail on the agent and leave the edge orphaned)."""
    from ament_index_python.packages import PackageNotFoundError, get_package_prefix

    if LaunchConfiguration("agent").perform(context) == "true":
        try:
            get_package_prefix(AGENT_PACKAGE)
        except PackageNotFoundError:
            raise RuntimeError(f"edge.launch.py: agent:=true needs the ROS package '{AGENT_PACKAGE}' "
                               "(build it with micro_ros_setup, or run the agent elsewhere and pass "
                               "agent:=false)") from None
    return []


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
                              description="start the micro-ROS agent for a microcontroller (needs micro_ros_agent)"),
        DeclareLaunchArgument("transport", default_value="serial", choices=["serial", "udp4"],
                              description="micro-ROS agent transport: serial (USB/UART) or udp4 (WiFi)"),
        DeclareLaunchArgument("device", default_value="/dev/ttyACM0", description="serial device of the microcontroller"),
        DeclareLaunchArgument("baudrate", default_value="921600",
                              description="serial baud rate (the firmware's AGN_SERIAL_BAUD; USB CDC ignores it)"),
        DeclareLaunchArgument("port", default_value="8888", description="UDP port of the agent (transport:=udp4)"),
        DeclareLaunchArgument("agent_verbosity", default_value="4", description="micro-ROS agent verbosity (0-6)"),
        DeclareLaunchArgument("log_level", default_value="info", description="log level of the edge node"),
    ]
    edge = Node(
        package="agilenn_ros", executable="agilenn_edge", name="agilenn_edge", namespace=namespace,
        parameters=[LaunchConfiguration("params_file"),
                    {"model": ParameterValue(LaunchConfiguration("model"), value_type=str),
                     "threads": ParameterValue(LaunchConfiguration("threads"), value_type=int)}],
        ros_arguments=["--log-level", LaunchConfiguration("log_level")],
        output="screen", emulate_tty=True)
    serial_agent = Node(
        package=AGENT_PACKAGE, executable="micro_ros_agent", name="micro_ros_agent",
        arguments=["serial", "--dev", LaunchConfiguration("device"), "-b", LaunchConfiguration("baudrate"),
                   "-v", LaunchConfiguration("agent_verbosity")],
        output="screen",
        condition=IfCondition(AndSubstitution(EqualsSubstitution(agent, "true"),
                                              EqualsSubstitution(transport, "serial"))))
    udp_agent = Node(
        package=AGENT_PACKAGE, executable="micro_ros_agent", name="micro_ros_agent",
        arguments=["udp4", "--port", LaunchConfiguration("port"), "-v", LaunchConfiguration("agent_verbosity")],
        output="screen",
        condition=IfCondition(AndSubstitution(EqualsSubstitution(agent, "true"),
                                              EqualsSubstitution(transport, "udp4"))))
    return LaunchDescription([*args, OpaqueFunction(function=_check_agent), serial_agent, udp_agent, edge])
