"""The OpenAPI 3.1 document of /api/v1, built from the same definitions the endpoints use."""

from __future__ import annotations

from app.api.cases import BOOLEAN_FIELDS, ID_FIELDS, INTEGER_FIELDS, MAX_CASES, REQUIRED, TIME_FIELDS
from app.outcomes.importers import PODIUM_COLUMNS
from app.outcomes.metrics import METRICS
from app.outcomes.models import CHANNELS, PRIORITIES, REQUEST_TYPES, STATUSES

CHOICES = {"status": STATUSES, "channel": CHANNELS, "priority": PRIORITIES}
UNIT_NOTES = {
    "count": "A count: value = numerator; denominator is null (handoffs_per_case: handoffs ÷ resolved cases).",
    "rate": "A fraction from 0 to 1: numerator ÷ denominator; value is null when the denominator is 0.",
    "minutes": "Minutes (continuous percentile); numerator is null, denominator is the sample size; value is "
               "null when the sample is empty.",
}


def _error(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _case_schema() -> dict:
    properties = {}
    for name, description in PODIUM_COLUMNS:
        if name in INTEGER_FIELDS:
            schema: dict = {"type": ["integer", "null"], "minimum": 0}
        elif name in BOOLEAN_FIELDS:
            schema = {"type": ["boolean", "string", "null"]}
        elif name in ID_FIELDS:
            schema = {"type": ["string", "integer"] if name in REQUIRED else ["string", "integer", "null"]}
        elif name in TIME_FIELDS:
            schema = {"type": "string" if name in REQUIRED else ["string", "null"], "format": "date-time"}
        else:
            schema = {"type": "string" if name in REQUIRED else ["string", "null"]}
        if name in CHOICES:
            schema["enum"] = list(CHOICES[name]) + ([] if name in REQUIRED else [None])
        schema["description"] = str(description)
        properties[name] = schema
    properties["request_type"]["examples"] = list(REQUEST_TYPES)
    return {"type": "object", "required": list(REQUIRED), "additionalProperties": False, "properties": properties}


def _figure_schema() -> dict:
    nullable_number = {"type": ["number", "null"]}
    return {"type": "object", "required": ["value", "numerator", "denominator"], "additionalProperties": False,
            "properties": {"value": nullable_number, "numerator": nullable_number, "denominator": nullable_number}}


def _metrics_schema() -> dict:
    figures = {code: {"allOf": [{"$ref": "#/components/schemas/Figure"}],
                      "description": f"{definition.label} ({definition.unit}). {UNIT_NOTES[definition.unit]}"}
               for code, definition in METRICS.items()}
    scope = {name: {"type": ["integer", "null"]} for name in ("pod", "agent", "segment", "stage")}
    scope.update({"channel": {"type": ["string", "null"]}, "request_type": {"type": ["string", "null"]}})
    return {
        "type": "object",
        "required": ["from", "to", "timezone", "scope", "metrics"],
        "properties": {
            "from": {"type": "string", "format": "date"},
            "to": {"type": "string", "format": "date"},
            "timezone": {"type": "string", "description": "The organisation's time zone the days are read in."},
            "scope": {"type": "object", "properties": scope},
            "metrics": {"type": "object", "required": list(METRICS), "additionalProperties": False,
                        "properties": figures},
        },
    }


def _parameter(name: str, description: str, schema: dict, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


def document() -> dict:
    """The whole document; the paths are exactly the routes of app/api/views.py."""
    unauthorized = _error("No token, or one that is unknown, revoked or whose user is deactivated.")
    too_many = _error("Rate limit reached (per valid token; per client address without one); see the Retry-After "
                      "header.")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Podium API",
            "version": "1.0.0",
            "description": "Customer cases in, outcome metrics out. Authenticate with `Authorization: Bearer "
                           "<token>`; admins create tokens on the API tokens page or with `flask api-token create`. "
                           "A token acts as its user, with that user's permissions. Every error is a JSON "
                           "object with `error` (a code) and `message`.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "paths": {
            "/cases": {
                "post": {
                    "operationId": "upsertCases",
                    "summary": "Create or update cases",
                    "description": f"Upserts up to {MAX_CASES} cases, matched by `external_id` (source `api`). "
                                   "Sending the same cases again changes nothing. Valid items are stored even "
                                   "when others are refused; each refused item is listed with its index and the "
                                   "reason. Times without an offset are read in the organisation's time zone. "
                                   "Needs a leader's or admin's token.",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"oneOf": [
                            {"type": "object", "required": ["cases"], "additionalProperties": False,
                             "properties": {"cases": {"$ref": "#/components/schemas/CaseList"}}},
                            {"$ref": "#/components/schemas/CaseList"},
                        ]}}},
                    },
                    "responses": {
                        "200": {"description": "What was stored and which items were refused.",
                                "content": {"application/json": {
                                    "schema": {"$ref": "#/components/schemas/UpsertResult"}}}},
                        "400": _error("The body is not JSON, not a list of cases, or the list is empty."),
                        "401": unauthorized,
                        "403": _error("The token's user is neither a leader nor an admin."),
                        "409": _error("Another request wrote the same cases at the same moment; send again."),
                        "413": _error(f"More than {MAX_CASES} cases, or a body larger than the server accepts."),
                        "415": _error("The body is not sent as `Content-Type: application/json`."),
                        "429": too_many,
                    },
                },
            },
            "/metrics": {
                "get": {
                    "operationId": "getMetrics",
                    "summary": "Every outcome metric for a period and scope",
                    "description": "Days are inclusive and read in the organisation's time zone. Rates are "
                                   "fractions from 0 to 1 and times are in minutes. Leaders and admins may ask "
                                   "for anything; other users need `pod` (one they belong to or coach) or "
                                   "`agent` (themselves, or an agent in a pod they coach).",
                    "parameters": [
                        _parameter("from", "First day, YYYY-MM-DD.", {"type": "string", "format": "date"}, True),
                        _parameter("to", "Last day (inclusive), YYYY-MM-DD.", {"type": "string", "format": "date"},
                                   True),
                        _parameter("pod", "Only this pod's cases.", {"type": "integer", "minimum": 1}),
                        _parameter("agent", "Only cases assigned to this user.", {"type": "integer", "minimum": 1}),
                        _parameter("segment", "Only this customer segment.", {"type": "integer", "minimum": 1}),
                        _parameter("stage", "Only this lifecycle stage.", {"type": "integer", "minimum": 1}),
                        _parameter("channel", "Only this channel.", {"type": "string", "enum": list(CHANNELS)}),
                        _parameter("request_type", "Only this request type.",
                                   {"type": "string", "enum": list(REQUEST_TYPES)}),
                    ],
                    "responses": {
                        "200": {"description": "The figures.", "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Metrics"}}}},
                        "400": _error("A missing or malformed date, `from` after `to`, a malformed id or an "
                                      "unknown parameter."),
                        "401": unauthorized,
                        "403": _error("The token's user may not see figures for this scope."),
                        "404": _error("A pod, agent, segment or stage id that does not exist."),
                        "429": too_many,
                    },
                },
            },
            "/pods/{pod_id}/skills": _pod_skills_path(unauthorized, too_many),
            **_pilot_paths(unauthorized, too_many),
            "/openapi.json": {
                "get": {
                    "operationId": "getOpenApi",
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": {"description": "The OpenAPI document.",
                                          "content": {"application/json": {"schema": {"type": "object"}}}}},
                },
            },
        },
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                               "description": "A Podium API token (starts with pdm_)."}},
            "schemas": {
                "Case": _case_schema(),
                "CaseList": {"type": "array", "minItems": 1, "maxItems": MAX_CASES,
                             "items": {"$ref": "#/components/schemas/Case"}},
                "ItemError": {"type": "object", "required": ["index", "external_id", "message"], "properties": {
                    "index": {"type": "integer", "description": "Position of the item in the list, from 0."},
                    "external_id": {"type": ["string", "null"]},
                    "message": {"type": "string"}}},
                "UpsertResult": {"type": "object",
                                 "required": ["received", "created", "updated", "unchanged", "failed", "errors"],
                                 "properties": {
                                     "received": {"type": "integer"}, "created": {"type": "integer"},
                                     "updated": {"type": "integer"}, "unchanged": {"type": "integer"},
                                     "failed": {"type": "integer"},
                                     "errors": {"type": "array", "items": {"$ref": "#/components/schemas/ItemError"}},
                                 }},
                "Figure": _figure_schema(),
                "Metrics": _metrics_schema(),
                "PodSkills": _pod_skills_schema(),
                **_pilot_schemas(),
                "Error": {"type": "object", "required": ["error", "message"], "properties": {
                    "error": {"type": "string"}, "message": {"type": "string"}}},
            },
        },
    }


# --- the skills matrix of a pod (app/api/skills.py) ----------------------------------------------------------

SKILL_LEVELS = ("learning", "independent", "teach")


def _pod_skills_path(unauthorized: dict, too_many: dict) -> dict:
    return {"get": {
        "operationId": "getPodSkills",
        "summary": "A pod's skills matrix",
        "description": "The pod's skills (request types and channels of its cases in the last 90 days, and skills "
                       "its coach added), each current member's level (learning, independent, teach = can teach; "
                       "members without a level are left out), the demand and in-pod FCR and handoff rate per "
                       "skill from the metric engine (days read in the pod's time zone), single points of failure "
                       "(fewer than two independent members), training needs (handed-off demand with nobody "
                       "independent, most handed off first), mentors and pending proposals. Readable by the pod's "
                       "members, its coaches, leaders and admins.",
        "parameters": [{"name": "pod_id", "in": "path", "required": True, "description": "The pod's id.",
                        "schema": {"type": "integer", "minimum": 1}}],
        "responses": {
            "200": {"description": "The matrix.", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/PodSkills"}}}},
            "401": unauthorized,
            "403": _error("The token's user is not a member or coach of this pod, nor a leader."),
            "404": _error("There is no pod with this id."),
            "429": too_many,
        },
    }}


def _pod_skills_schema() -> dict:
    figure = {"oneOf": [{"$ref": "#/components/schemas/Figure"}, {"type": "null"}]}
    skill = {"type": "object", "required": ["key", "kind", "name", "levels", "independent",
                                            "single_point_of_failure", "mentors"],
             "properties": {
                 "key": {"type": "string", "description": "rt:<request type>, ch:<channel> or c:<id> (coach-added)."},
                 "kind": {"type": "string", "enum": ["request_type", "channel", "custom"]},
                 "name": {"type": "string"},
                 "demand": {**figure, "description": "Cases created in the period (null for coach-added skills)."},
                 "resolved": figure, "fcr": figure, "handoff_rate": figure,
                 "levels": {"type": "array", "items": {"type": "object", "required": ["member", "level"], "properties": {
                     "member": {"type": "integer"}, "level": {"type": "string", "enum": list(SKILL_LEVELS)}}}},
                 "independent": {"type": "integer", "description": "Members at independent or can teach."},
                 "single_point_of_failure": {"type": "boolean"},
                 "mentors": {"type": "array", "items": {"type": "integer"}},
                 "best_fcr_member": {"type": ["integer", "null"]},
             }}
    return {
        "type": "object",
        "required": ["pod", "from", "to", "timezone", "members", "skills", "single_points_of_failure",
                     "training_needs", "pending_proposals"],
        "properties": {
            "pod": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
            "from": {"type": "string", "format": "date"},
            "to": {"type": "string", "format": "date"},
            "timezone": {"type": "string"},
            "members": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "integer"}, "name": {"type": "string"}}}},
            "skills": {"type": "array", "items": skill},
            "single_points_of_failure": {"type": "array", "items": {"type": "string"}},
            "training_needs": {"type": "array", "items": {"type": "string"}},
            "pending_proposals": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "integer"}, "member": {"type": "integer"}, "skill": {"type": "string"},
                "level": {"type": "string", "enum": ["none", *SKILL_LEVELS]},
                "proposed_at": {"type": "string", "format": "date-time"}}}},
        },
    }


# --- where to start and pilots (app/api/pilots.py) ----------------------------------------------------------------

def _json(ref: str, description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _pilot_paths(unauthorized: dict, too_many: dict) -> dict:
    period = [_parameter("from", "First day, YYYY-MM-DD.", {"type": "string", "format": "date"}, True),
              _parameter("to", "Last day (inclusive), YYYY-MM-DD.", {"type": "string", "format": "date"}, True)]
    return {
        "/opportunities": {"get": {
            "operationId": "getOpportunities",
            "summary": "Where to start: segment × stage cells ranked by avoidable rework",
            "description": "Every active segment × lifecycle-stage cell of the period (days in the organisation's "
                           "time zone), ranked by avoidable rework = resolved × rework_rate (ties: rework_rate, "
                           "then complaint_share), each with its figures (numerator and denominator), the pods "
                           "covering it at the period's end (none: a gap) and its cases whose request type is "
                           "unexpected at the stage. Cells with fewer than `min_resolved` resolved cases are "
                           "listed apart. Coaches and leaders.",
            "parameters": period,
            "responses": {"200": _json("Opportunities", "The ranked cells."),
                          "400": _error("A missing or malformed date, `from` after `to`, or an unknown parameter."),
                          "401": unauthorized, "403": _error("The token's user is not a coach or a leader."),
                          "429": too_many},
        }},
        "/pilots": {"get": {
            "operationId": "getPilots", "summary": "Every pilot with its phases and cells (coaches and leaders)",
            "responses": {"200": _json("PilotList", "The pilots, newest first."), "401": unauthorized,
                          "403": _error("The token's user is not a coach or a leader."), "429": too_many},
        }},
        "/pilots/{pilot_id}": {"get": {
            "operationId": "getPilot",
            "summary": "A pilot with each phase's effect per metric (difference in differences, 90 % interval)",
            "description": "Per phase and target metric: the pilot cells and every other cell before and after the "
                           "phase's start (windows of equal length), the effect (pilot change − rest change) and "
                           "its 90 % bootstrap interval over days (seeded: the same data gives the same interval). "
                           "`enough_data` is false while a window has fewer than 14 days or fewer than 100 "
                           "resolved cases in the pilot cells; effect and interval are then null. Coaches, leaders "
                           "and the members of the pilot's pod.",
            "parameters": [{"name": "pilot_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": _json("Pilot", "The pilot and its effects."), "401": unauthorized,
                          "403": _error("The token's user may not see this pilot."),
                          "404": _error("No pilot has this id."), "429": too_many},
        }},
    }


def _pilot_schemas() -> dict:
    figure = {"$ref": "#/components/schemas/Figure"}
    named = {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}
    nullable = {"type": ["number", "null"]}
    cell = {"type": "object", "required": ["segment", "stage", "avoidable_rework", "pods", "gap", "metrics"],
            "properties": {"rank": {"type": ["integer", "null"]}, "segment": named, "stage": named,
                           "avoidable_rework": {"type": "integer"}, "pods": {"type": "array", "items": named},
                           "gap": {"type": "boolean"}, "unexpected_request_types": {"type": "integer"},
                           "metrics": {"type": "object", "additionalProperties": figure}}}
    side = {"type": "object", "properties": {"before": nullable, "after": nullable, "n_before": {"type": "integer"},
                                             "n_after": {"type": "integer"}}}
    effect = {"type": "object", "required": ["metric", "enough_data", "effect", "interval_90"], "properties": {
        "metric": {"type": "string"}, "window_days": {"type": "integer"}, "enough_data": {"type": "boolean"},
        "pilot": side, "comparison": side, "effect": nullable,
        "interval_90": {"type": ["array", "null"], "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
        "direction": {"type": ["string", "null"]}}}
    phase = {"type": "object", "properties": {
        "number": {"type": "integer"}, "start_date": {"type": "string", "format": "date"},
        "cells": {"type": "array", "items": {"type": "object"}},
        "effects": {"type": "array", "items": {"$ref": "#/components/schemas/PilotEffect"}}}}
    pilot = {"type": "object", "required": ["id", "name", "pod", "status", "start_date", "phases"], "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}, "pod": named,
        "status": {"type": "string", "enum": ["running", "ended", "adopted"]},
        "start_date": {"type": "string", "format": "date"}, "ended_on": {"type": ["string", "null"]},
        "hypothesis": {"type": "string"}, "metrics": {"type": "array", "items": {"type": "string"}},
        "window_days": {"type": "integer"}, "phases": {"type": "array", "items": phase}}}
    return {
        "Opportunity": cell,
        "Opportunities": {"type": "object", "required": ["from", "to", "ranked", "too_few_cases"], "properties": {
            "from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"},
            "timezone": {"type": "string"}, "min_resolved": {"type": "integer"},
            "ranked": {"type": "array", "items": {"$ref": "#/components/schemas/Opportunity"}},
            "too_few_cases": {"type": "array", "items": {"$ref": "#/components/schemas/Opportunity"}}}},
        "PilotEffect": effect,
        "Pilot": pilot,
        "PilotList": {"type": "object", "properties": {"pilots": {"type": "array",
                                                                  "items": {"$ref": "#/components/schemas/Pilot"}}}},
    }
