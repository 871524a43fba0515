// `{{name}}`: a Vantage probe plugin that times a TCP connect to the check's
// target. This module holds the logic and imports no WIT interface:
// `runProbe` gets the capabilities it uses as arguments, so `node --test`
// exercises it with fakes, and `probe.js` hands it the real ones.

/** The configuration's defaults. The host validates the configuration
 * against the `config_schema` of manifest.json before each run: keep the two
 * in step. */
export const DEFAULTS = Object.freeze({
  // The port to connect to when the target names none.
  port: 80,
  // The connect timeout in milliseconds, capped by the run's budget; the
  // whole budget when unset.
  timeout_ms: null,
});

/** A run's result, shaped as the WIT `outcome` record. */
export function outcome(status, message = null, samples = []) {
  return { status, message, samples };
}

/** One WIT `sample`. */
export function sample(metric, value, unit) {
  return { metric, value, unit, labels: [] };
}

/**
 * Parses the check's configuration (a JSON document; empty means `{}`),
 * applying the defaults. Throws an Error whose message starts with
 * `config: ` on anything the manifest's schema would refuse.
 */
export function parseConfig(json) {
  let raw;
  try {
    raw = json.trim() === "" ? {} : JSON.parse(json);
  } catch (e) {
    throw new Error(`config: ${e.message}`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new Error("config: expected a JSON object");
  }
  for (const key of Object.keys(raw)) {
    if (!Object.hasOwn(DEFAULTS, key)) {
      throw new Error(`config: unknown field \`${key}\`, expected one of ${Object.keys(DEFAULTS).join(", ")}`);
    }
  }
  const config = { ...DEFAULTS, ...raw };
  if (!(Number.isInteger(config.port) && config.port >= 1 && config.port <= 65535)) {
    throw new Error(`config: port must be 1–65535, got ${JSON.stringify(config.port)}`);
  }
  if (config.timeout_ms !== null && !(Number.isInteger(config.timeout_ms) && config.timeout_ms >= 1)) {
    throw new Error(`config: timeout_ms must be a positive integer, got ${JSON.stringify(config.timeout_ms)}`);
  }
  return config;
}

/** The request timeout: the configured one capped by the run's budget. */
export function requestTimeoutMs(budgetMs, configured) {
  return configured == null ? budgetMs : Math.min(configured, budgetMs);
}

/**
 * Splits `host:port`, `[v6]:port`, `host`, `[v6]` or a bare IPv6 address
 * into [host, port]; a target without a port gets `defaultPort`. IPv6 hosts
 * come back without brackets, ready for a capability request.
 */
export function targetHostPort(target, defaultPort) {
  const t = target.trim();
  let host;
  let port = null;
  if (t.startsWith("[")) {
    const close = t.indexOf("]");
    if (close < 0) throw new Error(`target \`${t}\` has \`[\` without a closing \`]\``);
    host = t.slice(1, close);
    const after = t.slice(close + 1);
    if (after !== "") {
      if (!after.startsWith(":")) throw new Error(`target \`${t}\` has text after \`]\` that is not \`:port\``);
      port = after.slice(1);
    }
  } else {
    const colon = t.indexOf(":");
    if (colon >= 0 && !t.slice(colon + 1).includes(":")) {
      host = t.slice(0, colon);
      port = t.slice(colon + 1);
    } else {
      host = t; // no colon, or a bare IPv6 address
    }
  }
  if (host === "") throw new Error(`target \`${t}\` has no host`);
  if (port === null) return [host, defaultPort];
  const n = /^[0-9]{1,5}$/.test(port) ? Number(port) : NaN;
  if (!(n >= 1 && n <= 65535)) throw new Error(`target \`${t}\` has port \`${port}\`, expected 1–65535`);
  return [host, n];
}

/**
 * The error a capability call threw, as the WIT `net-error` variant
 * (`{ tag, val }`), or null when it is some other exception.
 */
export function netErrorOf(e) {
  const p = e != null && typeof e === "object" ? e.payload : undefined;
  return p != null && typeof p === "object" && typeof p.tag === "string" ? p : null;
}

/** The outcome a failed network call ends the run with: timeout, refused and
 * unreachable keep their meaning, everything else is an error. */
export function netErrorOutcome(error) {
  switch (error.tag) {
    case "timeout":
      return outcome("timeout", "no answer within the timeout");
    case "refused":
      return outcome("refused", "the target refused the connection");
    case "unreachable":
      return outcome("unreachable", `the target is unreachable: ${error.val}`);
    case "denied":
      return outcome("error", `denied: ${error.val}`);
    case "dns":
      return outcome("error", `name resolution failed: ${error.val}`);
    case "tls":
      return outcome("error", `tls failed: ${error.val}`);
    case "invalid":
      return outcome("error", `invalid request: ${error.val}`);
    case "io":
      return outcome("error", `i/o error: ${error.val}`);
    default:
      return outcome("error", `network error ${error.tag}${error.val == null ? "" : `: ${error.val}`}`);
  }
}

/**
 * One run: `ctx` is the WIT `check-context`, `caps.tcp` the `tcp` interface.
 * Every expected failure is an outcome; only a bug throws (and `probe.js`
 * reports that as an error).
 */
export function runProbe(ctx, caps) {
  let config;
  let host;
  let port;
  try {
    config = parseConfig(ctx.config);
    [host, port] = targetHostPort(ctx.target, config.port);
  } catch (e) {
    return outcome("error", e.message);
  }
  let response;
  try {
    response = caps.tcp.connect({
      host,
      port,
      timeoutMs: requestTimeoutMs(ctx.timeoutMs, config.timeout_ms),
      delayMs: 0,
      send: null,
      readMax: 0,
    });
  } catch (e) {
    const error = netErrorOf(e);
    if (error === null) throw e;
    // Timeout, refused, unreachable, denied: each becomes its status.
    return netErrorOutcome(error);
  }
  // Durations are u64 nanoseconds: numbers in QuickJS (BigInts elsewhere).
  return outcome("ok", null, [sample("connect_time", Number(response.connectNs) / 1e9, "seconds")]);
}
