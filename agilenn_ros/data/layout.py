"""From a listing to splits and classes: the one layout rule for folders and archives alike.

1. Hidden files, ``._*`` and ``__MACOSX/`` are already gone (see :mod:`listing`).
2. A wrapper is looked through: while the root holds exactly one folder, no image beside it,
   no image directly inside it, and that folder is not a split name, the root moves into it
   (``flowers.tar.gz`` holding ``flowers/<class>/...`` reads like the folder ``flowers``).
3. Split folders: a root folder named ``train``/``training``, ``val``/``valid``/``validation`` or
   ``test``/``testing`` (any case) makes a split layout ``<root>/<split>/<class>/...``; other
   folders with images beside them are an error (ambiguous). Without split folders the root
   itself is the training split (``<root>/<class>/...``), and there is no val or test split.
4. The class of an image is the FIRST folder level under its split; images at any depth below
   it belong to that class (``cat/indoor/1.jpg`` is a ``cat``). Images directly in a split root
   belong to no class: skipped and counted.
5. A class folder without a readable image is an error naming it. Class names are NFC-normalised.
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

from agilenn_ros.data.decode import READABLE_SUFFIXES, UNREADABLE_IMAGE_SUFFIXES, suffix_of
from agilenn_ros.data.imageset import DatasetError, class_order
from agilenn_ros.data.listing import Entry, Listing

SPLIT_ALIASES = {"train": ("train", "training"), "val": ("val", "valid", "validation"),
                 "test": ("test", "testing")}
_ALIAS_TO_SPLIT = {alias: split for split, aliases in SPLIT_ALIASES.items() for alias in aliases}


@dataclass
class SplitTree:
    """One split of a listing: class name -> image entries (sorted by path)."""
    where: str                               # the split's root as the user knows it
    classes: dict[str, list[Entry]]

    @property
    def class_names(self) -> list[str]:
        return class_order(self.classes)

    def counts(self) -> dict[str, int]:
        return {name: len(self.classes[name]) for name in self.class_names}


@dataclass
class Layout:
    location: str
    kind: str
    splits: dict[str, SplitTree]
    flat: bool                               # True: <root>/<class>/..., no split folders
    skipped: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def skip_lines(self) -> list[str]:
        """One line per kind of skipped file, with counts."""
        return [f"skipped {n} {reason}" for reason, n in sorted(self.skipped.items())]


def _join(location: str, kind: str, parts: tuple[str, ...]) -> str:
    if not parts:
        return location
    if kind == "image folder":
        return os.path.join(location, *parts)
    return f"{location}:{'/'.join(parts)}"


def _classify(files: list[Entry], skipped: Counter) -> list[Entry]:
    """Image entries with a readable suffix; others counted in ``skipped`` by reason."""
    images = []
    for entry in files:
        suffix = suffix_of(entry.parts[-1])
        if suffix in READABLE_SUFFIXES:
            images.append(entry)
        elif suffix in UNREADABLE_IMAGE_SUFFIXES:
            skipped[f"{suffix} images (a type OpenCV cannot read)"] += 1
        else:
            skipped[f"non-image files ({suffix or 'no suffix'})"] += 1
    return images


def _children(prefix: tuple[str, ...], dirs: set[tuple[str, ...]], images: list[Entry]) -> tuple[set[str], int]:
    """Folder names directly under ``prefix`` and the number of images directly in it."""
    depth = len(prefix)
    folders = {d[depth] for d in dirs if len(d) > depth and d[:depth] == prefix}
    direct = 0
    for entry in images:
        if entry.parts[:depth] == prefix:
            if len(entry.parts) == depth + 1:
                direct += 1
            else:
                folders.add(entry.parts[depth])
    return folders, direct


def _split_tree(listing: Listing, prefix: tuple[str, ...], images: list[Entry], all_files: list[Entry],
                dirs: set[tuple[str, ...]], skipped: Counter) -> SplitTree:
    depth = len(prefix)
    where = _join(listing.location, listing.kind, prefix)
    folders, direct = _children(prefix, dirs, images)
    if direct:
        skipped[f"images directly in {where} (not inside a class folder)"] += direct
    classes: dict[str, list[Entry]] = {name: [] for name in folders}
    for entry in images:
        if entry.parts[:depth] == prefix and len(entry.parts) > depth + 1:
            classes[entry.parts[depth]].append(entry)
    for name, entries in classes.items():
        if not entries:
            inside = Counter()
            _classify([f for f in all_files if f.parts[:depth + 1] == prefix + (name,)], inside)
            detail = ", ".join(f"{n} {reason}" for reason, n in sorted(inside.items())) or "it is empty"
            raise DatasetError(f"{_join(listing.location, listing.kind, prefix + (name,))}: class folder "
                               f"holds no readable image ({detail}); add images or remove the folder")
        entries.sort(key=lambda e: e.parts)
    return SplitTree(where, classes)


def arrange(listing: Listing) -> Layout:
    """Apply the layout rule (module docstring) to ``listing``."""
    skipped = Counter(listing.skipped)
    images = _classify(listing.files, skipped)
    dirs = listing.dirs
    notes: list[str] = []
    prefix: tuple[str, ...] = ()
    while True:
        folders, direct = _children(prefix, dirs, images)
        if direct or len(folders) != 1:
            break
        (only,) = folders
        if only.lower() in _ALIAS_TO_SPLIT:
            break
        _, inner_direct = _children(prefix + (only,), dirs, images)
        inner_folders, _ = _children(prefix + (only,), dirs, images)
        if inner_direct or not inner_folders:
            break
        prefix = prefix + (only,)
        notes.append(f"looked inside the single top folder {_join(listing.location, listing.kind, prefix)}")

    folders, _ = _children(prefix, dirs, images)
    split_dirs: dict[str, str] = {}
    for name in sorted(folders):
        split = _ALIAS_TO_SPLIT.get(name.lower())
        if split is None:
            continue
        if split in split_dirs:
            raise DatasetError(f"{_join(listing.location, listing.kind, prefix)}: both {split_dirs[split]}/ "
                               f"and {name}/ are {split} splits; keep one")
        split_dirs[split] = name
    if not split_dirs:
        tree = _split_tree(listing, prefix, images, listing.files, dirs, skipped)
        return Layout(listing.location, listing.kind, {"train": tree}, True, skipped, notes)

    others = sorted(f for f in folders if f.lower() not in _ALIAS_TO_SPLIT
                    and any(e.parts[:len(prefix) + 1] == prefix + (f,) for e in images))
    if others:
        raise DatasetError(f"{_join(listing.location, listing.kind, prefix)}: ambiguous layout: split folders "
                           f"{sorted(split_dirs.values())} and other folders with images {others[:5]}; put the "
                           "class folders inside the split folders")
    _, direct = _children(prefix, dirs, images)
    if direct:
        skipped[f"images directly in {_join(listing.location, listing.kind, prefix)} "
                "(not inside a split and class folder)"] += direct
    splits = {split: _split_tree(listing, prefix + (name,), images, listing.files, dirs, skipped)
              for split, name in split_dirs.items()}
    return Layout(listing.location, listing.kind, splits, False, skipped, notes)
