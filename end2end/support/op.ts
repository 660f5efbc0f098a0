// Starts the test OpenID Provider (support/op.mjs: oidc-provider 8.8.1 with its
// development login and consent pages) and signs in at it from a Playwright page.
import { spawn, ChildProcess } from "node:child_process";
import path from "node:path";
import type { Page } from "@playwright/test";

export const OP_CLIENT_ID = "roster-e2e";
export const OP_CLIENT_SECRET = "roster-e2e-secret-0123456789abcdef";

export type OpUser = { sub: string; email: string; name: string; groups: string[] };

export type Op = {
  child: ChildProcess;
  /** The issuer, e.g. http://127.0.0.1:40123 (discovery at /.well-known/openid-configuration). */
  url: string;
  clientId: string;
  clientSecret: string;
  /** Adds or replaces an account at the OP (its sub is the login typed on the login page). */
  addUser(u: OpUser): Promise<void>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
};

export type StartOpOptions = {
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  users?: OpUser[];
  /** Defaults to 0: the OP picks a free port and reports it. */
  port?: number;
  clientId?: string;
  clientSecret?: string;
  /** Keep e-mail, name and groups out of the ID token (userinfo only). */
  claimsInUserinfo?: boolean;
};

/** Resolves with the first capture group of `pattern` on the child's stdout; forwards its stderr; rejects if it exits first. */
export function waitForLine(child: ChildProcess, pattern: RegExp, name: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = "";
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      reject(new Error(`${name}: no ${pattern} within ${timeoutMs} ms:\n${seen}`));
    }, timeoutMs);
    child.stdout?.on("data", (chunk: Buffer) => {
      if (done) return;
      seen += chunk.toString();
      const match = seen.match(pattern);
      if (match) {
        done = true;
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.stderr?.on("data", (chunk: Buffer) => process.stderr.write(chunk));
    child.on("exit", (code, signal) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code ?? signal}:\n${seen}`));
    });
  });
}

export async function startOp(opts: StartOpOptions): Promise<Op> {
  const clientId = opts.clientId ?? OP_CLIENT_ID;
  const clientSecret = opts.clientSecret ?? OP_CLIENT_SECRET;
  const child = spawn(process.execPath, [path.join(__dirname, "op.mjs")], {
    cwd: path.resolve(__dirname, ".."),
    env: {
      ...process.env,
      OP_PORT: String(opts.port ?? 0),
      OP_CLIENT_ID: clientId,
      OP_CLIENT_SECRET: clientSecret,
      OP_REDIRECT_URIS: opts.redirectUris.join(","),
      OP_POST_LOGOUT_REDIRECT_URIS: (opts.postLogoutRedirectUris ?? []).join(","),
      OP_USERS: JSON.stringify(opts.users ?? []),
      OP_CLAIMS_IN_USERINFO: opts.claimsInUserinfo ? "1" : "",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let url: string;
  try {
    url = await waitForLine(child, /oidc-provider listening on (http:\/\/\S+)/, "oidc-provider", 30_000);
  } catch (error) {
    child.kill("SIGTERM");
    throw error;
  }
  return {
    child,
    url,
    clientId,
    clientSecret,
    async addUser(u: OpUser) {
      const response = await fetch(`${url}/test/accounts`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(u),
      });
      if (response.status !== 204) {
        throw new Error(`oidc-provider: adding ${u.sub} failed: ${response.status} ${await response.text()}`);
      }
    },
    stop() {
      return new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      });
    },
  };
}

/**
 * On the OP's login page: signs in as `login` (the account's sub; any password),
 * accepts the consent page if it appears, and returns once the browser has left
 * the OP (back at the client, with a code or an error such as access_denied for
 * an unknown login). Throws if it is still at the OP after `timeoutMs`.
 */
export async function signInAtOp(page: Page, login: string, timeoutMs = 15_000): Promise<void> {
  const opOrigin = new URL(page.url()).origin;
  const loginForm = page.locator('form:has(input[name="prompt"][value="login"])');
  await loginForm.locator('input[name="login"]').fill(login, { timeout: timeoutMs });
  await loginForm.locator('input[name="password"]').fill("any-password");
  const loginUrl = page.url();
  await loginForm.locator('button[type="submit"]').click();

  const consentButton = page.locator('form:has(input[name="prompt"][value="consent"]) button[type="submit"]');
  const deadline = Date.now() + timeoutMs;
  let consentUrl: string | undefined;
  for (;;) {
    const current = page.url();
    if (new URL(current).origin !== opOrigin) return;
    if (current !== loginUrl && current !== consentUrl && (await consentButton.isVisible().catch(() => false))) {
      consentUrl = current;
      await consentButton.click();
      continue;
    }
    if (Date.now() > deadline) {
      const text = await page.locator("body").innerText().catch(() => "");
      throw new Error(`signInAtOp(${login}): still at the OP (${current}) after ${timeoutMs} ms:\n${text.slice(0, 1000)}`);
    }
    await page.waitForTimeout(100);
  }
}

/** Selectors of the OP's pages, for tests that drive them by hand. */
export const OP_SELECTORS = {
  loginInput: 'input[name="login"]',
  passwordInput: 'input[name="password"]',
  loginSubmit: 'form:has(input[name="prompt"][value="login"]) button[type="submit"]',
  consentSubmit: 'form:has(input[name="prompt"][value="consent"]) button[type="submit"]',
  /** On the end-session confirmation page ("Do you want to sign-out from 127.0.0.1:<port>?"). */
  logoutYes: 'button[name="logout"][value="yes"]',
  logoutNo: 'button[form="op.logoutForm"]:not([name="logout"])',
} as const;
