// SCIM push: a SCIM-only directory from Add Directory, a token shown once,
// Okta's create reaching the identity store (user page shows the source),
// the request log, and a revoked token refused.
import { test, expect } from "@playwright/test";
import { waitForHydration } from "../support/hydration";

const USER = "urn:ietf:params:scim:schemas:core:2.0:User";

test("a SCIM-only directory takes Okta's pushes and logs them", async ({ page }) => {
  await page.goto("/settings/directory-sync/new");
  await waitForHydration(page);
  const kinds = page.getByTestId("directory-kinds");
  await expect(kinds).toContainText("Okta (SCIM push only)");
  await kinds.getByLabel("Directory name").fill("Okta SCIM e2e");
  await kinds.getByRole("button", { name: "Create SCIM-only directory" }).click();
  await expect(page).toHaveURL(/\/directories\/[0-9a-f-]{36}\/scim$/);
  await waitForHydration(page);
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Okta SCIM e2e");
  await expect(page.getByTestId("scim-state")).toHaveText("On");
  const settings = page.getByTestId("scim-okta-settings");
  const directoryId = page.url().split("/").slice(-2)[0];
  await expect(settings).toContainText(`/scim/v2/${directoryId}`);
  await expect(settings).toContainText("userName");
  await expect(settings).toContainText("HTTP Header");
  await expect(page.getByTestId("scim-no-requests")).toBeVisible();

  await page.getByLabel("Name").fill("Okta production");
  await page.getByRole("button", { name: "Generate token" }).click();
  const secret = await page.getByTestId("scim-token-secret").inputValue();
  expect(secret).toMatch(/^rscim_[A-Za-z0-9_-]{43}$/);
  await expect(page.getByRole("button", { name: "Copy the new SCIM token" })).toBeVisible();

  // Okta's create, as it sends it.
  const base = `/scim/v2/${directoryId}`;
  const auth = { authorization: `Bearer ${secret}`, "content-type": "application/scim+json" };
  const created = await page.request.post(`${base}/Users`, {
    headers: auth,
    data: {
      schemas: [USER], userName: "grace@example.com", externalId: "00uGRACE000000000001",
      name: { givenName: "Grace", familyName: "Hopper" },
      emails: [{ primary: true, value: "grace@example.com", type: "work" }],
      displayName: "Grace Hopper", active: true, password: "secret-okta-sends", groups: [],
    },
  });
  expect(created.status()).toBe(201);
  expect(await created.text()).not.toContain("secret-okta-sends");
  const bad = await page.request.get(`${base}/Users?filter=${encodeURIComponent("title eq 1")}`, { headers: auth });
  expect(bad.status()).toBe(400);

  // The log shows both, without bodies; shown once: the secret is gone after a reload.
  await page.reload();
  await waitForHydration(page);
  expect(await page.content()).not.toContain(secret);
  const log = page.getByTestId("scim-requests");
  await expect(log.getByTestId("scim-request").filter({ hasText: "POST /Users" })).toHaveAttribute("data-status", "201");
  await expect(log.getByTestId("scim-request").filter({ hasText: "GET /Users?filter=title eq 1" })).toContainText("invalidFilter");
  const row = page.getByTestId("scim-token-row").filter({ hasText: "Okta production" });
  await expect(row).toContainText("just now");
  await page.screenshot({ path: "screenshots/scim-push.png", fullPage: true });

  // The pushed user is in the same identity store as pulled ones, with its source.
  await page.goto(`/directories/${directoryId}/users/00uGRACE000000000001`);
  await expect(page.getByRole("heading", { name: "Grace Hopper" })).toBeVisible();
  await expect(page.getByTestId("user-provenance")).toHaveText("SCIM push from Okta");

  // Revoked: Okta's next request is refused.
  await page.goto(`/directories/${directoryId}/scim`);
  await waitForHydration(page);
  await row.getByRole("button", { name: "Revoke SCIM token Okta production" }).click();
  await expect(row).toHaveAttribute("data-revoked", "true");
  expect((await page.request.get(`${base}/Users`, { headers: auth })).status()).toBe(401);

  // Its card says it receives pushes (no Sync Now); deleting it leaves the
  // instance as the other tests expect it.
  await page.goto("/settings/directory-sync");
  await waitForHydration(page);
  const card = page.locator(`[data-testid="directory-card"][data-directory-id="${directoryId}"]`);
  await expect(card.getByTestId("status-badge")).toHaveText("Receives SCIM pushes");
  await expect(card.getByRole("button", { name: "Sync Now" })).toHaveCount(0);
  await card.getByText("More").click();
  await card.getByLabel("Type “Okta SCIM e2e” to delete").fill("Okta SCIM e2e");
  await card.getByRole("button", { name: "Delete directory" }).click();
  await expect(card).toHaveCount(0);
  expect((await page.request.get(`${base}/Users`, { headers: auth })).status()).toBe(401);
});
