"""Dependencies go one way: messaging builds on templates_app, never the reverse."""

import ast

import pytest

from happycrm.settings.base import BASE_DIR


def imported(app: str) -> dict[str, set[str]]:
    """Every module each of the app's own modules imports (its tests and migrations left out)."""
    found = {}
    for path in (BASE_DIR / app).rglob("*.py"):
        if {"tests", "migrations"} & set(path.relative_to(BASE_DIR).parts):
            continue
        modules = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module)
        found[str(path.relative_to(BASE_DIR))] = modules
    return found


@pytest.mark.parametrize("app", ["templates_app"])
def test_the_app_imports_nothing_from_messaging(app):
    offending = {
        path: sorted(name for name in modules if name.split(".")[0] == "messaging")
        for path, modules in imported(app).items()
    }
    assert {path: names for path, names in offending.items() if names} == {}
