"""ROS 2 nodes, thin over the runtime, on the transport interface (rclpy or Cyclone DDS)."""
