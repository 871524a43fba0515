"""The pure logic of `{{name}}`: configuration, target parsing and what a
failed connect means. Nothing here imports the component bindings, so
`python3 -m unittest` tests it natively (see test_logic.py)."""

import json
from dataclasses import dataclass
from typing import Optional, Tuple


@dataclass(frozen=True)
class Config:
    """The check's plugin configuration. The host validates it against the
    `config_schema` of `manifest.json` before each run: keep the two in step."""

    # The port to connect to when the target names none.
    port: int = 80
    # The connect timeout in milliseconds, capped by the run's budget; the
    # whole budget when unset.
    timeout_ms: Optional[int] = None


def parse_config(text: str) -> Config:
    """Parses the JSON configuration (empty means `{}`); a problem raises
    ValueError with a message starting with `config: `."""
    try:
        raw = json.loads(text) if text.strip() else {}
    except ValueError as e:
        raise ValueError(f"config: not JSON: {e}") from None
    if not isinstance(raw, dict):
        raise ValueError("config: expected a JSON object")
    unknown = sorted(set(raw) - {"port", "timeout_ms"})
    if unknown:
        raise ValueError(f"config: unknown field {unknown[0]!r}")
    port = raw.get("port", 80)
    if not _is_int(port) or not 1 <= port <= 65535:
        raise ValueError(f"config: port must be 1–65535, got {port!r}")
    timeout_ms = raw.get("timeout_ms")
    if timeout_ms is not None and (not _is_int(timeout_ms) or timeout_ms < 1):
        raise ValueError(f"config: timeout_ms must be a positive integer, got {timeout_ms!r}")
    return Config(port=port, timeout_ms=timeout_ms)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def request_timeout_ms(configured: Optional[int], budget_ms: int) -> int:
    """A capability request's timeout: the configured one capped by the run's
    budget, or the whole budget when none is configured."""
    return budget_ms if configured is None else min(configured, budget_ms)


def target_host_port(target: str, default_port: int) -> Tuple[str, int]:
    """Splits a check target into host and port.

    Accepts `host:port`, `[v6]:port`, `host`, `[v6]` and a bare IPv6 address;
    a target without a port gets `default_port` (0: the port is required).
    IPv6 hosts come back without brackets. A bad target raises ValueError.
    """
    target = target.strip()
    if target.startswith("["):
        host, sep, after = target[1:].partition("]")
        if not sep:
            raise ValueError(f"target `{target}` has `[` without a closing `]`")
        if after and not after.startswith(":"):
            raise ValueError(f"target `{target}` has text after `]` that is not `:port`")
        port = after[1:] if after else None
    elif target.count(":") > 1:
        host, port = target, None  # a bare IPv6 address
    elif ":" in target:
        host, _, port = target.partition(":")
    else:
        host, port = target, None
    if not host:
        raise ValueError(f"target `{target}` has no host")
    if port is None:
        if default_port == 0:
            raise ValueError(f"target `{target}` needs a port (host:port)")
        return host, default_port
    if not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= 65535:
        raise ValueError(f"target `{target}` has port `{port}`, expected 1–65535")
    return host, int(port)


# What each `net-error` case means for the run: (status, message).
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


def net_error(kind: str, detail: Optional[str]) -> Tuple[str, str]:
    """The run's status (a `types.Status` member name) and message for a
    failed capability call; `kind` names the `net-error` case."""
    status, template = _NET_ERRORS.get(kind, ("ERROR", kind + ": {}"))
    return status, template.format(detail or "").rstrip(": ")
