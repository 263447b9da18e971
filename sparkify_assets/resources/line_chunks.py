"""A text file as a stream of whole-line chunks, so a log file of any size is read with bounded memory.

DuckDB's `read_text` reads a file as one value: a day file of a few hundred MB then needs that much memory
twice over (the value and its lines) and fails at the connection's memory limit. Chunks cut at newlines keep
every line whole and numbered from the file's first line, whatever the file's size.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path

from sparkify_assets.resources.source import SourceDataError

CHUNK_BYTES = 16 << 20  # large enough that per-chunk overhead vanishes, small next to any memory limit


def line_chunks(path: Path, uri: str, chunk_bytes: int = CHUNK_BYTES,
                invalid: list[tuple[int, str, str]] | None = None) -> Iterator[tuple[int, str]]:
    """(number of the chunk's first line, its text without the final newline) for each chunk of the file.

    A chunk holds whole lines (a newline byte never occurs inside a UTF-8 sequence, so cutting there is safe);
    a line longer than `chunk_bytes` extends its chunk. Text that is not UTF-8 fails the file, naming its line;
    or, given `invalid`, each such line is left empty in its chunk and appended there as (line number, reason,
    the line with its bad bytes replaced), to be quarantined as COPY rejects it (the row, not the file).
    """
    def decode(data: bytes, first: int) -> str:
        return decode_utf8(data, uri, first) if invalid is None else _decode_lines(data, first, invalid)

    first_line = 1
    pending = b""
    with open(path, "rb") as f:
        while True:
            block = f.read(chunk_bytes)
            data = pending + block if pending else block
            if not block:
                if data:
                    yield first_line, decode(data, first_line)
                return
            cut = data.rfind(b"\n")
            if cut < 0:
                pending = data
                continue
            chunk, pending = data[:cut], data[cut + 1:]
            yield first_line, decode(chunk, first_line)
            first_line += chunk.count(b"\n") + 1


def decode_utf8(data: bytes, uri: str, first_line: int = 1) -> str:
    """The text of `data`; bytes that are not UTF-8 fail the file, naming the line they are on."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = first_line + data.count(b"\n", 0, exc.start)
        column = exc.start - data.rfind(b"\n", 0, exc.start)  # 1-based byte offset within the line
        raise SourceDataError(f"{uri} line {line}: not valid UTF-8 ({exc.reason} at byte {column} of the line)") \
            from None


def utf8_error(data: bytes) -> str | None:
    """Why `data` (one line or one file) is not UTF-8, naming the line and byte; None if it is."""
    try:
        data.decode("utf-8")
        return None
    except UnicodeDecodeError as exc:
        line = 1 + data.count(b"\n", 0, exc.start)
        column = exc.start - data.rfind(b"\n", 0, exc.start)
        where = f"line {line}, byte {column}" if line > 1 else f"byte {column}"
        return f"not valid UTF-8 ({exc.reason} at {where}: {data[exc.start:exc.end].hex()})"


def _decode_lines(data: bytes, first_line: int, invalid: list[tuple[int, str, str]]) -> str:
    """`data` as text, each line that is not UTF-8 emptied and reported in `invalid`."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    lines = data.split(b"\n")
    for n, raw in enumerate(lines):
        reason = utf8_error(raw)
        if reason:
            invalid.append((first_line + n, reason, raw.decode("utf-8", "replace")))
            lines[n] = b""
    return b"\n".join(lines).decode("utf-8")


SCAN_WINDOW = 512 << 10  # every aligned window this size holds a newline => every line is under 2 x this
SCAN_BYTES = 32 * SCAN_WINDOW  # a read of the scan: a whole number of windows, so windows never straddle reads


def plain_line_count(path: Path) -> int | None:
    """The file's number of lines if a one-statement JSON read can load it line for line; None if it cannot tell.

    "Plain": UTF-8 without any byte-order mark, and every line under 1 MiB (so under the record-size limit and
    read_json's object limit). Blank lines are not ruled out here: the caller compares this count with the rows
    read_json returns, which skips them. Counting bytes at memchr-like speed costs a fraction of the JSON read.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 0
    last = b""
    ragged = False
    with open(path, "rb") as f:
        while block := f.read(SCAN_BYTES):
            if ragged:  # a short read before the end: windows would straddle reads
                return None
            ragged = len(block) % SCAN_WINDOW != 0
            lines += block.count(b"\n")
            last = block[-1:]
            if not block.isascii():
                try:
                    if "\ufeff" in decoder.decode(block):
                        return None
                except UnicodeDecodeError:
                    return None
            full = len(block) - len(block) % SCAN_WINDOW
            if any(block.find(b"\n", k, k + SCAN_WINDOW) < 0 for k in range(0, full, SCAN_WINDOW)):
                return None
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    return lines + (1 if last not in (b"", b"\n") else 0)
