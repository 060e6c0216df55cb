"""AgileNN split inference for ROS 2.

Layers (dependency direction, see DESIGN.md section 3):
numerical core (codec, fusion) -> runtime (numpy + onnxruntime) -> transport -> nodes.
Only ``agilenn_ros.training`` and ``agilenn_ros.export`` import torch.
"""

from pkgutil import extend_path

__version__ = "0.1.0"

# A source checkout used with a ROS 2 install sourced (`colcon test`, `python -m pytest` in the
# repository, a script run from it): the generated ``agilenn_ros.msg`` exists only in the
# installed copy of this package. The package spans every ``agilenn_ros`` folder on sys.path,
# the first one (this one) winning for modules both have.
__path__ = extend_path(__path__, __name__)
