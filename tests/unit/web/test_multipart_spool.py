"""The streaming form parser: any chunking gives the same fields and file, and oversized pieces are refused early."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyregistry_domain.errors import Forbidden, PayloadTooLarge, ValidationFailed
from pyregistry_web.multipart_spool import FormRefused, FormSpooler

BOUNDARY = b"spool-test"


def _body(fields: dict[str, str], content: bytes) -> bytes:
    parts = [
        b"--" + BOUNDARY + f'\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    parts.append(
        b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="content"; filename="a-1.0.tar.gz"\r\n\r\n'
    )
    return b"".join(parts) + content + b"\r\n--" + BOUNDARY + b"--\r\n"


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["name", "version", "summary"]),
        st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=30),
        max_size=3,
    ),
    st.binary(max_size=4096),
    st.lists(st.integers(1, 700), min_size=1, max_size=30),
)
def test_any_chunking_spools_the_same_file_and_fields(fields: dict[str, str], content: bytes, cuts: list[int]) -> None:
    body = _body(fields, content)
    with tempfile.TemporaryDirectory() as spool:
        spooler = FormSpooler(BOUNDARY, Path(spool), max_file_bytes=1 << 20)
        position = 0
        for size in [*cuts, len(body)]:
            spooler.feed(body[position : position + size])
            position += size
        parsed, upload = spooler.finish()
        assert upload is not None
        assert Path(upload.path).read_bytes() == content
        assert upload.sha256 == hashlib.sha256(content).hexdigest()
        assert parsed == {key: [value] for key, value in fields.items()}
        spooler.discard()
        assert list(Path(spool).iterdir()) == []


def test_an_endless_part_header_is_refused_without_buffering_it(tmp_path: Path) -> None:
    spooler = FormSpooler(BOUNDARY, tmp_path, max_file_bytes=1 << 20)
    spooler.feed(b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="')
    with pytest.raises(ValidationFailed, match="Maximum header size exceeded"):
        for _ in range(1024):
            spooler.feed(b"x" * 1024)
    spooler.discard()


def test_a_file_over_the_limit_stops_at_the_limit(tmp_path: Path) -> None:
    spooler = FormSpooler(BOUNDARY, tmp_path, max_file_bytes=1000)
    spooler.feed(_body({}, b"")[: -len(b"\r\n--" + BOUNDARY + b"--\r\n")])
    with pytest.raises(PayloadTooLarge, match="larger than the limit of 1000 bytes"):
        for _ in range(10):
            spooler.feed(b"z" * 512)
    spooler.discard()
    assert list(tmp_path.iterdir()) == []


def test_a_field_check_refusal_stops_the_form_before_the_file_is_spooled(tmp_path: Path) -> None:
    def only_allowed(key: str, value: str) -> None:
        if key == "name" and value != "allowed":
            raise Forbidden("this token is limited to project 'allowed'")

    spooler = FormSpooler(BOUNDARY, tmp_path, max_file_bytes=1 << 20, on_field=only_allowed)
    with pytest.raises(FormRefused) as refused:
        spooler.feed(_body({"name": "other", "version": "1.0"}, b"file bytes"))
    assert refused.value.error.message == "this token is limited to project 'allowed'"
    spooler.discard()
    assert list(tmp_path.iterdir()) == []


def test_a_file_check_sees_the_fields_sent_before_the_file(tmp_path: Path) -> None:
    seen: list[dict[str, list[str]]] = []

    def needs_name(fields: dict[str, list[str]]) -> None:
        seen.append(dict(fields))
        if "name" not in fields:
            raise ValidationFailed("send the form's 'name' field before the 'content' file")

    spooler = FormSpooler(BOUNDARY, tmp_path, max_file_bytes=1 << 20, before_file=needs_name)
    with pytest.raises(FormRefused, match="send the form's 'name' field before the 'content' file"):
        spooler.feed(_body({"version": "1.0"}, b"file bytes"))
    assert seen == [{"version": ["1.0"]}]
    assert list(tmp_path.iterdir()) == []
