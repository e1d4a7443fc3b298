"""Command-line flags derived from a typed dataclass, so a CLI cannot restate its options with other defaults.

Each field becomes ``--field-name`` with the field's type, the dataclass's default and the field's docstring as
help; a ``bool`` field becomes ``--name`` / ``--no-name``. Field metadata adds ``choices`` and ``aliases`` (extra
flags that set the field to a constant, e.g. ``{"--in-process": False}`` for ``subprocess``).
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import itertools
import re
import textwrap
import typing
from typing import Any, TypeVar

T = TypeVar("T")


def field_docs(cls: type) -> dict[str, str]:
    """The docstring written under each field of dataclass ``cls`` (the house style: one per field)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for node, nxt in itertools.pairwise(body):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and isinstance(nxt, ast.Expr)
                and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str)):
            docs[node.target.id] = " ".join(nxt.value.value.split())
    return docs


def _plain(doc: str) -> str:
    """Docstring markup (``code``, :func:`name`) as plain text for ``--help``; ``%`` escaped for argparse."""
    doc = re.sub(r":\w+:`~?([^`]+)`", r"\1", doc).replace("``", "")
    return doc.replace("%", "%%")


def _base_type(hint: Any) -> type:
    """``int`` of ``int``, ``str`` of ``str | None``."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if args else hint


def add_dataclass_options(parser: argparse.ArgumentParser, cls: type, only: tuple[str, ...] | None = None) -> None:
    """Add one flag per field of dataclass ``cls`` (or of the fields named in ``only``) to ``parser``."""
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    for f in dataclasses.fields(cls):
        if only is not None and f.name not in only:
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        flag = "--" + f.name.replace("_", "-")
        text = _plain(docs.get(f.name, ""))
        kind = _base_type(hints[f.name])
        if kind is bool:
            parser.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=default,
                                help=f"{text} (default: {flag if default else '--no-' + flag[2:]})")
        else:
            parser.add_argument(flag, dest=f.name, type=kind, default=default, choices=f.metadata.get("choices"),
                                help=f"{text} (default: {default})")
        for alias, value in f.metadata.get("aliases", {}).items():
            parser.add_argument(alias, dest=f.name, action="store_const", const=value, default=argparse.SUPPRESS,
                                help=f"same as {flag if value is True else '--no-' + flag[2:]}"
                                if kind is bool else f"same as {flag} {value}")


def dataclass_from_args(cls: type[T], args: argparse.Namespace) -> T:
    """An instance of dataclass ``cls`` from the flags :func:`add_dataclass_options` added."""
    return cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls)  # type: ignore[arg-type]
                  if hasattr(args, f.name)})
