"""What the Python conformance scripts share: a recorder that runs one official-SDK call at a time
and keeps its outcome (pass / fail and why) in a JSON report, rewritten after every call so that a
crash keeps what was learnt, and the shape checks for answers an SDK hands back as plain dicts.

The scripts never print or record credentials: reasons carry HTTP statuses, response bodies and
validation messages only.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
BODY_LIMIT = 400


class CheckFailed(Exception):
    """A call answered, but not as the venue does (a semantic check)."""


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"missing environment variable {name} (the harness sets it)")
    return value


def _clip(text: Any) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, (bytes, bytearray)) else str(text)
    text = " ".join(text.split())
    return text if len(text) <= BODY_LIMIT else text[:BODY_LIMIT] + "…"


def describe_error(error: BaseException) -> str:
    """One line: the HTTP status and body, or the SDK's validation errors field by field."""
    errors = getattr(error, "errors", None)
    if callable(errors) and type(error).__name__ == "ValidationError":
        items = error.errors()  # type: ignore[attr-defined]
        # The SDK's from_dict passes absent fields on as None: name those "missing".
        fields = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {'missing' if e.get('input') is None else e['msg']}" for e in items[:25])
        more = f" (+{len(items) - 25} more)" if len(items) > 25 else ""
        return f"response fails the SDK's model {getattr(error, 'title', '')}: {len(items)} errors: {fields}{more}"
    status = getattr(error, "status", None) or getattr(error, "status_code", None)
    if status is not None:
        body = getattr(error, "body", None) or getattr(error, "error_msg", None) or ""
        return f"HTTP {status}: {_clip(body)}"
    return f"{type(error).__name__}: {_clip(error)}"


def is_http_error(error: BaseException, low: int = 400, high: int = 499) -> bool:
    status = getattr(error, "status", None) or getattr(error, "status_code", None)
    return isinstance(status, int) and low <= status <= high


class Recorder:
    """Runs calls in order and writes {client, results: [...]} to `path` after each one."""

    def __init__(self, client: str, sdk: str, path: str, min_interval_s: float = 0.0) -> None:
        """`min_interval_s`: the least time between the starts of two calls, as a client keeping to
        the venue's rate limit paces itself (the simulators refuse a faster client with 429, as the
        venues do)."""
        self.client = client
        self.sdk = sdk
        self.path = Path(path)
        self.results: list[dict[str, Any]] = []
        self.min_interval_s = min_interval_s
        self._last_start = 0.0

    def _save(self) -> None:
        tmp = self.path.with_suffix(".partial")
        tmp.write_text(json.dumps({"client": self.client, "sdk": self.sdk, "results": self.results}, indent=2))
        tmp.replace(self.path)

    def record(self, call: str, endpoint: str, ok: bool, reason: str = "", ms: float = 0.0, note: str = "") -> None:
        self.results.append({"client": self.client, "call": call, "endpoint": endpoint, "ok": ok, "reason": reason, "ms": round(ms), "note": note})
        self._save()

    def call(
        self,
        call: str,
        endpoint: str,
        fn: Callable[[], Any],
        check: Callable[[Any], str | None] | None = None,
        expect_error: Callable[[BaseException], bool] | None = None,
        needs: Any = True,
    ) -> Any:
        """Runs fn; `check` may raise CheckFailed or return a note; with `expect_error`, only a
        matching exception passes. `needs` falsy: a prerequisite failed, so the call is not run
        (and counts as failed: it was not shown to work). Returns what the call answered, if it
        answered, even when its check failed."""
        if not needs:
            self.record(call, endpoint, False, "not run: a call it depends on failed")
            return None
        wait = self._last_start + self.min_interval_s - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        start = self._last_start = time.monotonic()
        try:
            value = fn()
        except CheckFailed as error:
            self.record(call, endpoint, False, str(error), (time.monotonic() - start) * 1000)
            return None
        except Exception as error:  # noqa: BLE001 - every failure is the result being recorded
            ms = (time.monotonic() - start) * 1000
            if expect_error and expect_error(error):
                self.record(call, endpoint, True, "", ms, f"refused as expected: {describe_error(error)}")
            else:
                self.record(call, endpoint, False, describe_error(error), ms)
            return None
        ms = (time.monotonic() - start) * 1000
        if expect_error:
            self.record(call, endpoint, False, f"accepted; the venue refuses it: {_clip(value)}", ms)
            return None
        try:
            note = check(value) if check else ""
        except CheckFailed as error:
            # Failed, but what it answered (an order id, trade ids) still lets later calls be tried.
            self.record(call, endpoint, False, str(error), ms)
            return value
        self.record(call, endpoint, True, "", ms, note or "")
        return value if value is not None else True


# ----------------------------------------------------------------------------------------------
# Shapes of answers that an SDK returns as plain dicts (py-clob-client-v2 does), from the
# TypeScript client's declared types: see shapes.json.

_SHAPES: dict[str, dict[str, str]] = {k: v for k, v in json.loads((HERE / "shapes.json").read_text()).items() if not k.startswith("_")}
_PRIMITIVES = {"string": str, "number": (int, float), "boolean": bool, "object": dict}


def _check_type(value: Any, kind: str, where: str, problems: list[str]) -> None:
    alternatives = kind.split("|")
    if len(alternatives) > 1:
        for alt in alternatives:
            found: list[str] = []
            _check_type(value, alt, where, found)
            if not found:
                return
        problems.append(f"{where}: expected {kind}, got {type(value).__name__} {_clip(value)[:40]}")
        return
    if kind == "null":
        if value is not None:
            problems.append(f"{where}: expected null")
        return
    if kind.endswith("[]"):
        if not isinstance(value, list):
            problems.append(f"{where}: expected an array, got {type(value).__name__}")
            return
        for i, item in enumerate(value[:3]):
            _check_type(item, kind[:-2], f"{where}[{i}]", problems)
        return
    if kind in _SHAPES:
        shape_problems(value, kind, where, problems)
        return
    if kind.startswith("enum:"):
        allowed = kind[len("enum:"):].split(",")
        if value not in allowed:
            problems.append(f"{where}: {value!r} is not one of {allowed}")
        return
    expected = _PRIMITIVES[kind]
    if (isinstance(value, bool) and kind == "number") or not isinstance(value, expected):
        problems.append(f"{where}: expected {kind}, got {type(value).__name__} {_clip(value)[:40]}")


def shape_problems(value: Any, shape: str, where: str = "", problems: list[str] | None = None) -> list[str]:
    problems = [] if problems is None else problems
    where = where or shape
    if not isinstance(value, dict):
        problems.append(f"{where}: expected an object, got {type(value).__name__} {_clip(value)[:80]}")
        return problems
    for field, kind in _SHAPES[shape].items():
        optional = kind.endswith("?")
        kind = kind[:-1] if optional else kind
        if field not in value:
            if not optional:
                problems.append(f"{where}.{field}: missing ({kind})")
            continue
        _check_type(value[field], kind, f"{where}.{field}", problems)
    return problems


def expect_shape(shape: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        items = value if isinstance(value, list) else [value]
        if isinstance(value, list) and not value:
            raise CheckFailed(f"empty list: no {shape} to check")
        problems: list[str] = []
        for i, item in enumerate(items[:3]):
            shape_problems(item, shape, f"{shape}[{i}]" if isinstance(value, list) else shape, problems)
        if problems:
            raise CheckFailed(f"answer is not the {shape} the official clients declare: " + "; ".join(problems[:12]))
        return None

    return check
