// The dashboard against a real server with a real agent (`cargo xtask test`
// starts them, as `cargo xtask demo` does): log in, see the agent online,
// watch a check's chart grow live, and the session's guards.

import { expect, type Page, test } from "@playwright/test";

const password = process.env.VANTAGE_PASSWORD ?? "";
const shots = `${process.env.VANTAGE_E2E_OUT ?? "../target/e2e"}/screenshots`;

/** A link of the main navigation bar. */
function nav(page: Page, name: string) {
  return page.getByRole("navigation", { name: "Main navigation" }).getByRole("link", { name, exact: true });
}

async function logIn(page: Page) {
  await page.goto("/");
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
}

test("a wrong password is refused with a reason, and nothing else opens", async ({ page }) => {
  await page.goto("/");
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert")).toContainText("Wrong username or password");
  await expect(page.getByRole("heading", { name: "Overview" })).toHaveCount(0);
  // The API refuses a page without a session, too.
  const answer = await page.request.get("/api/v1/agents");
  expect(answer.status()).toBe(401);
  expect(answer.headers()["content-type"]).toContain("application/problem+json");
});

test("log in, see the agent come online and the checks report", async ({ page }) => {
  await logIn(page);
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === "vantage_session");
  expect(session?.httpOnly).toBe(true);
  expect(session?.sameSite).toBe("Strict");
  expect(await page.evaluate(() => document.cookie)).not.toContain("vantage_session");

  await expect(page.getByTestId("live-state")).toHaveAttribute("data-state", "open");
  const agent = page.getByTestId("agent-demo-agent");
  await expect(agent.getByTestId("agent-status")).toHaveText("online", { timeout: 90_000 });
  await expect(page.getByTestId("result-tcp-banner@demo-agent")).toContainText("ok", { timeout: 90_000 });
  await expect(page.getByTestId("agent-demo-agent-2").getByTestId("agent-status")).toHaveText("online");
  await expect(page.getByTestId("agents-online")).toHaveText("2");
  await page.screenshot({ path: `${shots}/overview.png`, fullPage: true });

  await agent.getByRole("link", { name: "demo-agent" }).click();
  await expect(page.getByRole("heading", { name: /demo-agent/ })).toBeVisible();
  await expect(page.getByTestId("agent-status")).toHaveText("online");
  await expect(page.getByTestId("result-udp-echo@demo-agent")).toBeVisible();
  // Its own machine, from the demo's system check.
  await expect(page.getByTestId("system-cpu")).toContainText("%", { timeout: 60_000 });
  await expect(page.getByTestId("system-memory")).toContainText("iB of");
  // The latest run in detail: cores, interfaces and a sortable process table.
  await expect(page.getByTestId("core-0")).toBeVisible();
  await expect(page.getByTestId("interface-lo")).toBeVisible();
  const processes = page.getByTestId("processes");
  await expect(processes.getByTestId("process").first()).toBeVisible();
  await processes.getByRole("button", { name: "Memory" }).click();
  await expect(processes.locator("th[aria-sort=descending]")).toHaveText("Memory");
  const memory = await processes
    .getByTestId("process-memory")
    .evaluateAll((cells) => cells.map((c) => Number(c.getAttribute("data-value"))));
  expect(memory.length).toBeGreaterThan(0);
  expect(memory).toEqual([...memory].sort((a, b) => b - a));
  await processes.getByRole("button", { name: "Memory" }).click();
  await expect(processes.locator("th[aria-sort=ascending]")).toHaveText("Memory");
  await page.screenshot({ path: `${shots}/agent.png`, fullPage: true });
});

test("any metric of a check charts in its own unit, one line per label set", async ({ page }) => {
  await logIn(page);
  const row = page.getByTestId("result-this-host@demo-agent");
  await expect(row).toContainText("ok", { timeout: 90_000 });
  // The demo scrapes its own server's /metrics with the prometheus plugin.
  await expect(page.getByTestId("result-server-metrics@demo-agent")).toContainText("ok", { timeout: 60_000 });
  await row.getByRole("link", { name: "this-host" }).click();
  await expect(page.getByRole("heading", { name: /this-host/ })).toBeVisible();
  const pick = page.getByRole("combobox", { name: "Metric to chart" });
  await pick.selectOption("memory_used");
  const chart = page.getByTestId("metric-chart");
  await expect(chart).toHaveAttribute("data-unit", "bytes");
  await expect(chart).toHaveAttribute("data-lines", "1");
  await expect(chart.locator("canvas")).toBeVisible();
  // The total and each core.
  await pick.selectOption("cpu_usage");
  await expect(chart).toHaveAttribute("data-unit", "ratio");
  // The unit is known at once, the lines once the series are read.
  await expect.poll(async () => Number(await chart.getAttribute("data-lines"))).toBeGreaterThanOrEqual(2);
  await expect(chart).toContainText("core=0");
});

test("the demo web server's redirects are searchable events, on the Events page and the check's page", async ({ page }) => {
  await logIn(page);
  // demo-agent reads the access log; a line is read the run after it is written.
  const row = page.getByTestId("result-web-access-log@demo-agent");
  await expect(row).toContainText("ok", { timeout: 90_000 });
  await nav(page, "Events").click();
  await expect(page.getByRole("heading", { name: "Events" })).toBeVisible();
  const events = page.getByRole("table", { name: "Events" });
  await expect(async () => {
    await page.getByRole("button", { name: "Search" }).click();
    await expect(events.getByRole("row").filter({ hasText: "GET /old" }).first()).toBeVisible({ timeout: 2_000 });
  }).toPass({ timeout: 60_000 });
  await page.getByLabel("Text contains").fill("GET / HTTP");
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(/q=GET/);
  // The 200s match no pattern, so no event holds one.
  await expect(page.getByText("No events match.")).toBeVisible();
  await page.getByLabel("Text contains").fill("/OLD");
  await page.getByRole("button", { name: "Search" }).click();
  const found = events.getByRole("row").filter({ hasText: "GET /old" });
  await expect(found.first()).toContainText("redirect");
  await expect(found.first()).toContainText("demo-agent");
  await expect(events.getByRole("row").filter({ hasText: "demo-agent-2" })).toHaveCount(0);
  await page.screenshot({ path: `${shots}/events.png`, fullPage: true });

  await nav(page, "Overview").click();
  await page.getByTestId("result-web-access-log@demo-agent").getByRole("link", { name: "web-access-log" }).click();
  const recent = page.getByRole("region", { name: "Recent events" });
  await expect(recent).toContainText("GET /old");
});

test("the server page reads the server's own metrics and shows rates from the second reading", async ({ page }) => {
  await logIn(page);
  await page.getByRole("link", { name: "Server", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Server" })).toBeVisible();
  await expect(page.getByTestId("server-rss")).toContainText("iB");
  // Rates need two readings, 5 s apart.
  await expect(page.getByTestId("server-results-rate")).toHaveText(/^\d+\.\d$/, { timeout: 20_000 });
  await expect(page.getByTestId("server-process")).toContainText("%");
  await page.screenshot({ path: `${shots}/server.png`, fullPage: true });
});

test("a check's smoke chart grows live, without reloading", async ({ page }) => {
  await logIn(page);
  await expect(page.getByTestId("result-tcp-banner@demo-agent")).toContainText("ok", { timeout: 90_000 });
  await page.getByTestId("result-tcp-banner@demo-agent").getByRole("link", { name: "tcp-banner" }).click();
  await expect(page.getByRole("heading", { name: /tcp-banner/ })).toBeVisible();
  await page.getByRole("button", { name: "5 min" }).click();
  await expect(page.getByRole("button", { name: "5 min" })).toHaveAttribute("aria-pressed", "true");
  const chart = page.getByTestId("smoke-chart");
  await expect(chart).toBeVisible();
  await expect(chart.locator("canvas")).toBeVisible();
  // A marker that a reload would wipe.
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1));
  const before = Number(await chart.getAttribute("data-buckets"));
  // The check runs every 5 s: its next result reaches the chart over the socket.
  await expect.poll(async () => Number(await chart.getAttribute("data-buckets")), { timeout: 30_000 }).toBeGreaterThan(before);
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1);
  await expect(page.getByTestId("availability")).toContainText("%");
  await page.screenshot({ path: `${shots}/check.png`, fullPage: true });

  // Every range is served, the longer ones from the server's rollups.
  for (const range of ["1 hour", "24 hours", "30 days"]) {
    await page.getByRole("button", { name: range }).click();
    await expect(page.getByTestId("resolution")).toBeVisible();
    await expect(page.getByRole("alert")).toHaveCount(0);
  }
});

test("a ping's echo replies are one distribution per run, charted with the server's quantiles", async ({ page }) => {
  await logIn(page);
  const row = page.getByTestId("result-loopback-ping@demo-agent");
  await expect(row).toContainText("ok", { timeout: 90_000 });
  await row.getByRole("link", { name: "loopback-ping" }).click();
  await page.getByRole("button", { name: "5 min" }).click();
  const chart = page.getByTestId("smoke-chart");
  // Ten echoes a run, one series: each run is one bucket of the chart.
  await expect.poll(async () => Number(await chart.getAttribute("data-buckets")), { timeout: 30_000 }).toBeGreaterThan(0);
  await expect(page.getByTestId("last-median")).toContainText("ms");
  await expect(page.getByTestId("resolution")).toContainText("one per run");
  await page.getByRole("button", { name: "24 hours" }).click();
  await expect(page.getByTestId("resolution")).toContainText("15 min buckets");
  await expect(page.getByRole("alert")).toHaveCount(0);
});

test("changes need the session's CSRF token, and an ended session lands on the login page", async ({ page }) => {
  await logIn(page);
  // Without the header, the cookie alone may not change anything.
  const forged = await page.evaluate(async () => (await fetch("/api/v1/auth/session", { method: "DELETE" })).status);
  expect(forged).toBe(403);
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();

  // The session ends elsewhere (as on expiry): the next read sends the page to the login form.
  const ended = await page.evaluate(async () => {
    const session = await (await fetch("/api/v1/auth/session")).json();
    return (await fetch("/api/v1/auth/session", { method: "DELETE", headers: { "X-CSRF-Token": session.csrf_token } }))
      .status;
  });
  expect(ended).toBe(204);
  // The page notices at its next read, or at once when the live stream
  // closes for the ended session: then there is no link left to click.
  await nav(page, "Plugins")
    .click({ timeout: 5_000 })
    .catch(() => undefined);
  await expect(page.getByLabel("Password")).toBeVisible();
  await page.screenshot({ path: `${shots}/login.png` });
});

test("logging out ends the session", async ({ page }) => {
  await logIn(page);
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page.getByLabel("Password")).toBeVisible();
  await page.reload();
  await expect(page.getByLabel("Password")).toBeVisible();
  expect((await page.request.get("/api/v1/auth/session")).status()).toBe(401);
});

test("install a plugin from the plugin manager onto a group, see its results and its path", async ({ page }) => {
  await logIn(page);
  // Put the agent into a group from its page.
  await page.getByTestId("agent-demo-agent").getByRole("link", { name: "demo-agent" }).click();
  await page.getByLabel("Groups (comma-separated)").fill("e2e-edge");
  await page.getByRole("button", { name: "Save groups" }).click();
  await expect(page.getByRole("status")).toContainText("Saved");

  await nav(page, "Plugins").click();
  await page.getByTestId("plugin-traceroute").getByRole("link", { name: "traceroute" }).click();
  const version = page.locator("[data-testid^=version-]").first();
  await expect(version).toContainText("(root)");
  await expect(version).toContainText("icmp");

  // A bad configuration is refused with the schema's reason, nothing saved.
  await page.getByLabel("Check name").fill("e2e-path");
  await page.getByLabel("Interval").fill("5s");
  await page.getByLabel("Agent group (empty: every agent)").fill("e2e-edge");
  await page.getByLabel("Targets (one per line)").fill("127.0.0.1");
  await page.getByLabel("Configuration (JSON, checked against the plugin's schema)").fill('{"max_hops": 0}');
  await page.getByRole("button", { name: "Install" }).click();
  await expect(page.getByTestId("notice")).toContainText("Not saved");
  await expect(page.getByTestId("check-e2e-path")).toHaveCount(0);

  await page.getByLabel("Configuration (JSON, checked against the plugin's schema)").fill('{"max_hops": 4, "queries": 1}');
  await page.getByRole("button", { name: "Install" }).click();
  await expect(page.getByTestId("notice")).toContainText("e2e-path installed");
  await expect(page.getByTestId("check-e2e-path")).toContainText("groups e2e-edge");
  await page.screenshot({ path: `${shots}/plugin-manager.png`, fullPage: true });

  // The agent runs it within seconds; its result appears on the overview live.
  await nav(page, "Overview").click();
  const row = page.getByTestId("result-e2e-path@demo-agent");
  await expect(row).toContainText("ok", { timeout: 60_000 });
  await row.getByRole("link", { name: "e2e-path" }).click();
  await expect(page.getByTestId("hops")).toBeVisible();
  await expect(page.getByTestId("hop-1")).toContainText("127.0.0.1");
  await expect(page.getByTestId("path-timeline")).toContainText("127.0.0.1");
  await page.screenshot({ path: `${shots}/path.png`, fullPage: true });
});

test("a viewer sees no admin actions, and the API refuses them anyway", async ({ page, browser }) => {
  await logIn(page);
  await nav(page, "Enrollment & users").click();
  await page.getByRole("button", { name: "Create an enrollment token" }).click();
  await expect(page.getByLabel("Install command")).toHaveValue(/vantage-agent enroll --server http.* --token ve_/);
  await page.getByLabel("Username").fill("watcher");
  await page.getByLabel("Password").fill("a-long-enough-password");
  await page.getByRole("button", { name: "Add user" }).click();
  await expect(page.getByTestId("user-watcher")).toContainText("viewer");
  await page.getByLabel("Token name").fill("e2e-ci");
  await page.getByRole("button", { name: "Create a token" }).click();
  await expect(page.getByLabel("API token", { exact: true })).toHaveValue(/^vt_/);
  const token = page.getByTestId("token-e2e-ci");
  await expect(token).toContainText("active");
  await token.getByRole("button", { name: "Revoke" }).click();
  await expect(token).toContainText("revoked");
  await page.screenshot({ path: `${shots}/admin.png`, fullPage: true });

  const viewer = await (await browser.newContext()).newPage();
  await viewer.goto("/");
  await viewer.getByLabel("Username").fill("watcher");
  await viewer.getByLabel("Password").fill("a-long-enough-password");
  await viewer.getByRole("button", { name: "Log in" }).click();
  await expect(viewer.getByRole("heading", { name: "Overview" })).toBeVisible();
  await expect(nav(viewer, "Enrollment & users")).toHaveCount(0);
  await expect(nav(viewer, "Audit")).toHaveCount(0);
  await nav(viewer, "Plugins").click();
  await viewer.getByTestId("plugin-tcp").getByRole("link", { name: "tcp" }).click();
  await expect(viewer.locator("[data-testid^=version-]").first()).toBeVisible();
  await expect(viewer.getByRole("button", { name: /Yank|Install|Pin|Upgrade/ })).toHaveCount(0);
  await nav(viewer, "Overview").click();
  await viewer.getByTestId("agent-demo-agent").getByRole("link", { name: "demo-agent" }).click();
  await expect(viewer.getByRole("button", { name: "Save groups" })).toHaveCount(0);
  await expect(viewer.getByTestId("config-status")).toContainText("Configuration applied");
  await expect(viewer.getByTestId("trust-metadata")).toContainText("No registry statement yet");

  // With the CSRF token in hand, the API still refuses a viewer's change.
  const status = await viewer.evaluate(async () => {
    const session = await (await fetch("/api/v1/auth/session")).json();
    const answer = await fetch("/api/v1/enrollment-tokens", {
      method: "POST",
      headers: { "X-CSRF-Token": session.csrf_token, "Content-Type": "application/json" },
      body: "{}",
    });
    return answer.status;
  });
  expect(status).toBe(403);
});

test("the audit log shows who changed what and from where, without the password", async ({ page }) => {
  await logIn(page);
  await nav(page, "Enrollment & users").click();
  await page.getByLabel("Username").fill("auditee");
  await page.getByLabel("Password").fill("auditee-long-password");
  await page.getByRole("button", { name: "Add user" }).click();
  await expect(page.getByTestId("user-auditee")).toBeVisible();
  await nav(page, "Audit").click();
  await expect(page.getByRole("heading", { name: "Audit log" })).toBeVisible();
  await page.getByLabel("Target starts with").fill("/api/v1/users");
  await page.getByRole("button", { name: "Filter" }).click();
  const row = page.getByRole("table", { name: "Audit log" }).getByRole("row").filter({ hasText: "POST" }).first();
  await expect(row).toContainText("admin");
  await expect(row).toContainText("/api/v1/users");
  await expect(row).toContainText("201");
  await expect(row).toContainText("127.0.0.1");
  await row.getByText("Show").click();
  await expect(row).toContainText('"username": "auditee"');
  await expect(row).toContainText('"password": "[redacted]"');
  await expect(page.getByText("auditee-long-password")).toHaveCount(0);
  await page.screenshot({ path: `${shots}/audit.png`, fullPage: true });
});

test("a user ends a session elsewhere and changes their password; an admin deletes them", async ({ page, browser }) => {
  await logIn(page);
  await nav(page, "Enrollment & users").click();
  await page.getByLabel("Username").fill("mover");
  await page.getByLabel("Password").fill("mover-first-password");
  await page.getByRole("button", { name: "Add user" }).click();
  await expect(page.getByTestId("user-mover")).toBeVisible();

  const logInAs = async (password: string) => {
    const p = await (await browser.newContext()).newPage();
    await p.goto("/");
    await p.getByLabel("Username").fill("mover");
    await p.getByLabel("Password").fill(password);
    await p.getByRole("button", { name: "Log in" }).click();
    await expect(p.getByRole("heading", { name: "Overview" })).toBeVisible();
    return p;
  };
  const laptop = await logInAs("mover-first-password");
  const phone = await logInAs("mover-first-password");
  await laptop.getByTitle("Your account").click();
  await expect(laptop.getByRole("heading", { name: "Your account" })).toBeVisible();
  const rows = laptop.getByRole("table", { name: "Sessions" }).locator("tbody tr");
  await expect(rows).toHaveCount(2);
  await expect(laptop.getByTestId("session-current")).toContainText("this one");
  await rows.filter({ hasNotText: "this one" }).getByRole("button", { name: "End" }).click();
  await expect(rows).toHaveCount(1);
  await laptop.screenshot({ path: `${shots}/account.png`, fullPage: true });
  await phone.reload();
  await expect(phone.getByRole("button", { name: "Log in" })).toBeVisible();

  await laptop.getByLabel("Current password").fill("mover-first-password");
  await laptop.getByLabel("New password").fill("mover-second-password");
  await laptop.getByRole("button", { name: "Change password" }).click();
  await expect(laptop.getByRole("button", { name: "Log in" })).toBeVisible();
  await logInAs("mover-second-password");

  const row = page.getByTestId("user-mover");
  await row.getByRole("button", { name: "Delete", exact: true }).click();
  await row.getByRole("button", { name: "Delete mover" }).click();
  await expect(page.getByTestId("user-mover")).toHaveCount(0);
  await expect(page.getByRole("status")).toContainText("mover is deleted");
});

test("the mesh matrix shows every pair of agents, and a cell leads to its check", async ({ page }) => {
  await logIn(page);
  // Both agents (on 127.0.0.1 and 127.0.0.2) into one group, and a ping mesh over it.
  const saved = await page.evaluate(async () => {
    const session = await (await fetch("/api/v1/auth/session")).json();
    const headers = { "X-CSRF-Token": session.csrf_token, "Content-Type": "application/json" };
    const agents = (await (await fetch("/api/v1/agents")).json()).items as { id: string; name: string; groups: string[] }[];
    const statuses = [];
    for (const a of agents) {
      const groups = [...new Set([...a.groups, "e2e-mesh"])];
      statuses.push((await fetch(`/api/v1/agents/${a.id}`, { method: "PATCH", headers, body: JSON.stringify({ groups }) })).status);
    }
    const check = {
      name: "e2e-mesh",
      plugin: "ping",
      mesh: { group: "e2e-mesh" },
      interval: "5s",
      config: { count: 3 },
      grants: ["icmp"],
      // The demo's agents share this host: peers at loopback are probed
      // only when the check lists it.
      allow: ["127.0.0.0/8"],
    };
    statuses.push((await fetch("/api/v1/checks/e2e-mesh", { method: "PUT", headers, body: JSON.stringify(check) })).status);
    return statuses;
  });
  expect(saved).toEqual([200, 200, 201]);

  await nav(page, "Mesh").click();
  await page.getByRole("link", { name: "e2e-mesh" }).click();
  const matrix = page.getByTestId("mesh-matrix");
  await expect(matrix).toBeVisible();
  for (const [from, to] of [
    ["demo-agent", "demo-agent-2"],
    ["demo-agent-2", "demo-agent"],
  ]) {
    await expect(page.getByTestId(`cell-${from}-${to}`)).toHaveAttribute("data-tone", /good|fair|slow/, {
      timeout: 60_000,
    });
  }
  await expect(page.getByTestId("cell-demo-agent-demo-agent")).toHaveAttribute("data-tone", "self");
  await page.screenshot({ path: `${shots}/mesh.png`, fullPage: true });

  await page.getByTestId("cell-demo-agent-demo-agent-2").getByRole("button").click();
  await expect(page.getByRole("heading", { name: /e2e-mesh/ })).toContainText("127.0.0.2");
  await expect(page.getByTestId("smoke-chart")).toBeVisible();
});
