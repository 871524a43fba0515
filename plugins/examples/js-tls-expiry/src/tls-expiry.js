// The probe's logic, free of WIT imports: `runProbe` gets the capabilities it
// uses as arguments, so `node --test` exercises it with fakes, and
// `probe.js` hands it the real ones inside the component.

const DAY_S = 86400;

/** The configuration's defaults; the manifest's `config_schema` says the same. */
export const DEFAULTS = Object.freeze({
  warn_days: 14,
  tls_verify: true,
  method: "HEAD",
  timeout_ms: null,
  expect_status: null,
});

/** A run's result, shaped as the WIT `outcome` record. */
export function outcome(status, message = null, samples = []) {
  return { status, message, samples };
}

/** One WIT `sample`; durations here are reported in seconds. */
export function sample(metric, value, unit = "seconds") {
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
  if (typeof config.warn_days !== "number" || !(config.warn_days >= 0 && config.warn_days <= 3650)) {
    throw new Error(`config: warn_days must be a number of days 0–3650, got ${JSON.stringify(raw.warn_days)}`);
  }
  if (typeof config.tls_verify !== "boolean") {
    throw new Error("config: tls_verify must be true or false");
  }
  if (config.method !== "HEAD" && config.method !== "GET") {
    throw new Error(`config: method must be "HEAD" or "GET", got ${JSON.stringify(config.method)}`);
  }
  if (config.timeout_ms !== null && !(Number.isInteger(config.timeout_ms) && config.timeout_ms >= 1)) {
    throw new Error(`config: timeout_ms must be a positive integer, got ${JSON.stringify(config.timeout_ms)}`);
  }
  if (config.expect_status !== null) {
    if (!Array.isArray(config.expect_status) || config.expect_status.length === 0) {
      throw new Error("config: expect_status must be a non-empty list of codes (200) or classes (\"2xx\")");
    }
    for (const entry of config.expect_status) {
      const code = Number.isInteger(entry) && entry >= 100 && entry <= 599;
      const cls = typeof entry === "string" && /^[1-5][xX][xX]$/.test(entry);
      if (!code && !cls) {
        throw new Error(`config: expect_status entry ${JSON.stringify(entry)} is neither a code 100–599 nor a class like "2xx"`);
      }
    }
  }
  return config;
}

/** The request timeout: the configured one capped by the run's budget. */
export function requestTimeoutMs(budgetMs, configured) {
  return configured == null ? budgetMs : Math.min(configured, budgetMs);
}

/**
 * The https URL to request for a target: an https URL as given, or
 * `host`, `host:port`, `[v6]:port` (port 443 by default) made into
 * `https://host:port/`. Throws an Error on anything else (http URLs included).
 */
export function targetUrl(target) {
  const t = target.trim();
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(t);
  if (scheme) {
    if (scheme[1].toLowerCase() !== "https") {
      throw new Error(`target \`${t}\` is not an https URL: this check reads the server's TLS certificate`);
    }
    if (urlHost(t) === "") {
      throw new Error(`target \`${t}\` has no host`);
    }
    return t;
  }
  if (t.includes("/")) {
    throw new Error(`target \`${t}\` is neither an https URL nor host[:port]`);
  }
  const [host, port] = targetHostPort(t, 443);
  return `https://${host.includes(":") ? `[${host}]` : host}:${port}/`;
}

/**
 * Splits `host:port`, `[v6]:port`, `host`, `[v6]` or a bare IPv6 address
 * into [host, port], as the Rust SDK's `target_host_port` does.
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
  if (port === null) {
    if (defaultPort === 0) throw new Error(`target \`${t}\` needs a port (host:port)`);
    return [host, defaultPort];
  }
  const n = /^[0-9]{1,5}$/.test(port) ? Number(port) : NaN;
  if (!(n >= 1 && n <= 65535)) throw new Error(`target \`${t}\` has port \`${port}\`, expected 1–65535`);
  return [host, n];
}

/** The host of a URL (without userinfo, port or IPv6 brackets). */
export function urlHost(url) {
  const rest = url.slice(url.indexOf("://") + 3);
  let authority = rest.split(/[/?#]/, 1)[0];
  authority = authority.slice(authority.lastIndexOf("@") + 1);
  if (authority.startsWith("[")) return authority.slice(1, authority.indexOf("]") < 0 ? undefined : authority.indexOf("]"));
  const colon = authority.lastIndexOf(":");
  return colon < 0 ? authority : authority.slice(0, colon);
}

/**
 * The error a capability call threw, as the WIT `net-error` variant
 * (`{ tag, val }`), or null when it is some other exception. The component
 * runtime throws an Error whose `payload` is the `err` case of the result.
 */
export function netErrorOf(e) {
  const p = e != null && typeof e === "object" ? e.payload : undefined;
  return p != null && typeof p === "object" && typeof p.tag === "string" ? p : null;
}

/** The outcome a failed network call ends the run with (as the Rust SDK does). */
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

/** Whether `status` matches the expected codes and classes (null: any). */
export function statusAccepted(expected, status) {
  if (expected == null) return true;
  return expected.some((e) =>
    typeof e === "number" ? e === status : Number(e[0]) === Math.floor(status / 100),
  );
}

/** "3 days", "1 day", "5 hours", "12 minutes": a rough length of time. */
export function humanDuration(seconds) {
  const s = Math.abs(seconds);
  const [n, unit] =
    s >= DAY_S ? [Math.floor(s / DAY_S), "day"] : s >= 3600 ? [Math.floor(s / 3600), "hour"] : [Math.floor(s / 60), "minute"];
  return `${n} ${unit}${n === 1 ? "" : "s"}`;
}

/**
 * The verdict on a certificate that expires at `notAfterS` (seconds since the
 * epoch) seen at `nowMs`: null when it is valid for longer than `warnDays`,
 * otherwise the sentence explaining why the check fails.
 */
export function expiryProblem({ host, subject, notAfterS, nowMs, warnDays }) {
  const remaining = notAfterS - nowMs / 1000;
  if (remaining > warnDays * DAY_S) return null;
  const who = subject ? `${host} (${subject})` : host;
  if (remaining <= 0) {
    return `certificate of ${who} expired ${humanDuration(remaining)} ago`;
  }
  return `certificate of ${who} expires in ${humanDuration(remaining)}, within warn_days ${warnDays}`;
}

/**
 * One run: `ctx` is the WIT `check-context`, `caps` holds the capability
 * interfaces used (`http.send`, `clock.wallMs`). Every expected failure is an
 * outcome; only a bug throws (and `probe.js` reports that as an error).
 */
export function runProbe(ctx, caps) {
  let config;
  let url;
  try {
    config = parseConfig(ctx.config);
    url = targetUrl(ctx.target);
  } catch (e) {
    return outcome("error", e.message);
  }
  let response;
  try {
    response = caps.http.send({
      method: config.method,
      url,
      headers: [],
      body: null,
      timeoutMs: requestTimeoutMs(ctx.timeoutMs, config.timeout_ms),
      delayMs: 0,
      // The target's own certificate: no redirect is followed.
      maxRedirects: 0,
      tlsVerify: config.tls_verify,
      bodyMax: 0,
    });
  } catch (e) {
    const error = netErrorOf(e);
    if (error === null) throw e;
    return netErrorOutcome(error);
  }
  // u64/s64 arrive as numbers (QuickJS) or BigInts (other runtimes): Number() takes both.
  const timing = response.timing;
  const samples = [];
  if (timing.tlsNs != null) samples.push(sample("tls_time", Number(timing.tlsNs) / 1e9));
  samples.push(sample("total_time", (Number(timing.redirectNs) + Number(timing.doneNs)) / 1e9));
  samples.push(sample("status_code", response.status, "none"));
  if (response.tls == null) {
    return outcome("error", `the response from ${response.finalUrl} carries no TLS information`, samples);
  }
  const notAfterS = Number(response.tls.notAfter);
  const nowMs = Number(caps.clock.wallMs());
  samples.push(sample("cert_expiry", notAfterS - nowMs / 1000));
  const problem = expiryProblem({
    host: urlHost(url),
    subject: response.tls.subject,
    notAfterS,
    nowMs,
    warnDays: config.warn_days,
  });
  if (problem !== null) return outcome("error", problem, samples);
  if (!statusAccepted(config.expect_status, response.status)) {
    return outcome(
      "error",
      `status ${response.status} from ${response.finalUrl}, expected ${config.expect_status.join(" or ")}`,
      samples,
    );
  }
  return outcome("ok", null, samples);
}
