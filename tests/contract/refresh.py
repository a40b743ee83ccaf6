"""Re-pin the two published schemas from local checkouts: ``python -m tests.contract.refresh --help``.

Keeps what the judge needs and nothing else: the reply schemas of the paths the gateway serves (``JUDGED``)
(which schema answers which method, path, status and media type) and the components they reach. Annotations
that cannot change a verdict (descriptions, examples, titles, doc metadata) are dropped to keep the files small;
validation keywords are kept byte for byte, including OpenAPI's own (``nullable``, ``discriminator``), which
``pinned.py`` interprets.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tests.contract.walk import Schema, reachable, rebuild, refs

HERE = Path(__file__).resolve().parent
ANNOTATIONS = ("description", "example", "examples", "title", "x-oaiMeta", "x-enumDescriptions", "deprecated")
EXTRA_ROOTS = {"openai": ["ErrorResponse"], "openresponses": []}
"""Components the judge uses that no pinned path names: the error envelope (OpenAI's paths point at the
inner ``Error`` object)."""


def _strip(node: Schema) -> Schema:
    return {key: value for key, value in node.items() if key not in ANNOTATIONS and not key.startswith("x-oai")}


def _replies(operation: dict[str, Any]) -> dict[str, Any]:
    """``responses`` of an operation, reduced to status -> media type -> schema."""
    replies: dict[str, Any] = {}
    for status, reply in operation.get("responses", {}).items():
        content = {
            media: {"schema": rebuild(body["schema"], _strip)} for media, body in reply.get("content", {}).items()
        }
        replies[status] = {"content": content}
    return replies


def pin(spec: dict[str, Any], *, source: str, commit: str, file: str, extra_roots: list[str]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for path, item in spec["paths"].items():
        if not path.startswith(JUDGED) or "?" in path:
            continue  # OpenAI's ``?beta=true`` twins are another API surface
        operations = {method: {"responses": _replies(op)} for method, op in item.items() if method in METHODS}
        if operations:
            paths[path] = operations
    roots = sorted(refs({"anyOf": [reply for ops in paths.values() for reply in _schemas(ops)]}) | set(extra_roots))
    components = reachable(spec["components"]["schemas"], roots)
    return {
        "openapi": spec["openapi"],
        "info": {"title": spec["info"]["title"], "version": spec["info"]["version"]},
        "x-pinned-from": {"repo": source, "commit": commit, "file": file},
        "paths": paths,
        "components": {"schemas": {name: rebuild(schema, _strip) for name, schema in components.items()}},
    }


METHODS = ("get", "post", "delete")
JUDGED = ("/responses", "/conversations", "/models", "/organization/usage/completions")
"""The paths the gateway serves: their replies are judged."""


def _schemas(operations: dict[str, Any]) -> list[Any]:
    return [
        body["schema"]
        for op in operations.values()
        for reply in op["responses"].values()
        for body in reply["content"].values()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", choices=["openai", "openresponses"])
    parser.add_argument("spec", type=Path, help="openapi.json of openai/openai-openapi, or public/openapi/openapi.json")
    parser.add_argument("--commit", required=True, help="the upstream commit the file was taken from")
    args = parser.parse_args()
    source, file = {
        "openai": ("openai/openai-openapi", "openapi.json"),
        "openresponses": ("openresponses/openresponses", "public/openapi/openapi.json"),
    }[args.which]
    spec = json.loads(args.spec.read_text())
    pinned = pin(spec, source=source, commit=args.commit, file=file, extra_roots=EXTRA_ROOTS[args.which])
    target = HERE / f"{args.which}.json"
    target.write_text(json.dumps(pinned, indent=1, sort_keys=True) + "\n")
    print(f"{target}: {len(pinned['components']['schemas'])} components, {target.stat().st_size} bytes")


if __name__ == "__main__":
    main()
