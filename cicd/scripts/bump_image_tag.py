#!/usr/bin/env python3
"""Set ``image.tag`` in Helm values files (the GitOps step of the delivery pipeline).

    bump_image_tag.py --tag 0123abcd4567 helm/nexus/values-primary.yaml helm/nexus/values-dr.yaml

The edit is surgical: ruamel.yaml's round-trip parser finds where ``image.tag`` is, and only that scalar
is rewritten in the text, so comments, indentation, key order and quoting of everything else stay byte for
byte (a full re-dump would re-indent sequences and re-wrap long lines). A file without ``image.tag`` gets one
(under its ``image:`` mapping, or a new ``image:`` block at the end). The result is parsed again and must
equal the input with only ``image.tag`` changed, or nothing is written.

Idempotent: a file that already has the tag is left untouched (not even rewritten), and the exit status is 0.
``--check`` changes nothing and exits 1 if any file would change (for tests and dry runs).
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

# An OCI tag: https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-manifests
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
# The scalar at the value's column: double-quoted, single-quoted, or plain (up to a comment).
_SCALAR_RE = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^']|'')*'|[^\s#,}\]]+|")

_SAFE_PLAIN_RE = re.compile(r"^[A-Za-z][A-Za-z0-9._-]*$")
_YAML11_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})


class BumpError(Exception):
    """A values file cannot be bumped safely (the message names the file and the reason)."""


@dataclass(frozen=True)
class Result:
    path: Path
    old_tag: str | None
    new_tag: str

    @property
    def changed(self) -> bool:
        return self.old_tag != self.new_tag


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    return yaml


def _load(text: str, where: str) -> Any:
    try:
        return _yaml().load(text)
    except YAMLError as exc:
        raise BumpError(f"{where}: not valid YAML: {exc}") from exc


def _plain(data: Any) -> Any:
    """The document as plain Python values (for comparing two parses)."""
    safe = YAML(typ="safe", pure=True)
    out = StringIO()
    _yaml().dump(data, out)
    return safe.load(out.getvalue())


def _render_scalar(tag: str, style: str) -> str:
    """The tag as YAML text in the original quoting style, quoted if plain text would not read back as it."""
    if style == "'":
        return f"'{tag}'"
    if style == '"':
        return f'"{tag}"'
    # Plain only when no YAML reader could take it for anything but a string: Helm reads values with YAML 1.1
    # rules, where yes/no/on/off are booleans and 0755 or 1_000 are numbers; ruamel.yaml speaks YAML 1.2.
    if _SAFE_PLAIN_RE.match(tag) and tag.lower() not in _YAML11_WORDS:
        return tag
    return f'"{tag}"'


def _replace_value(lines: list[str], line_no: int, col: int, tag: str, where: str) -> None:
    line = lines[line_no]
    match = _SCALAR_RE.match(line, col)
    if match is None or not match.group(0) or match.group(0) in {"|", ">", "|-", ">-", "&", "*"}:
        raise BumpError(f"{where}: image.tag at line {line_no + 1} is not a one-line scalar")
    old = match.group(0)
    style = old[0] if old[0] in {"'", '"'} else ""
    lines[line_no] = line[: match.start()] + _render_scalar(tag, style) + line[match.end() :]


def _insert_tag(text: str, lines: list[str], data: CommentedMap, tag: str, where: str) -> str:
    image = data.get("image")
    if image is None:
        if "image" in data:
            raise BumpError(f"{where}: image is null; write it as a mapping")
        sep = "" if not text or text.endswith("\n") else "\n"
        return f"{text}{sep}image:\n  tag: {_render_scalar(tag, '')}\n"
    if not isinstance(image, CommentedMap) or not image or image.fa.flow_style():
        raise BumpError(f"{where}: image is not a block mapping; cannot add image.tag to it")
    first_key = next(iter(image))
    key_line, key_col = image.lc.key(first_key)
    lines.insert(key_line, " " * key_col + f"tag: {_render_scalar(tag, '')}\n")
    return "".join(lines)


def bump_text(text: str, tag: str, where: str = "<text>") -> tuple[str, str | None]:
    """Return (new text, old tag or None) with ``image.tag`` set to ``tag``; raise BumpError if unsafe."""
    if not TAG_RE.match(tag):
        raise BumpError(f"invalid image tag {tag!r}: expected [A-Za-z0-9_][A-Za-z0-9._-]{{0,127}}")
    data = _load(text, where)
    if data is None:
        data = CommentedMap()
    if not isinstance(data, CommentedMap):
        raise BumpError(f"{where}: the document is not a mapping")
    image = data.get("image")
    old: str | None = None
    lines = text.splitlines(keepends=True)
    if isinstance(image, CommentedMap) and "tag" in image:
        current = image["tag"]
        old = None if current is None else str(current)
        if old == tag and isinstance(current, str):
            return text, old
        if current is None:  # "tag:" or "tag: ~" / "tag: null": the value sits after the key's colon
            key_line, key_col = image.lc.key("tag")
            colon = lines[key_line].index(":", key_col)
            rest = lines[key_line][colon + 1 :]
            value_col = colon + 1 + len(rest) - len(rest.lstrip(" "))
            if rest.strip() == "" or rest.lstrip(" ").startswith("#"):
                lines[key_line] = lines[key_line][: colon + 1] + " ~" + lines[key_line][colon + 1 :]
                value_col = colon + 2
            _replace_value(lines, key_line, value_col, tag, where)
        else:
            line_no, col = image.lc.value("tag")
            _replace_value(lines, line_no, col, tag, where)
        new_text = "".join(lines)
    else:
        new_text = _insert_tag(text, lines, data, tag, where)

    # Prove the edit: the new document is the old one with image.tag set, nothing else.
    expected = copy.deepcopy(_plain(data)) or {}
    expected_image = expected.get("image") or {}
    expected_image["tag"] = tag
    expected["image"] = expected_image
    actual = _plain(_load(new_text, where))
    if actual != expected:
        raise BumpError(f"{where}: editing image.tag would change more than image.tag; file left as it was")
    return new_text, old


def _write_atomically(path: Path, text: str) -> None:
    mode = path.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        Path(tmp).chmod(mode)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def bump_file(path: Path, tag: str, *, check: bool = False) -> Result:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BumpError(f"{path}: cannot read: {exc.strerror}") from exc
    new_text, old = bump_text(text, tag, str(path))
    result = Result(path=path, old_tag=old, new_tag=tag)
    if new_text != text and not check:
        _write_atomically(path, new_text)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Set image.tag in Helm values files, nothing else.")
    parser.add_argument("--tag", required=True, help="the image tag to deploy")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file would change")
    parser.add_argument("files", nargs="+", type=Path, help="Helm values files to edit")
    args = parser.parse_args(argv)

    try:
        results = [bump_file(path, args.tag, check=args.check) for path in args.files]
    except BumpError as exc:
        print(f"bump_image_tag: {exc}", file=sys.stderr)
        return 2
    for result in results:
        if result.changed:
            verb = "would change" if args.check else "updated"
            old = "(absent)" if result.old_tag is None else repr(result.old_tag)
            print(f"{result.path}: image.tag {old} -> {result.new_tag!r} ({verb})")
        else:
            print(f"{result.path}: image.tag already {result.new_tag!r}")
    return 1 if args.check and any(r.changed for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
