/**
 * A signed-in console page for the browser tests: credentials given the way a person types them
 * after the Basic challenge, one viewport, and every page error or console warning collected so a
 * test can assert the page ran clean (a CSP violation shows up here too).
 */
import type { Browser, BrowserContext, Page } from "playwright-core";

export interface ConsolePage {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Page errors and console errors/warnings seen so far. */
  readonly problems: string[];
}

export async function openConsolePage(
  browser: Browser,
  credential: { readonly username: string; readonly password: string },
  timeoutMs: number,
): Promise<ConsolePage> {
  const context = await browser.newContext({
    httpCredentials: credential,
    viewport: { width: 1280, height: 900 },
  });
  context.setDefaultTimeout(timeoutMs);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error" || msg.type() === "warning") problems.push(`console: ${msg.text()}`);
  });
  return { context, page, problems };
}
