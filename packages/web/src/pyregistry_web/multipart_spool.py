"""Streaming multipart/form-data parser that spools the upload's file part to disk while hashing it."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from pyregistry_application.dto import SpooledUpload
from pyregistry_domain.errors import DomainError, PayloadTooLarge, ValidationFailed

__all__ = ["FieldCheck", "FileCheck", "FormRefused", "FormSpooler", "boundary_from_content_type"]

FieldCheck = Callable[[str, str], None]
"""Called with each text field as soon as its part ends; raising a :class:`DomainError` stops the form."""
FileCheck = Callable[[dict[str, list[str]]], None]
"""Called with the fields so far just before the file part is spooled; raising a :class:`DomainError` stops it."""

MAX_FIELD_BYTES = 8 * 1024 * 1024
MAX_PARTS = 1000


def boundary_from_content_type(content_type: str | None) -> bytes:
    """The multipart boundary, or :class:`ValidationFailed` when the body is not multipart/form-data."""
    if not content_type:
        raise ValidationFailed("missing Content-Type: uploads must be multipart/form-data")
    media, options = parse_options_header(content_type)
    if media != b"multipart/form-data":
        raise ValidationFailed(f"uploads must be multipart/form-data, not {media.decode(errors='replace')}")
    boundary = options.get(b"boundary")
    if not boundary:
        raise ValidationFailed("multipart/form-data without a boundary")
    return boundary


class FormRefused(Exception):
    """A field or file check refused the form part-way; ``error`` says why."""

    def __init__(self, error: DomainError) -> None:
        super().__init__(error.message)
        self.error = error


class FormSpooler:
    """Feed body chunks; text fields are collected, the ``content`` file goes to a temporary file."""

    def __init__(
        self,
        boundary: bytes,
        spool_dir: Path,
        max_file_bytes: int,
        on_field: FieldCheck | None = None,
        before_file: FileCheck | None = None,
    ) -> None:
        self._on_field = on_field
        self._before_file = before_file
        self._spool_dir = spool_dir
        self._max_file_bytes = max_file_bytes
        self.fields: dict[str, list[str]] = {}
        self._parts = 0
        self._field_bytes = 0
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name: str | None = None
        self._filename: str | None = None
        self._buffer = bytearray()
        self._file: IO[bytes] | None = None
        self._file_path: Path | None = None
        self._file_size = 0
        self._hashes = (hashlib.sha256(), hashlib.md5(usedforsecurity=False), hashlib.blake2b(digest_size=32))
        self._content: SpooledUpload | None = None
        self._in_content = False
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._on_part_begin,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
            },
        )

    def feed(self, chunk: bytes) -> None:
        """Parse one chunk of the request body."""
        try:
            self._parser.write(chunk)
        except MultipartParseError as exc:
            raise ValidationFailed(f"malformed multipart body: {exc}") from None

    def finish(self) -> tuple[dict[str, list[str]], SpooledUpload | None]:
        """End of body: the fields and the spooled content (if a ``content`` part came)."""
        try:
            self._parser.finalize()
        except MultipartParseError as exc:
            raise ValidationFailed(f"malformed multipart body: {exc}") from None
        if self._file is not None:
            raise ValidationFailed("the multipart body ended in the middle of the file")
        return self.fields, self._content

    def discard(self) -> None:
        """Delete any spooled file (call on every path that does not keep it)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        for path in (self._file_path, Path(self._content.path) if self._content else None):
            if path is not None:
                path.unlink(missing_ok=True)

    # parser callbacks

    def _on_part_begin(self) -> None:
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise ValidationFailed(f"too many form parts (more than {MAX_PARTS})")
        self._headers = {}
        self._name = None
        self._filename = None
        self._buffer = bytearray()
        self._in_content = False

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        self._headers[self._header_field.strip().lower()] = self._header_value.strip()
        self._header_field = b""
        self._header_value = b""
        if b"content-disposition" in self._headers and self._name is None:
            _, options = parse_options_header(self._headers[b"content-disposition"])
            self._name = options.get(b"name", b"").decode("utf-8", errors="replace")
            raw_filename = options.get(b"filename")
            self._filename = raw_filename.decode("utf-8", errors="replace") if raw_filename is not None else None
            if self._name == "content" and self._filename is not None:
                self._start_file()

    def _start_file(self) -> None:
        if self._content is not None or self._file is not None:
            raise ValidationFailed("more than one 'content' file part")
        if self._before_file is not None:
            try:
                self._before_file(self.fields)
            except DomainError as exc:
                raise FormRefused(exc) from None
        self._spool_dir.mkdir(parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=self._spool_dir)
        self._file = os.fdopen(descriptor, "wb")
        self._file_path = Path(name)
        self._in_content = True

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._in_content and self._file is not None:
            self._file_size += len(chunk)
            if self._file_size > self._max_file_bytes:
                raise PayloadTooLarge(f"the uploaded file is larger than the limit of {self._max_file_bytes} bytes")
            self._file.write(chunk)
            for digest in self._hashes:
                digest.update(chunk)
            return
        if self._filename is not None:
            return
        self._field_bytes += len(chunk)
        if self._field_bytes > MAX_FIELD_BYTES:
            raise PayloadTooLarge(f"form fields are larger than {MAX_FIELD_BYTES} bytes")
        self._buffer.extend(chunk)

    def _on_part_end(self) -> None:
        if self._in_content and self._file is not None and self._file_path is not None:
            self._file.close()
            self._file = None
            sha256, md5, blake2 = self._hashes
            self._content = SpooledUpload(
                path=str(self._file_path),
                filename=self._filename or "",
                size=self._file_size,
                sha256=sha256.hexdigest(),
                md5=md5.hexdigest(),
                blake2_256=blake2.hexdigest(),
            )
            self._in_content = False
            return
        if self._name and self._filename is None:
            try:
                value = self._buffer.decode("utf-8")
            except UnicodeDecodeError:
                raise ValidationFailed(f"form field {self._name!r} is not UTF-8 text") from None
            self.fields.setdefault(self._name, []).append(value)
            if self._on_field is not None:
                try:
                    self._on_field(self._name, value)
                except DomainError as exc:
                    raise FormRefused(exc) from None
