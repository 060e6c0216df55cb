"""Datasets as numpy arrays (no torch): image folders and archives, CIFAR-10 releases, digits."""
from agilenn_ros.data.datasets import Source, load_split, open_source
from agilenn_ros.data.imageset import DatasetError, ImageSet, MissingSplitError, class_mismatch, fingerprint
from agilenn_ros.data.split import carve_validation, split_train_val

__all__ = ["DatasetError", "ImageSet", "MissingSplitError", "Source", "carve_validation", "class_mismatch",
           "fingerprint", "load_split", "open_source", "split_train_val"]
