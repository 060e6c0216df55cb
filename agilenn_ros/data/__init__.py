"""Datasets as numpy arrays (no torch): image folders and archives, CIFAR-10 releases, digits."""
from agilenn_ros.data.datasets import DatasetError, ImageSet, load_split, split_train_val

__all__ = ["DatasetError", "ImageSet", "load_split", "split_train_val"]
