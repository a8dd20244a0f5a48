"""The OpenAPI 3.1 description of Pulse's JSON API (answering and read-only results)."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {400: "Malformed request", 401: "Missing, unknown or revoked token", 404: "Not found (or outside your "
            "scope)", 409: "Conflict", 410: "Gone", 413: "Too large", 415: "Not JSON",
            422: "Invalid answers (`invalid_answers`), or an empty answer set not confirmed (`confirm_empty`)",
            429: "Too many attempts", 503: "Not yet: try again after Retry-After seconds"}
    return {str(c): _json(ERROR, text[c]) for c in codes}


def document() -> dict[str, Any]:
    nullable_number = {"type": ["number", "null"]}
    nullable_integer = {"type": ["integer", "null"]}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Pulse API", "version": "1",
                 "description": "Answering for kiosks and integrations, and read-only protected results. Every "
                                "figure comes from a frozen, audited release and equals what the pages show."},
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer",
                                          "description": "A personal API token (settings page or "
                                                         "`pulse api-token create`)."}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["status", "code", "message"],
                    "properties": {"status": {"type": "integer"}, "code": {"type": "string"},
                                   "message": {"type": "string"}, "details": {"type": "object"}}}}},
                "AnswerSet": {"type": "object", "required": ["token", "answers"], "additionalProperties": False,
                              "properties": {
                                  "token": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "\\S",
                                            "description": "The link token or the typed code (not blank)."},
                                  "answers": {"type": "object", "additionalProperties": {"type": ["integer", "null"]},
                                              "description": "Question code → value on its scale, or null for "
                                                             "'prefer not to say'."},
                                  "comment": {"type": ["string", "null"], "maxLength": 2000},
                                  "confirm_empty": {
                                      "type": "boolean", "default": False,
                                      "description": "An answer set with no answer, no 'prefer not to say' "
                                                     "(null) and no comment uses the invitation up for nothing, "
                                                     "so it is refused with 422 `confirm_empty` (nothing stored, "
                                                     "the invitation still works) unless this is true — as the "
                                                     "answer page asks first. The error's message and "
                                                     "details.title, details.back and details.confirm are the "
                                                     "page's words in the language asked for (`?lang=` or "
                                                     "Accept-Language)."}}},
                "Stored": {"type": "object", "required": ["status"],
                           "properties": {"status": {"const": "stored"}}},
                "Question": {"type": "object", "required": ["code", "version", "area", "scale", "sensitive", "text"],
                             "properties": {
                                 "code": {"type": "string"}, "version": {"type": "integer"},
                                 "area": {"type": "string"},
                                 "scale": {"enum": ["agree5", "freq5", "yesno", "enps", "text"]},
                                 "sensitive": {"type": "boolean"}, "prefer_not_to_say": {"type": "boolean"},
                                 "pack": {"type": "string"}, "attribution": {"type": ["string", "null"]},
                                 "text": {"type": "object", "required": ["sv", "en"],
                                          "properties": {"sv": {"type": "string"}, "en": {"type": "string"}}}}},
                "Release": {"type": "object", "required": ["id", "version", "round", "survey", "thresholds",
                                                           "questions"],
                            "properties": {
                                "id": {"type": "integer"}, "version": {"type": "integer"},
                                "created_at": {"type": "string", "format": "date-time"},
                                "round": {"type": "object", "required": ["id", "number"], "properties": {
                                    "id": {"type": "integer"}, "number": {"type": "integer"},
                                    "opened_at": {"type": "string"}, "closed_at": {"type": "string"}}},
                                "survey": {"type": "object", "required": ["id", "name"], "properties": {
                                    "id": {"type": "integer"}, "name": {"type": "string"}}},
                                "thresholds": {"type": "object", "required": ["k", "k_dist", "k_comments"],
                                               "properties": {"k": {"type": "integer"},
                                                              "k_dist": {"type": "integer"},
                                                              "k_comments": {"type": "integer"}}},
                                "questions": {"type": "array", "items": {"$ref": "#/components/schemas/Question"}},
                                "units": {"type": "array", "items": {"type": "integer"}}}},
                "Figures": {"description": "One question in one cell: null when hidden (too few answers, also "
                                           "when nobody answered), a bound when a small group's mean is near a "
                                           "scale end, else the figures. Every number is as published: means "
                                           "and standard deviations to one decimal, shares and eNPS whole "
                                           "numbers (rounded half away from zero). Yes/no items are null below "
                                           "the distribution threshold k_dist.",
                            "oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/ExactFigures"},
                                      {"$ref": "#/components/schemas/BoundFigures"}]},
                "ExactFigures": {"type": "object", "additionalProperties": False,
                                 "required": ["version", "form", "answered"],
                                 "properties": {
                                     "version": {"type": "integer"}, "form": {"const": "exact"},
                                     "answered": {"type": "integer"},
                                     "mean": {**nullable_number, "description": "One decimal."},
                                     "sd": {**nullable_number,
                                            "description": "One decimal; only with the distribution."},
                                     "distribution": {"type": "array", "items": {"type": "integer"},
                                                      "description": "Answers per option, in the scale's order "
                                                                     "(only at k_dist)."},
                                     "prefer_not_to_say_percent": nullable_integer, "enps": nullable_integer,
                                     "yes_percent": nullable_integer,
                                     "flag": {"type": "boolean", "description": "Yes/no items: someone answered "
                                                                                "yes (for risk assessment)."}}},
                "BoundFigures": {"type": "object", "additionalProperties": False,
                                 "required": ["version", "form", "censored", "bound"],
                                 "description": "A small group's mean near a scale end, shown only as a bound: "
                                                "\"low\" means mean ≤ bound, \"high\" mean ≥ bound. No answered "
                                                "count and no mean are published for it.",
                                 "properties": {
                                     "version": {"type": "integer"}, "form": {"const": "bound"},
                                     "censored": {"enum": ["low", "high"]}, "bound": {"type": "number"}}},
                "Cell": {"type": "object", "required": ["unit_id", "name", "part", "published", "questions"],
                         "properties": {
                             "unit_id": {"type": "integer"}, "name": {"type": "string"},
                             "part": {"enum": ["total", "remainder"]}, "parent_id": nullable_integer,
                             "published": {"type": "boolean"}, "respondents": nullable_integer,
                             "participation_percent": nullable_integer,
                             "questions": {"type": "object",
                                           "additionalProperties": {"$ref": "#/components/schemas/Figures"}}}},
            },
        },
        "paths": {
            "/api/v1/answers": {"post": {
                "summary": "Store one answer set with an invitation's token or code (no cookie, no login).",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/AnswerSet"}}}},
                "responses": {"201": _json({"$ref": "#/components/schemas/Stored"}, "Stored"),
                              **_errors(400, 404, 409, 410, 413, 415, 422, 429, 503)}}},
            "/api/v1/releases": {"get": {
                "summary": "Releases visible to the token's owner (newest version of each closed round).",
                "security": [{"token": []}],
                "responses": {"200": _json({"type": "object", "required": ["releases"], "properties": {
                    "releases": {"type": "array", "items": {"$ref": "#/components/schemas/Release"}}}},
                    "Releases"), **_errors(401)}}},
            "/api/v1/releases/{release_id}/units/{unit_id}": {"get": {
                "summary": "One release's cells for a unit and everything below it that the owner may see.",
                "security": [{"token": []}],
                "parameters": [{"name": "release_id", "in": "path", "required": True, "schema": {"type": "integer"}},
                               {"name": "unit_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {"200": _json({"type": "object", "required": ["release", "unit_id", "cells"],
                                            "properties": {"release": {"$ref": "#/components/schemas/Release"},
                                                           "unit_id": {"type": "integer"},
                                                           "cells": {"type": "array", "items": {
                                                               "$ref": "#/components/schemas/Cell"}}}}, "Cells"),
                              **_errors(401, 404)}}},
            "/api/v1/rounds/{round_id}/release": {"get": {
                "summary": "The newest release of a round, or 409 while the round is open.",
                "security": [{"token": []}],
                "parameters": [{"name": "round_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {"200": _json({"$ref": "#/components/schemas/Release"}, "Release"),
                              **_errors(401, 404, 409)}}},
            "/api/v1/surveys/{survey_id}/units/{unit_id}/pooled": {"get": {
                "summary": "A unit's figures pooled over the survey's fixed, non-overlapping periods (newest version "
                           "of each period), or an empty list before anything is pooled.",
                "security": [{"token": []}],
                "parameters": [{"name": "survey_id", "in": "path", "required": True, "schema": {"type": "integer"}},
                               {"name": "unit_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {"200": _json({"type": "object", "required": ["survey_id", "unit_id", "periods"],
                                            "properties": {
                                                "survey_id": {"type": "integer"}, "unit_id": {"type": "integer"},
                                                "periods": {"type": "array", "items": {
                                                    "type": "object", "required": ["period", "rounds", "cell"],
                                                    "properties": {
                                                        "id": {"type": "integer"}, "version": {"type": "integer"},
                                                        "period": {"type": "string"},
                                                        "rounds": {"type": "array", "items": {"type": "integer"}},
                                                        "thresholds": {"type": "object"},
                                                        "cell": {"$ref": "#/components/schemas/Cell"}}}}}},
                                           "Pooled"),
                              **_errors(401, 404)}}},
            "/api/v1/questions": {"get": {
                "summary": "The question bank (current versions).", "security": [{"token": []}],
                "responses": {"200": _json({"type": "object", "required": ["questions"], "properties": {
                    "questions": {"type": "array", "items": {"$ref": "#/components/schemas/Question"}}}},
                    "Questions"), **_errors(401)}}},
            "/api/v1/openapi.json": {"get": {"summary": "This document.",
                                             "responses": {"200": {"description": "OpenAPI 3.1"}}}},
        },
    }
