"""The pure logic of `example-http-keyword`: configuration, assertions,
samples and error messages.

Nothing here imports the component bindings (`wit_world`), so the unit tests
run natively with `python3 -m unittest`. `app.py` is the thin glue between
this module and the host. (The module is not called `keyword`: that name
would shadow the standard library's `keyword`, which `dataclasses` imports.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, List, Optional, Sequence, Tuple, Union

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
DEFAULT_BODY_MAX = 1 << 20
BODY_MAX_LIMIT = 4 << 20
DEFAULT_MAX_REDIRECTS = 5
EXCERPT_CHARS = 64

# An accepted status: a code (200) or a class ("2xx").
Expected = Union[int, str]


class ConfigError(ValueError):
    """The check's configuration is unusable; the message starts with `config: `."""


@dataclass(frozen=True)
class Config:
    keyword: Optional[str] = None
    # The JSON assertion is on when `json_pointer` or `json_equals` is set.
    json_pointer: Optional[str] = None
    has_json_equals: bool = False
    json_equals: Any = None
    # Empty: any 2xx or 3xx.
    expect_status: Tuple[Expected, ...] = ()
    method: str = "GET"
    timeout_ms: Optional[int] = None
    tls_verify: bool = True
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    body_max: int = DEFAULT_BODY_MAX

    @property
    def json_assertion(self) -> bool:
        return self.json_pointer is not None or self.has_json_equals


@dataclass
class Verdict:
    """What a run ends with: a `types.Status` member name, a message and
    samples as (metric, value, `types.Unit` member name)."""

    status: str
    message: Optional[str] = None
    samples: List[Tuple[str, float, str]] = field(default_factory=list)


# ---------------------------------------------------------------- config

_FIELDS = (
    "keyword", "json_pointer", "json_equals", "expect_status", "method",
    "timeout_ms", "tls_verify", "max_redirects", "body_max",
)


def parse_config(text: str) -> Config:
    """Parses the check's JSON configuration (empty means `{}`).

    The host has validated it against the manifest's schema already; the
    checks are repeated so that a drifted schema still fails clearly.
    """
    try:
        raw = json.loads(text) if text.strip() else {}
    except ValueError as e:
        raise ConfigError(f"config: not JSON: {e}") from None
    if not isinstance(raw, dict):
        raise ConfigError("config: expected a JSON object")
    unknown = sorted(set(raw) - set(_FIELDS))
    if unknown:
        raise ConfigError(f"config: unknown field {unknown[0]!r}")

    keyword = raw.get("keyword")
    if keyword is not None and (not isinstance(keyword, str) or not keyword):
        raise ConfigError("config: keyword must be a non-empty string")

    pointer = raw.get("json_pointer")
    if pointer is not None:
        if not isinstance(pointer, str):
            raise ConfigError("config: json_pointer must be a string")
        parse_pointer(pointer)  # raises ConfigError when malformed

    method = raw.get("method", "GET")
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise ConfigError(f"config: method must be one of {', '.join(METHODS)}")

    tls_verify = raw.get("tls_verify", True)
    if not isinstance(tls_verify, bool):
        raise ConfigError("config: tls_verify must be true or false")

    return Config(
        keyword=keyword,
        json_pointer=pointer,
        has_json_equals="json_equals" in raw,
        json_equals=raw.get("json_equals"),
        expect_status=_parse_expect_status(raw.get("expect_status")),
        method=method.upper(),
        timeout_ms=_optional_int(raw, "timeout_ms", 1, 600_000),
        tls_verify=tls_verify,
        max_redirects=_int(raw, "max_redirects", DEFAULT_MAX_REDIRECTS, 0, 20),
        body_max=_int(raw, "body_max", DEFAULT_BODY_MAX, 0, BODY_MAX_LIMIT),
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _optional_int(raw: dict, name: str, low: int, high: int) -> Optional[int]:
    value = raw.get(name)
    if value is None:
        return None
    if not _is_int(value) or not low <= value <= high:
        raise ConfigError(f"config: {name} must be an integer {low}–{high}, got {value!r}")
    return value


def _int(raw: dict, name: str, default: int, low: int, high: int) -> int:
    value = _optional_int(raw, name, low, high)
    return default if value is None else value


def _parse_expect_status(value: Any) -> Tuple[Expected, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    if not items:
        raise ConfigError("config: expect_status must not be an empty list")
    for item in items:
        if _is_int(item) and 100 <= item <= 599:
            continue
        if _is_status_class(item):
            continue
        raise ConfigError(
            f"config: expect_status entries are codes 100–599 or classes like \"2xx\", got {item!r}"
        )
    return tuple(items)


def _is_status_class(item: Any) -> bool:
    return (
        isinstance(item, str)
        and len(item) == 3
        and item[0] in "12345"
        and item[1:].lower() == "xx"
    )


def request_timeout_ms(configured: Optional[int], budget_ms: int) -> int:
    """The request's timeout: the configured one capped by the run's budget."""
    return budget_ms if configured is None else min(configured, budget_ms)


# ---------------------------------------------------------------- status


def status_accepted(expected: Sequence[Expected], status: int) -> bool:
    """Whether `status` is expected; nothing configured accepts any 2xx or 3xx."""
    if not expected:
        return 200 <= status <= 399
    for item in expected:
        if isinstance(item, str):
            if status // 100 == int(item[0]):
                return True
        elif item == status:
            return True
    return False


def check_status(expected: Sequence[Expected], status: int) -> Optional[str]:
    """None when the status is accepted, else the sentence saying why not."""
    if status_accepted(expected, status):
        return None
    if not expected:
        return f"status {status} is not 2xx or 3xx"
    return f"status {status} is not one of {', '.join(str(e) for e in expected)}"


# ---------------------------------------------------------------- keyword


def check_keyword(keyword: str, body: bytes, truncated: bool) -> Optional[str]:
    """None when the body (as UTF-8) contains `keyword`, else why not."""
    if keyword.encode("utf-8") in body:
        return None
    scope = f"{len(body)} bytes read"
    if truncated:
        scope += "; the rest of the body was cut at body_max"
    return f"body does not contain {excerpt(keyword)!r} ({scope})"


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """`text` cut after `limit` characters, `…` marking the cut."""
    return text if len(text) <= limit else text[:limit] + "…"


# ---------------------------------------------------------------- JSON


def parse_pointer(pointer: str) -> List[str]:
    """The reference tokens of an RFC 6901 JSON pointer (`""` is the whole document)."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise ConfigError(f"config: json_pointer {pointer!r} must be empty or start with '/'")
    tokens = []
    for token in pointer[1:].split("/"):
        rest = token.replace("~0", "").replace("~1", "")
        if "~" in rest:
            raise ConfigError(
                f"config: json_pointer {pointer!r} has a '~' that is not '~0' or '~1'"
            )
        tokens.append(token.replace("~1", "/").replace("~0", "~"))
    return tokens


class PointerMiss(Exception):
    """The pointer names nothing in the document; the message says where it stopped."""


def resolve_pointer(document: Any, tokens: Sequence[str]) -> Any:
    """The value `tokens` point at in `document`, or PointerMiss."""
    value = document
    at = ""
    for token in tokens:
        here = at or "the root"
        if isinstance(value, dict):
            if token not in value:
                raise PointerMiss(f"no member {token!r} in the object at {here}")
            value = value[token]
        elif isinstance(value, list):
            if not (token == "0" or (token.isdigit() and token.isascii() and token[0] != "0")):
                raise PointerMiss(f"{token!r} is not an index of the array at {here}")
            index = int(token)
            if index >= len(value):
                raise PointerMiss(
                    f"index {index} is past the end of the array at {here} ({len(value)} items)"
                )
            value = value[index]
        else:
            raise PointerMiss(f"the value at {here} is {json_type(value)}, not an object or array")
        at += "/" + token.replace("~", "~0").replace("/", "~1")
    return value


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: like `==` but `true` is not `1` (numbers compare by value)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _json_text(value: Any) -> str:
    return excerpt(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def check_json(config: Config, body: bytes, truncated: bool) -> Optional[str]:
    """None when the JSON assertion holds, else the sentence saying why not."""
    pointer = config.json_pointer or ""
    what = f"json_pointer {pointer!r}" if config.json_pointer is not None else "json_equals"
    if truncated:
        return (
            f"body is larger than body_max ({len(body)} bytes read), "
            f"so {what} cannot be checked"
        )
    # JSON bodies are UTF-8 (RFC 8259). Decoding here rather than in
    # `json.loads(bytes)` matters in the component: that would look up the
    # UTF-16/32 codecs by import, and the component can import at run time
    # only what was imported when it was built.
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return f"body is not JSON (not UTF-8 text), so {what} cannot be checked"
    if not text.strip():
        return f"body is not JSON (the body is empty), so {what} cannot be checked"
    try:
        document = json.loads(text)
    except RecursionError:
        return f"body is JSON nested too deeply to check {what}"
    except json.JSONDecodeError as e:
        return f"body is not JSON ({e.msg}), so {what} cannot be checked"
    try:
        value = resolve_pointer(document, parse_pointer(pointer))
    except PointerMiss as e:
        return f"JSON body has nothing at {pointer!r}: {e}"
    if config.has_json_equals and not json_equal(value, config.json_equals):
        where = f"JSON at {pointer!r}" if pointer else "JSON body"
        return f"{where} is {_json_text(value)}, expected {_json_text(config.json_equals)}"
    return None


# ---------------------------------------------------------------- run


def body_size(body_len: int, truncated: bool, headers: Sequence[Tuple[str, str]]) -> int:
    """Bytes read, or the Content-Length when the body was cut at body_max."""
    if truncated:
        for name, value in headers:
            if name.lower() == "content-length":
                try:
                    return int(value.strip())
                except ValueError:
                    break
    return body_len


def samples(response: Any) -> List[Tuple[str, float, str]]:
    """The samples of an `http.Response` (any object with its attributes)."""
    timing = response.timing
    return [
        ("total_time", (timing.redirect_ns + timing.done_ns) / 1e9, "SECONDS"),
        ("first_byte_time", timing.first_byte_ns / 1e9, "SECONDS"),
        ("status_code", float(response.status), "NONE"),
        (
            "body_size",
            float(body_size(len(response.body), response.body_truncated, response.headers)),
            "BYTES",
        ),
    ]


def evaluate(config: Config, response: Any) -> Verdict:
    """Checks `response` (an `http.Response`) against every assertion, in
    order: status, keyword, JSON. The samples accompany any status."""
    verdict = Verdict("OK", None, samples(response))
    body = bytes(response.body)
    failure = check_status(config.expect_status, response.status)
    if failure is None and config.keyword is not None:
        failure = check_keyword(config.keyword, body, response.body_truncated)
    if failure is None and config.json_assertion:
        failure = check_json(config, body, response.body_truncated)
    if failure is not None:
        verdict.status = "ERROR"
        verdict.message = failure
    return verdict


# What each `net-error` case means for the run: (status, message prefix).
_NET_ERRORS = {
    "denied": ("ERROR", "denied: {}"),
    "timeout": ("TIMEOUT", "no answer within the timeout"),
    "refused": ("REFUSED", "the target refused the connection"),
    "unreachable": ("UNREACHABLE", "the target is unreachable: {}"),
    "dns": ("ERROR", "name resolution failed: {}"),
    "tls": ("ERROR", "tls failed: {}"),
    "invalid": ("ERROR", "invalid request: {}"),
    "io": ("ERROR", "i/o error: {}"),
}


def net_error(kind: str, detail: Optional[str]) -> Verdict:
    """The verdict for a failed request: `kind` is the `net-error` case."""
    status, template = _NET_ERRORS.get(kind, ("ERROR", kind + ": {}"))
    return Verdict(status, template.format(detail or "").rstrip(": "))
