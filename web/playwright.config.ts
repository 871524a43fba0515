import { defineConfig } from "@playwright/test";

// Run by `cargo xtask test` (or `cargo xtask demo` + `npm run e2e` with
// VANTAGE_URL and VANTAGE_PASSWORD set) against a real server and agent,
// in Debian's Chromium: no browser is downloaded.
const out = process.env.VANTAGE_E2E_OUT ?? "../target/e2e";

export default defineConfig({
  testDir: "e2e",
  outputDir: `${out}/results`,
  timeout: 120_000,
  expect: { timeout: 30_000 },
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL: process.env.VANTAGE_URL ?? "http://127.0.0.1:8080",
    browserName: "chromium",
    launchOptions: { executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox"] },
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
  },
});
