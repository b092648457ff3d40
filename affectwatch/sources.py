"""Camera sources: what a camera's `source` text may be, checked before it is stored or opened.

Accepted: rtsp:// and http(s):// URLs with a host, a device (/dev/videoN or an index such as 0),
an existing video file OpenCV can read, or an existing folder holding images. Anything else
(file:// URLs, other schemes, shell metacharacters, missing paths, other files) is refused with a
SourceError that says why. Sources are never passed to a shell; the metacharacters are refused
anyway so that a stored source cannot surprise whoever copies it into one.

Where a person chooses a source (registering or changing a camera, the dashboard's and the command
line's test frame) a SourcePolicy applies too: files and folders only under AFFECTWATCH_MEDIA_ROOT
(after following links), and network sources never at loopback, link-local or cloud-metadata
addresses (the host name resolved, every address checked) unless AFFECTWATCH_ALLOW_LOCAL_SOURCES.
"""

from __future__ import annotations

import enum
import ipaddress
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from affectwatch.exceptions import SourceError

if TYPE_CHECKING:
    from affectwatch.config import Config

VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".ts", ".wmv", ".flv"})
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
URL_SCHEMES = frozenset({"rtsp", "rtsps", "http", "https"})
MAX_LENGTH = 2000
MAX_DEVICE_INDEX = 63

_DEVICE_PATH = re.compile(r"/dev/video(\d{1,2})")
_INDEX = re.compile(r"\d{1,2}")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_FORBIDDEN = frozenset("`$;|<>\\\"'")
_FORBIDDEN_IN_PATHS = frozenset("&*?{}!")

# Where a camera on the home's network never is, and where a request from this host could reach what it
# should not: this machine, link-local neighbours and the cloud providers' instance-metadata services.
LOCAL_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "::1/128", "0.0.0.0/8", "::/128", "169.254.0.0/16", "fe80::/10",
    "100.100.100.200/32",  # Alibaba Cloud metadata
    "168.63.129.16/32",  # Azure platform (wire server)
    "fd00:ec2::254/128",  # AWS metadata over IPv6
))
METADATA_HOSTS = frozenset({"metadata", "metadata.google.internal", "metadata.goog", "instance-data",
                            "instance-data.ec2.internal", "metadata.azure.com", "metadata.tencentyun.com"})


class SourceKind(enum.Enum):
    URL = "url"
    DEVICE = "device"
    FILE = "file"
    FOLDER = "folder"


@dataclass(frozen=True)
class Source:
    """A validated source: its kind and its canonical text (absolute path, or the URL as given)."""

    kind: SourceKind
    text: str

    @property
    def is_finite(self) -> bool:
        """Files and folders end (or loop); streams and devices do not."""
        return self.kind in (SourceKind.FILE, SourceKind.FOLDER)

    def capture_target(self) -> int | str:
        """What cv2.VideoCapture opens: a device index, or the URL or path."""
        if self.kind is SourceKind.DEVICE:
            match = _DEVICE_PATH.fullmatch(self.text)
            return int(match.group(1)) if match else int(self.text)
        return self.text


@dataclass(frozen=True)
class SourcePolicy:
    """Where a source a person chooses may point (see the module's docstring)."""

    media_root: Path
    allow_local_network: bool = False

    @classmethod
    def from_config(cls, config: Config) -> SourcePolicy:
        return cls(config.media_root, config.allow_local_sources)

    def check(self, source: Source) -> Source:
        """The source if this policy allows it; SourceError saying why not."""
        if source.kind in (SourceKind.FILE, SourceKind.FOLDER):
            self.check_path(Path(source.text))
        elif source.kind is SourceKind.URL and not self.allow_local_network:
            _check_host(urlsplit(source.text).hostname or "")
        return source

    def check_path(self, path: Path) -> None:
        root = self.media_root.expanduser().resolve()
        if not str(self.media_root).strip() or not path.resolve().is_relative_to(root):
            raise SourceError(f"{path} lies outside the media folder {root}: video files and image folders must be "
                              "put under AFFECTWATCH_MEDIA_ROOT")


def _check_host(host: str) -> None:
    name = host.lower().rstrip(".")
    if name in METADATA_HOSTS or name == "localhost" or name.endswith(".localhost"):
        raise SourceError(_local_refusal(host, name))
    try:
        found = {str(info[4][0]) for info in socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError):  # unknown today: nothing to check; opening it will fail or resolve again
        return
    for text in found:
        address = ipaddress.ip_address(text.split("%")[0])
        mapped = getattr(address, "ipv4_mapped", None)
        if any((mapped or address) in net for net in LOCAL_NETWORKS):
            raise SourceError(_local_refusal(host, str(mapped or address)))


def _local_refusal(host: str, address: str) -> str:
    where = host if host == address else f"{host} ({address})"
    return (f"{where} is a loopback, link-local or cloud-metadata address, which a camera source may not point at;"
            " set AFFECTWATCH_ALLOW_LOCAL_SOURCES=true to allow it")


def validate_source(text: str, check_readable: bool = True, policy: SourcePolicy | None = None) -> Source:
    """Parse and check a camera source; raises SourceError saying why it is refused.

    check_readable also opens a video file with OpenCV and reads one frame; a policy (for sources a
    person chooses) also checks where the source points before anything is opened.
    """
    raw = _check_characters(text)
    if _DEVICE_PATH.fullmatch(raw) or _INDEX.fullmatch(raw):
        return _device(raw)
    scheme = _SCHEME.match(raw)
    if scheme and not _looks_like_windows_drive(raw):
        source = _url(raw, scheme.group(1).lower())
        return source if policy is None else policy.check(source)
    return _path(raw, check_readable, policy)


def redact(text: str) -> str:
    """The source fit for display and logs: a URL's password replaced by ***."""
    parts = urlsplit(text)
    if parts.scheme.lower() not in URL_SCHEMES or parts.password is None:
        return text
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _check_characters(text: str) -> str:
    raw = text.strip()
    if not raw:
        raise SourceError("the source is empty")
    if len(raw) > MAX_LENGTH:
        raise SourceError(f"the source is longer than {MAX_LENGTH} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in raw):
        raise SourceError("the source contains control characters (a newline or tab?)")
    bad = sorted({c for c in raw if c in _FORBIDDEN})
    if bad:
        raise SourceError(f"the source contains shell metacharacters {''.join(bad)!r}, which are not allowed")
    return raw


def _looks_like_windows_drive(raw: str) -> bool:
    return len(raw) > 2 and raw[1] == ":" and raw[0].isalpha() and raw[2] in "/\\"


def _device(raw: str) -> Source:
    number = int(raw.removeprefix("/dev/video"))
    if number > MAX_DEVICE_INDEX:
        raise SourceError(f"device index {number} is out of range (0-{MAX_DEVICE_INDEX})")
    return Source(SourceKind.DEVICE, raw)


def _url(raw: str, scheme: str) -> Source:
    if scheme not in URL_SCHEMES:
        allowed = ", ".join(f"{s}://" for s in sorted(URL_SCHEMES))
        raise SourceError(f"the scheme {scheme}:// is not allowed; use {allowed}, a device, a video file or a folder")
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - parsing the port is what validates it
    except ValueError as exc:
        raise SourceError(f"the URL is malformed: {exc}") from exc
    if not raw.lower().startswith(f"{scheme}://") or not parts.hostname:
        raise SourceError(f"the URL has no host; expected {scheme}://HOST[:PORT]/PATH")
    if any(c.isspace() for c in raw):
        raise SourceError("the URL contains spaces; encode them as %20")
    return Source(SourceKind.URL, raw)


def _path(raw: str, check_readable: bool, policy: SourcePolicy | None = None) -> Source:
    bad = sorted({c for c in raw if c in _FORBIDDEN_IN_PATHS})
    if bad:
        raise SourceError(f"the path contains shell metacharacters {''.join(bad)!r}, which are not allowed")
    try:
        path = Path(raw).expanduser()
    except RuntimeError as exc:  # "~name" of an unknown user, or no home directory at all
        raise SourceError(f"{raw!r}: cannot expand '~' ({exc}); give the full path") from exc
    if not path.is_absolute():
        path = path.resolve()
    try:
        if policy is not None:  # before anything is read from it
            policy.check_path(path)
        return _existing(path, check_readable)
    except OSError as exc:  # a name longer than the system allows, a folder it may not read
        raise SourceError(f"{path} cannot be read as a path: {exc.strerror}") from exc


def _existing(path: Path, check_readable: bool) -> Source:
    if path.is_dir():
        return _folder(path)
    if not path.exists():
        raise SourceError(f"{path} does not exist (a source is a URL, a device, a video file or an image folder)")
    if not path.is_file():
        raise SourceError(f"{path} is neither a regular file nor a folder")
    return _video_file(path, check_readable)


def _folder(path: Path) -> Source:
    if not image_files(path):
        exts = ", ".join(sorted(IMAGE_EXTENSIONS))
        raise SourceError(f"the folder {path} holds no images ({exts})")
    return Source(SourceKind.FOLDER, str(path))


def _video_file(path: Path, check_readable: bool) -> Source:
    if path.suffix.lower() not in VIDEO_EXTENSIONS:
        exts = ", ".join(sorted(VIDEO_EXTENSIONS))
        raise SourceError(f"{path} is not a video file (expected one of {exts})")
    if check_readable and not _opencv_reads(path):
        raise SourceError(f"OpenCV cannot read a frame from {path} (corrupt, empty or an unsupported codec)")
    return Source(SourceKind.FILE, str(path))


def image_files(folder: Path) -> list[Path]:
    """The images directly inside a folder, in sorted (name) order; hidden files skipped."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    return sorted(p for p in entries if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")
                  and p.is_file())


def _opencv_reads(path: Path) -> bool:
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        ok, frame = capture.read() if capture.isOpened() else (False, None)
        return bool(ok) and frame is not None and frame.size > 0
    finally:
        capture.release()
