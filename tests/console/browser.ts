import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";

/** Where the browser suite saves a screenshot of every page it visits (CI keeps it as an artifact). */
export const SCREENSHOTS = join(import.meta.dirname, "..", "..", "test-results", "console");

/** Debian's chromium (installed by .ci/run with apt when missing). */
export const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));

export async function launchBrowser(): Promise<Browser> {
  if (!CHROMIUM) throw new Error("chromium is not installed: apt-get install -y chromium (.ci/run does it)");
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
  });
}

/**
 * A page that records every console error and uncaught exception, and every failed API
 * answer (>= 500), so a test can assert that a console page loaded cleanly.
 */
export async function openPage(
  browser: Browser,
  base: string,
  opts: { width?: number; height?: number } = {},
) {
  const context = await browser.newContext({
    baseURL: base,
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 900 },
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`page: ${e.message}`));
  page.on("response", (r) => {
    if (r.status() >= 500) errors.push(`HTTP ${r.status()} ${r.url()}`);
  });
  return { page, context, errors };
}

/** Signs the page in as `name` (laptop mode records it as the caller) or with a token. */
export async function signIn(page: Page, session: { principal?: string; token?: string }) {
  await page.evaluate(
    `localStorage.setItem("keel.console.session", ${JSON.stringify(JSON.stringify(session))})`,
  );
}

export async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
