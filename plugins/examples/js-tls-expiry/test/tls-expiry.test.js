import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  expiryProblem,
  humanDuration,
  netErrorOf,
  parseConfig,
  runProbe,
  statusAccepted,
  targetHostPort,
  targetUrl,
  urlHost,
} from "../src/tls-expiry.js";

const NOW_MS = 1_700_000_000_000;
const DAY = 86400;

/** What the component runtime throws for a `result` error. */
function netError(tag, val) {
  return Object.assign(new Error("[object Object] (see error.payload)"), {
    payload: val === undefined ? { tag } : { tag, val },
  });
}

function response({ status = 200, notAfter = NOW_MS / 1000 + 90 * DAY, tls = true, finalUrl = "https://example.test/" } = {}) {
  return {
    status,
    headers: [],
    body: new Uint8Array(),
    bodyTruncated: false,
    finalUrl,
    redirects: 0,
    timing: { dnsNs: 1e6, connectNs: 2e6, tlsNs: tls ? 5e6 : null, firstByteNs: 7e6, doneNs: 8e6, redirectNs: 0 },
    tls: tls ? { protocol: "TLSv1.3", cipher: "TLS13_AES_128_GCM_SHA256", notAfter, subject: "CN=example.test", issuer: "CN=Test CA" } : null,
  };
}

/** Runs the probe against a fake `http.send` that answers `answer` (or throws it). */
function run({ target = "https://example.test/", config = "", answer = response(), bigints = false } = {}) {
  const requests = [];
  const caps = {
    clock: { wallMs: () => (bigints ? BigInt(NOW_MS) : NOW_MS) },
    http: {
      send(request) {
        requests.push(request);
        if (answer instanceof Error) throw answer;
        return answer;
      },
    },
  };
  const out = runProbe({ check: "c", target, config, timeoutMs: 5000 }, caps);
  return { out, requests, metric: (name) => out.samples.find((s) => s.metric === name)?.value };
}

describe("targets", () => {
  it("keeps https URLs and builds one from host[:port]", () => {
    assert.equal(targetUrl(" https://example.test/health "), "https://example.test/health");
    assert.equal(targetUrl("HTTPS://example.test"), "HTTPS://example.test");
    assert.equal(targetUrl("example.test"), "https://example.test:443/");
    assert.equal(targetUrl("example.test:8443"), "https://example.test:8443/");
    assert.equal(targetUrl("[2001:db8::1]:8443"), "https://[2001:db8::1]:8443/");
    assert.equal(targetUrl("2001:db8::1"), "https://[2001:db8::1]:443/");
  });

  it("refuses what is not https", () => {
    assert.throws(() => targetUrl("http://example.test/"), /is not an https URL/);
    assert.throws(() => targetUrl("ftp://example.test/"), /is not an https URL/);
    assert.throws(() => targetUrl("https:///path"), /has no host/);
    assert.throws(() => targetUrl("example.test/path"), /neither an https URL nor host\[:port\]/);
    assert.throws(() => targetUrl("example.test:0"), /port `0`/);
    assert.throws(() => targetUrl(""), /no host/);
  });

  it("splits host and port like the Rust SDK", () => {
    assert.deepEqual(targetHostPort("example.com:22", 0), ["example.com", 22]);
    assert.deepEqual(targetHostPort("[::1]", 53), ["::1", 53]);
    assert.throws(() => targetHostPort("host", 0), /needs a port/);
    assert.throws(() => targetHostPort("host:http", 80), /port `http`/);
    assert.throws(() => targetHostPort("[::1", 80), /closing/);
    assert.throws(() => targetHostPort("[::1]80", 80), /after `\]`/);
  });

  it("finds the host of a URL", () => {
    assert.equal(urlHost("https://user:pw@example.test:8443/x?y#z"), "example.test");
    assert.equal(urlHost("https://[2001:db8::1]:443/"), "2001:db8::1");
    assert.equal(urlHost("https://example.test"), "example.test");
  });
});

describe("config", () => {
  it("applies the defaults", () => {
    for (const json of ["", "  ", "{}"]) {
      const c = parseConfig(json);
      assert.equal(c.warn_days, 14);
      assert.equal(c.tls_verify, true);
      assert.equal(c.method, "HEAD");
      assert.equal(c.timeout_ms, null);
      assert.equal(c.expect_status, null);
    }
  });

  it("refuses unknown fields and bad values, naming them", () => {
    assert.throws(() => parseConfig('{"warn_dayz": 3}'), /^Error: config: unknown field `warn_dayz`/);
    assert.throws(() => parseConfig('{"warn_days": -1}'), /config: warn_days/);
    assert.throws(() => parseConfig('{"warn_days": "7"}'), /config: warn_days/);
    assert.throws(() => parseConfig('{"tls_verify": "no"}'), /config: tls_verify/);
    assert.throws(() => parseConfig('{"expect_status": []}'), /config: expect_status/);
    assert.throws(() => parseConfig('{"expect_status": ["6xx"]}'), /config: expect_status entry "6xx"/);
    assert.throws(() => parseConfig("[1]"), /config: expected a JSON object/);
    assert.throws(() => parseConfig("{"), /^Error: config: /);
  });
});

describe("expiry", () => {
  const base = { host: "example.test", subject: "CN=example.test", nowMs: NOW_MS, warnDays: 14 };
  const at = (days) => ({ ...base, notAfterS: NOW_MS / 1000 + days * DAY });

  it("passes a certificate valid for longer than warn_days", () => {
    assert.equal(expiryProblem(at(14.01)), null);
    assert.equal(expiryProblem(at(400)), null);
  });

  it("explains a certificate close to or past its expiry", () => {
    assert.equal(
      expiryProblem(at(3.5)),
      "certificate of example.test (CN=example.test) expires in 3 days, within warn_days 14",
    );
    assert.equal(expiryProblem(at(14)), "certificate of example.test (CN=example.test) expires in 14 days, within warn_days 14");
    assert.equal(expiryProblem({ ...at(-2), subject: "" }), "certificate of example.test expired 2 days ago");
    assert.equal(expiryProblem({ ...at(0.25), warnDays: 1 }), "certificate of example.test (CN=example.test) expires in 6 hours, within warn_days 1");
    assert.equal(expiryProblem({ ...at(0.25), warnDays: 0 }), null, "warn_days 0 fails only once expired");
    assert.match(expiryProblem({ ...at(-0.001), warnDays: 0 }), /expired 1 minute ago$/);
  });

  it("words durations", () => {
    assert.equal(humanDuration(DAY), "1 day");
    assert.equal(humanDuration(-3 * DAY - 5), "3 days");
    assert.equal(humanDuration(3600), "1 hour");
    assert.equal(humanDuration(125), "2 minutes");
  });

  it("matches statuses against codes and classes", () => {
    assert.equal(statusAccepted(null, 503), true);
    assert.equal(statusAccepted([200, "3xx"], 301), true);
    assert.equal(statusAccepted([200, "3xx"], 204), false);
    assert.equal(statusAccepted(["2XX"], 204), true);
  });
});

describe("runs", () => {
  it("reports the certificate's remaining life and the timings", () => {
    const { out, requests, metric } = run();
    assert.equal(out.status, "ok");
    assert.equal(out.message, null);
    assert.equal(metric("cert_expiry"), 90 * DAY);
    assert.equal(metric("tls_time"), 0.005);
    assert.equal(metric("total_time"), 0.008);
    assert.equal(metric("status_code"), 200);
    for (const s of out.samples) assert.deepEqual(s.labels, []);
    assert.deepEqual(requests, [
      {
        method: "HEAD",
        url: "https://example.test/",
        headers: [],
        body: null,
        timeoutMs: 5000,
        delayMs: 0,
        maxRedirects: 0,
        tlsVerify: true,
        bodyMax: 0,
      },
    ]);
  });

  it("passes the configuration on", () => {
    const { requests } = run({ target: "example.test:8443", config: '{"tls_verify": false, "method": "GET", "timeout_ms": 9000}' });
    assert.equal(requests[0].url, "https://example.test:8443/");
    assert.equal(requests[0].tlsVerify, false);
    assert.equal(requests[0].method, "GET");
    assert.equal(requests[0].timeoutMs, 5000, "capped by the run's budget");
    assert.equal(run({ config: '{"timeout_ms": 1200}' }).requests[0].timeoutMs, 1200);
  });

  it("takes 64-bit values as BigInts too", () => {
    const r = response();
    r.tls.notAfter = BigInt(r.tls.notAfter);
    for (const k of Object.keys(r.timing)) r.timing[k] = r.timing[k] == null ? null : BigInt(r.timing[k]);
    const { out, metric } = run({ answer: r, bigints: true });
    assert.equal(out.status, "ok");
    assert.equal(metric("cert_expiry"), 90 * DAY);
    assert.equal(metric("total_time"), 0.008);
  });

  it("fails within warn_days, keeping the samples", () => {
    const { out, metric } = run({ answer: response({ notAfter: NOW_MS / 1000 + 3 * DAY + 60 }), config: '{"warn_days": 14}' });
    assert.equal(out.status, "error");
    assert.equal(out.message, "certificate of example.test (CN=example.test) expires in 3 days, within warn_days 14");
    assert.equal(metric("cert_expiry"), 3 * DAY + 60);
  });

  it("reports an expired certificate (seen with tls_verify false) as negative", () => {
    const { out, metric } = run({ answer: response({ notAfter: NOW_MS / 1000 - DAY }), config: '{"tls_verify": false}' });
    assert.equal(out.status, "error");
    assert.match(out.message, /expired 1 day ago$/);
    assert.equal(metric("cert_expiry"), -DAY);
  });

  it("checks expect_status when given", () => {
    const { out } = run({ answer: response({ status: 503 }), config: '{"expect_status": [200, "3xx"]}' });
    assert.equal(out.status, "error");
    assert.equal(out.message, "status 503 from https://example.test/, expected 200 or 3xx");
    assert.equal(run({ answer: response({ status: 503 }) }).out.status, "ok", "any status by default");
  });

  it("fails without TLS information", () => {
    const { out, metric } = run({ answer: response({ tls: false, finalUrl: "http://example.test/" }) });
    assert.equal(out.status, "error");
    assert.equal(out.message, "the response from http://example.test/ carries no TLS information");
    assert.equal(metric("cert_expiry"), undefined);
    assert.equal(metric("tls_time"), undefined);
  });

  it("maps network errors to statuses", () => {
    const cases = [
      [netError("timeout"), "timeout", "no answer within the timeout"],
      [netError("refused"), "refused", "the target refused the connection"],
      [netError("unreachable", "no route to host"), "unreachable", "the target is unreachable: no route to host"],
      [netError("tls", "invalid peer certificate: Expired"), "error", "tls failed: invalid peer certificate: Expired"],
      [netError("dns", "no such host"), "error", "name resolution failed: no such host"],
      [netError("denied", "http is not granted"), "error", "denied: http is not granted"],
      [netError("invalid", "bad url"), "error", "invalid request: bad url"],
      [netError("io", "reset"), "error", "i/o error: reset"],
    ];
    for (const [answer, status, message] of cases) {
      const { out } = run({ answer });
      assert.deepEqual([out.status, out.message, out.samples], [status, message, []]);
    }
  });

  it("fails on bad targets and configs without sending", () => {
    for (const [target, config, pattern] of [
      ["http://example.test/", "", /not an https URL/],
      ["https://example.test/", '{"nope": 1}', /^config: unknown field `nope`/],
    ]) {
      const { out, requests } = run({ target, config });
      assert.equal(out.status, "error");
      assert.match(out.message, pattern);
      assert.equal(requests.length, 0);
    }
  });

  it("lets other exceptions through for probe.js to report", () => {
    assert.equal(netErrorOf(new TypeError("x")), null);
    assert.throws(() => run({ answer: new TypeError("boom") }), TypeError);
  });
});
