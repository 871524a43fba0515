"""`example-http-keyword`: requests the target URL and checks the status,
a keyword in the body and, optionally, one value of a JSON body.

This module is the componentize-py entry point (`componentize-py ...
componentize app`): the exported `probe` interface is the class `Probe`.
The logic lives in `http_keyword.py`, which the unit tests exercise natively.
"""

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import http, types

import http_keyword

# `net-error` cases as the bindings name them, to the names `http_keyword` uses.
_NET_ERROR_KINDS = {
    types.NetError_Denied: "denied",
    types.NetError_Timeout: "timeout",
    types.NetError_Refused: "refused",
    types.NetError_Unreachable: "unreachable",
    types.NetError_Dns: "dns",
    types.NetError_Tls: "tls",
    types.NetError_Invalid: "invalid",
    types.NetError_Io: "io",
}


class Probe(exports.Probe):
    def run(self, context: types.CheckContext) -> types.Outcome:
        try:
            return to_outcome(check(context))
        except MemoryError:
            # Let the run trap: the host reports its memory limit.
            raise
        except Exception as e:  # a bug here: fail the run instead of trapping
            return to_outcome(
                http_keyword.Verdict("ERROR", f"internal error: {type(e).__name__}: {e}")
            )


def check(context: types.CheckContext) -> http_keyword.Verdict:
    try:
        config = http_keyword.parse_config(context.config)
    except http_keyword.ConfigError as e:
        return http_keyword.Verdict("ERROR", str(e))
    request = http.Request(
        method=config.method,
        url=context.target.strip(),
        headers=[],
        body=None,
        timeout_ms=http_keyword.request_timeout_ms(config.timeout_ms, context.timeout_ms),
        delay_ms=0,
        max_redirects=config.max_redirects,
        tls_verify=config.tls_verify,
        body_max=config.body_max,
    )
    try:
        response = http.send(request)
    except Err as e:
        # A failed import call raises `Err` carrying the `net-error` case.
        error = e.value
        kind = _NET_ERROR_KINDS.get(type(error), "io")
        return http_keyword.net_error(kind, getattr(error, "value", None))
    return http_keyword.evaluate(config, response)


def to_outcome(verdict: http_keyword.Verdict) -> types.Outcome:
    return types.Outcome(
        status=types.Status[verdict.status],
        message=verdict.message,
        samples=[
            types.Sample(metric=metric, value=value, unit=types.Unit[unit], labels=[])
            for metric, value, unit in verdict.samples
        ],
    )
