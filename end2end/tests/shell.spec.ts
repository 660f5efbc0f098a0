import { test, expect } from "@playwright/test";
import { waitForHydration, markWindow, windowMarker } from "../support/hydration";

test.describe("app shell", () => {
  test("hydrates without console errors and shows real overview facts", async ({ page }) => {
    const errors: string[] = [];
    page.on("console", (msg) => msg.type() === "error" && errors.push(msg.text()));
    page.on("pageerror", (err) => errors.push(err.message));
    await page.goto("/");
    await waitForHydration(page);
    await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
    await expect(page.getByTestId("directories-count")).toHaveText("0");
    await expect(page.getByTestId("overview-facts")).toContainText("SQLite");
    await expect(page.getByTestId("overview-facts")).toContainText(process.env.ROSTER_DATA_DIR!);
    await page.screenshot({ path: "screenshots/overview.png" });
    expect(errors).toEqual([]);
  });

  test("client-side interaction updates the page without a reload", async ({ page }) => {
    await page.goto("/settings");
    await waitForHydration(page);
    await expect(page.locator("form[data-interactive=true]")).toBeVisible();
    await markWindow(page);
    const input = page.getByLabel("Instance name");
    await input.fill("Acme");
    await expect(page.getByTestId("char-count")).toHaveText("4 / 64 characters");
    await input.fill("");
    await expect(page.getByText("Enter a name for this Roster instance.")).toBeVisible();
    expect(await windowMarker(page)).toBe(42);
  });

  test("client-side navigation keeps the page and marks the current link", async ({ page }) => {
    await page.goto("/");
    await waitForHydration(page);
    await markWindow(page);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Directory Sync" }).click();
    await expect(page.getByTestId("directory-empty-state")).toBeVisible();
    await expect(page.getByRole("link", { name: "Directory Sync" })).toHaveAttribute("aria-current", "page");
    expect(await windowMarker(page)).toBe(42);
    await page.screenshot({ path: "screenshots/directory-sync-empty.png" });
  });

  test("rename round-trips through the server function and updates the top bar", async ({ page }) => {
    await page.goto("/settings");
    await waitForHydration(page);
    await expect(page.locator("form[data-interactive=true]")).toBeVisible();
    await markWindow(page);
    await page.getByLabel("Instance name").fill("Acme Production");
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByRole("status")).toContainText("Saved as “Acme Production”");
    await expect(page.getByTestId("instance-name")).toHaveText("Acme Production");
    expect(await windowMarker(page)).toBe(42);
    await page.screenshot({ path: "screenshots/settings.png" });
    await page.reload();
    await expect(page.getByTestId("instance-name")).toHaveText("Acme Production");
  });

  test("server-side validation errors are shown inline and change nothing", async ({ page }) => {
    await page.goto("/settings");
    await waitForHydration(page);
    await expect(page.locator("form[data-interactive=true]")).toBeVisible();
    const before = await page.getByTestId("instance-name").textContent();
    await page.getByLabel("Instance name").fill("x".repeat(70));
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByRole("alert")).toContainText("use at most 64");
    await page.reload();
    await expect(page.getByTestId("instance-name")).toHaveText(before!);
  });

  test("the navigation collapses behind a toggle on narrow screens", async ({ page }) => {
    await page.setViewportSize({ width: 420, height: 800 });
    await page.goto("/");
    await waitForHydration(page);
    const toggle = page.getByRole("button", { name: "Toggle navigation" });
    const link = page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings" });
    await expect(link).not.toBeInViewport();
    await toggle.click();
    await expect(toggle).toHaveAttribute("aria-expanded", "true");
    await expect(link).toBeInViewport();
  });

  test("unknown pages get a styled 404", async ({ page }) => {
    const response = await page.goto("/no/such/page");
    expect(response?.status()).toBe(404);
    await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  });
});

test.describe("without a session", () => {
  test.use({ storageState: { cookies: [], origins: [] } });

  test("every page sends the visitor to sign-in", async ({ page }) => {
    await page.goto("/settings");
    await expect(page).toHaveURL(/\/signin$/);
    await expect(page.getByRole("heading", { name: "Sign in to Roster" })).toBeVisible();
  });
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the settings form still submits", async ({ page }) => {
    await page.goto("/settings");
    await page.getByLabel("Instance name").fill("No-JS Roster");
    await page.getByRole("button", { name: "Save" }).click();
    await page.goto("/");
    await expect(page.getByTestId("instance-name")).toHaveText("No-JS Roster");
  });
});
