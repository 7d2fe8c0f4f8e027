"""The model zoo: names → verified files in a per-user cache.

Entries are data (`models/zoo.toml`, plus any registry file a user or test adds). A pull
streams to `<file>.part` (resumed with HTTP Range after an interruption), checks its size,
then hands it to pooch, which checks the sha256 and renames it into place; a wrong file is
deleted. A lock keeps two processes from pulling the same model at once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from edge.core.errors import OfficeScoreError, extra_hint, first_line
from edge.core.paths import user_cache_root
from edge.inference import local_models
from edge.inference.modelcard import bundled_dir, file_sha256

BUNDLED_NAME = "yolox-nano"
Notice = Callable[[str], None]
# Builds a model that is not a plain download (torchvision weights → export): registered by
# the package that can do it, so the runtime never imports it.
BUILDERS: dict[str, Callable[[ZooEntry, str, Path, Notice], Path]] = {}


@dataclass(frozen=True)
class ZooEntry:
    name: str
    kind: str  # "bundled", "onnx" (a download) or a key of BUILDERS
    task: str
    classes: str
    licence: str
    source: str  # the URL it comes from, or "bundled"
    file: str
    sha256: str  # of the file; for torchvision weights, the prefix torchvision checks
    coco_ap: str
    input: str
    size: int = 0  # bytes of the file to download
    approx_mb: float | None = None  # torchvision weights, as torchvision lists them
    card: str | None = None  # a card in models/, copied beside the download
    needs: str | None = None  # the extra a builder needs
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def size_text(self) -> str:
        """Megabytes (10⁶ bytes) everywhere, as the README writes them: one decimal, or about
        so many for weights that are exported after the download."""
        if self.approx_mb is not None:
            return f"~{self.approx_mb:.0f} MB"
        return f"{self.size / 1e6:.1f} MB"

    @property
    def brief(self) -> tuple[str, str, str]:
        """Task, COCO AP and licence without their asides, for a table at 80 columns."""
        return (
            self.task.removeprefix("instance "),
            self.coco_ap.split(" (")[0].replace("not published", "unpublished"),
            self.licence.split(" (")[0],
        )

    def describe(self) -> list[tuple[str, str]]:
        return [
            ("name", self.name),
            ("task", self.task),
            ("classes", self.classes),
            ("licence", self.licence),
            ("source", self.source),
            ("size", self.size_text + (", weights exported here" if self.approx_mb else "")),
            ("sha256", self.sha256),
            ("COCO AP (published)", self.coco_ap),
            ("input", self.input),
            ("card", self.card or "in the ONNX metadata"),
        ]


def load_registry(paths: list[Path]) -> dict[str, ZooEntry]:
    """Entries from each registry file in order; a later file may add or replace names."""
    entries: dict[str, ZooEntry] = {}
    for path in paths:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise OfficeScoreError(f"cannot read model registry {path}: {error}") from None
        for name, entry in data.items():
            try:
                entries[name] = ZooEntry(
                    name=name,
                    **{k: v for k, v in entry.items() if k != "settings"},
                    settings=dict(entry.get("settings", {})),
                )
            except TypeError as error:
                raise OfficeScoreError(f"model registry {path}: entry {name}: {error}") from None
    return entries


@dataclass(frozen=True)
class ZooConfig:
    cache: Path
    registries: tuple[Path, ...]
    mirror: str | None = None  # base URL serving the same file names
    timeout_s: float = 30.0
    progress: bool = True


def default_config(environ: dict[str, str] | os._Environ[str] = os.environ) -> ZooConfig:
    """The user's cache and registries, with OFFICESCORE_CACHE, OFFICESCORE_ZOO (extra
    registry files, separated by the path separator) and OFFICESCORE_MODEL_MIRROR."""
    cache = user_cache_root(environ)
    extra = [Path(p) for p in environ.get("OFFICESCORE_ZOO", "").split(os.pathsep) if p]
    return ZooConfig(
        cache=cache / "models",
        registries=(bundled_dir() / "zoo.toml", *extra),
        mirror=environ.get("OFFICESCORE_MODEL_MIRROR") or None,
    )


class Zoo:
    def __init__(self, config: ZooConfig, notice: Notice) -> None:
        self.config = config
        self.notice = notice
        self.entries = self._load_entries()

    def _load_entries(self) -> dict[str, ZooEntry]:
        """The registries, with the models the user added (`local.toml` in the cache) after
        the bundled one, so a registry the user names can still replace them."""
        registries = list(self.config.registries)
        local = local_models.local_registry(self.config.cache)
        if local.is_file():
            registries.insert(1, local)
        return load_registry(registries)

    def entry(self, name: str) -> ZooEntry:
        try:
            return self.entries[name]
        except KeyError:
            known = ", ".join(sorted(self.entries))
            raise OfficeScoreError(f"no model named {name!r} in the zoo; known: {known}") from None

    def folder(self, entry: ZooEntry) -> Path:
        return self.config.cache / entry.name

    def path(self, entry: ZooEntry) -> Path:
        if entry.kind == "bundled":
            return bundled_dir() / entry.file
        return self.folder(entry) / entry.file

    def is_ready(self, entry: ZooEntry) -> bool:
        return self.path(entry).is_file()

    def url(self, entry: ZooEntry) -> str:
        if self.config.mirror:
            return f"{self.config.mirror.rstrip('/')}/{entry.source.rsplit('/', 1)[-1]}"
        return entry.source

    def pull(self, name: str) -> Path:
        """The model's file, downloading (or building) it first if it is not cached."""
        entry = self.entry(name)
        path = self.path(entry)
        if entry.kind == "bundled" or path.is_file():
            return path
        from filelock import FileLock

        with FileLock(_lock_path(self.folder(entry))):
            if path.is_file():  # another process finished it while we waited
                return path
            if entry.kind == local_models.LOCAL_KIND:
                raise OfficeScoreError(
                    f"{name} was {entry.source} and is gone from the cache: add it again"
                )
            if entry.kind == "onnx":
                self._download(entry)
            elif entry.kind in BUILDERS:
                self._build(entry)
            else:
                extra = entry.needs or entry.kind
                raise OfficeScoreError(f"{entry.name} needs the {extra} extra: {extra_hint(extra)}")
        return path

    def _download(self, entry: ZooEntry) -> None:
        import pooch

        pooch.get_logger().setLevel("WARNING")  # we say what we download ourselves
        url = self.url(entry)
        folder = self.folder(entry)
        self.notice(f"downloading {entry.name} ({entry.size / 1e6:.1f} MB) from {url}")
        folder.mkdir(parents=True, exist_ok=True)
        part = folder / f"{entry.file}.part"
        try:
            pooch.retrieve(
                url,
                known_hash=f"sha256:{entry.sha256}",
                fname=entry.file,
                path=folder,
                downloader=ResumingDownloader(part, entry.size, self.config),
            )
        except DownloadInterrupted as error:
            raise OfficeScoreError(f"{error}; run the same command again to resume") from None
        except OfficeScoreError:
            _discard(folder)
            raise
        except Exception as error:  # requests' and pooch's own errors
            _discard(folder, keep=part if _has_bytes(part) else None)
            raise OfficeScoreError(self._failure(entry, url, error)) from None
        self._write_card(entry)

    def _failure(self, entry: ZooEntry, url: str, error: BaseException) -> str:
        if isinstance(error, ValueError) and "hash" in str(error).lower():
            return f"{url} is not the {entry.name} the zoo lists (sha256 differs); deleted it"
        return (
            f"cannot download {entry.name} from {url} ({first_line(error)}); without internet, "
            f"fetch that file elsewhere and run `officescore models add {entry.name} FILE`"
        )

    def _build(self, entry: ZooEntry) -> None:
        folder = self.folder(entry)
        folder.mkdir(parents=True, exist_ok=True)
        try:
            BUILDERS[entry.kind](entry, self.url(entry), folder / entry.file, self.notice)
        except BaseException:
            _discard(folder)
            raise

    def _write_card(self, entry: ZooEntry) -> None:
        if entry.card:
            card = self.path(entry).with_suffix(".toml")
            shutil.copyfile(bundled_dir() / entry.card, card)

    def add(self, name: str, file: Path) -> Path:
        """Put a file fetched by hand into the cache, after checking its size and sha256; a
        name the zoo does not know adds the file as a model of your own (its card says what it
        detects)."""
        if name not in self.entries or self.entries[name].kind == local_models.LOCAL_KIND:
            path = local_models.register(self.config.cache, name, file)
            self.entries = self._load_entries()
            return path
        entry = self.entry(name)
        if entry.kind != "onnx":
            raise OfficeScoreError(f"{name} is {entry.kind}, not a file to add")
        if not file.is_file():
            raise OfficeScoreError(f"file not found: {file}")
        size = file.stat().st_size
        if size != entry.size:
            raise OfficeScoreError(f"{file} is {size:,} bytes; {name} is {entry.size:,} bytes")
        digest = file_sha256(file)
        if digest != entry.sha256:
            raise OfficeScoreError(f"{file} is not {name} (sha256 {digest[:12]}… differs)")
        self.folder(entry).mkdir(parents=True, exist_ok=True)
        local_models.copy_into_place(file, self.path(entry))
        self._write_card(entry)
        return self.path(entry)

    def remove(self, name: str) -> bool:
        """Delete a cached model; False when there was nothing to delete."""
        entry = self.entry(name)
        if entry.kind == "bundled":
            raise OfficeScoreError(
                f"{name} is bundled with officescore; there is nothing to remove"
            )
        if entry.kind == local_models.LOCAL_KIND:
            local_models.unregister(self.config.cache, name)
        folder = self.folder(entry)
        if not folder.exists():
            return False
        shutil.rmtree(folder)
        return True


class DownloadInterrupted(Exception):
    """The connection ended before the whole file came; the part is kept for a resume."""


class ResumingDownloader:
    """A pooch downloader that resumes `part` with an HTTP Range request and checks the size."""

    def __init__(self, part: Path, size: int, config: ZooConfig) -> None:
        self.part = part
        self.size = size
        self.config = config

    def __call__(self, url: str, output_file: str, pooch: object, check_only: bool = False) -> None:
        import requests

        have = self.part.stat().st_size if self.part.is_file() else 0
        if have > self.size:
            self.part.unlink()
            have = 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        timeout = (5.0, self.config.timeout_s)
        with requests.get(url, stream=True, timeout=timeout, headers=headers) as response:
            if response.status_code == 416 and have == self.size:
                pass  # the part was already complete
            else:
                response.raise_for_status()
                if have and response.status_code != 206:
                    have = 0  # the server ignored the range: start again
                length = response.headers.get("Content-Length")
                if length is not None and have + int(length) != self.size:
                    raise OfficeScoreError(
                        f"{url} is {have + int(length):,} bytes, expected {self.size:,}"
                    )
                self._stream(response, have)
        got = self.part.stat().st_size
        if got < self.size:
            raise DownloadInterrupted(
                f"download of {url} stopped at {got:,} of {self.size:,} bytes"
            )
        if got > self.size:
            self.part.unlink()
            raise OfficeScoreError(f"{url} sent {got:,} bytes, expected {self.size:,}")
        os.replace(self.part, output_file)

    def _stream(self, response: Any, have: int) -> None:
        import requests
        from rich.progress import Progress

        with (
            self.part.open("ab" if have else "wb") as out,
            Progress(transient=True, disable=not self.config.progress) as bar,
        ):
            task = bar.add_task(self.part.stem, total=self.size, completed=have)
            try:
                for chunk in response.iter_content(chunk_size=1 << 16):
                    out.write(chunk)
                    bar.update(task, advance=len(chunk))
            except requests.RequestException:
                pass  # what arrived is kept; the size check above says it is short


def resolve_model(spec: str | None, notice: Notice, zoo: Zoo | None = None) -> Path | None:
    """`--model`: None (the bundled detector), a zoo name (pulled on first use) or a file."""
    if spec is None:
        return None
    if Path(spec).exists() or Path(spec).suffix == ".onnx" or os.sep in spec or "/" in spec:
        return Path(spec)
    if spec == BUNDLED_NAME:
        return None
    return (zoo or Zoo(default_config(), notice)).pull(spec)


def _lock_path(folder: Path) -> Path:
    """Locks live outside the cache, so an unfinished pull leaves nothing in it."""
    key = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    user = getattr(os, "getuid", lambda: "user")()
    locks = Path(tempfile.gettempdir()) / f"officescore-locks-{user}"
    locks.mkdir(mode=0o700, exist_ok=True)
    return locks / f"{key}.lock"


def _has_bytes(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0


def _discard(folder: Path, keep: Path | None = None) -> None:
    """Remove what a failed pull left, except a part worth resuming."""
    if not folder.exists():
        return
    for item in folder.iterdir():
        if item != keep:
            item.unlink() if item.is_file() else shutil.rmtree(item)
    if keep is None:
        folder.rmdir()
