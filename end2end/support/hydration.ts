import { Page, expect } from "@playwright/test";

/** Waits until the wasm bundle has hydrated the page (the app marks <body>). */
export async function waitForHydration(page: Page) {
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true", { timeout: 30_000 });
}

/** Plants a marker in `window`; a full page load would erase it. */
export async function markWindow(page: Page) {
  await page.evaluate(() => ((window as unknown as { __rosterMarker: number }).__rosterMarker = 42));
}

export async function windowMarker(page: Page): Promise<number | undefined> {
  return page.evaluate(() => (window as unknown as { __rosterMarker?: number }).__rosterMarker);
}
