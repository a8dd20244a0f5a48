"""Read SQLite files the way an administrator with a copy of them can: the write-ahead log frame by frame, and a
database image b-tree by b-tree — from the raw bytes, without asking SQLite (opening the live file with SQLite
could checkpoint or delete the very log being examined).

Formats: https://www.sqlite.org/fileformat2.html (sections 1.5-1.6 b-tree pages, 2.1 records, 4 the WAL).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

WAL_HEADER = 32
FRAME_HEADER = 24
WAL_MAGIC = (0x377F0682, 0x377F0683)


# --- the write-ahead log ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """One page image in the log."""

    #: Position in the log (0 = first frame after the header).
    index: int
    page: int
    #: The database size in pages after this commit, for the last frame of a transaction; 0 otherwise.
    commit_size: int
    data: bytes


@dataclass
class Wal:
    page_size: int
    checkpoint_sequence: int
    salts: tuple[int, int]
    #: Valid frames of the current log generation (salts match and the checksum chain holds), in order.
    frames: list[Frame] = field(default_factory=list)

    def commits(self) -> list[list[Frame]]:
        """The frames of each committed transaction, in commit order (frames after the last commit are dropped:
        a reader ignores them too)."""
        result: list[list[Frame]] = []
        current: list[Frame] = []
        for frame in self.frames:
            current.append(frame)
            if frame.commit_size:
                result.append(current)
                current = []
        return result


def _checksum(data: bytes, s0: int, s1: int, big_endian: bool) -> tuple[int, int]:
    words = struct.unpack((">" if big_endian else "<") + f"{len(data) // 4}I", data)
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & 0xFFFFFFFF
        s1 = (s1 + words[i + 1] + s0) & 0xFFFFFFFF
    return s0, s1


def read_wal(raw: bytes) -> Wal | None:
    """Parse a -wal file's bytes; None when it is empty or has no valid header (e.g. truncated)."""
    if len(raw) < WAL_HEADER:
        return None
    magic, _version, page_size, sequence, salt1, salt2, c1, c2 = struct.unpack(">8I", raw[:WAL_HEADER])
    if magic not in WAL_MAGIC:
        return None
    big_endian = bool(magic & 1)
    s0, s1 = _checksum(raw[:24], 0, 0, big_endian)
    if (s0, s1) != (c1, c2):
        return None
    wal = Wal(page_size, sequence, (salt1, salt2))
    offset, index = WAL_HEADER, 0
    while offset + FRAME_HEADER + page_size <= len(raw):
        page, commit_size, f_salt1, f_salt2, f_c1, f_c2 = struct.unpack(">6I", raw[offset:offset + FRAME_HEADER])
        data = raw[offset + FRAME_HEADER:offset + FRAME_HEADER + page_size]
        if (f_salt1, f_salt2) != (salt1, salt2):
            break  # a frame of an earlier generation: the log ends here
        s0, s1 = _checksum(raw[offset:offset + 8], s0, s1, big_endian)
        s0, s1 = _checksum(data, s0, s1, big_endian)
        if (s0, s1) != (f_c1, f_c2):
            break
        wal.frames.append(Frame(index, page, commit_size, data))
        offset += FRAME_HEADER + page_size
        index += 1
    return wal


def apply_commits(main: bytes, page_size: int, commits: list[list[Frame]]) -> bytes:
    """The database image after the given commits (a reader's view of the file at that point)."""
    pages = {n: main[(n - 1) * page_size:n * page_size] for n in range(1, len(main) // page_size + 1)}
    size = len(pages)
    for commit in commits:
        for frame in commit:
            pages[frame.page] = frame.data
        size = commit[-1].commit_size
    return b"".join(pages.get(n, bytes(page_size)) for n in range(1, size + 1))


# --- b-trees ---------------------------------------------------------------------------------------------------


def varint(data: bytes, offset: int) -> tuple[int, int]:
    """SQLite's variable-length integer at ``offset``: (value, offset after it)."""
    value = 0
    for i in range(8):
        byte = data[offset + i]
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, offset + i + 1
    return (value << 8) | data[offset + 8], offset + 9


def decode_record(payload: bytes) -> list[object]:
    """The column values of a record (integers, floats, text, blobs, None)."""
    header_size, offset = varint(payload, 0)
    types = []
    while offset < header_size:
        serial, offset = varint(payload, offset)
        types.append(serial)
    values: list[object] = []
    body = header_size
    sizes = {0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8, 7: 8, 8: 0, 9: 0}
    for serial in types:
        if serial in sizes:
            size = sizes[serial]
            chunk = payload[body:body + size]
            if serial == 0:
                values.append(None)
            elif serial == 7:
                values.append(struct.unpack(">d", chunk)[0])
            elif serial in (8, 9):
                values.append(serial - 8)
            else:
                values.append(int.from_bytes(chunk, "big", signed=True))
        else:
            size = (serial - 12) // 2 if serial % 2 == 0 else (serial - 13) // 2
            chunk = payload[body:body + size]
            values.append(bytes(chunk) if serial % 2 == 0 else chunk.decode("utf-8", "replace"))
        body += size
    return values


@dataclass(frozen=True)
class Cell:
    """One entry of a b-tree leaf (or of an index interior page, which holds keys too)."""

    page: int
    rowid: int | None
    payload: bytes
    #: Overflow pages holding the rest of the payload, in chain order.
    overflow: tuple[int, ...]

    def values(self) -> list[object]:
        return decode_record(self.payload)


@dataclass(frozen=True)
class Tree:
    name: str
    kind: str
    root: int
    #: page → "interior", "leaf" or "overflow"
    pages: dict[int, str]
    cells: list[Cell]


class Image:
    """A database file's bytes, read as b-trees."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        size = struct.unpack(">H", data[16:18])[0]
        self.page_size = 65536 if size == 1 else size
        self.usable = self.page_size - data[20]
        self.page_count = len(data) // self.page_size

    def page(self, number: int) -> bytes:
        return self.data[(number - 1) * self.page_size:number * self.page_size]

    def _local(self, payload_size: int, table_leaf: bool) -> int:
        usable = self.usable
        most = usable - 35 if table_leaf else ((usable - 12) * 64 // 255) - 23
        if payload_size <= most:
            return payload_size
        least = ((usable - 12) * 32 // 255) - 23
        local = least + (payload_size - least) % (usable - 4)
        return local if local <= most else least

    def _payload(self, page: bytes, offset: int, size: int, table_leaf: bool) -> tuple[bytes, tuple[int, ...]]:
        local = self._local(size, table_leaf)
        payload = bytearray(page[offset:offset + local])
        chain: list[int] = []
        if local < size:
            next_page = struct.unpack(">I", page[offset + local:offset + local + 4])[0]
            while next_page and len(payload) < size and next_page not in chain:
                chain.append(next_page)
                overflow = self.page(next_page)
                payload += overflow[4:4 + min(self.usable - 4, size - len(payload))]
                next_page = struct.unpack(">I", overflow[:4])[0]
        return bytes(payload), tuple(chain)

    def walk(self, root: int) -> tuple[dict[int, str], list[Cell]]:
        """Every page of the b-tree rooted at ``root`` and its cells (leaves and index interior keys), in key
        order."""
        pages: dict[int, str] = {}
        cells: list[Cell] = []

        def visit(number: int) -> None:
            if number in pages or not 1 <= number <= self.page_count:
                return
            page = self.page(number)
            start = 100 if number == 1 else 0
            kind = page[start]
            if kind not in (0x02, 0x05, 0x0A, 0x0D):
                return
            interior = kind in (0x02, 0x05)
            pages[number] = "interior" if interior else "leaf"
            count = struct.unpack(">H", page[start + 3:start + 5])[0]
            header = start + (12 if interior else 8)
            pointers = [struct.unpack(">H", page[header + 2 * i:header + 2 * i + 2])[0] for i in range(count)]
            for offset in pointers:
                if interior:
                    child = struct.unpack(">I", page[offset:offset + 4])[0]
                    visit(child)
                    if kind == 0x02:
                        size, at = varint(page, offset + 4)
                        payload, chain = self._payload(page, at, size, False)
                        cells.append(Cell(number, None, payload, chain))
                        pages.update(dict.fromkeys(chain, "overflow"))
                    continue
                size, at = varint(page, offset)
                rowid = None
                if kind == 0x0D:
                    rowid, at = varint(page, at)
                payload, chain = self._payload(page, at, size, kind == 0x0D)
                cells.append(Cell(number, rowid, payload, chain))
                pages.update(dict.fromkeys(chain, "overflow"))
            if interior:
                visit(struct.unpack(">I", page[start + 8:start + 12])[0])

        visit(root)
        return pages, cells

    def schema(self) -> list[tuple[str, str, str, int]]:
        """``(type, name, tbl_name, rootpage)`` of every table and index (from sqlite_schema on page 1)."""
        _, cells = self.walk(1)
        result = []
        for cell in cells:
            kind, name, table, root = cell.values()[:4]
            if kind in ("table", "index") and isinstance(root, int) and root > 0:
                result.append((str(kind), str(name), str(table), root))
        return result

    def trees(self) -> dict[str, Tree]:
        """Every b-tree by name, with the schema (page 1) as ``sqlite_schema``."""
        result = {}
        for kind, name, table, root in [("table", "sqlite_schema", "sqlite_schema", 1), *self.schema()]:
            pages, cells = self.walk(root)
            result[name] = Tree(name, kind if name != table else "table", root, pages, cells)
        return result

    def freelist(self) -> set[int]:
        trunk = struct.unpack(">I", self.data[32:36])[0]
        free: set[int] = set()
        while trunk and trunk not in free and trunk <= self.page_count:
            free.add(trunk)
            page = self.page(trunk)
            count = struct.unpack(">I", page[4:8])[0]
            free.update(struct.unpack(">I", page[8 + 4 * i:12 + 4 * i])[0] for i in range(count))
            trunk = struct.unpack(">I", page[:4])[0]
        return free

    def owners(self) -> dict[int, str]:
        """page → the table (or ``table:index``) it belongs to, ``<free>`` for free pages."""
        owner: dict[int, str] = dict.fromkeys(self.freelist(), "<free>")
        schema = {name: table for _, name, table, _ in self.schema()}
        for name, tree in self.trees().items():
            table = schema.get(name, name)
            label = table if table == name else f"{table}:{name}"
            for page in tree.pages:
                owner[page] = label
        return owner


def table_of(owner: str) -> str:
    """``invitation:ix_invitation_person_id`` → ``invitation``."""
    return owner.split(":", 1)[0]


def read_files(database: Path) -> tuple[bytes, bytes]:
    """The main file and the -wal file as they are on disk now (the WAL may be missing or empty)."""
    wal = Path(f"{database}-wal")
    return database.read_bytes(), (wal.read_bytes() if wal.exists() else b"")


def commit_pages(main: bytes, wal_bytes: bytes) -> Iterator[tuple[int, set[int], dict[int, str], dict[int, str]]]:
    """For every commit in the log: ``(number, pages written, owners before, owners after)``.

    Owners are read from the database image just before and just after the commit, so a page that changed hands
    in the commit (freed, or taken from the free list) is attributed to both.
    """
    wal = read_wal(wal_bytes)
    if wal is None:
        return
    size = wal.page_size
    pages = {n: main[(n - 1) * size:n * size] for n in range(1, len(main) // size + 1)}
    count = len(pages)

    def image() -> Image:
        return Image(b"".join(pages.get(n, bytes(size)) for n in range(1, count + 1)))

    before = image().owners() if count else {}
    for number, commit in enumerate(wal.commits()):
        for frame in commit:
            pages[frame.page] = frame.data
        count = commit[-1].commit_size
        after = image().owners()
        yield number, {frame.page for frame in commit}, before, after
        before = after
