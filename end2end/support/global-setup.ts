// Boots the Okta simulator and the real Roster binary on free ports (Roster
// with a throw-away data directory and the simulator whitelisted as an Okta
// origin), reads the one-time setup link Roster prints, and saves a signed-in
// admin session for the tests. Returns the teardown that stops both.
import { spawn, ChildProcess } from "node:child_process";
import { createWriteStream, mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { request, FullConfig } from "@playwright/test";
import { startOp, OpUser } from "./op";

/** The OIDC client registered at the test OpenID Provider (Okta-shaped id). */
export const OIDC_CLIENT_ID = "0oaRosterE2eSignIn01";
export const OIDC_CLIENT_SECRET = "e2e-oidc-secret-9f3b7c2a-never-in-clear";
/** People at the OpenID Provider; the login typed on its page is the sub. */
export const OIDC_USERS: OpUser[] = [
  { sub: "ada", email: "ada@example.com", name: "Ada Admin", groups: ["Roster Admins", "Everyone"] },
  { sub: "vic", email: "vic@example.com", name: "Vic Viewer", groups: ["Roster Viewers", "Everyone"] },
  { sub: "olga", email: "olga@example.com", name: "Olga Outsider", groups: ["Everyone"] },
];

const repo = path.resolve(__dirname, "../..");

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

function waitForSetupLink(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`no setup link within ${timeoutMs} ms:\n${seen}`)), timeoutMs);
    child.stdout?.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      const match = seen.match(/(http:\/\/\S+\/setup\?token=\S+)/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    // Roster's log goes to test-results/roster.log (see below), not the console.
    child.on("exit", (code) => reject(new Error(`roster exited with ${code}:\n${seen}`)));
  });
}

function waitForLine(child: ChildProcess, pattern: RegExp, name: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`${name}: no ${pattern} within ${timeoutMs} ms:\n${seen}`)), timeoutMs);
    child.stdout?.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      const match = seen.match(pattern);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.stderr?.on("data", (chunk: Buffer) => process.stderr.write(chunk));
    child.on("exit", (code) => reject(new Error(`${name} exited with ${code}:\n${seen}`)));
  });
}

/** A small org: enough users for several pages of the users table. */
async function startSimulator(): Promise<{ child: ChildProcess; url: string }> {
  const binary = process.env.OKTA_SIM_BINARY ?? path.join(repo, "target/debug/okta-sim");
  const port = await freePort();
  const child = spawn(
    binary,
    ["--listen", `127.0.0.1:${port}`, "--seed", "42", "--users", "140", "--groups", "12", "--memberships", "400"],
    { cwd: repo, env: { ...process.env, RUST_LOG: "okta_sim=warn" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  const url = await waitForLine(child, /okta-sim listening on (http:\/\/\S+)/, "okta-sim", 30_000);
  return { child, url };
}

export default async function globalSetup(_config: FullConfig) {
  const sim = await startSimulator();
  process.env.OKTA_SIM_URL = sim.url;
  const binary = process.env.ROSTER_BINARY ?? path.join(repo, "target/debug/roster");
  const dataDir = mkdtempSync(path.join(tmpdir(), "roster-e2e-"));
  const port = await freePort();
  const baseURL = `http://127.0.0.1:${port}`;
  // A real, certified OpenID Provider (panva's oidc-provider) stands in for Okta's sign-in.
  const op = await startOp({
    redirectUris: [`${baseURL}/auth/callback`],
    postLogoutRedirectUris: [`${baseURL}/signin`],
    users: OIDC_USERS,
    clientId: OIDC_CLIENT_ID,
    clientSecret: OIDC_CLIENT_SECRET,
  });
  process.env.OP_URL = op.url;
  // A second provider that puts the claims in userinfo only, for that path.
  const opUserinfo = await startOp({
    redirectUris: [`${baseURL}/auth/callback`],
    postLogoutRedirectUris: [`${baseURL}/signin`],
    users: OIDC_USERS,
    clientId: OIDC_CLIENT_ID,
    clientSecret: OIDC_CLIENT_SECRET,
    claimsInUserinfo: true,
  });
  process.env.OP_USERINFO_URL = opUserinfo.url;
  mkdirSync(path.join(__dirname, "../test-results"), { recursive: true });
  // Everything Roster prints, for the test that greps it for secrets.
  const logFile = path.join(__dirname, "../test-results/roster.log");
  process.env.ROSTER_LOG_FILE = logFile;
  const log = createWriteStream(logFile);
  const child = spawn(binary, [], {
    cwd: repo,
    env: {
      ...process.env,
      ROSTER_LISTEN: `127.0.0.1:${port}`,
      ROSTER_DATA_DIR: dataDir,
      ROSTER_SITE_ROOT: path.join(repo, "target/site"),
      ROSTER_LOG: process.env.ROSTER_LOG ?? "info,sqlx=warn",
      ROSTER_OKTA_EXTRA_ORIGINS: `${sim.url},${op.url},${opUserinfo.url}`,
      // The tests' webhook receiver listens on loopback.
      ROSTER_WEBHOOK_ALLOWED_NETWORKS: "127.0.0.0/8",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk: Buffer) => log.write(chunk));
  child.stderr?.on("data", (chunk: Buffer) => log.write(chunk));
  const setupLink = await waitForSetupLink(child, 30_000);
  process.env.ROSTER_BASE_URL = baseURL;
  process.env.ROSTER_DATA_DIR = dataDir;

  const api = await request.newContext();
  // Opening the link only asks; confirming it (a same-origin POST) signs in.
  const confirm = await api.get(setupLink);
  if (!confirm.ok() || !(await confirm.text()).includes('method="post"')) {
    throw new Error(`setup link did not show its confirm page: ${confirm.status()}`);
  }
  const token = new URL(setupLink).searchParams.get("token") ?? "";
  const response = await api.post(`${baseURL}/setup`, { form: { token }, headers: { origin: baseURL } });
  if (!response.ok()) throw new Error(`setup link failed: ${response.status()}`);
  await api.storageState({ path: path.join(__dirname, "../test-results/.admin-session.json") });
  await api.dispose();

  return async () => {
    await op.stop();
    await opUserinfo.stop();
    child.kill("SIGTERM");
    sim.child.kill("SIGTERM");
    rmSync(dataDir, { recursive: true, force: true });
  };
}
