"""AgileNN split inference for ROS 2.

Layers (dependency direction, see DESIGN.md section 3):
numerical core (codec, fusion) -> runtime (numpy + onnxruntime) -> transport -> nodes.
Only ``agilenn_ros.training`` and ``agilenn_ros.export`` import torch.
"""

__version__ = "0.1.0"
