"""The layout's rules, read from the code itself: no import cycle, dependencies one way, Twilio in its package."""

import ast
import re
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
APPS = [
    "accounts",
    "campaigns",
    "conversations",
    "dashboard",
    "encryption",
    "happycrm",
    "leads",
    "messaging",
    "notifications",
    "privacy",
    "retention",
    "templates_app",
    "webhooks",
]
TWILIO_PACKAGE = "messaging.backends.twilio"


def project_modules() -> dict[str, Path]:
    """Every non-test, non-migration module of the project's apps, by dotted name."""
    modules = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "tests" in parts or "migrations" in parts:
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def imported_names(path: Path, module: str, modules) -> set[str]:
    """Every module `module` imports, at the top or inside a function, relative imports resolved (`from . import
    x` is an import of the submodule x, not of the package)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            submodules = {f"{base}.{alias.name}" for alias in node.names} & set(modules)
            names.update(submodules or {base})
    return names


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {
        module: {name for name in imported_names(path, module, modules) if name in modules and name != module}
        for module, path in modules.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer(module: str) -> int:
    """Models and helpers 0, selectors/services/backends 1, tasks 2, the outer layer (views, API, admin, URLs,
    forms, commands, the API's authentication) 3."""
    parts = module.split(".")
    if parts[-1] in {
        "views",
        "api",
        "admin",
        "urls",
        "api_urls",
        "forms",
        "middleware",
        "authentication",
        "signals",
        "checks",
        "demo",
        "apps",
    }:
        return 3
    if {"management", "templatetags"} & set(parts):
        return 3
    if parts[-1] == "tasks":
        return 2
    if {"selectors", "services", "backends"} & set(parts):
        return 1
    return 0


def test_no_module_imports_itself_back():
    assert cycles(import_graph()) == []


def test_cycles_are_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_dependencies_point_one_way():
    """A service never imports a task, a view, an API or an admin module; a backend never imports a service."""
    wrong = []
    for module, targets in import_graph().items():
        for target in targets:
            if layer(target) > layer(module) and layer(module) < 3:
                wrong.append(f"{module} -> {target}")
            if ".backends." in module and layer(module) < 3 and ".services" in target:
                wrong.append(f"{module} -> {target}")
    assert sorted(wrong) == []


TWILIO_KEYS = (
    "MessageSid|SmsSid|SmsMessageSid|MessageStatus|SmsStatus|AccountSid|MessagingServiceSid|NumMedia|MediaUrl\\d*|"
    "MediaContentType\\d*|ProfileName|WaId|ButtonText|ButtonPayload|ButtonType|Latitude|Longitude|"
    "OriginalRepliedMessageSid|Referral\\w*|ErrorCode|ErrorMessage|NumSegments|FromCountry|FromState|FromCity|"
    "ContentVariables|X-Twilio-Signature|I-Twilio-Idempotency-Token"
)
# `MessageStatus` is also our own model's name: only a quoted one is Twilio's field.
TWILIO_KNOWLEDGE = re.compile(
    rf"^\s*(?:import|from) twilio\b|backends\.twilio\b|from \.twilio\b|TWILIO_[A-Z_]+"
    rf"|[\"'](?:{TWILIO_KEYS})[\"'{{]|\b(?!MessageStatus\b)(?:{TWILIO_KEYS})\b"
)


def twilio_knowledge_outside_its_package() -> dict[str, list[str]]:
    found = {}
    for module, path in project_modules().items():
        if module.startswith(TWILIO_PACKAGE) or module.startswith("happycrm.settings"):
            continue  # the settings declare Twilio's variables (and refuse insecure values); the package reads them
        if module in {"messaging.backends.locmem", "messaging.backends.simulator"}:
            continue  # the stand-ins for Twilio keep its limits
        hits = sorted({match.group(0).strip() for match in TWILIO_KNOWLEDGE.finditer(path.read_text())})
        if hits:
            found[module] = hits
    return found


def test_twilio_is_known_only_to_its_package():
    """No `import twilio`, TWILIO_* setting or Twilio payload field outside messaging.backends.twilio."""
    assert twilio_knowledge_outside_its_package() == {}


# What an app may use of the apps built on it: leads knows nothing of them; templates_app reaches messaging only
# through the provider interface (to sync the catalogue) and its Channel; notifications records ids and payloads;
# privacy is built on all of them and none uses it.
APP_LIMITS = {
    "leads": {"messaging": set(), "campaigns": set(), "templates_app": set(), "privacy": set()},
    "templates_app": {
        "messaging": {"messaging.backends.base", "messaging.models"},
        "campaigns": set(),
        "privacy": set(),
    },
    "notifications": {"messaging": set(), "campaigns": set(), "privacy": set()},
    "messaging": {"privacy": set()},
    "campaigns": {"privacy": set()},
    "accounts": {"privacy": set()},
}


def test_apps_use_the_apps_above_them_only_through_their_interface():
    wrong = []
    for module, targets in import_graph().items():
        limits = APP_LIMITS.get(module.split(".")[0], {})
        for target in targets:
            allowed = limits.get(target.split(".")[0])
            if allowed is not None and target not in allowed:
                wrong.append(f"{module} -> {target}")
    assert sorted(wrong) == []
