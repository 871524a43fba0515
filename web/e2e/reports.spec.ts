// Reports in the dashboard against the real server and agents: an SLA
// saved over the API is picked, its report lists the demo's check
// targets, and its download links give a CSV and a PDF the server made.

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
async function put(page: Page, path: string, body: unknown): Promise<number> {
  return page.evaluate(
    async ({ path, body }) => {
      const session = await (await fetch("/api/v1/auth/session")).json();
      const headers = { "X-CSRF-Token": session.csrf_token, "Content-Type": "application/json" };
      return (await fetch(path, { method: "PUT", headers, body: JSON.stringify(body) })).status;
    },
    { path, body },
  );
}

test("an SLA's report lists the check targets and downloads as CSV and PDF", async ({ page }) => {
  await logIn(page);
  await expect(page.getByTestId("result-tcp-banner@demo-agent")).toContainText("ok", { timeout: 90_000 });
  const sla = { name: "e2e-demo", objective: 99.5, period: "month", select: { check: "tcp-*" } };
  expect(await put(page, "/api/v1/slas/e2e-demo", sla)).toBe(201);

  await page.getByRole("navigation", { name: "Main navigation" }).getByRole("link", { name: "Reports" }).click();
  await expect(page.getByRole("heading", { name: "Reports" })).toBeVisible();
  await page.getByLabel("SLA").selectOption("e2e-demo");
  // A month SLA gets the browser's month picker, whose value is the server's label.
  await expect(page.getByLabel("Period")).toHaveAttribute("type", "month");
  await page.getByRole("button", { name: "Show" }).click();
  const report = page.getByTestId("report");
  await expect(report).toContainText("e2e-demo — ");
  await expect(page.getByRole("table", { name: "Check targets" })).toContainText("tcp-banner");
  await page.screenshot({ path: `${shots}/reports.png`, fullPage: true });

  const csvLink = await page.getByRole("link", { name: "CSV" }).getAttribute("href");
  const csv = await page.request.get(csvLink!);
  expect(csv.status()).toBe(200);
  expect(await csv.text()).toContain("# targets\ncheck,target,agents,");
  const pdfLink = await page.getByRole("link", { name: "PDF" }).getAttribute("href");
  const pdf = await page.request.get(pdfLink!);
  expect(pdf.status()).toBe(200);
  expect(pdf.headers()["content-type"]).toBe("application/pdf");
  expect((await pdf.body()).subarray(0, 5).toString()).toBe("%PDF-");

  // A period of the wrong kind is refused with the field named.
  await page.getByLabel("Period").evaluate((input: HTMLInputElement) => {
    input.type = "text";
  });
  await page.getByLabel("Period").fill("2026-W45");
  await page.getByRole("button", { name: "Show" }).click();
  await expect(page.getByRole("alert")).toContainText("period");
});
