// Settings → Directory Sync end to end: the Add Directory wizard against the
// Okta simulator, the directory card, Sync Now, the users table and the
// circuit breaker. The tests share one Roster and one simulator, so they run
// in order and each builds on the previous one.
import { test, expect, Page } from "@playwright/test";
import { waitForHydration } from "../support/hydration";
import { Sim, foreignJwk, ROSTER_APP_LABEL } from "../support/sim";
import { Receiver, verifySignature } from "../support/receiver";

test.describe.configure({ mode: "serial" });

const SERVICE_CLIENT_ID = "0oaE2eDirectorySync1";
const ALL_SCOPES = ["okta.apps.read", "okta.groups.read", "okta.users.read"];
const DIRECTORY_NAME = "Acme Okta";

let sim: Sim;
let rosterAppId: string;

test.beforeAll(async () => {
  sim = await Sim.open();
  rosterAppId = (await sim.org()).roster_app_id;
});

test.afterAll(async () => {
  await sim.close();
});

function check(page: Page, key: string) {
  return page.locator(`[data-testid=checklist] [data-check="${key}"]`);
}

/** Clicks Verify Now and waits for the new checklist (not the previous one). */
async function verify(page: Page) {
  const step = page.getByTestId("step-verify");
  const done = Number((await step.getAttribute("data-verify-completed")) ?? "0");
  await page.getByRole("button", { name: "Verify Now" }).click();
  await expect(step).toHaveAttribute("data-verify-completed", String(done + 1), { timeout: 30_000 });
  await expect(page.getByTestId("verify-summary")).toBeVisible();
}

async function saveConnection(page: Page, domain: string, clientId: string) {
  await page.getByLabel("Okta domain").fill(domain);
  await page.getByLabel("Client ID").fill(clientId);
  await page.getByRole("button", { name: "Save connection" }).click();
  await expect(page.getByText("Saved. Now verify the connection.")).toBeVisible();
}

function card(page: Page) {
  return page.getByTestId("directory-card").filter({ hasText: DIRECTORY_NAME });
}

async function expectCardCounts(page: Page) {
  const expected = await sim.expectedCounts(rosterAppId);
  const c = card(page);
  await expect(c.getByTestId("status-badge")).toHaveText("Healthy", { timeout: 30_000 });
  // Active and suspended users are counted apart: no figure includes the other.
  await expect(c.getByTestId("card-active-users")).toHaveText(String(expected.users - expected.suspended));
  await expect(c.getByTestId("card-groups")).toHaveText(String(expected.groups));
  await expect(c.getByTestId("card-suspended")).toHaveText(String(expected.suspended));
  return expected;
}

test("the wizard guides through keypair, connection, failing and passing verifies, and creates the directory", async ({ page }) => {
  await page.goto("/settings/directory-sync");
  await waitForHydration(page);
  await page.getByTestId("directory-empty-state").getByRole("link", { name: "Add Directory" }).click();
  await expect(page.getByRole("heading", { name: "Connect an Okta directory" })).toBeVisible();
  await expect(page.getByText("Create new resource set")).toBeVisible();
  await page.screenshot({ path: "screenshots/wizard-prepare.png", fullPage: true });

  // Step 3: the keypair. Only the public half reaches the browser.
  await page.getByRole("button", { name: "Generate Keypair" }).click();
  await expect(page).toHaveURL(/\/settings\/directory-sync\/new\/[0-9a-f-]{36}$/);
  await waitForHydration(page);
  const jwk = JSON.parse(await page.getByTestId("public-jwk").inputValue());
  expect(jwk.kty).toBe("RSA");
  expect(jwk.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(jwk.d).toBeUndefined();
  await expect(page.getByTestId("jwks-url")).toHaveValue(/\/directories\/[0-9a-f-]{36}\/jwks\.json$/);
  const jwks = await (await page.request.get(await page.getByTestId("jwks-url").inputValue())).json();
  expect(jwks.keys.map((k: { kid: string }) => k.kid)).toContain(jwk.kid);
  await page.getByRole("button", { name: "PEM", exact: true }).click();
  await expect(page.getByTestId("public-pem")).toHaveValue(/^-----BEGIN PUBLIC KEY-----/);
  await page.getByRole("button", { name: "JWK", exact: true }).click();
  await expect(page.getByTestId("public-jwk")).toBeVisible();
  await page.getByTestId("step-keypair").screenshot({ path: "screenshots/wizard-keypair.png" });

  // Step 5: inline validation says what is wrong before anything is saved.
  const domain = page.getByLabel("Okta domain");
  for (const [typed, message] of [
    ["https://acme.okta.com/admin/dashboard", "without a path"],
    ["acme-admin.okta.com", "admin console"],
    ["10.0.0.7", "not an IP address"],
    ["acme.example.com", "not an Okta domain"],
  ]) {
    await domain.fill(typed);
    await domain.press("Tab");
    await expect(page.getByTestId("step-connection").locator(".field-error")).toContainText(message);
  }
  const clientId = page.getByLabel("Client ID");
  await clientId.fill("https://acme.okta.com");
  await clientId.press("Tab");
  await expect(page.getByTestId("step-connection").locator(".field-error").last()).toContainText("URL");
  await page.getByRole("button", { name: "Save connection" }).click();
  await expect(page.getByTestId("step-connection").getByRole("alert").last()).toContainText(/Okta domain|Client ID/);

  // In "Okta": the service app exists, but with someone else's key.
  await sim.registerServiceApp({
    name: "Roster Directory Sync",
    client_id: SERVICE_CLIENT_ID,
    jwks: { keys: [foreignJwk()] },
    scopes: ALL_SCOPES,
    admin_role: true,
  });

  // Wrong Client ID: the token check fails and says what to check.
  await saveConnection(page, sim.url, "0oaE2eWrongClientId1");
  await verify(page);
  await expect(check(page, "org")).toHaveAttribute("data-status", "pass");
  await expect(check(page, "token")).toHaveAttribute("data-status", "fail");
  await expect(check(page, "token")).toContainText("Client ID is right");
  await expect(page.getByRole("button", { name: "Create" })).toBeDisabled();

  // Right Client ID, key not registered in Okta.
  await saveConnection(page, sim.url, SERVICE_CLIENT_ID);
  await verify(page);
  await expect(check(page, "token")).toHaveAttribute("data-status", "fail");
  await expect(check(page, "token")).toContainText("public key in Okta matches");
  await page.getByTestId("step-verify").screenshot({ path: "screenshots/wizard-verify-failed.png" });

  // Key added, but one scope not granted.
  await sim.updateServiceApp(SERVICE_CLIENT_ID, { jwks: { keys: [jwk] }, scopes: ["okta.apps.read", "okta.groups.read"] });
  await verify(page);
  await expect(check(page, "token")).toHaveAttribute("data-status", "pass");
  await expect(check(page, "scope:okta.users.read")).toHaveAttribute("data-status", "fail");
  await expect(check(page, "scope:okta.users.read")).toContainText("okta.users.read");
  await expect(check(page, "scope:okta.groups.read")).toHaveAttribute("data-status", "pass");

  // Scopes granted, admin role missing.
  await sim.updateServiceApp(SERVICE_CLIENT_ID, { scopes: ALL_SCOPES, admin_role: false });
  await verify(page);
  await expect(check(page, "users")).toHaveAttribute("data-status", "fail");
  await expect(check(page, "users")).toContainText("Roster Sync Read Only");

  // Everything in place; several apps are visible, so the admin picks one.
  await sim.updateServiceApp(SERVICE_CLIENT_ID, { admin_role: true });
  await verify(page);
  await expect(check(page, "assignments")).toHaveAttribute("data-status", "fail");
  await expect(check(page, "assignments")).toContainText("Pick the Okta app");
  await page
    .getByLabel("App whose assigned users and groups Roster syncs")
    .selectOption({ label: `${ROSTER_APP_LABEL} (${rosterAppId})` });
  await verify(page);
  await expect(page.getByTestId("verify-summary")).toContainText("All checks passed");
  await expect(page.locator("[data-testid=checklist] [data-status=fail]")).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Create" })).toBeEnabled();
  await page.getByTestId("step-verify").screenshot({ path: "screenshots/wizard-verified.png" });

  // Preview first: what the first sync would import, and nothing stored yet.
  const expected = await sim.expectedCounts(rosterAppId);
  await page.getByRole("button", { name: "Preview first" }).click();
  await expect(page.getByTestId("preview-result")).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId("preview-users")).toHaveText(String(expected.users));
  await expect(page.getByTestId("preview-groups")).toHaveText(String(expected.groups));
  await expect(page.getByTestId("preview-result")).toContainText("nothing imported yet");
  await page.getByTestId("step-create").screenshot({ path: "screenshots/wizard-preview.png" });

  // A reload keeps the draft: values, key and the verification.
  const wizardUrl = page.url();
  await page.reload();
  await waitForHydration(page);
  await expect(page).toHaveURL(wizardUrl);
  await expect(page.getByLabel("Okta domain")).toHaveValue(sim.url);
  await expect(page.getByLabel("Client ID")).toHaveValue(SERVICE_CLIENT_ID);
  expect(JSON.parse(await page.getByTestId("public-jwk").inputValue()).kid).toBe(jwk.kid);
  await expect(page.getByText("Verified with the current domain, Client ID and key.")).toBeVisible();
  await expect(page.getByTestId("preview-users")).toHaveText(String(expected.users));

  // The Add Directory page lists the unfinished setup; Continue comes back here.
  await page.goto("/settings/directory-sync/new");
  const draftRow = page.getByTestId("draft").filter({ hasText: SERVICE_CLIENT_ID });
  await expect(draftRow).toContainText("ready to create");
  await draftRow.getByRole("link", { name: "Continue" }).click();
  await expect(page).toHaveURL(wizardUrl);
  await waitForHydration(page);

  // Abandoned so far: nothing active exists yet.
  const cardsBefore = await page.request.get("/settings/directory-sync");
  expect(await cardsBefore.text()).toContain("No directory connected yet");

  // Create: lands on the card, whose first sync imports what the app has.
  await page.getByLabel("Directory name").fill(DIRECTORY_NAME);
  await page.getByRole("button", { name: "Create" }).click();
  await expect(page).toHaveURL(/\/settings\/directory-sync$/);
  await expectCardCounts(page);
  await expect(card(page)).toContainText(`app “${ROSTER_APP_LABEL}”`);
  await card(page).screenshot({ path: "screenshots/directory-card.png" });
});

test("Sync Now shows live progress, refuses a second run, and picks up changes in Okta", async ({ page }) => {
  // A downstream app subscribes to deprovisionings (Settings → Webhooks).
  const receiver = await Receiver.start();
  await page.goto("/settings/webhooks");
  await waitForHydration(page);
  await expect(page.getByTestId("no-webhooks")).toBeVisible();
  const form = page.getByTestId("create-webhook-form");
  await form.getByLabel("URL").fill(receiver.url);
  await form.getByLabel("Description").fill("Provisioning service");
  await form.getByLabel("user.deprovisioned").check();
  await form.getByLabel("group.member_removed").check();
  await form.getByRole("button", { name: "Add endpoint" }).click();
  const secret = await page.getByTestId("webhook-secret").inputValue();
  expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
  await expect(page.getByRole("button", { name: "Copy the signing secret" })).toBeVisible();
  const endpoint = page.getByTestId("webhook").filter({ hasText: receiver.url });
  await expect(endpoint).toHaveAttribute("data-status", "active");
  await expect(endpoint).toContainText("user.deprovisioned, group.member_removed");
  await endpoint.getByRole("button", { name: "Send test event" }).click();
  await expect(page.getByTestId("test-result")).toContainText("Test event delivered: the receiver answered 204");
  expect(receiver.events()[0].type).toBe("webhook.test");
  expect(verifySignature(secret, receiver.received[0].signature, receiver.received[0].body)).toBe(true);
  // Edited in place: the ticked types stay ticked.
  await endpoint.getByText("Edit…").click();
  const edit = endpoint.getByTestId("edit-webhook-form");
  await edit.getByLabel("Description").fill("Provisioning service (production)");
  await edit.getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("webhook").filter({ hasText: receiver.url })).toContainText("Provisioning service (production)");
  await expect(page.getByTestId("webhook").filter({ hasText: receiver.url })).toContainText("user.deprovisioned, group.member_removed");

  await page.goto("/settings/directory-sync");
  await waitForHydration(page);
  const before = await expectCardCounts(page);

  // Okta changes: one user added, one suspended, one deactivated.
  const added = await sim.createUser("Ada", "Playwright");
  await sim.assignUser(rosterAppId, added.id);
  const ids = (await sim.appUserIds(rosterAppId)).filter((id) => id !== added.id);
  const statuses = await Promise.all(ids.map((id) => sim.user(id)));
  const active = statuses.filter((u) => u.status === "ACTIVE");
  await sim.setUserStatus(active[0].id, "suspend");
  await sim.setUserStatus(active[1].id, "deactivate");

  // Slow pages keep the run going long enough to watch it.
  await sim.addFault({ path_prefix: "/api/v1/apps", kind: "slow", ms: 1500, count: 3 });
  const c = card(page);
  await c.getByRole("button", { name: "Sync Now" }).click();
  await expect(c.getByTestId("sync-progress")).toBeVisible();
  await expect(c.getByTestId("status-badge")).toHaveText("Syncing");
  await c.getByRole("button", { name: "Sync Now" }).click();
  await expect(page.getByRole("alert")).toContainText("already syncing");
  await expect(c.getByTestId("sync-progress")).toBeHidden({ timeout: 30_000 });

  const after = await expectCardCounts(page);
  await expect(c.getByTestId("last-run")).toContainText("Last sync (manual): users 1 added, 1 updated, 1 removed");
  expect(after.users).toBe(before.users + 1 - 1);
  expect(after.suspended).toBe(before.suspended + 1);
  await sim.clearFaults();

  // The deactivation reached the receiver as a signed user.deprovisioned,
  // after the user's membership removals, and nothing it did not ask for.
  await expect.poll(() => receiver.events().some((e) => e.type === "user.deprovisioned"), { timeout: 10_000 }).toBe(true);
  const events = receiver.events().filter((e) => e.type !== "webhook.test");
  expect(new Set(events.map((e) => e.type))).toEqual(
    new Set(events.some((e) => e.type === "group.member_removed") ? ["group.member_removed", "user.deprovisioned"] : ["user.deprovisioned"]),
  );
  const gone = events.find((e) => e.type === "user.deprovisioned")!;
  expect(gone.entity_id).toBe(active[1].id);
  const removals = events.filter((e) => e.type === "group.member_removed" && e.entity_id.endsWith(`:${active[1].id}`));
  for (const removal of removals) expect(events.indexOf(removal)).toBeLessThan(events.indexOf(gone));
  const request = receiver.requestOf(gone.id)!;
  expect(verifySignature(secret, request.signature, request.body)).toBe(true);
  expect(verifySignature("whsec_not-the-secret", request.signature, request.body)).toBe(false);

  // The Webhooks page shows the deliveries.
  await page.goto("/settings/webhooks");
  await waitForHydration(page);
  const log = page.getByTestId("webhook").filter({ hasText: receiver.url }).getByTestId("delivery-log");
  await expect(log.getByTestId("delivery-row").first()).toHaveAttribute("data-outcome", "delivered");
  await expect(log).toContainText("test event");
  await page.screenshot({ path: "screenshots/webhooks.png", fullPage: true });
  receiver.close();
});

test("the users table pages through keyset pages, searches and filters by status", async ({ page }) => {
  await page.goto("/settings/directory-sync");
  await card(page).getByRole("link", { name: "Open", exact: true }).click();
  await expect(page.getByRole("heading", { name: DIRECTORY_NAME })).toBeVisible();
  const expected = await sim.expectedCounts(rosterAppId);
  await expect(page.getByTestId("users-total")).toHaveText(`${expected.users} users match`);
  const rows = page.getByTestId("users-table").locator("tbody tr");
  await expect(rows).toHaveCount(Math.min(50, expected.users));
  await page.screenshot({ path: "screenshots/users-table.png", fullPage: false });

  // Page 2 starts after page 1, with no repeats.
  const firstPage = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-okta-id")));
  await page.getByTestId("next-page").click();
  await expect(page).toHaveURL(/after=/);
  await expect(rows.first()).not.toHaveAttribute("data-okta-id", firstPage[0]!);
  const secondPage = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-okta-id")));
  expect(secondPage.length).toBeGreaterThan(0);
  expect(secondPage.filter((id) => firstPage.includes(id))).toEqual([]);

  // Search by one user's login finds exactly that user.
  const someone = await sim.user(secondPage[0]!);
  await page.getByLabel("Search users").fill(String(someone.profile.login));
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await expect(page.getByTestId("users-total")).toHaveText("1 users match");
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toHaveAttribute("data-okta-id", someone.id);

  // Status filter: only the suspended.
  await page.getByLabel("Search users").fill("");
  await page.getByLabel("Status").selectOption("SUSPENDED");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await expect(page.getByTestId("users-total")).toHaveText(`${expected.suspended} users match`);
  for (const status of await rows.locator("td:nth-child(4)").allTextContents()) expect(status).toBe("SUSPENDED");

  // The run history records the syncs, the wizard's preview included.
  await expect(page.getByTestId("runs-table").locator("tbody tr")).toHaveCount(3);
  await expect(page.getByTestId("runs-table")).toContainText("first");
  await expect(page.getByTestId("runs-table")).toContainText("previewed");

  // Sorting by login: keyset order holds on the page.
  await page.getByLabel("Status").selectOption("");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await page.locator("a[data-sort=login]").click();
  await expect(page).toHaveURL(/sort=login/);
  await expect(page.locator("th[aria-sort=ascending]")).toContainText("Login");
  const logins = await rows.locator("td:nth-child(3)").allTextContents();
  expect(logins.length).toBe(50);
  expect([...logins].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(logins);

  // Sorting by groups count: members of the most groups first.
  await page.locator("a[data-sort=groups]").click();
  await expect(page).toHaveURL(/sort=groups/);
  await expect(page.locator("th[aria-sort=descending]")).toContainText("Groups");
  const counts = (await rows.locator("td:nth-child(5)").allTextContents()).map(Number);
  expect(counts.length).toBe(50);
  expect([...counts].sort((a, b) => b - a)).toEqual(counts);
  expect(counts[0]).toBeGreaterThan(0);

  // The latest manual run's page shows its counters and the diff sample.
  await page.getByTestId("runs-table").locator("tbody tr").first().getByRole("link").click();
  await expect(page.getByRole("heading", { name: "Sync run" })).toBeVisible();
  await expect(page.getByTestId("run-status")).toHaveText("succeeded");
  await expect(page.getByTestId("diff-sample")).toContainText("ada.playwright");
  await page.goBack();

  // A user page: traits, groups and the history of status changes.
  await page.getByLabel("Search users").fill(String(someone.profile.login));
  await page.getByLabel("Status").selectOption("");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await expect(rows).toHaveCount(1);
  const groupsOfSomeone = Number(await rows.first().locator("td:nth-child(5)").textContent());
  await rows.first().getByRole("link").click();
  await expect(page.getByTestId("user-okta-id")).toHaveText(someone.id);
  await expect(page.getByTestId("user-groups").locator("li")).toHaveCount(groupsOfSomeone);
  await expect(page.getByTestId("user-traits")).toContainText(String(someone.profile.login));
  await expect(page.getByTestId("user-history")).toContainText(/Added as/);

  // A group page lists as many members as the groups table says.
  await page.goto(page.url().replace(/\/users\/.*$/, ""));
  const groupRow = page.getByTestId("groups-table").locator("tbody tr").first();
  const members = Number(await groupRow.locator("td:nth-child(3)").textContent());
  await groupRow.getByRole("link").click();
  await expect(page.getByTestId("members-total")).toHaveText(`${members} members`);
  await expect(page.getByTestId("members-table").locator("tbody tr")).toHaveCount(Math.min(members, 50));
});

test("the event hook page gives Okta's set-up, Okta verifies it, and a deactivation arrives in seconds", async ({ page }) => {
  await page.goto("/settings/directory-sync");
  await card(page).getByRole("link", { name: "Open", exact: true }).click();
  await expect(page.getByRole("heading", { name: DIRECTORY_NAME })).toBeVisible();
  await page.getByTestId("hook-link").click();
  await expect(page.getByTestId("hook-state")).toHaveText("Not set up");
  await waitForHydration(page);
  await page.getByLabel("Header Okta sends the secret in").fill("X-Roster-Hook-Secret");
  await page.getByRole("button", { name: "Set up event hook" }).click();
  await expect(page.getByTestId("hook-state")).toHaveText("Set up");

  // What Okta's Create Event Hook form asks for, each with a copy button.
  const url = (await page.getByTestId("hook-url").textContent())!;
  const header = (await page.getByTestId("hook-header").textContent())!;
  const secret = (await page.getByTestId("hook-secret").textContent())!;
  expect(url).toMatch(/\/hooks\/okta\/[0-9a-f-]{36}$/);
  expect(header).toBe("X-Roster-Hook-Secret");
  expect(secret).toMatch(/^rhk_/);
  await expect(page.getByRole("button", { name: "Copy endpoint url" })).toBeVisible();
  await expect(page.getByTestId("hook-types")).toContainText("user.lifecycle.deactivate");
  await expect(page.getByTestId("hook-curl")).toContainText("/api/v1/eventHooks");
  await expect(page.getByTestId("hook-terraform")).toContainText('resource "okta_event_hook"');
  await expect(page.getByTestId("hook-verified")).toContainText("not yet");
  await expect(page.getByTestId("hook-last-delivery")).toHaveText("none yet");

  // The admin creates it in Okta and clicks Verify.
  const types = (await page.getByTestId("hook-types").textContent())!.split(", ");
  const hook = await sim.createEventHook({
    name: "Roster",
    events: { type: "EVENT_TYPE", items: types },
    channel: { type: "HTTP", version: "1.0.0", config: { uri: url, authScheme: { type: "HEADER", key: header, value: secret } } },
  });
  expect((await sim.verifyEventHook(hook.id)).verificationStatus).toBe("VERIFIED");

  // A deactivation in Okta reaches Roster without a sync.
  const present = (await Promise.all((await sim.appUserIds(rosterAppId)).map((id) => sim.user(id)))).filter(
    (u) => u.status === "ACTIVE",
  );
  const leaver = present[0];
  await sim.setUserStatus(leaver.id, "deactivate");
  await expect
    .poll(async () => {
      await page.reload();
      return page.getByTestId("hook-last-delivery").textContent();
    }, { timeout: 15_000 })
    .toMatch(/received/);
  await expect(page.getByTestId("hook-verified")).not.toContainText("not yet");
  await page.screenshot({ path: "screenshots/okta-event-hook.png", fullPage: true });
  const directoryUrl = page.url().replace(/\/okta-hook$/, "");
  await expect
    .poll(async () => {
      await page.goto(`${directoryUrl}?q=${encodeURIComponent(String(leaver.profile.login))}`);
      return page.getByTestId("users-total").textContent();
    }, { timeout: 15_000 })
    .toBe("0 users match");
  // Later tests change the org on purpose: no more pushes.
  await sim.deleteEventHook(hook.id);
});

test("System Log polling says when okta.logs.read is missing, and once granted finds a deactivation without a sync", async ({ page }) => {
  await page.goto("/settings/directory-sync");
  await card(page).getByRole("link", { name: "Open", exact: true }).click();
  await page.getByTestId("hook-link").click();
  await expect(page.getByTestId("polling-state")).toHaveText("Off");
  await waitForHydration(page);
  await page.getByLabel("Poll every (seconds)").fill("10");
  await page.getByRole("button", { name: "Turn on polling" }).click();
  // The API Services app lacks the scope: Roster says which and where, and stays off.
  await expect(page.getByTestId("log-polling").getByRole("alert")).toContainText("okta.logs.read");
  await expect(page.getByTestId("log-polling").getByRole("alert")).toContainText("Okta API Scopes");
  await expect(page.getByTestId("polling-state")).toHaveText("Off");

  await sim.updateServiceApp(SERVICE_CLIENT_ID, { scopes: [...ALL_SCOPES, "okta.logs.read"] });
  await page.getByLabel("Poll every (seconds)").fill("10");
  await page.getByRole("button", { name: "Turn on polling" }).click();
  await expect(page.getByTestId("polling-state")).toHaveText("Polling");
  await expect(page.getByTestId("polling-next-sync")).toContainText("incremental");

  // A deactivation in Okta, found in the log without a sync.
  const present = (await Promise.all((await sim.appUserIds(rosterAppId)).map((id) => sim.user(id)))).filter(
    (u) => u.status === "ACTIVE",
  );
  const leaver = present[0];
  await sim.setUserStatus(leaver.id, "deactivate");
  const directoryUrl = page.url().replace(/\/okta-hook$/, "");
  await expect
    .poll(async () => {
      await page.goto(`${directoryUrl}?q=${encodeURIComponent(String(leaver.profile.login))}`);
      return page.getByTestId("users-total").textContent();
    }, { timeout: 30_000 })
    .toBe("0 users match");
  await page.goto(`${directoryUrl}/okta-hook`);
  await expect(page.getByTestId("polling-last")).toContainText("events read");
  await page.getByTestId("log-polling").screenshot({ path: "screenshots/system-log-polling.png" });

  // Off again, as later tests expect.
  await waitForHydration(page);
  await page.getByRole("button", { name: "Turn off polling" }).click();
  await expect(page.getByTestId("polling-state")).toHaveText("Off");
  await sim.updateServiceApp(SERVICE_CLIENT_ID, { scopes: ALL_SCOPES });
});

test("directory settings are validated and saved; a key rotation switches only after Okta knows the new key", async ({ page }) => {
  await page.goto("/settings/directory-sync");
  await card(page).getByRole("link", { name: "Open", exact: true }).click();
  await expect(page.getByRole("heading", { name: DIRECTORY_NAME })).toBeVisible();
  await waitForHydration(page);
  const directoryUrl = page.url();

  // Bad input: a clear error, nothing saved.
  const interval = page.getByLabel("Sync every (minutes)");
  await interval.fill("5");
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.locator("#settings").getByRole("alert")).toContainText("between 15 and 1440");
  await page.reload();
  await expect(page.getByLabel("Sync every (minutes)")).toHaveValue("120");

  await page.getByLabel("Sync every (minutes)").fill("60");
  await page.getByLabel(/Share of Okta's rate limits/).fill("40");
  await page.getByLabel(/Hold a sync for review/).fill("25");
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByText("Settings saved.")).toBeVisible();
  await page.reload();
  await expect(page.getByLabel("Sync every (minutes)")).toHaveValue("60");
  await expect(page.getByLabel(/Share of Okta's rate limits/)).toHaveValue("40");
  await expect(page.getByLabel(/Hold a sync for review/)).toHaveValue("25");

  // Rotation: the new key is published next to the old one.
  await waitForHydration(page);
  const oldKid = (await page.getByTestId("active-kid").textContent())!;
  await page.getByRole("button", { name: "Rotate key" }).click();
  await expect(page.getByTestId("rotation-pending")).toBeVisible();
  const newKid = JSON.parse(await page.getByTestId("next-jwk").inputValue()).kid;
  expect(newKid).not.toBe(oldKid);
  const jwks = await (await page.request.get(`${directoryUrl}/jwks.json`)).json();
  expect(jwks.keys.map((k: { kid: string }) => k.kid).sort()).toEqual([oldKid, newKid].sort());

  // Okta does not know the new key yet: the verify fails and nothing switches.
  await page.getByRole("button", { name: "Verify and switch" }).click();
  await expect(page.getByTestId("rotation-verify-failed")).toContainText("public key in Okta matches");
  await expect(page.getByTestId("active-kid")).toHaveText(oldKid);

  // The admin adds the new key in Okta, verifies, and Roster switches.
  await sim.updateServiceApp(SERVICE_CLIENT_ID, { jwks });
  await page.getByRole("button", { name: "Verify and switch" }).click();
  await expect(page.getByText("Verified: Roster now signs with the new key.")).toBeVisible();
  await expect(page.getByTestId("active-kid")).toHaveText(newKid);
  await expect(page.getByTestId("rotation-pending")).toBeHidden();
  const after = await (await page.request.get(`${directoryUrl}/jwks.json`)).json();
  expect(after.keys.map((k: { kid: string }) => k.kid)).toEqual([newKid]);
});

test("a run that would remove everyone is held for review; discard keeps, apply removes", async ({ page }) => {
  const before = await sim.expectedCounts(rosterAppId);
  for (const groupId of await sim.appGroupIds(rosterAppId)) await sim.unassignGroup(rosterAppId, groupId);
  for (const userId of await sim.appUserIds(rosterAppId)) await sim.unassignUser(rosterAppId, userId);
  expect(await sim.appUserIds(rosterAppId)).toEqual([]);

  await page.goto("/settings/directory-sync");
  await waitForHydration(page);
  const c = card(page);
  await c.getByRole("button", { name: "Sync Now" }).click();
  await expect(c.getByTestId("status-badge")).toHaveText("Needs confirmation", { timeout: 30_000 });
  const review = c.getByTestId("pending-review");
  await expect(review).toContainText(`remove ${before.users} users`);
  await expect(review).toContainText(`${before.groups} groups`);
  await review.getByText("Review changes").click();
  await c.screenshot({ path: "screenshots/directory-card-review.png" });

  // The overview lists it as needing attention (e-mail is off in this run).
  await page.goto("/");
  const attention = page.getByTestId("attention-item").filter({ hasText: `A sync of ${DIRECTORY_NAME} is held for review` });
  await expect(attention).toContainText("not mailed: e-mail is not configured");
  await page.goto("/settings");
  await expect(page.getByTestId("mail-off")).toContainText("ROSTER_SMTP_URL");
  await page.goto("/settings/directory-sync");
  await waitForHydration(page);
  await review.getByText("Review changes").click();

  // Discard: nothing removed.
  await review.getByRole("button", { name: "Discard" }).click();
  await expect(c.getByTestId("pending-review")).toBeHidden();
  await expect(c.getByTestId("card-active-users")).toHaveText(String(before.users - before.suspended));

  // Held again, then applied.
  await c.getByRole("button", { name: "Sync Now" }).click();
  await expect(c.getByTestId("status-badge")).toHaveText("Needs confirmation", { timeout: 30_000 });
  await c.getByTestId("pending-review").getByRole("button", { name: "Apply" }).click();
  await expect(c.getByTestId("card-active-users")).toHaveText("0");
  await expect(c.getByTestId("card-groups")).toHaveText("0");
  await expect(c.getByTestId("status-badge")).toHaveText("Healthy");
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the wizard's forms still work: Generate Keypair lands on the draft, the connection saves", async ({ page }) => {
    await page.goto("/settings/directory-sync/new");
    await page.getByRole("button", { name: "Generate Keypair" }).click();
    await expect(page).toHaveURL(/\/settings\/directory-sync\/new\/[0-9a-f-]{36}$/);
    expect(JSON.parse(await page.getByTestId("public-jwk").inputValue()).kty).toBe("RSA");
    await page.getByLabel("Okta domain").fill(sim.url);
    await page.getByLabel("Client ID").fill(SERVICE_CLIENT_ID);
    await page.getByRole("button", { name: "Save connection" }).click();
    await expect(page.getByLabel("Client ID")).toHaveValue(SERVICE_CLIENT_ID);
    await expect(page.getByRole("button", { name: "Verify Now" })).toBeEnabled();

    // An abandoned setup is listed on the Add Directory page and can be discarded with its keys.
    const id = page.url().match(/new\/([0-9a-f-]{36})/)![1];
    expect((await page.request.get(`/directories/${id}/jwks.json`)).status()).toBe(200);
    await page.goto("/settings/directory-sync/new");
    const row = page.locator(`[data-testid=draft][data-directory-id="${id}"]`);
    await expect(row).toContainText(SERVICE_CLIENT_ID);
    await row.getByRole("button", { name: "Discard" }).click();
    await expect(page).toHaveURL(/\/settings\/directory-sync\/new$/);
    await expect(page.getByRole("heading", { name: "Connect an Okta directory" })).toBeVisible();
    await expect(row).toHaveCount(0);
    expect((await page.request.get(`/directories/${id}/jwks.json`)).status()).toBe(404);
  });
});

test("Save connection works on the first click straight from the Client ID field", async ({ page }) => {
  await page.goto("/settings/directory-sync/new");
  await waitForHydration(page);
  await page.getByRole("button", { name: "Generate Keypair" }).click();
  await expect(page).toHaveURL(/\/settings\/directory-sync\/new\/[0-9a-f-]{36}$/);
  await waitForHydration(page);

  // Typed as a person types: the domain field's change check runs while the
  // Client ID is still empty, and its (stale) answer must not get in the way.
  await page.getByLabel("Okta domain").click();
  await page.getByLabel("Okta domain").pressSequentially(sim.url);
  await page.getByLabel("Client ID").click();
  await page.getByLabel("Client ID").pressSequentially(SERVICE_CLIENT_ID);
  const saves: string[] = [];
  page.on("request", (r) => {
    if (r.method() === "POST" && /\/api\/save_connection/.test(r.url())) saves.push(r.url());
  });
  // One click, with the focus still in the field.
  await page.getByRole("button", { name: "Save connection" }).click();
  await expect(page.getByText("Saved. Now verify the connection.")).toBeVisible();
  expect(saves).toHaveLength(1);
  await expect(page.getByTestId("step-connection").locator(".field-error")).toHaveCount(0);

  // Leave nothing behind for other tests.
  const id = page.url().match(/new\/([0-9a-f-]{36})/)![1];
  await page.goto("/settings/directory-sync/new");
  await page.locator(`[data-testid=draft][data-directory-id="${id}"]`).getByRole("button", { name: "Discard" }).click();
  await expect(page.locator(`[data-testid=draft][data-directory-id="${id}"]`)).toHaveCount(0);
});
