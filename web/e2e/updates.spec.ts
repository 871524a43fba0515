// The updates page against the demo: the agents counted by version, a
// release signed with the demo's root (the development key) and published
// through the API, a rollout started from the page, and its halt, with the
// canary's reason: the archive holds no agent, so the canary refuses it and
// nothing else is asked.

import { createPrivateKey, createHash, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { expect, request, test } from "@playwright/test";

const password = process.env.VANTAGE_PASSWORD ?? "";
const baseURL = process.env.VANTAGE_URL ?? "http://127.0.0.1:8080";
const plugins = process.env.VANTAGE_PLUGIN_DIR ?? "../target/plugins";
const shots = `${process.env.VANTAGE_E2E_OUT ?? "../target/e2e"}/screenshots`;

/** The manifest of `archive` as `version`, signed with the development root. */
function signedRelease(archive: Buffer, version: string, seq: number) {
  const key = JSON.parse(readFileSync(`${plugins}/dev.key`, "utf8"));
  // PKCS#8 for a raw ed25519 seed.
  const der = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), Buffer.from(key.key, "base64")]);
  const secret = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  const arch = process.arch === "arm64" ? "aarch64" : "x86_64";
  const now = new Date();
  const body = JSON.stringify({
    product: "vantage-agent",
    version,
    platform: `${arch}-unknown-linux-gnu`,
    sha256: createHash("sha256").update(archive).digest("hex"),
    size: archive.length,
    seq,
    issued_at: now.toISOString(),
    expires_at: new Date(now.getTime() + 86_400_000).toISOString(),
  });
  const signature = sign(null, Buffer.from(`vantage-agent-release-v1\n${body}`), secret).toString("base64");
  return { body, signatures: [{ key_id: key.key_id, signature }] };
}

test("the updates page counts versions, starts a rollout and shows why it halted", async ({ page }) => {
  // Publish a release through the API, as `vantage release publish` does.
  const api = await request.newContext({ baseURL });
  const login = await api.post("/api/v1/auth/login", { data: { username: "admin", password } });
  expect(login.ok()).toBe(true);
  const headers = { Authorization: `Bearer ${(await login.json()).token}` };
  const archive = gzipSync(Buffer.from("not a tar archive"));
  const sha256 = createHash("sha256").update(archive).digest("hex");
  const uploaded = await api.put(`/api/v1/releases/blobs/${sha256}`, {
    headers: { ...headers, "Content-Type": "application/octet-stream" },
    data: archive,
  });
  expect(uploaded.status()).toBe(201);
  const published = await api.post("/api/v1/releases", { headers, data: signedRelease(archive, "9.9.9", 1) });
  expect(published.status(), await published.text()).toBe(201);

  await page.goto("/");
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("navigation", { name: "Main navigation" }).getByRole("link", { name: "Updates", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Agent updates" })).toBeVisible();
  // Both demo agents run the version the tests built.
  await expect(page.getByTestId("version-0.1.0")).toContainText("2");
  await expect(page.getByTestId("release-9.9.9")).toContainText("unknown-linux-gnu");

  const form = page.getByRole("form", { name: "Start a rollout" });
  await form.getByLabel("Version", { exact: true }).selectOption("9.9.9");
  await form.getByLabel("Waves", { exact: true }).fill("canary=1,100%");
  await form.getByLabel("Wait between waves").fill("0s");
  await form.getByRole("button", { name: "Start" }).click();

  const rollout = page.getByTestId("rollout-9.9.9");
  await expect(rollout.getByTestId("rollout-state")).toHaveText("halted", { timeout: 60_000 });
  await expect(rollout.getByTestId("rollout-reason")).toContainText("1 of 1 agents asked failed");
  const canary = rollout.getByTestId("rollout-agent-demo-agent");
  await expect(canary.getByTestId("rollout-step")).toHaveText("refused");
  await expect(canary).toContainText(/archive/);
  await expect(rollout.getByTestId("rollout-agent-demo-agent-2")).toHaveCount(0);
  await page.screenshot({ path: `${shots}/updates.png`, fullPage: true });

  // A second rollout of an unpublished version is refused with the reason.
  await form.getByLabel("Version", { exact: true }).selectOption("9.9.9");
  await api.post("/api/v1/releases/9.9.9/yank", { headers });
  await form.getByRole("button", { name: "Start" }).click();
  await expect(form.getByRole("alert")).toContainText("no release of 9.9.9 is published");
  await api.dispose();
});
