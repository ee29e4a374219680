"""The served OpenAPI schema shows, for every operation, an example of the body it takes and of each answer with a
body, and every example it shows fits the schema it illustrates: a reader can copy one and have it accepted, and
an example left behind by a change of fields fails here rather than in an integrator's code."""

from urllib.parse import urlsplit

import jsonschema
import pytest
from django.urls import reverse
from django.utils.dateparse import parse_datetime

pytestmark = pytest.mark.django_db

COMPONENTS = "#/components/schemas/"
# jsonschema's own checks (date, email, uuid), and the two it leaves to packages we do not install.
FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value) -> bool:
    """A moment with its offset, as the API writes them."""
    return not isinstance(value, str) or getattr(parse_datetime(value), "tzinfo", None) is not None


@FORMATS.checks("uri")
def _uri(value) -> bool:
    parts = urlsplit(value) if isinstance(value, str) else None
    return parts is None or (parts.scheme in {"http", "https"} and bool(parts.netloc))


@pytest.fixture
def schema(staff_client):
    response = staff_client.get(reverse("api:v1:schema"), {"format": "json"})
    assert response.status_code == 200
    return response.json()


def _bodies(operation: dict):
    """(what, its media type object, its headers) for the operation's request body and each answer with a body."""
    for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
        yield f"request {media_type}", media, {}
    for code, response in operation["responses"].items():
        for media_type, media in response.get("content", {}).items():
            yield f"{code} {media_type}", media, response.get("headers", {})


def _operations(schema: dict):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def _has_example(thing: dict) -> bool:
    return "example" in thing or "examples" in thing


def _shows_example(media: dict, headers: dict, components: dict) -> bool:
    """On the media type, or on the component its schema refers to (the `Error` every error answer shares). A
    file's bytes cannot be shown: its answer shows by example, in its headers, what file comes."""
    body = media.get("schema", {})
    if body.get("format") == "binary":
        return any(_has_example(header) for header in headers.values())
    if _has_example(media) or _has_example(body):
        return True
    ref = body.get("$ref", "")
    return ref.startswith(COMPONENTS) and _has_example(components[ref.removeprefix(COMPONENTS)])


def test_every_operation_shows_an_example_of_its_body_and_its_answers(schema):
    components = schema["components"]["schemas"]
    operations = list(_operations(schema))
    missing = [
        f"{name}: {what}"
        for name, operation in operations
        for what, media, headers in _bodies(operation)
        if not _shows_example(media, headers, components)
    ]
    assert operations, "The schema lists no operation."
    assert not missing, "Operations without an example:\n" + "\n".join(missing)


SUBSCHEMAS = {"items", "additionalProperties", "not"}
SUBSCHEMA_LISTS = {"allOf", "anyOf", "oneOf"}


def _json_schema(node: dict) -> dict:
    """OpenAPI 3.0's schema object as JSON Schema: `nullable` admits null, and an object with listed properties
    admits no others unless it says so (an example with a field the schema lacks is out of date)."""
    if not isinstance(node, dict):  # additionalProperties: true
        return node
    node = dict(node)
    for key in SUBSCHEMAS & node.keys():
        node[key] = _json_schema(node[key])
    for key in SUBSCHEMA_LISTS & node.keys():
        node[key] = [_json_schema(item) for item in node[key]]
    if "properties" in node:
        node["properties"] = {name: _json_schema(value) for name, value in node["properties"].items()}
        node.setdefault("additionalProperties", False)
    if "$ref" in node:
        node["$ref"] = "#/definitions/" + node["$ref"].removeprefix(COMPONENTS)
    if node.pop("nullable", False):
        node = {"anyOf": [node, {"type": "null"}]}
    return node


def _shown(where: str, thing: dict, schema: dict):
    if "example" in thing:
        yield where, schema, thing["example"]
    for label, example in thing.get("examples", {}).items():
        yield f"{where} {label}", schema, example["value"]


def _examples(schema: dict):
    """(where, its schema, the example) for every example the schema shows."""
    for name in schema["components"]["schemas"]:
        yield from _shown(f"component {name}", schema["components"]["schemas"][name], {"$ref": COMPONENTS + name})
    for name, operation in _operations(schema):
        for what, media, headers in _bodies(operation):
            yield from _shown(f"{name}: {what}", media, media["schema"])
            for header_name, header in headers.items():
                yield from _shown(f"{name}: {what} {header_name}", header, header["schema"])


def test_every_example_fits_the_schema_it_illustrates(schema):
    definitions = {name: _json_schema(component) for name, component in schema["components"]["schemas"].items()}
    wrong = []
    for where, part, value in _examples(schema):
        validator = jsonschema.Draft4Validator(
            {**_json_schema(part), "definitions": definitions}, format_checker=FORMATS
        )
        wrong += [
            f"{where}: {'/'.join(map(str, error.absolute_path))}: {error.message[:300]}"
            for error in validator.iter_errors(value)
        ]
    assert not wrong, "Examples that do not fit their schema:\n" + "\n".join(wrong)


def test_a_numbered_pages_example_links_to_its_own_list(schema):
    """DRF's paginator knows no path: its example would send a reader to api.example.org/accounts/."""
    seen = 0
    for path, methods in schema["paths"].items():
        content = methods.get("get", {}).get("responses", {}).get("200", {}).get("content", {})
        for example in content.get("application/json", {}).get("examples", {}).values():
            value = example["value"]
            if isinstance(value, dict) and "count" in value:
                seen += 1
                assert value["next"] == f"https://crm.example.com{path}?page=3", path
                assert value["previous"] == f"https://crm.example.com{path}", path
    assert seen >= 4  # leads, stages, campaigns, subscriptions, …
