"""Check CRM responses against Zoho's own OpenAPI 3 files (``shared/zoho-crm-oas/v8.0``).

Used by the tests (needs ``jsonschema``, a test extra). Zoho's files are loose in ways no
real response could satisfy literally, so the checker reads them as follows, and nothing
more:

- ``oneOf`` is read as "some alternative whose declared properties cover the object's keys
  validates it": the alternatives have neither discriminators nor ``additionalProperties:
  false``, so read literally an error object would match ``Response_Wrapper`` too (and
  ``oneOf`` would then fail every real response);
- ``nullable: true`` admits null (OpenAPI 3.0);
- a status the operation does not declare (Zoho's 201/207/400 on record writes, whose
  operations declare only 200) is checked against every response the operation declares;
- an error answered by the platform rather than the operation (HTTP 401, 404 unknown URL,
  405, 429, 5xx, or ``TOO_MANY_REQUESTS`` at any status) is checked against
  ``common.json#/components/schemas/API_Exception``, where all four keys are required;
- any top-level error object (``"status": "error"``) must also satisfy that common schema;
- references to files Zoho did not publish here (tags.json, profiles.json, ...) accept
  anything;
- ``ERRATA`` lists the few places where the files contradict Zoho's documented responses.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import aiohttp
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

BASE_URI = "https://raw.githubusercontent.com/Zohocorp-Pvt-Ltd/crm-oas/refs/heads/main/v8.0/"
COMMON_ERROR = BASE_URI + "common.json#/components/schemas/API_Exception"
PLATFORM_STATUSES = (401, 405, 429, 500, 502, 503, 504)

PAGINATION_CODES = ("DISCRETE_PAGINATION_LIMIT_EXCEEDED", "PAGINATION_LIMIT_EXCEEDED")
PAGINATION_MESSAGES = (
    "cannot fetch records beyond 2000 without page_token; use page_token",
    "pagination limit exceeded",
)

ERRATA: tuple[tuple[str, str, str, Any], ...] = (
    # The upload answer is {"file_id", "created_time"} (Zoho's docs, the SDK's model); the
    # file shares Success_Response with job creation, whose details are id and created_by.
    ("bulk_write.json", "/components/schemas/Success_Response/properties/details", "required", []),
    # A Bulk Read job echoes the query it was given; cvid, criteria and file_type (whose
    # enum is only "ics") are absent from a CSV job without them.
    ("bulk_read.json", "/components/schemas/Query", "required", ["module", "fields", "page"]),
    # A Bulk Read job shows "result" once it is COMPLETED, not while ADDED or IN PROGRESS.
    (
        "bulk_read.json",
        "/components/schemas/Job_Detail",
        "required",
        ["id", "operation", "state", "query", "created_by", "created_time", "file_type"],
    ),
    # A criteria's value is what the request gave (a string, number or list), as Zoho's Bulk
    # Read docs show; the file types it as an object and requires a "type" key.
    ("bulk_read.json", "/components/schemas/Criteria/properties", "value", {}),
    ("bulk_read.json", "/components/schemas/Criteria", "required", []),
    # Bulk Write error messages in the file are samples with their example names baked in
    # ("Requested module 'asdf' is not available."); a real answer names the real field.
    ("bulk_write.json", "/components/schemas/API_Exception/properties/message", "enum", None),
    # Get Records past 2,000 records without page_token, or past 100,000 with it: errors
    # Zoho's Get Records documentation lists, missing from the file's enums.
    ("record.json", "/components/schemas/API_Exception/properties/code", "enum", PAGINATION_CODES),
    (
        "record.json",
        "/components/schemas/API_Exception/properties/message",
        "enum",
        PAGINATION_MESSAGES,
    ),
    # An upsert that inserts answers "duplicate_field": null (Zoho's Upsert Records sample,
    # https://www.zoho.com/crm/developer/docs/api/v8/upsert-records.html); the file types
    # it as a plain string.
    (
        "record.json",
        "/components/schemas/Success_Response/properties/duplicate_field",
        "nullable",
        True,
    ),
    # Convert Lead without a Deal in the request answers "Deals": null.
    (
        "convert_lead.json",
        "/components/schemas/Successful_Convert/properties/Deals",
        "nullable",
        True,
    ),
)


def _pointer(parts: list[str]) -> str:
    return "/" + "/".join(quote(p.replace("~", "~0").replace("/", "~1"), safe="~") for p in parts)


def _node(doc: Any, pointer: str) -> Any:
    for part in pointer.strip("/").split("/"):
        doc = doc[unquote(part).replace("~1", "/").replace("~0", "~")]
    return doc


def _normalize(node: Any, present: set[str]) -> Any:
    """OpenAPI 3.0 → JSON Schema: oneOf→anyOf, nullable, refs to absent files → {}."""
    if isinstance(node, list):
        return [_normalize(n, present) for n in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("http"):
        name = ref.split("#")[0].rsplit("/", 1)[-1]
        if name not in present:
            return {}
    out = {k: _normalize(v, present) for k, v in node.items()}
    if out.pop("nullable", False):
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        if "$ref" in out or "anyOf" in out or "allOf" in out:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def _close(node: Any, docs: dict[str, Any], name: str) -> Any:
    """Turn each ``oneOf`` into ``anyOf`` of alternatives closed to their declared keys."""
    if isinstance(node, list):
        return [_close(n, docs, name) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _close(v, docs, name) for k, v in node.items() if k != "oneOf"}
    if "oneOf" in node:
        out["anyOf"] = [_closed(alt, docs, name) for alt in _close(node["oneOf"], docs, name)]
    return out


def _closed(alt: Any, docs: dict[str, Any], name: str) -> Any:
    target, where = alt, name
    while isinstance(target, dict) and "$ref" in target:
        ref = target["$ref"]
        file, _, pointer = ref.partition("#")
        where = file.rsplit("/", 1)[-1] if file else where
        target = _node(docs[where], pointer)
    if not isinstance(target, dict) or "properties" not in target:
        return alt
    if "additionalProperties" in target:
        return alt
    return {"allOf": [alt], "propertyNames": {"enum": list(target["properties"])}}


class OasChecker:
    """Find the operation for a method and path, and check a response against it."""

    def __init__(self, directory: Path) -> None:
        raw = {p.name: json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))}
        for name, pointer, key, value in ERRATA:
            target = _node(raw[name], pointer)
            if value is None:
                del target[key]
            elif key == "enum":
                target[key] = [*target[key], *value]
            else:
                target[key] = value
        plain = {name: _normalize(doc, set(raw)) for name, doc in raw.items()}
        self.docs = {name: _close(doc, plain, name) for name, doc in plain.items()}
        registry: Registry = Registry()
        for name, doc in self.docs.items():
            registry = registry.with_resource(BASE_URI + name, Resource(doc, DRAFT202012))
        self.registry = registry
        self.operations: list[tuple[str, str, list[str], str]] = []
        for name, doc in self.docs.items():
            for template, ops in doc.get("paths", {}).items():
                for method in ops:
                    if method in ("get", "post", "put", "delete", "patch") and template != "/":
                        parts = template.strip("/").split("/")
                        self.operations.append((method, template, parts, name))
        # Most literal segments first: /crm/v8/{m}/search before /crm/v8/{m}/{id}.
        self.operations.sort(key=lambda o: (-sum(not p.startswith("{") for p in o[2]), len(o[2])))

    def operation(self, method: str, path: str) -> tuple[str, str] | None:
        """(file, path template) of the operation serving ``method path``."""
        parts = path.strip("/").split("/")
        if parts[:1] == ["v2"] and "bulk-write" in parts:
            return ("bulk_write.json", "/{download_url}") if method.lower() == "get" else None
        for m, template, tparts, name in self.operations:
            if m != method.lower() or len(tparts) != len(parts) or template == "/{download_url}":
                continue
            if all(t.startswith("{") or t == p for t, p in zip(tparts, parts, strict=True)):
                return name, template
        return None

    def _validate(self, ref: str, body: Any) -> list[str]:
        validator = Draft202012Validator({"$ref": ref}, registry=self.registry)
        out = []
        for error in validator.iter_errors(body):
            leaves, todo = [], [error]
            while todo:
                e = todo.pop()
                if e.context:
                    todo.extend(e.context)
                else:
                    leaves.append(e)
            for leaf in sorted(leaves, key=lambda e: -len(e.absolute_path))[:3]:
                where = "/".join(map(str, leaf.absolute_path))
                out.append(f"{where}: {leaf.message[:200]}")
        return out

    def check(self, method: str, path: str, status: int, body: Any) -> list[str]:
        """Problems found ([] when the response fits Zoho's files)."""
        is_error = isinstance(body, dict) and body.get("status") == "error"
        problems = self._validate(COMMON_ERROR, body) if is_error else []
        platform = status in PLATFORM_STATUSES or (
            isinstance(body, dict) and body.get("code") == "TOO_MANY_REQUESTS"
        )
        if platform or (status == 404 and is_error and body.get("code") == "INVALID_URL_PATTERN"):
            return problems if is_error else [f"HTTP {status} without a CRM error body"]
        found = self.operation(method, path)
        if found is None:
            return [f"no operation in Zoho's files for {method} {path}"]
        name, template = found
        op_pointer = _pointer(["paths", template, method.lower()])
        responses = _node(self.docs[name], op_pointer + "/responses")
        keys = [str(status)] if str(status) in responses else list(responses)
        refs = []
        for key in keys:
            resp = responses[key]
            base = f"{BASE_URI}{name}#{op_pointer}/responses/{key}"
            if "$ref" in resp:
                comp = resp["$ref"].split("#")[1]
                resp = _node(self.docs[name], comp)
                base = f"{BASE_URI}{name}#{comp}"
            for ctype in resp.get("content", {}):
                if ctype == "application/json":
                    refs.append(
                        f"{base}/content/{quote(ctype.replace('/', '~1'), safe='~')}/schema"
                    )
        if not refs:
            return problems + [f"{name} {template}: no JSON response declared for HTTP {status}"]
        failures = []
        for ref in refs:
            errors = self._validate(ref, body)
            if not errors:
                return problems
            failures.append(f"{ref.split('#')[1]} → {errors[:3]}")
        return problems + failures


def default_directory() -> Path | None:
    """``shared/zoho-crm-oas/v8.0`` beside the repository (or ``$ZMIGRATE_CRM_OAS``)."""
    env = os.environ.get("ZMIGRATE_CRM_OAS")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[3] / "shared" / "zoho-crm-oas" / "v8.0")
    return next((c for c in candidates if (c / "record.json").exists()), None)


class CheckedClient:
    """A CRM client for tests: every JSON answer is checked against Zoho's files on arrival
    (unless ``checker`` is None).

    ``problems`` collects what did not fit; ``seen`` the (file, template, method, status)
    of every answer, so a test can tell which operations it exercised.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        urls: dict[str, str],
        token: str,
        checker: OasChecker | None,
    ) -> None:
        self.session, self.urls, self.token, self.checker = session, urls, token, checker
        self.problems: list[str] = []
        self.seen: set[tuple[str, str, str, int]] = set()

    async def call(
        self,
        method: str,
        path: str,
        *,
        host: str = "api",
        scheme: str = "Zoho-oauthtoken",
        **kw: Any,
    ) -> tuple[int, Any]:
        """(HTTP status, JSON body | raw bytes | None for 204)."""
        headers = {"Authorization": f"{scheme} {self.token}", **kw.pop("headers", {})}
        url = path if path.startswith("http") else self.urls[host] + path
        async with self.session.request(method, url, headers=headers, **kw) as resp:
            raw = await resp.read()
            status, ctype, rel = resp.status, resp.content_type, resp.url.path
        body: Any = None
        if ctype == "application/json":
            body = json.loads(raw)
        elif raw:
            body = raw
        if self.checker is None:
            return status, body
        found = self.checker.operation(method, rel)
        if found:
            self.seen.add((*found, method.upper(), status))
        if status == 204:
            if raw:
                self.problems.append(f"{method} {rel}: 204 with a body")
        elif ctype == "application/json":
            for problem in self.checker.check(method, rel, status, body):
                self.problems.append(f"{method} {rel} → {status}: {problem}")
        elif status != 200 or ctype != "application/zip":
            self.problems.append(f"{method} {rel} → {status}: unexpected {ctype}")
        return status, body
