"""The layer table of ARCHITECTURE.md, checked on the source: imports run down only.

Every module's ``tunesmith.*`` imports (at the top or inside a function) are read with ``ast``;
each package may import only the packages its row names. A new package must be given a row here,
so the picture and the code cannot drift apart silently.
"""

from __future__ import annotations

import ast
from pathlib import Path

import tunesmith

ROOT = Path(tunesmith.__file__).parent
# "pretrained": where the built-in models live and how a name becomes their folder (data beside "presets")
GROUND = {"errors", "config", "abc_text", "stft", "untrusted", "presets", "pretrained", "__init__", "__version__"}

# package -> the packages it may import besides the ground floor (and itself)
BELOW_MEDIA = {"representations", "models", "corpora", "render", "metrics", "data", "constraints", "training"}
BELOW_MEDIA |= {"bundle", "sampling"}
MAY_IMPORT: dict[str, set[str]] = {
    "representations": set(),
    "models": set(),
    "corpora": set(),
    "render": {"representations"},
    "metrics": {"representations", "render"},
    "data": {"representations"},
    "constraints": {"representations", "metrics"},  # the grammar holds a tune to its corpus profile
    "training": {"models", "data", "representations"},
    "bundle": {"models", "representations", "training", "metrics"},  # a bundle carries its corpus profile
    "sampling": {"models", "representations"},
    "media": BELOW_MEDIA,
    "pipeline": BELOW_MEDIA | {"media"},
    "web": BELOW_MEDIA - {"constraints"} | {"media", "pipeline"},  # interfaces reach the grammar through media
    "cli": BELOW_MEDIA - {"constraints"} | {"media", "pipeline", "web"},
}


def imports_of(path: Path) -> set[str]:
    """The tunesmith packages (first name after ``tunesmith.``) that one file imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] != "tunesmith":
                continue
            if len(parts) > 1:
                found.add(parts[1])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("tunesmith."))
    return found


def package_of(path: Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def upward_imports() -> list[str]:
    problems = []
    for path in sorted(ROOT.rglob("*.py")):
        package = package_of(path)
        if package in GROUND:
            allowed = GROUND
        elif package in MAY_IMPORT:
            allowed = GROUND | MAY_IMPORT[package] | {package}
        else:
            problems.append(f"{path.relative_to(ROOT)}: package '{package}' has no row in the layer table")
            continue
        problems += [f"{path.relative_to(ROOT)} imports {t}" for t in sorted(imports_of(path) - allowed)]
    return problems


def test_no_import_runs_up_the_layers():
    assert upward_imports() == []


def test_the_layer_check_sees_an_upward_import(tmp_path):
    """The check above is only worth something if it fails on a real violation."""
    bad = tmp_path / "render_bad.py"
    bad.write_text("def f():\n    from tunesmith.corpora.abc import header_fields\n")
    assert imports_of(bad) == {"corpora"}
    assert "corpora" not in MAY_IMPORT["render"]
