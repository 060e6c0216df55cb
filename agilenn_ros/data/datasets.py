"""Labelled image sources: what ``--data`` can point at, and loading one split of it.

Sources (``open_source(path)``):

- an image folder: ``<root>/<class>/<image>`` (training data only) or
  ``<root>/{train,val,test}/<class>/<image>``; the layout rule is in :mod:`layout`
  (class = first folder under the split, images at any depth below it);
- an archive of such a tree (``.tar``, ``.tar.gz``/``.tgz``/``.tar.bz2``/``.tar.xz``, ``.zip``),
  read directly, never unpacked; a single top folder in it is looked through;
- a folder of per-split archives ``<root>/<split>.tar.gz`` (or ``.tgz``, ``.tar``, ``.zip``),
  e.g. ``../shared/data/cifar10/{train,test}.tar.gz``;
- the official CIFAR-10 python (``cifar-10-batches-py``) and binary (``cifar-10-batches-bin``)
  releases, as a folder or the original archive;
- ``digits``: scikit-learn's bundled 8x8 digits (deterministic 80/20 train/test split).

Splits are ``train``, ``val`` and ``test``; a source only has the ones it holds (a flat folder
only has ``train``). Images decoded from archives are cached as ``.npz`` under
``$AGILENN_CACHE`` (default ``~/.cache/agilenn_ros``), keyed by path, size, mtime, split and
model input size.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import numpy as np

from agilenn_ros.data.imageset import DatasetError, ImageSet, MissingSplitError
from agilenn_ros.data.layout import Layout, SplitTree, arrange
from agilenn_ros.data.listing import Listing, is_archive, list_source
from agilenn_ros.data.reader import fit_set, load_tree
from agilenn_ros.data.releases import load_digits, load_release, release_kind

SPLITS = ("train", "val", "test")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tar.xz", ".zip")
CACHE_VERSION = "v2"

Size = tuple[int, int] | None


def as_size(size: int | tuple[int, int] | None) -> Size:
    """Model input size as (height, width); an int means a square."""
    if size is None:
        return None
    if isinstance(size, int):
        return (size, size)
    return (int(size[0]), int(size[1]))


def _cache_path(path: Path, split: str, size: Size) -> Path:
    import hashlib
    stat = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{split}|{size}|{stat.st_size}|{stat.st_mtime_ns}|{CACHE_VERSION}"
                         .encode()).hexdigest()[:20]
    root = Path(os.environ.get("AGILENN_CACHE", Path.home() / ".cache" / "agilenn_ros"))
    return root / f"{path.name}-{split}-{key}.npz"


def _cached(path: Path, split: str, size: Size, loader: Callable[[], ImageSet]) -> ImageSet:
    cache = _cache_path(path, split, size)
    if cache.is_file():
        try:
            with np.load(cache, allow_pickle=False) as npz:
                return ImageSet(npz["images"], npz["labels"], [str(s) for s in npz["class_names"]],
                                str(npz["source"]), list(json.loads(str(npz["notes"]))))
        except (OSError, KeyError, ValueError):
            pass  # a broken cache is rebuilt
    result = loader()
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(cache.name + f".{os.getpid()}.tmp.npz")
        np.savez(tmp, images=result.images, labels=result.labels, class_names=np.array(result.class_names),
                 source=np.array(result.source), notes=np.array(json.dumps(result.notes)))
        os.replace(tmp, cache)
    except OSError:
        pass  # caching is an optimisation only
    return result


class Source:
    """A data source; ``splits()`` lists what it holds, ``load()`` decodes one split."""
    location: str = ""
    kind: str = ""
    flat: bool = False

    def splits(self) -> list[str]:
        raise NotImplementedError

    def notes(self) -> list[str]:
        """What was skipped or looked through while listing, one line each."""
        return []

    def split_where(self, split: str) -> str:
        return f"{self.location} ({split})"

    def counts(self, split: str) -> dict[str, int]:
        return self.load(split, None, progress=False).class_counts()

    def load(self, split: str, size: int | tuple[int, int] | None = None, progress: bool = True) -> ImageSet:
        raise NotImplementedError

    def missing(self, split: str) -> MissingSplitError:
        if self.flat:
            return MissingSplitError(
                f"{self.location} has no {split} split: it is one folder of class folders "
                f"(<root>/<class>/<image>), all of it training data; add {split}/ beside train/ "
                "(<root>/train/<class>/..., <root>/" + split + "/<class>/...)"
                + ("; or use --split val (the validation images held out of training), or --split all "
                   "for a folder of new images the model never saw" if split == "test" else ""))
        return MissingSplitError(f"{self.location} has no {split} split (it holds {', '.join(self.splits())})")


class ArraySource(Source):
    """CIFAR-10 releases and digits: train and test come as arrays."""

    def __init__(self, location: str, kind: str, loader: Callable[[str], ImageSet]) -> None:
        self.location, self.kind, self._loader = location, kind, loader
        self._loaded: dict[str, ImageSet] = {}

    def splits(self) -> list[str]:
        return ["train", "test"]

    def load(self, split: str, size: int | tuple[int, int] | None = None, progress: bool = True) -> ImageSet:
        if split not in self.splits():
            raise self.missing(split)
        if split not in self._loaded:
            self._loaded[split] = self._loader(split)
        return fit_set(self._loaded[split], as_size(size))


class TreeSource(Source):
    """An image folder or one archive, arranged by the layout rule."""

    def __init__(self, path: Path, location: str, listing: Listing | None = None) -> None:
        self.path, self.location = path, location
        self.archive = not path.is_dir()
        self._listing = listing
        self._layout: Layout | None = None
        self.kind = "image folder" if not self.archive else (listing.kind if listing else "archive")

    @property
    def layout(self) -> Layout:
        if self._layout is None:
            listing = self._listing or list_source(self.path, self.location)
            self.kind = listing.kind
            self._layout = arrange(listing)
            self._listing = listing
        return self._layout

    @property
    def flat(self) -> bool:  # type: ignore[override]
        return self.layout.flat

    def splits(self) -> list[str]:
        return [s for s in SPLITS if s in self.layout.splits]

    def notes(self) -> list[str]:
        return self.layout.notes + self.layout.skip_lines()

    def split_where(self, split: str) -> str:
        tree = self.layout.splits.get(split)
        return tree.where if tree else self.location

    def counts(self, split: str) -> dict[str, int]:
        if split not in self.layout.splits:
            raise self.missing(split)
        return self.layout.splits[split].counts()

    def load(self, split: str, size: int | tuple[int, int] | None = None, progress: bool = True) -> ImageSet:
        size = as_size(size)

        def decode() -> ImageSet:
            if split not in self.layout.splits:
                raise self.missing(split)
            return load_tree(self.layout.splits[split], size, self.location, self.notes(), progress)
        if self.archive:
            return _cached(self.path, split, size, decode)
        return decode()


class SplitArchiveSource(Source):
    """A folder holding ``<split>.tar.gz`` (or .tgz/.tar/.zip...) per split."""

    def __init__(self, root: Path, location: str, archives: dict[str, Path]) -> None:
        self.root, self.location, self.archives = root, location, archives
        self.kind = "folder of split archives"
        self._trees: dict[str, TreeSource] = {}

    def splits(self) -> list[str]:
        return [s for s in SPLITS if s in self.archives]

    def _tree(self, split: str) -> TreeSource:
        if split not in self._trees:
            path = self.archives[split]
            self._trees[split] = TreeSource(path, os.path.join(self.location, path.name))
        return self._trees[split]

    def split_where(self, split: str) -> str:
        return os.path.join(self.location, self.archives[split].name) if split in self.archives else self.location

    def _chosen(self, split: str) -> tuple[TreeSource, SplitTree]:
        """The archive of ``split`` and its class tree (flat, or its ``<split>/`` folder)."""
        if split not in self.archives:
            raise self.missing(split)
        tree = self._tree(split)
        layout = tree.layout
        if layout.flat:
            return tree, layout.splits["train"]
        if split in layout.splits:
            return tree, layout.splits[split]
        raise DatasetError(f"{tree.location}: holds split folders {sorted(layout.splits)} but no {split}/")

    def counts(self, split: str) -> dict[str, int]:
        return self._chosen(split)[1].counts()

    def load(self, split: str, size: int | tuple[int, int] | None = None, progress: bool = True) -> ImageSet:
        if split not in self.archives:
            raise self.missing(split)
        size = as_size(size)

        def decode() -> ImageSet:
            tree, chosen = self._chosen(split)
            return load_tree(chosen, size, self.location, tree.notes(), progress)
        return _cached(self.archives[split], split, size, decode)


def _split_archives(root: Path) -> dict[str, Path]:
    from agilenn_ros.data.layout import SPLIT_ALIASES
    found: dict[str, Path] = {}
    for split, aliases in SPLIT_ALIASES.items():
        for alias in aliases:
            for suffix in ARCHIVE_SUFFIXES:
                candidate = root / f"{alias}{suffix}"
                if candidate.is_file() and split not in found:
                    found[split] = candidate
    return found


def _release_in_folder(path: Path) -> Source | None:
    for sub in ("", "cifar-10-batches-py", "cifar-10-batches-bin"):
        folder = path / sub if sub else path
        if not folder.is_dir():
            continue
        kind = release_kind({p.name for p in folder.iterdir() if p.is_file()})
        if kind:
            return ArraySource(str(path), f"CIFAR-10 {kind} release",
                               lambda split, f=folder, k=kind: load_release(
                                   k, lambda n: (f / n).read_bytes(), split, f"cifar-10-{k}"))
    return None


def _release_in_listing(listing: Listing) -> Source | None:
    by_name = {entry.parts[-1]: entry for entry in listing.files}
    kind = release_kind(set(by_name))
    if not kind:
        return None

    def read(name: str) -> bytes:
        if name not in by_name:
            raise DatasetError(f"{listing.location}: CIFAR-10 release without {name}")
        return by_name[name].read()
    return ArraySource(listing.location, f"CIFAR-10 {kind} release archive",
                       lambda split: load_release(kind, read, split, f"cifar-10-{kind}"))


def open_source(source: str | os.PathLike[str]) -> Source:
    """The source ``source`` names (see the module docstring); nothing is decoded yet."""
    if str(source) == "digits":
        return ArraySource("digits", "scikit-learn digits", load_digits)
    location = str(source)
    path = Path(source).expanduser()
    if not path.exists():
        raise DatasetError(f"{location}: no such file or folder")
    if path.is_dir():
        archives = _split_archives(path)
        if "train" in archives or "test" in archives:
            return SplitArchiveSource(path, location, archives)
        release = _release_in_folder(path)
        if release is not None:
            return release
        return TreeSource(path, location)
    kind = is_archive(path)
    if kind is None:
        raise DatasetError(f"{location}: not an image folder, an archive (.tar, .tar.gz, .tgz, .zip) "
                           "or a CIFAR-10 release")
    listing = list_source(path, location)
    release = _release_in_listing(listing)
    if release is not None:
        return release
    return TreeSource(path, location, listing)


def load_split(source: str | os.PathLike[str] | Source, split: str = "train",
               size: int | tuple[int, int] | None = None, strict: bool = False) -> ImageSet:
    """Load ``split`` ("train", "val" or "test") of a source into memory; what was skipped is in
    the result's ``notes`` (train, export and evaluate print them). ``size``: the model input (height, width) or square side; images are
    fitted to it as they are decoded (see :mod:`reader`). Raises :class:`MissingSplitError`
    when the source has no such split, :class:`DatasetError` for everything else.

    A flat folder (``<root>/<class>/<image>``, no split folders) has only ``train``; unless
    ``strict``, any split of it gives all its images, with a note (image sources for bags and
    the device emulator). Scoring code (evaluate, export) uses strict splits."""
    if split not in SPLITS:
        raise DatasetError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    src = source if isinstance(source, Source) else open_source(source)
    note = ""
    if not strict and split != "train" and split not in src.splits() and src.flat:
        note = f"no split folders: all its images are used as {split!r}"
        split = "train"
    data = src.load(split, size)
    if note:
        data = ImageSet(data.images, data.labels, data.class_names, data.source, data.notes + [note])
    return data
