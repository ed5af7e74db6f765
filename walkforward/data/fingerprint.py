"""The content fingerprint of the input data, which the store and the run checkpoints compare (methodology §7).

- A folder of `<SYMBOL>.csv` files: sha256 over each configured symbol's CSV (file name, size, bytes), as always.
- A long file or a Parquet folder: sha256 over the layout and each file that may hold the configured symbols' rows
  (its name, size and the sha256 of its bytes). Hashing a 5 GB file takes seconds, so each file's sha256 is kept in
  the store (`hashes.json`) with the file's size, modification and change times, inode and device, and reused while
  all five are unchanged. The change time cannot be set back by a program (an edit that restores the modification
  time still moves it), so an edit is always seen; a file changed in the last `RACY_SECONDS` is not cached.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from walkforward.data.layout import CSV_DIR, detect, make_store_root, store_root
from walkforward.data.read import symbol_paths

HASHES_NAME = "hashes.json"
RACY_SECONDS = 2  # a file changed this recently may change again within the same time stamp: not cached
_CHUNK = 1 << 20


def fingerprint(data_path: str | os.PathLike[str], symbols: Iterable[str]) -> str:
    """The sha256 fingerprint of the data that the configured `symbols` are read from."""
    layout = detect(data_path)
    symbols = sorted(set(symbols))
    digest = hashlib.sha256()
    if layout.kind == CSV_DIR:
        paths = symbol_paths(data_path, symbols)
        for symbol in symbols:
            data = paths[symbol].read_bytes()
            digest.update(f"{paths[symbol].name}\0{len(data)}\0".encode())
            digest.update(data)
        return digest.hexdigest()
    cache = HashCache(store_root(data_path) / HASHES_NAME)
    digest.update(f"{layout.kind}\0".encode())
    for path in layout.files_of(symbols):
        name = path.name if layout.is_file else path.relative_to(layout.path).as_posix()
        size, sha = cache.sha256(path)
        digest.update(f"{name}\0{size}\0{sha}\0".encode())
    cache.save()
    return digest.hexdigest()


class HashCache:
    """sha256 of files' bytes, remembered in a JSON file with each file's stat (see the module's docstring)."""

    def __init__(self, path: Path):
        self.path = path
        self.changed = False
        try:
            entries = json.loads(path.read_text())
        except (OSError, ValueError):
            entries = {}
        self.entries: dict[str, list] = entries if isinstance(entries, dict) else {}

    def sha256(self, file: Path) -> tuple[int, str]:
        """(size, sha256 of the bytes) of `file`, hashed only when its stat changed since it was last hashed."""
        st = file.stat()
        key = str(file.resolve())
        stamp = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]
        entry = self.entries.get(key)
        if isinstance(entry, list) and entry[:5] == stamp and len(entry) == 6:
            return st.st_size, str(entry[5])
        sha = file_sha256(file)
        if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > RACY_SECONDS * 1_000_000_000:
            self.entries[key] = [*stamp, sha]
            self.changed = True
        return st.st_size, sha

    def save(self) -> None:
        """Write the cache back when it changed; a cache that cannot be written is skipped (it only saves time)."""
        if not self.changed:
            return
        try:
            make_store_root(self.path.parent)
            write_atomic(self.path, (json.dumps(self.entries, indent=1) + "\n").encode())
        except OSError:
            pass


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to a temp file beside `path`, then rename it over `path`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
