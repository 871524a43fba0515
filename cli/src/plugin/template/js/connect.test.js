// Unit tests of the probe logic: `npm test` (node --test), no wasm needed.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { parseConfig, runProbe, targetHostPort } from "../src/connect.js";

/** What the component runtime throws for a `result` error. */
function netError(tag, val) {
  return Object.assign(new Error("net-error"), { payload: val === undefined ? { tag } : { tag, val } });
}

/** Runs the probe against a fake `tcp.connect` that answers `answer` (or throws it). */
function run({ target = "example.test", config = "", answer = { address: "192.0.2.1:80", dnsNs: 0, connectNs: 1500000, received: new Uint8Array(), firstByteNs: null } } = {}) {
  const requests = [];
  const tcp = {
    connect(request) {
      requests.push(request);
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
  return { out: runProbe({ check: "c", target, config, timeoutMs: 5000 }, { tcp }), requests };
}

describe("targets and config", () => {
  it("splits host and port", () => {
    assert.deepEqual(targetHostPort("example.test:8080", 80), ["example.test", 8080]);
    assert.deepEqual(targetHostPort("[2001:db8::1]:53", 80), ["2001:db8::1", 53]);
    assert.deepEqual(targetHostPort("2001:db8::1", 80), ["2001:db8::1", 80]);
    assert.deepEqual(targetHostPort(" example.test ", 443), ["example.test", 443]);
    assert.throws(() => targetHostPort(":80", 80), /no host/);
    assert.throws(() => targetHostPort("host:0", 80), /port `0`/);
    assert.throws(() => targetHostPort("[::1", 80), /closing/);
  });

  it("applies defaults and refuses unknown fields", () => {
    assert.deepEqual(parseConfig(""), { port: 80, timeout_ms: null });
    assert.deepEqual(parseConfig('{"port": 22}'), { port: 22, timeout_ms: null });
    assert.throws(() => parseConfig('{"prot": 22}'), /^Error: config: unknown field `prot`/);
    assert.throws(() => parseConfig('{"port": 0}'), /config: port/);
    assert.throws(() => parseConfig("{"), /^Error: config: /);
  });
});

describe("runs", () => {
  it("times the connect in seconds", () => {
    const { out, requests } = run({ config: '{"timeout_ms": 800}' });
    assert.deepEqual(out, {
      status: "ok",
      message: null,
      samples: [{ metric: "connect_time", value: 0.0015, unit: "seconds", labels: [] }],
    });
    assert.deepEqual(requests, [{ host: "example.test", port: 80, timeoutMs: 800, delayMs: 0, send: null, readMax: 0 }]);
  });

  it("caps the timeout by the run's budget and takes BigInts", () => {
    const answer = { address: "[::1]:22", dnsNs: 0n, connectNs: 2000000n, received: new Uint8Array(), firstByteNs: null };
    const { out, requests } = run({ target: "[::1]:22", config: '{"timeout_ms": 60000}', answer });
    assert.equal(requests[0].timeoutMs, 5000);
    assert.equal(requests[0].host, "::1");
    assert.equal(out.samples[0].value, 0.002);
  });

  it("maps network errors to statuses", () => {
    for (const [answer, status, message] of [
      [netError("timeout"), "timeout", "no answer within the timeout"],
      [netError("refused"), "refused", "the target refused the connection"],
      [netError("unreachable", "no route to host"), "unreachable", "the target is unreachable: no route to host"],
      [netError("denied", "tcp is not granted"), "error", "denied: tcp is not granted"],
      [netError("dns", "no such host"), "error", "name resolution failed: no such host"],
    ]) {
      assert.deepEqual(run({ answer }).out, { status, message, samples: [] });
    }
  });

  it("fails on a bad target without connecting", () => {
    const { out, requests } = run({ target: "example.test:http" });
    assert.equal(out.status, "error");
    assert.match(out.message, /port `http`/);
    assert.equal(requests.length, 0);
  });
});
