"""A small parser for Fluentd's configuration syntax (v1): directives `<name arg>` ... `</name>`, nested
sections, `key value` parameters and full-line comments; plus Fluentd's tag pattern matching. Enough to check
logging/fluentd/fluent.conf structurally without a Fluentd binary."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

_OPEN = re.compile(r"^<([a-zA-Z_][\w-]*)(?:\s+(.+?))?\s*>$")
_CLOSE = re.compile(r"^</([a-zA-Z_][\w-]*)\s*>$")
_PARAM = re.compile(r"^(@?[a-zA-Z_][\w.-]*)(?:\s+(.*))?$")


class ConfigError(ValueError):
    pass


@dataclass
class Directive:
    name: str
    arg: str = ""
    params: dict[str, str] = field(default_factory=dict)
    children: list[Directive] = field(default_factory=list)
    line: int = 0

    @property
    def type(self) -> str | None:
        return self.params.get("@type")

    def walk(self) -> Iterator[tuple[Directive, tuple[Directive, ...]]]:
        """Every directive below this one with its ancestors (outermost first)."""
        for child in self.children:
            yield child, (self,)
            for grandchild, ancestors in child.walk():
                yield grandchild, (self, *ancestors)

    def find(self, name: str) -> list[Directive]:
        return [child for child in self.children if child.name == name]


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def parse(text: str) -> Directive:
    root = Directive("ROOT")
    stack = [root]
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if opened := _OPEN.match(line):
            directive = Directive(opened.group(1), (opened.group(2) or "").strip(), line=number)
            stack[-1].children.append(directive)
            stack.append(directive)
        elif closed := _CLOSE.match(line):
            if len(stack) == 1 or stack[-1].name != closed.group(1):
                raise ConfigError(f"line {number}: </{closed.group(1)}> closes <{stack[-1].name}>")
            stack.pop()
        elif param := _PARAM.match(line):
            key, value = param.group(1), param.group(2) or ""
            if key in stack[-1].params:
                raise ConfigError(f"line {number}: {key} set twice in <{stack[-1].name}>")
            if len(stack) == 1:
                raise ConfigError(f"line {number}: parameter {key} outside any directive")
            stack[-1].params[key] = _unquote(value)
        else:
            raise ConfigError(f"line {number}: cannot parse {raw!r}")
    if len(stack) != 1:
        raise ConfigError(f"<{stack[-1].name}> opened on line {stack[-1].line} is never closed")
    return root


def load(path: Path) -> Directive:
    return parse(path.read_text())


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    index = 0
    while index < len(pattern):
        if pattern.startswith("**", index):
            # `a.**` also matches `a`: the dot before ** is optional together with what follows
            if out.endswith(r"\."):
                out = out[:-2] + r"(?:\..*)?"
            else:
                out += ".*"
            index += 2
        elif pattern[index] == "*":
            out += r"[^.]*"
            index += 1
        elif pattern[index] == "{":
            end = pattern.index("}", index)
            out += "(?:" + "|".join(re.escape(part) for part in pattern[index + 1 : end].split(",")) + ")"
            index = end + 1
        else:
            out += re.escape(pattern[index])
            index += 1
    return re.compile(f"^{out}$")


def tag_matches(patterns: str, tag: str) -> bool:
    """Fluentd's <match>/<filter> pattern syntax: `*` one tag part, `**` zero or more, `{a,b}`, space = or."""
    return any(_pattern_regex(pattern).match(tag) for pattern in patterns.split())
