"""Read and change one number in a `.tfvars` file, in place: `primary_node_groups.general.max_size = 12`.

Only what `nexus scale set --write-tfvars` needs: a path of object keys down to a number. The rest of the file
(comments, alignment, other values) is left byte for byte; `terraform fmt` re-aligns the edited line."""

from __future__ import annotations

import re
from pathlib import Path

from nexus_platform.errors import InputError


def _block(text: str, start: int, end: int, key: str) -> tuple[int, int]:
    """The span inside the braces of `key = { ... }` found in text[start:end] at brace depth 0."""
    pattern = re.compile(rf"(?m)^\s*{re.escape(key)}\s*=\s*\{{")
    depth, i = 0, start
    while i < end:
        if depth == 0 and (found := pattern.match(text, i, end)):
            open_at = found.end()
            depth_inner, j = 1, open_at
            while j < end and depth_inner:
                depth_inner += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            if depth_inner:
                break
            return open_at, j - 1
        char = text[i]
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "#":  # a comment runs to the end of its line
            i = text.find("\n", i)
            i = end if i < 0 else i
        i += 1
    raise KeyError(key)


def _leaf(text: str, start: int, end: int, key: str) -> re.Match[str]:
    pattern = re.compile(rf"(?m)^(\s*{re.escape(key)}\s*=\s*)(-?\d+)")
    found = pattern.search(text, start, end)
    if found is None:
        raise KeyError(key)
    return found


def _locate(text: str, path: tuple[str, ...]) -> re.Match[str]:
    start, end = 0, len(text)
    for key in path[:-1]:
        start, end = _block(text, start, end, key)
    return _leaf(text, start, end, path[-1])


def get(path: Path, keys: tuple[str, ...]) -> int:
    try:
        return int(_locate(path.read_text(), keys).group(2))
    except KeyError:
        raise InputError(
            f"{path} has no number at {'.'.join(keys)}", hint="set it in the file first"
        ) from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None


def set_numbers(path: Path, changes: dict[tuple[str, ...], int]) -> dict[str, tuple[int, int]]:
    """Write every change (key path -> value) into the file at once; returns `{key: (before, after)}`."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    done: dict[str, tuple[int, int]] = {}
    for keys, value in changes.items():
        try:
            found = _locate(text, keys)
        except KeyError:
            raise InputError(
                f"{path} has no number at {'.'.join(keys)}", hint="set it in the file first"
            ) from None
        done[".".join(keys)] = (int(found.group(2)), value)
        text = text[: found.start(2)] + str(value) + text[found.end(2) :]
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return done
