"""List the files of an image folder or archive (.tar, .tar.gz/.tgz/.bz2/.xz, .zip) without
decoding anything.

Every entry keeps its path inside the source split into components, and the path as the user
knows it (``<folder>/<...>`` or ``<archive>:<member>``) for messages. Skipped and counted, never
listed: hidden files and folders (names starting with ``.``, which includes macOS ``._*``
AppleDouble files and ``.DS_Store``), ``__MACOSX/`` folders, broken links, links inside archives
and folder cycles made by symbolic links. Symbolic links to files and folders are followed.
"""
from __future__ import annotations

import os
import tarfile
import unicodedata
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable

from agilenn_ros.data.imageset import DatasetError

MACOS_METADATA = "macOS metadata (__MACOSX/, ._*)"
HIDDEN = "hidden files and folders (.*)"


@dataclass(frozen=True)
class Entry:
    """One regular file of a source."""
    parts: tuple[str, ...]          # path inside the source, NFC-normalised components
    display: str                    # the path as the user knows it
    read: Callable[[], bytes]       # its bytes (raises OSError when unreadable)
    order: int = 0                  # position in the archive: read in this order (streams)


@dataclass
class Listing:
    """All files and folders of a source; close() releases an open archive."""
    location: str                   # the source as the user wrote it
    kind: str                       # "image folder", "tar archive", "zip archive"
    files: list[Entry] = field(default_factory=list)
    dirs: set[tuple[str, ...]] = field(default_factory=set)
    skipped: Counter = field(default_factory=Counter)     # reason -> count
    closer: Callable[[], None] | None = None

    def close(self) -> None:
        if self.closer is not None:
            self.closer()
            self.closer = None


def _hidden_reason(name: str) -> str | None:
    if name == "__MACOSX" or name.startswith("._"):
        return MACOS_METADATA
    if name.startswith("."):
        return HIDDEN
    return None


def _nfc(name: str) -> str:
    return unicodedata.normalize("NFC", name)


def list_folder(root: Path, location: str) -> Listing:
    """Walk ``root`` (following symbolic links, stopping at cycles), sorted by name."""
    listing = Listing(location, "image folder")

    def walk(folder: Path, parts: tuple[str, ...], ancestors: frozenset[str]) -> None:
        try:
            items = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            raise DatasetError(f"{os.path.join(location, *parts)}: cannot list folder: "
                               f"{exc.strerror or exc}") from None
        for item in items:
            reason = _hidden_reason(item.name)
            if reason:
                listing.skipped[reason] += 1
                continue
            child = parts + (_nfc(item.name),)
            display = os.path.join(location, *parts, item.name)
            try:
                is_dir = item.is_dir()
                is_file = not is_dir and item.is_file()
            except OSError:
                is_dir = is_file = False
            if is_dir:
                real = os.path.realpath(item.path)
                if real in ancestors:
                    listing.skipped["symbolic links that loop back to a parent folder"] += 1
                    continue
                listing.dirs.add(child)
                walk(Path(item.path), child, ancestors | {real})
            elif is_file:
                path = item.path
                listing.files.append(Entry(child, display, lambda p=path: Path(p).read_bytes()))
            else:
                listing.skipped["broken links and special files"] += 1

    if not root.is_dir():
        raise DatasetError(f"{location}: not a folder")
    walk(root, (), frozenset({os.path.realpath(root)}))
    return listing


def _member_parts(name: str) -> tuple[str, ...] | None:
    parts = tuple(p for p in PurePosixPath(name.replace("\\", "/")).parts if p not in ("", ".", "/"))
    if not parts or ".." in parts:
        return None
    return tuple(_nfc(p) for p in parts)


def _add(listing: Listing, name: str, is_dir: bool, make_entry: Callable[[tuple[str, ...]], Entry] | None) -> None:
    parts = _member_parts(name)
    if parts is None:
        listing.skipped["archive members with unsafe paths (absolute or ..)"] += 1
        return
    for part in parts:
        reason = _hidden_reason(part)
        if reason:
            listing.skipped[reason] += 1
            return
    for depth in range(1, len(parts)):
        listing.dirs.add(parts[:depth])
    if is_dir:
        listing.dirs.add(parts)
    elif make_entry is not None:
        listing.files.append(make_entry(parts))


def list_tar(path: Path, location: str) -> Listing:
    """Members of a tar archive (any compression tarfile reads); read in archive order."""
    try:
        tar = tarfile.open(path, "r:*")
        members = tar.getmembers()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DatasetError(f"{location}: cannot read archive: {exc}") from None
    listing = Listing(location, "tar archive", closer=tar.close)

    def reader(member: tarfile.TarInfo) -> Callable[[], bytes]:
        def read() -> bytes:
            try:
                handle = tar.extractfile(member)
                if handle is None:
                    raise OSError("not a regular file")
                return handle.read()
            except (tarfile.TarError, EOFError, KeyError) as exc:
                raise OSError(f"cannot read archive member ({exc})") from None
        return read

    for member in members:
        if member.issym():
            listing.skipped["symbolic links inside the archive (not followed)"] += 1
            continue
        if not (member.isdir() or member.isfile() or member.islnk()):
            listing.skipped["special archive members"] += 1
            continue
        _add(listing, member.name, member.isdir(),
             lambda parts, m=member, n=len(listing.files): Entry(parts, f"{location}:{m.name}", reader(m), n))
    listing.files.sort(key=lambda e: e.parts)
    return listing


def _zip_name(info: zipfile.ZipInfo) -> str:
    """Member name; names stored as UTF-8 without the UTF-8 flag (macOS, Linux zip) are
    re-decoded instead of being read as cp437."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def list_zip(path: Path, location: str) -> Listing:
    """Members of a zip archive."""
    try:
        archive = zipfile.ZipFile(path)
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DatasetError(f"{location}: cannot read archive: {exc}") from None
    listing = Listing(location, "zip archive", closer=archive.close)

    def reader(info: zipfile.ZipInfo) -> Callable[[], bytes]:
        def read() -> bytes:
            try:
                return archive.read(info)
            except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, ValueError) as exc:
                raise OSError(f"cannot read archive member ({exc})") from None
        return read

    for info in infos:
        name = _zip_name(info)
        _add(listing, name, info.is_dir(),
             lambda parts, i=info, n=name, o=len(listing.files): Entry(parts, f"{location}:{n}", reader(i), o))
    listing.files.sort(key=lambda e: e.parts)
    return listing


def is_archive(path: Path) -> str | None:
    """"tar" or "zip" when ``path`` is a file of that kind, else None."""
    try:
        if zipfile.is_zipfile(path):
            return "zip"
        if tarfile.is_tarfile(path):
            return "tar"
    except OSError:
        return None
    return None


def list_source(path: Path, location: str) -> Listing:
    """Listing of a folder or archive at ``path``."""
    if path.is_dir():
        return list_folder(path, location)
    kind = is_archive(path)
    if kind == "zip":
        return list_zip(path, location)
    if kind == "tar":
        return list_tar(path, location)
    raise DatasetError(f"{location}: not an image folder, an archive (.tar, .tar.gz, .tgz, .zip) "
                       "or a CIFAR-10 release")
