"""ROS 2 bags without ROS: offline evaluation (``agilenn eval-bag``) and labelled evaluation
bags (``agilenn make-bag``). Runtime only: numpy, onnxruntime, rosbags; never torch."""
