// Alerts in the dashboard against the real server and agents: a rule that
// fires rings the header's bell live, its alert is listed and silenced in
// one click, its steps are in the history, and a rule is made and edited
// in the form, each bad field named under its input.

import { expect, type Page, test } from "@playwright/test";

const password = process.env.VANTAGE_PASSWORD ?? "";
const shots = `${process.env.VANTAGE_E2E_OUT ?? "../target/e2e"}/screenshots`;

async function logIn(page: Page) {
  await page.goto("/");
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
}

/** A change through the session, as the dashboard sends it. */
async function send(page: Page, method: string, path: string, body?: unknown): Promise<number> {
  return page.evaluate(
    async ({ method, path, body }) => {
      const session = await (await fetch("/api/v1/auth/session")).json();
      const headers: Record<string, string> = { "X-CSRF-Token": session.csrf_token };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      const answer = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      return answer.status;
    },
    { method, path, body },
  );
}

test("a rule that fires rings the bell live, and its alert is silenced in one click", async ({ page }) => {
  await logIn(page);
  await expect(page.getByTestId("live-state")).toHaveAttribute("data-state", "open");
  await expect(page.getByTestId("result-tcp-banner@demo-agent")).toContainText("ok", { timeout: 90_000 });
  const bell = page.getByTestId("alert-bell");
  await expect(bell).toHaveAttribute("data-firing", "0");

  // Every run of tcp-banner breaks this rule (check_up is never below 0).
  const rule = {
    name: "e2e-always",
    select: { check: "tcp-banner" },
    condition: { kind: "threshold", metric: "check_up", op: ">=", value: 0 },
  };
  expect(await send(page, "PUT", "/api/v1/alerts/rules/e2e-always", rule)).toBe(201);
  // The next run (every 5 s) fires it; the bell counts it without a reload.
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1));
  await expect.poll(async () => Number(await bell.getAttribute("data-firing")), { timeout: 30_000 }).toBeGreaterThan(0);
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1);

  await page.getByRole("navigation", { name: "Main navigation" }).getByRole("link", { name: "Alerts", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Alerts", exact: true })).toBeVisible();
  const alert = page.getByRole("table", { name: "Raised alerts" }).getByTestId("alert-e2e-always").first();
  await expect(alert).toContainText("firing");
  await expect(alert).toContainText("tcp-banner → 127.0.0.1:");
  await expect(page.getByRole("table", { name: "Alert history" })).toContainText("e2e-always");
  await page.screenshot({ path: `${shots}/alerts.png`, fullPage: true });

  // Silenced from the alert: the silence names it exactly.
  await alert.getByRole("button", { name: "Silence 1 h" }).click();
  await expect(page.getByRole("status").first()).toContainText("Silenced e2e-always");
  const silence = page.getByTestId("silence").filter({ hasText: "rule=e2e-always" });
  await expect(silence).toContainText("check=tcp-banner");
  await expect(silence).toContainText("admin");

  // A rule made in the form: a bad one is refused, each field named under
  // its input; the good one is saved, edited and deleted.
  await page.getByRole("link", { name: "Rules, channels and routes" }).click();
  await expect(page.getByTestId("rule-e2e-always")).toContainText("threshold");
  const editor = page.getByRole("form", { name: "Rule editor" });
  await editor.getByLabel("Name", { exact: true }).fill("e2e-bad");
  await editor.getByLabel("Check (name or glob)").fill("tcp-banner");
  await editor.getByLabel("Condition", { exact: true }).selectOption("threshold");
  await editor.getByLabel("Metric", { exact: true }).fill("Bad");
  await editor.getByLabel(/^Limit/).fill("eighty");
  await editor.getByRole("button", { name: "Save rule" }).click();
  await expect(editor.getByTestId("rule-value-errors")).toContainText("must be a number");
  await editor.getByLabel(/^Limit/).fill("0");
  await editor.getByLabel("Comparison").selectOption("<");
  await editor.getByLabel("For (bad at least this long)").fill("8d");
  await editor.getByRole("button", { name: "Save rule" }).click();
  await expect(editor.getByTestId("rule-metric-errors")).toContainText("condition.metric");
  await expect(editor.getByTestId("rule-hold-errors")).toContainText("at most 7 days");
  await expect(page.getByTestId("rule-e2e-bad")).toHaveCount(0);
  await editor.getByLabel("Metric", { exact: true }).fill("check_up");
  await editor.getByLabel("For (bad at least this long)").fill("1m");
  await editor.getByRole("button", { name: "Save rule" }).click();
  await expect(editor.getByRole("status")).toContainText("Saved e2e-bad (revision 1)");
  await expect(page.getByTestId("rule-e2e-bad")).toContainText("threshold");

  // Edited in the form, and seen as JSON.
  await page.getByTestId("rule-e2e-always").getByRole("button", { name: "Edit" }).click();
  await expect(editor.getByRole("heading")).toHaveText("Edit e2e-always");
  await expect(editor.getByLabel("Metric", { exact: true })).toHaveValue("check_up");
  await editor.getByLabel("Quorum: agents failing (number or share)").fill("1");
  await editor.getByRole("button", { name: "Save rule" }).click();
  // Its revision (the fourth column) went up.
  await expect(page.getByTestId("rule-e2e-always").getByRole("cell").nth(3)).toHaveText("2");
  await page.getByTestId("rule-e2e-bad").getByRole("button", { name: "Edit" }).click();
  await editor.getByRole("button", { name: "Edit as JSON" }).click();
  await expect(editor.getByLabel(/as JSON/)).toHaveValue(/"for": "1m"/);
  await editor.getByRole("button", { name: "Delete rule" }).click();
  await expect(page.getByTestId("rule-e2e-bad")).toHaveCount(0);
  await page.getByTestId("rule-e2e-always").getByRole("button", { name: "Edit" }).click();
  await editor.getByRole("button", { name: "Delete rule" }).click();
  await expect(page.getByTestId("rule-e2e-always")).toHaveCount(0);

  // A maintenance window open now is listed as open; deleted from the page.
  const window = {
    name: "e2e-window",
    match: { rule: "e2e-never" },
    schedule: "* * * * *",
    duration: "1h",
    timezone: "Europe/Paris",
    comment: "e2e maintenance",
  };
  expect(await send(page, "PUT", "/api/v1/alerts/windows/e2e-window", window)).toBe(201);

  // Its silence is ended from the alerts page.
  await page.getByRole("link", { name: "Alerts", exact: true }).first().click();
  await page.getByTestId("silence").filter({ hasText: "rule=e2e-always" }).first().getByRole("button", { name: "End now" }).click();
  await expect(page.getByTestId("silence").filter({ hasText: "rule=e2e-always" })).toHaveCount(0);
  const row = page.getByTestId("window-e2e-window");
  await expect(row).toContainText("open since");
  await expect(row).toContainText("* * * * * (Europe/Paris), 1h");
  await row.getByRole("button", { name: "Delete" }).click();
  await expect(page.getByTestId("window-e2e-window")).toHaveCount(0);
});
