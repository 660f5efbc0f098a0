// Sign in with Okta end to end, against a real certified OpenID Provider
// (panva's oidc-provider, started by the global setup): first configuration
// with Test sign-in, admins, viewers and outsiders, tampered and replayed
// answers, sign-out with RP-initiated logout, revocation when the directory
// sync deprovisions someone, and the HTTP surface's guards. The tests run in
// order: the first one configures sign-in for the others.
import { test, expect, Browser, BrowserContext, Page } from "@playwright/test";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { waitForHydration } from "../support/hydration";
import { signInAtOp, OP_SELECTORS } from "../support/op";
import { OIDC_CLIENT_ID, OIDC_CLIENT_SECRET } from "../support/global-setup";
import { Sim } from "../support/sim";

test.describe.configure({ mode: "serial" });

const base = () => process.env.ROSTER_BASE_URL ?? "";
const opUrl = () => process.env.OP_URL ?? "";

/** A browser with no Roster session (nobody signed in). */
async function stranger(browser: Browser): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL: base(), storageState: { cookies: [], origins: [] } });
  return { context, page: await context.newPage() };
}

async function signInWithOkta(page: Page, login: string) {
  await page.goto("/signin");
  await page.getByTestId("signin-okta").click();
  await expect(page).toHaveURL(new RegExp(`^${opUrl()}`));
  await signInAtOp(page, login);
}

test("first configuration: Save is refused untested, Test sign-in reports who came back, then it saves", async ({ page }) => {
  await page.goto("/settings/sign-in");
  await waitForHydration(page);
  await expect(page.getByTestId("signin-status")).toContainText("Not configured");
  await expect(page.getByTestId("okta-redirect-uri")).toHaveText(`${base()}/auth/callback`);
  await expect(page.getByTestId("okta-signout-uri")).toHaveText(`${base()}/signin`);
  await expect(page.getByRole("button", { name: "Copy sign-in redirect uri" })).toBeVisible();

  // Bad input: an issuer that is neither Okta nor allowed is refused with the reason.
  await page.getByLabel("Okta domain or issuer URL").fill("https://login.evil.example");
  await page.getByLabel("Client ID").fill(OIDC_CLIENT_ID);
  await page.getByLabel("Client secret").fill(OIDC_CLIENT_SECRET);
  await page.getByLabel("Admin groups").fill("Roster Admins");
  await page.getByLabel("Viewer groups (optional)").fill("Roster Viewers");
  await page.getByTestId("signin-test").click();
  await expect(page.getByRole("alert")).toContainText("not an Okta domain");

  await page.getByLabel("Okta domain or issuer URL").fill(opUrl());
  await page.getByTestId("signin-save").click();
  await expect(page.getByRole("alert")).toContainText("not passed Test sign-in");
  await expect(page.getByTestId("signin-save-anyway")).toBeVisible();

  await page.getByTestId("signin-test").click();
  const [tab] = await Promise.all([page.context().waitForEvent("page"), page.getByTestId("signin-test-open").click()]);
  await signInAtOp(tab, "ada");
  await expect(tab.getByRole("heading", { name: "Test sign-in finished" })).toBeVisible();
  await tab.close();
  const report = page.getByTestId("signin-test-report");
  await expect(report).toHaveAttribute("data-verdict", "admin", { timeout: 20_000 });
  await expect(report).toContainText("ada@example.com");
  await expect(page.getByTestId("signin-test-groups")).toContainText("Roster Admins");
  await expect(page.getByTestId("signin-test-groups")).toContainText("id-token");
  await page.screenshot({ path: "screenshots/signin-settings.png", fullPage: true });

  await page.getByTestId("signin-save").click();
  await expect(page.getByTestId("signin-saved")).toBeVisible();
  await expect(page.getByTestId("signin-status")).toContainText("Tested by Setup administrator");
  // Never shown back.
  await page.reload();
  await waitForHydration(page);
  await expect(page.getByLabel("Client secret")).toHaveValue("");
  expect(await page.content()).not.toContain(OIDC_CLIENT_SECRET);

  // Wizard step 1 shows the real state.
  await page.goto("/settings/directory-sync/new");
  await waitForHydration(page);
  await expect(page.getByTestId("sso-step")).toContainText("Configured");
  await expect(page.getByTestId("sso-step")).toContainText(OIDC_CLIENT_ID);
});

test("when the ID token carries no e-mail or groups, Test sign-in reads them from userinfo", async ({ page }) => {
  await page.goto("/settings/sign-in");
  await waitForHydration(page);
  await page.getByLabel("Okta domain or issuer URL").fill(process.env.OP_USERINFO_URL ?? "");
  await page.getByLabel("Client secret").fill(OIDC_CLIENT_SECRET);
  await page.getByTestId("signin-test").click();
  const [tab] = await Promise.all([page.context().waitForEvent("page"), page.getByTestId("signin-test-open").click()]);
  await signInAtOp(tab, "vic");
  await expect(tab.getByRole("heading", { name: "Test sign-in finished" })).toBeVisible();
  await tab.close();
  const report = page.getByTestId("signin-test-report");
  await expect(report).toHaveAttribute("data-verdict", "viewer", { timeout: 20_000 });
  await expect(report).toContainText("vic@example.com");
  await expect(page.getByTestId("signin-test-groups")).toContainText("Roster Viewers");
  await expect(page.getByTestId("signin-test-groups")).toContainText("userinfo");
  // Only tested, not saved: the saved settings still name the first provider.
  await page.reload();
  await waitForHydration(page);
  await expect(page.getByLabel("Okta domain or issuer URL")).toHaveValue(opUrl());
});

test("an admin signs in with Okta; someone outside the groups gets a 403 naming the group", async ({ browser }) => {
  const admin = await stranger(browser);
  await signInWithOkta(admin.page, "ada");
  await expect(admin.page).toHaveURL(`${base()}/`);
  await waitForHydration(admin.page);
  await expect(admin.page.getByTestId("signed-in-as")).toHaveText("Ada Admin");
  await expect(admin.page.getByTestId("read-only-badge")).toHaveCount(0);
  const cookie = (await admin.context.cookies()).find((c) => c.name === "roster_session");
  expect(cookie?.httpOnly).toBe(true);
  expect(cookie?.sameSite).toBe("Lax");
  await admin.context.close();

  const outsider = await stranger(browser);
  await signInWithOkta(outsider.page, "olga");
  await expect(outsider.page.getByRole("heading", { name: "You don't have access to Roster" })).toBeVisible();
  await expect(outsider.page.locator("body")).toContainText("olga@example.com");
  await expect(outsider.page.locator("body")).toContainText("“Roster Admins”");
  await outsider.page.screenshot({ path: "screenshots/signin-refused.png" });
  await outsider.page.goto("/");
  await expect(outsider.page).toHaveURL(/\/signin$/);
  await outsider.context.close();
});

test("a viewer sees pages read-only and the server refuses their changes", async ({ browser, page }) => {
  const viewer = await stranger(browser);
  await signInWithOkta(viewer.page, "vic");
  await waitForHydration(viewer.page);
  await expect(viewer.page.getByTestId("read-only-badge")).toBeVisible();
  await expect(viewer.page.getByTestId("read-only-notice")).toBeVisible();
  await viewer.page.goto("/settings");
  await waitForHydration(viewer.page);
  const before = await viewer.page.getByTestId("instance-name").textContent();
  // The control is hidden for a viewer…
  await expect(viewer.page.getByRole("button", { name: "Save" })).toBeHidden();
  // …and pressing Enter in the field (the form still submits) is refused by the server.
  await viewer.page.getByLabel("Instance name").fill("Hijacked");
  await viewer.page.getByLabel("Instance name").press("Enter");
  await expect(viewer.page.getByRole("alert")).toContainText("read-only");
  // Not hidden only: the server function itself refuses a hand-made call.
  const action = (await viewer.page.locator("form[data-interactive=true]").getAttribute("action")) ?? "";
  expect(action).toMatch(/^\/api\/rename_instance/);
  const attempt = await viewer.page.evaluate(async (url) => {
    const r = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "name=Hijacked",
    });
    return { status: r.status, text: await r.text() };
  }, action);
  expect(attempt.status).not.toBe(200);
  expect(attempt.text).toContain("read-only");
  await viewer.page.reload();
  await expect(viewer.page.getByTestId("instance-name")).toHaveText(before ?? "");
  await viewer.page.screenshot({ path: "screenshots/viewer-read-only.png" });
  expect((await page.request.get("/api/v1/openapi.json")).ok()).toBeTruthy();
  await viewer.context.close();
});

test("a tampered or replayed state, and a replayed code, sign nobody in", async ({ browser, page }) => {
  const { context, page: p } = await stranger(browser);
  // A real sign-in, noting the answer Okta sent back (redirect hops included).
  const callbacks: string[] = [];
  p.on("request", (r) => {
    if (r.url().startsWith(`${base()}/auth/callback`)) callbacks.push(r.url());
  });
  await signInWithOkta(p, "ada");
  await expect(p).toHaveURL(`${base()}/`);
  const used = callbacks[callbacks.length - 1];
  expect(used).toContain("code=");
  await p.getByRole("button", { name: "Sign out" }).click();
  await p.locator(OP_SELECTORS.logoutYes).click();
  await expect(p).toHaveURL(/\/signin$/);

  /** Starts a flow in this browser without following it to Okta; returns its state. */
  const startFlow = async (): Promise<string> => {
    const r = await p.request.get("/auth/login", { maxRedirects: 0 });
    expect(r.status()).toBe(303);
    return new URL(r.headers()["location"]).searchParams.get("state") ?? "";
  };

  // A tampered state: the answer does not belong to the flow this browser started.
  const state = await startFlow();
  expect(state.length).toBeGreaterThan(20);
  await p.goto(`/auth/callback?code=anything&state=${encodeURIComponent(state + "x")}`);
  await expect(p.getByRole("heading", { name: "Sign-in link not valid" })).toBeVisible();
  // The real answer replayed: its flow is over.
  await p.goto(used);
  await expect(p.getByRole("heading", { name: "Sign-in link not valid" })).toBeVisible();
  // A used code inside a new, valid flow: Okta (here the OP) refuses the exchange.
  const fresh = await startFlow();
  await p.goto(`/auth/callback?code=${encodeURIComponent(new URL(used).searchParams.get("code") ?? "")}&state=${encodeURIComponent(fresh)}`);
  await expect(p.getByRole("heading", { name: "Sign-in failed" })).toBeVisible();
  await p.screenshot({ path: "screenshots/signin-failed.png" });
  // Denied consent (Okta's access_denied) in a valid flow.
  const denied = await startFlow();
  await p.goto(`/auth/callback?error=access_denied&error_description=User+denied+consent&state=${encodeURIComponent(denied)}`);
  await expect(p.getByRole("heading", { name: "Sign-in cancelled" })).toBeVisible();
  await expect(p.locator("body")).toContainText("User denied consent");
  await p.goto("/");
  await expect(p).toHaveURL(/\/signin$/);
  await context.close();

  // Each refusal is in the audit log.
  await page.goto("/settings/audit");
  await waitForHydration(page);
  await page.getByTestId("audit-action").selectOption("signin.");
  await expect(page.locator('[data-testid="audit-row"][data-action="signin.failed"]').first()).toBeVisible();
  await expect(page.locator('[data-testid="audit-row"][data-action="signin.succeeded"]').first()).toBeVisible();
  await page.screenshot({ path: "screenshots/audit-log.png", fullPage: true });
});

test("sign-out ends the Roster session server-side and the Okta session too", async ({ browser }) => {
  const { context, page } = await stranger(browser);
  await signInWithOkta(page, "ada");
  await waitForHydration(page);
  const cookieBefore = (await context.cookies()).find((c) => c.name === "roster_session")?.value;
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(new RegExp(`^${opUrl()}`));
  await page.locator(OP_SELECTORS.logoutYes).click();
  await expect(page).toHaveURL(/\/signin$/);
  // The old cookie opens nothing, even if replayed.
  const replay = await browser.newContext({
    baseURL: base(),
    storageState: {
      cookies: [{ name: "roster_session", value: cookieBefore ?? "", domain: "127.0.0.1", path: "/", expires: -1, httpOnly: true, secure: false, sameSite: "Lax" }],
      origins: [],
    },
  });
  const r = await replay.request.get("/", { headers: { accept: "text/html" }, maxRedirects: 0 });
  expect(r.status()).toBe(303);
  await replay.close();
  // The OP forgot the person too: signing in asks for a login again.
  await page.getByTestId("signin-okta").click();
  await expect(page.locator(OP_SELECTORS.loginInput)).toBeVisible();
  await context.close();
});

test("a person deprovisioned in Okta loses their live session at the next sync", async ({ browser, page }) => {
  const sim = await Sim.open();
  const rosterAppId = (await sim.org()).roster_app_id;
  // An admin who is also a synced user of the org.
  const dana = await sim.createUser("Dana", "Deprovisioned");
  await sim.assignUser(rosterAppId, dana.id);
  const op = process.env.OP_URL ?? "";
  const email = String(dana.profile.email ?? "dana@example.com");
  const added = await fetch(`${op}/test/accounts`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ sub: dana.id, email, name: "Dana Deprovisioned", groups: ["Roster Admins"] }),
  });
  expect(added.status).toBe(204);

  // A directory for the org, through the REST API.
  await page.goto("/settings/api-tokens");
  await waitForHydration(page);
  const createToken = (await page.getByTestId("create-token-form").getAttribute("action")) ?? "";
  const issued = await page.request.post(createToken, {
    form: { name: "e2e-signin-sync", scope: "read-write" },
    headers: { origin: base() },
  });
  expect(issued.ok()).toBeTruthy();
  const secret = (await issued.json()).secret as string;
  const auth = { authorization: `Bearer ${secret}` };
  const draft = await (await page.request.post("/api/v1/directories", {
    headers: auth,
    data: { okta_domain: sim.url, client_id: "0oaE2eSignInSync0001" },
  })).json();
  await sim.registerServiceApp({
    name: "Roster sign-in e2e",
    client_id: "0oaE2eSignInSync0001",
    jwks: { keys: [draft.key.jwk] },
    scopes: ["okta.apps.read", "okta.groups.read", "okta.users.read"],
    admin_role: true,
  });
  const verified = await (await page.request.post(`/api/v1/directories/${draft.id}/verify`, { headers: auth, data: { app_id: rosterAppId } })).json();
  expect(verified.ok, JSON.stringify(verified)).toBe(true);
  const created = await page.request.post(`/api/v1/directories/${draft.id}/create`, { headers: auth, data: { name: "Sign-in org" } });
  expect(created.status()).toBe(201);
  const waitForSync = async (after: string | null) => {
    await expect
      .poll(async () => {
        const d = await (await page.request.get(`/api/v1/directories/${draft.id}`, { headers: auth })).json();
        return d.progress === null && d.last_run?.status === "succeeded" && d.last_run?.id !== after ? d.last_run.id : "";
      }, { timeout: 60_000 })
      .not.toBe("");
    const d = await (await page.request.get(`/api/v1/directories/${draft.id}`, { headers: auth })).json();
    return d.last_run.id as string;
  };
  const firstRun = await waitForSync(null);

  const { context, page: danaPage } = await stranger(browser);
  await signInWithOkta(danaPage, dana.id);
  await expect(danaPage).toHaveURL(`${base()}/`);
  await waitForHydration(danaPage);

  // Okta deactivates Dana; the next sync removes her, and with her the session.
  await sim.setUserStatus(dana.id, "deactivate");
  expect((await page.request.post(`/api/v1/directories/${draft.id}/sync`, { headers: auth })).status()).toBe(202);
  await waitForSync(firstRun);
  await danaPage.goto("/");
  await expect(danaPage).toHaveURL(/\/signin\?ended=revoked$/);
  await expect(danaPage.getByTestId("session-ended")).toBeVisible();
  await context.close();

  const revoked = await (await page.request.get("/api/v1/audit?action=signin.sessions_revoked", { headers: auth })).json();
  expect(revoked.entries.length).toBeGreaterThan(0);
  // Clean up for the other specs.
  const del = await page.request.delete(`/api/v1/directories/${draft.id}?confirm_name=${encodeURIComponent("Sign-in org")}`, { headers: auth });
  expect(del.status()).toBe(204);
  await sim.close();
});

test("the HTTP surface: cross-site and Origin-less posts refused, headers present, 413, no secret at rest or in logs", async ({ page }) => {
  await page.goto("/");
  await waitForHydration(page);
  const violations: string[] = [];
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
  });
  await page.reload();
  await waitForHydration(page);
  expect(violations, "the CSP lets the app hydrate").toEqual([]);

  const response = await page.request.get("/", { headers: { accept: "text/html" } });
  const h = response.headers();
  expect(h["content-security-policy"]).toMatch(/script-src 'self' 'nonce-[^']+' 'wasm-unsafe-eval'/);
  expect(h["content-security-policy"]).toContain("frame-ancestors 'none'");
  expect(h["x-frame-options"]).toBe("DENY");
  expect(h["x-content-type-options"]).toBe("nosniff");
  expect(h["referrer-policy"]).toBe("same-origin");
  expect(h["cache-control"]).toBe("no-store");

  await page.goto("/settings");
  await waitForHydration(page);
  const action = (await page.locator("form[data-interactive=true]").getAttribute("action")) ?? "";
  expect(action).toMatch(/^\/api\/rename_instance/);
  const noOrigin = await page.request.post(action, { form: { name: "NoOrigin" } });
  expect(noOrigin.status()).toBe(403);
  const crossSite = await page.request.post(action, { form: { name: "Evil" }, headers: { origin: "https://evil.example" } });
  expect(crossSite.status()).toBe(403);
  const sameOrigin = await page.request.post(action, { form: { name: "Acme Production" }, headers: { origin: base() } });
  expect(sameOrigin.status(), "the same request from Roster's own origin works").toBeLessThan(400);

  const big = await page.request.post(action, {
    headers: { origin: base(), "content-type": "application/x-www-form-urlencoded" },
    data: `name=${"x".repeat(3 * 1024 * 1024)}`,
  });
  expect(big.status()).toBe(413);

  // The client secret: sealed in the database file, never in the log.
  const dataDir = process.env.ROSTER_DATA_DIR ?? "";
  for (const file of readdirSync(dataDir)) {
    const bytes = readFileSync(path.join(dataDir, file));
    expect(bytes.includes(Buffer.from(OIDC_CLIENT_SECRET)), `${file} holds the secret`).toBe(false);
  }
  const log = readFileSync(process.env.ROSTER_LOG_FILE ?? "", "utf8");
  expect(log.length).toBeGreaterThan(0);
  expect(log).toContain("Okta sign-in settings saved");
  expect(log).not.toContain(OIDC_CLIENT_SECRET);
});
