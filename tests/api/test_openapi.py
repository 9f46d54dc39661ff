"""The OpenAPI document: valid JSON, and its paths and methods are exactly the API's routes."""

from __future__ import annotations

import json
import re

from app.outcomes import metrics
from app.outcomes.importers import PODIUM_COLUMNS

CATCH_ALL = {"/api/v1/", "/api/v1/<path:path>"}


def _document(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return json.loads(response.get_data(as_text=True))


def test_document_is_json_and_needs_no_token(client):
    document = _document(client)
    assert document["openapi"].startswith("3.1")
    assert document["info"]["title"] and document["info"]["version"]
    assert document["servers"] == [{"url": "/api/v1"}]
    assert {"/cases", "/metrics", "/openapi.json", "/pods/{pod_id}/skills", "/opportunities", "/pilots",
            "/pilots/{pilot_id}"} <= set(document["paths"])


def test_paths_and_methods_match_the_routes(app, client):
    document = _document(client)
    routes = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.rule not in CATCH_ALL:
            path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
            routes[path] = {m.lower() for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert {path: set(item) for path, item in document["paths"].items()} == routes


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_every_reference_resolves_and_schemas_match_the_engine(client):
    document = _document(client)
    for ref in _refs(document):
        node = document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        assert isinstance(node, dict), ref
    schemas = document["components"]["schemas"]
    assert set(schemas["Metrics"]["properties"]["metrics"]["required"]) == set(metrics.METRICS)
    assert set(schemas["Case"]["properties"]) == {name for name, _d in PODIUM_COLUMNS}
    assert schemas["Case"]["required"] == ["external_id", "status", "created_at"]
    parameters = {p["name"] for p in document["paths"]["/metrics"]["get"]["parameters"]}
    assert parameters == {"from", "to", "pod", "agent", "segment", "stage", "channel", "request_type"}
    for operation in (document["paths"]["/cases"]["post"], document["paths"]["/metrics"]["get"]):
        assert {"200", "401", "403", "429"} <= set(operation["responses"])
