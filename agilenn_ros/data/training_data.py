"""What training, export and evaluation use from a source, with honest split names.

- training: the ``train`` split, validated on ``val/`` where the source has it, else on a
  validation split carved from train (:mod:`split`); at least two classes; a fingerprint of
  the images actually used, recorded in checkpoints;
- held-out scoring (export's metrics.json, evaluate): ``test`` where it exists, else ``val``
  (the ``val/`` folder or the carved images, which training never fitted); training images
  are only ever reported as ``train``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from agilenn_ros.data.datasets import Source, open_source
from agilenn_ros.data.imageset import DatasetError, ImageSet, class_mismatch, fingerprint
from agilenn_ros.data.split import balance_warnings, carve_validation, check_val_size, describe_val_size


@dataclass
class TrainingData:
    source: Source
    train: ImageSet
    val: ImageSet
    val_origin: str                         # where the validation images come from
    fingerprint: str                        # of train + val as used (before --max-train)
    test_counts: dict[str, int] | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def class_names(self) -> list[str]:
        return self.train.class_names

    def identity(self) -> dict[str, object]:
        """Recorded in checkpoints; compared when a run is resumed or exported."""
        return {"classes": list(self.class_names), "fingerprint": self.fingerprint,
                "train_images": len(self.train), "val_images": len(self.val), "data": self.source.location}

    def summary_lines(self) -> list[str]:
        """The classes and image counts per split and class, for the console."""
        src = self.source
        lines = [f"data: {src.location} ({src.kind}; splits: {', '.join(src.splits())})"]
        lines += [f"  {note}" for note in src.notes()]
        train_counts, val_counts = self.train.class_counts(), self.val.class_counts()
        test = self.test_counts
        lines.append(f"{len(self.class_names)} classes; train {len(self.train)} images, val {len(self.val)} "
                     f"({self.val_origin})" + (f", test {sum(test.values())}" if test is not None else ", no test split"))
        width = max([5] + [len(n) for n in self.class_names])
        lines.append(f"  {'class':<{width}}  {'train':>7}  {'val':>6}" + (f"  {'test':>6}" if test is not None else ""))
        for name in self.class_names:
            row = f"  {name:<{width}}  {train_counts[name]:>7}  {val_counts[name]:>6}"
            if test is not None:
                row += f"  {test.get(name, 0):>6}"
            lines.append(row)
        lines += [f"warning: {w}" for w in self.warnings]
        return lines


def input_size(size: int | tuple[int, int]) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def _one_class_hint(source: Source, data: ImageSet) -> str:
    where = source.split_where("train")
    if len(data.class_names) == 1:
        return (f"{where}: only one class ({data.class_names[0]!r}); a classifier needs at least 2 class "
                "folders (<root>/<class>/<image>, the class is the first folder level)")
    return f"{where}: no classes found"


def prepare_training_data(data: str | Source, size: int | tuple[int, int], val_size: float,
                          max_train: int = 0) -> TrainingData:
    """Load train and validation images fitted to ``size`` (see the module docstring)."""
    check_val_size(val_size)
    source = data if isinstance(data, Source) else open_source(data)
    hw = input_size(size)
    full = source.load("train", hw)
    if len(full.class_names) < 2:
        raise DatasetError(_one_class_hint(source, full))
    warnings: list[str] = []
    if "val" in source.splits():
        train = full
        val = source.load("val", hw)
        problem = class_mismatch(val.class_names, train.class_names, source.split_where("val"),
                                 "the training classes")
        if problem:
            raise DatasetError(problem)
        origin = f"from {source.split_where('val')}"
    else:
        train, val, warnings = carve_validation(full, val_size)
        origin = f"carved from train: {describe_val_size(val_size)}"
    warnings += balance_warnings(train.class_counts())
    print_fp = fingerprint(train, val)
    test_counts = None
    if "test" in source.splits():
        try:
            test_counts = source.counts("test")
        except DatasetError as exc:
            warnings.append(f"test split unusable for export's metrics: {exc}")
        else:
            problem = class_mismatch(sorted(test_counts), sorted(train.class_names), source.split_where("test"),
                                     "the training classes")
            if not test_counts:
                warnings.append(f"{source.split_where('test')}: no class folders with images; export needs "
                                "--skip-metrics and evaluate cannot score it")
            elif problem:
                warnings.append(f"{problem}; export and evaluate will refuse this test split")
    if max_train and max_train < len(train):
        keep = np.random.default_rng(0).permutation(len(train))[:max_train]
        train = train.subset(np.sort(keep))
    return TrainingData(source, train, val, origin, print_fp, test_counts, warnings)


def load_holdout(data: str | Source, split: str, size: int | tuple[int, int] | None,
                 val_size: float) -> tuple[ImageSet, str, str]:
    """Images to score a model on and an honest description of them.

    ``split``: "test", "val" (the ``val/`` split, else the validation images carved from train
    with ``val_size`` exactly as training did), "train", "all" (every image of a folder without
    split folders, labelled "all", never "test") or "auto" (test where it exists, else val).
    Returns (images, split name, description).
    """
    source = data if isinstance(data, Source) else open_source(data)
    splits = source.splits()
    if split == "all":
        if not source.flat:
            raise DatasetError(f"{source.location} has split folders ({', '.join(splits)}): choose --split "
                               "test, val or train")
        return (source.load("train", input_size(size) if size is not None else None), "all",
                f"every image of {source.location} (a folder without split folders; held out of training only "
                "if the model was not trained on this folder)")
    if split == "auto":
        split = "test" if "test" in splits else "val"
    hw = input_size(size) if size is not None else None
    if split == "val" and "val" not in splits:
        full = source.load("train", hw)
        _, val, _ = carve_validation(full, val_size)
        return val, "val", carved_description(source, val_size)
    data_set = source.load(split, hw)
    origin = {"test": "the test split", "val": "the validation split",
              "train": "the training split (images the model was trained on)"}[split]
    return data_set, split, f"{origin}: {source.split_where(split)}"


def carved_description(source: Source, val_size: float) -> str:
    return (f"validation images carved from the training split of {source.location} "
            f"({describe_val_size(val_size)}; held out of training)")
