// `cargo xtask bench dashboard` runs this against a release server with two
// release agents on loopback (the e2e set-up). It measures, in Debian's
// Chromium:
//
// 1. live latency: from a probe result being produced (its start + its
//    duration, on the agent) to its row changing in the overview, against
//    the same result's arrival on a WebSocket opened by the page (the peer:
//    what rendering adds to delivery);
// 2. page load with BENCH_AGENTS agents (default 5,000) and 10 check
//    targets each: from navigation to the overview showing them all,
//    against fetching the same data (agents and latest results) from the
//    API in the page.
//
// Every request goes to the server on 127.0.0.1; the load is bounded (at
// most 20,000 agents, 10 results each, 60 s of live results).

import { writeFileSync } from "node:fs";

import { chromium } from "@playwright/test";

const url = process.env.VANTAGE_URL;
const password = process.env.VANTAGE_PASSWORD;
const liveSeconds = Number(process.env.BENCH_LIVE_SECONDS ?? 60);
const AGENTS = Number(process.env.BENCH_AGENTS ?? 5000);
if (!(AGENTS >= 1 && AGENTS <= 20_000)) throw new Error(`BENCH_AGENTS must be 1–20000, not ${process.env.BENCH_AGENTS}`);
const PER_AGENT = 10;

const quantile = (values, q) => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const ms = (v) => `${v.toFixed(1)} ms`;

async function api(path, { token, method = "GET", body } = {}) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? null : response.json();
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
await page.goto(url);
await page.getByLabel("Username").fill("admin");
await page.getByLabel("Password").fill(password);
await page.getByRole("button", { name: "Log in" }).click();
await page.getByRole("heading", { name: "Overview" }).waitFor();
await page.waitForSelector("[data-testid=live-state][data-state=open]");
// A result check at 1 s on each agent, besides the demo's 5 s ones.
const { token } = await api("/api/v1/auth/login", { method: "POST", body: { username: "admin", password } });
const probe = new URL(url);
await api("/api/v1/checks/bench-live", {
  token,
  method: "PUT",
  body: {
    name: "bench-live",
    plugin: "tcp",
    targets: [`${probe.hostname}:${probe.port}`],
    interval: "1s",
    config: {},
    grants: ["tcp"],
  },
});

// 1. Live latency.
await page.evaluate(() => {
  const w = window;
  w.benchRendered = [];
  w.benchArrived = [];
  const socket = new WebSocket(`ws://${location.host}/api/v1/live`);
  socket.onmessage = (m) => {
    const now = Date.now();
    const e = JSON.parse(m.data);
    if (e.type !== "result") return;
    const produced = Date.parse(e.result.started_at) + e.result.duration * 1000;
    w.benchArrived.push(now - produced);
  };
  new MutationObserver((mutations) => {
    const now = Date.now();
    for (const m of mutations) {
      const row = m.target;
      if (m.attributeName === "data-result" && row.dataset.produced) {
        w.benchRendered.push(now - Number(row.dataset.produced));
      }
    }
  }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ["data-result"] });
});
await page.waitForTimeout(liveSeconds * 1000);
const { rendered, arrived } = await page.evaluate(() => ({ rendered: window.benchRendered, arrived: window.benchArrived }));
await api("/api/v1/checks/bench-live", { token, method: "DELETE" });
console.log(`live: ${rendered.length} rows rendered, ${arrived.length} events arrived`);

// 2. Page load with AGENTS agents and 10 check targets each.
const started = Date.now();
const now = new Date();
const { token: enrollment } = await api("/api/v1/enrollment-tokens", {
  token,
  method: "POST",
  body: { expires_in: "1h", uses: AGENTS },
});
for (let i = 0; i < AGENTS; i += 25) {
  await Promise.all(
    Array.from({ length: Math.min(25, AGENTS - i) }, async (_, k) => {
      const n = i + k;
      const name = `bench-${String(n).padStart(5, "0")}`;
      const enrolled = await api("/api/v1/agents/enroll", {
        method: "POST",
        body: {
          token: enrollment,
          name,
          agent: { hostname: `bench-${n}`, os: "linux", arch: "x86_64", version: "0.1.0", addresses: [] },
        },
      });
      const results = Array.from({ length: PER_AGENT }, (_, c) => ({
        id: crypto.randomUUID(),
        agent: name,
        check: `bench-check-${c}`,
        target: `192.0.2.${c + 1}:443`,
        plugin: "tcp",
        plugin_version: "0.1.0",
        status: (n + c) % 17 === 0 ? "timeout" : "ok",
        started_at: new Date(now.getTime() - 1000).toISOString(),
        duration: 0.01,
        samples: [{ metric: "connect_time", unit: "seconds", value: 0.001 + (c % 5) / 1000 }],
      }));
      await api("/api/v1/ingest", {
        token: enrolled.credential,
        method: "POST",
        body: { batch_id: crypto.randomUUID(), results },
      });
    }),
  );
}
const seeded = (Date.now() - started) / 1000;
const targets = (await api("/api/v1/results/latest", { token })).length;

// The live page would go on drawing results beside the rounds: close it.
const cookies = await page.context().cookies();
await page.close();
const loads = [];
const fetches = [];
for (let round = 0; round < 5; round++) {
  // The peer: the same data fetched by a same-origin document without the
  // app (the server's readiness text), so no page work competes with it.
  const bare = await browser.newPage();
  await bare.context().addCookies(cookies);
  await bare.goto(`${url}/readyz`);
  fetches.push(
    await bare.evaluate(async () => {
      const t0 = performance.now();
      await Promise.all([
        (async () => {
          // Every page of agents, as the overview reads them.
          let cursor = "";
          do {
            const page = await fetch(`/api/v1/agents?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`).then((r) => r.json());
            cursor = page.next_cursor ?? "";
          } while (cursor);
        })(),
        fetch("/api/v1/results/latest").then((r) => r.json()),
      ]);
      return performance.now() - t0;
    }),
  );
  await bare.close();

  const fresh = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await fresh.context().addCookies(cookies);
  await fresh.goto(url);
  await fresh.waitForFunction(
    (want) => Number(document.querySelector("[data-testid=checks-ok]")?.textContent ?? 0) +
      Number(document.querySelector("[data-testid=checks-failing]")?.textContent ?? 0) >= want,
    targets,
    { polling: "raf", timeout: 120_000 },
  );
  loads.push(await fresh.evaluate(() => performance.now()));
  await fresh.close();
}
await browser.close();

const report = {
  live: {
    results: rendered.length,
    rendered_p50_ms: quantile(rendered, 0.5),
    rendered_p95_ms: quantile(rendered, 0.95),
    arrived_p50_ms: quantile(arrived, 0.5),
    arrived_p95_ms: quantile(arrived, 0.95),
  },
  load: {
    agents: AGENTS,
    check_targets: targets,
    seeded_seconds: seeded,
    page_median_ms: quantile(loads, 0.5),
    api_fetch_median_ms: quantile(fetches, 0.5),
  },
};
console.log(JSON.stringify(report, null, 2));
// For `cargo xtask bench dashboard`, which records the figures.
if (process.env.VANTAGE_BENCH_REPORT) {
  writeFileSync(process.env.VANTAGE_BENCH_REPORT, JSON.stringify(report));
}
console.log(
  `live: result → row p50 ${ms(report.live.rendered_p50_ms)}, p95 ${ms(report.live.rendered_p95_ms)} over ${rendered.length} results; ` +
    `→ WebSocket p95 ${ms(report.live.arrived_p95_ms)} (rendering adds ${ms(report.live.rendered_p95_ms - report.live.arrived_p95_ms)} at p95)`,
);
console.log(
  `load: ${AGENTS} agents, ${targets} check targets: overview usable in ${ms(report.load.page_median_ms)} (median of 5); ` +
    `the same data from the API alone ${ms(report.load.api_fetch_median_ms)} (× ${(report.load.page_median_ms / report.load.api_fetch_median_ms).toFixed(1)})`,
);
