"""Read query specs from YAML safely, hash them, and publish their JSON Schema."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import SpecInvalid
from ._model import QuerySpec

MEASURE_KINDS = ("units", "units_with", "units_with_value", "sum_days", "sum_value")
"""The kinds a measure may have (pydantic names the one it tried in an error's path)."""

__all__ = ["load_spec", "parse_spec", "spec_hash", "spec_json_schema", "spec_problems"]

MAX_SPEC_BYTES = 256 * 1024

MAX_DEPTH = 32
"""The deepest nesting a spec may have (the language needs 6): deeper is refused, not recursed."""


class _StrictLoader(yaml.SafeLoader):
    """A safe YAML loader that also refuses duplicate keys and deep nesting."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        """Compose one node, refusing it past ``MAX_DEPTH`` levels before going deeper."""
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"nested deeper than {MAX_DEPTH} levels",
                    self.peek_event().start_mark,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,  # type: ignore[arg-type]
)


def _format_loc(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in MEASURE_KINDS and path.endswith("]"):
            continue  # pydantic names the union member it tried; the reader needs the field path
        else:
            path += f".{part}" if path else str(part)
    return path


def _format_error(error: Any) -> tuple[str, str]:
    kind = error["type"]
    if kind == "extra_forbidden":
        message = "unknown field"
    elif kind == "missing":
        message = "required field is missing"
    elif kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        message = f"unknown kind {ctx.get('tag')!r} (expected one of {ctx.get('expected_tags')})"
    elif kind == "union_tag_not_found":
        kinds = ", ".join(repr(kind) for kind in MEASURE_KINDS)
        message = f"'kind' is missing (expected one of {kinds})"
    else:
        message = error["msg"].removeprefix("Value error, ")
    return _format_loc(tuple(error["loc"])), message


def _read_yaml(text: str, source: str) -> dict[str, Any]:
    if len(text.encode()) > MAX_SPEC_BYTES:
        raise SpecInvalid(f"spec is larger than {MAX_SPEC_BYTES // 1024} KiB", source=source)
    try:
        data = yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise SpecInvalid(f"not valid YAML: {exc.problem}{where}", source=source) from None
    except yaml.YAMLError as exc:
        raise SpecInvalid(f"not valid YAML: {exc}", source=source) from None
    if not isinstance(data, dict):
        raise SpecInvalid("a spec must be a YAML mapping of fields", source=source)
    return data


def spec_problems(text: str, source: str = "<string>") -> list[SpecInvalid]:
    """Return every problem of a spec's text (empty when it is valid)."""
    try:
        data = _read_yaml(text, source)
    except SpecInvalid as exc:
        return [exc]
    try:
        QuerySpec.model_validate(data)
    except ValidationError as exc:
        return [
            SpecInvalid(message, source=source, path=path)
            for path, message in map(_format_error, exc.errors())
        ]
    return []


def parse_spec(text: str, source: str = "<string>") -> QuerySpec:
    """Parse and validate a spec from YAML text; raise SpecInvalid naming the first problem."""
    data = _read_yaml(text, source)
    try:
        return QuerySpec.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        path, message = _format_error(errors[0])
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise SpecInvalid(message + more, source=source, path=path) from None


def load_spec(path: str | Path) -> QuerySpec:
    """Read and validate a spec file; raise SpecInvalid naming the file on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecInvalid("no such file", source=str(path)) from None
    except IsADirectoryError:
        raise SpecInvalid("is a directory, not a spec file", source=str(path)) from None
    except UnicodeDecodeError:
        raise SpecInvalid("not UTF-8 text", source=str(path)) from None
    except OSError as exc:
        raise SpecInvalid(f"cannot be read ({exc.strerror})", source=str(path)) from None
    return parse_spec(text, source=str(path))


def spec_hash(spec: QuerySpec) -> str:
    """Return the content hash approvals and signatures refer to: sha256 of canonical JSON."""
    canonical = json.dumps(
        spec.model_dump(mode="json", by_alias=True),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def spec_json_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) that editors use to validate spec files."""
    return QuerySpec.model_json_schema(by_alias=True)
