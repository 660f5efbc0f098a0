// Settings → API tokens: a token is shown once with a copy button, works on
// the REST API (and only there), shows its last use, and stops when revoked.
import { test, expect } from "@playwright/test";
import { waitForHydration } from "../support/hydration";

test("an API token is created, shown once, used on the REST API, and revoked", async ({ page }) => {
  await page.goto("/");
  await waitForHydration(page);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "API tokens" }).click();
  await expect(page.getByRole("heading", { name: "API tokens", level: 1 })).toBeVisible();
  await expect(page.getByTestId("no-tokens")).toBeVisible();

  await page.getByLabel("Name").fill("e2e-reporting");
  await page.getByLabel(/Read-only/).check();
  await page.getByRole("button", { name: "Create token" }).click();
  const secret = await page.getByTestId("token-secret").inputValue();
  expect(secret).toMatch(/^roster_[A-Za-z0-9_-]{43}$/);
  await expect(page.getByRole("button", { name: "Copy the new token" })).toBeVisible();
  const row = page.getByTestId("token-row").filter({ hasText: "e2e-reporting" });
  await expect(row).toContainText("read-only");
  await expect(row).toContainText("never");
  await page.screenshot({ path: "screenshots/api-tokens.png", fullPage: true });

  // The browser's session cookie is not an API credential; the token is.
  expect((await page.request.get("/api/v1/directories")).status()).toBe(401);
  const listed = await page.request.get("/api/v1/directories", { headers: { authorization: `Bearer ${secret}` } });
  expect(listed.status()).toBe(200);
  // Read-only: writes are refused.
  const write = await page.request.post("/api/v1/directories", { headers: { authorization: `Bearer ${secret}` }, data: {} });
  expect(write.status()).toBe(403);

  // Shown once: after a reload only its prefix is left, with its last use.
  await page.reload();
  await waitForHydration(page);
  await expect(page.getByTestId("token-secret")).toHaveCount(0);
  expect(await page.content()).not.toContain(secret);
  await expect(row).toContainText(secret.slice(0, 12));
  await expect(row).toContainText("just now");

  await row.getByRole("button", { name: "Revoke token e2e-reporting" }).click();
  await expect(row).toHaveAttribute("data-revoked", "true");
  await expect(row).toContainText("Revoked");
  const after = await page.request.get("/api/v1/directories", { headers: { authorization: `Bearer ${secret}` } });
  expect(after.status()).toBe(401);
});
