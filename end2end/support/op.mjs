// A real OpenID Provider for the end-to-end tests: oidc-provider (panva) 8.8.1
// on plain http on loopback, with one confidential client, PKCE S256 required,
// the built-in development login/consent pages (any password; the account id is
// the login typed) and RP-initiated logout. ID tokens carry email, name and
// groups themselves (conformIdTokenClaims: false), as Okta's do.
//
// Env: OP_PORT (0 = any free port), OP_CLIENT_ID, OP_CLIENT_SECRET,
// OP_REDIRECT_URIS (comma-separated, required), OP_POST_LOGOUT_REDIRECT_URIS
// (comma-separated), OP_USERS (JSON array of {sub, email, name, groups}),
// OP_DEBUG=1 to keep oidc-provider's development notices and log every error.
//
// Test endpoints, routed before the provider:
//   POST /test/accounts        {sub, email, name, groups} -> 204 (adds or replaces)
//   GET  /test/accounts/<sub>  -> the account JSON, or 404
//
// stdout carries exactly one line, `oidc-provider listening on http://127.0.0.1:<port>`;
// everything else goes to stderr.
import { generateKeyPairSync } from "node:crypto";
import { createServer } from "node:http";
import Provider, { errors, interactionPolicy } from "oidc-provider";

const debug = Boolean(process.env.OP_DEBUG);

// oidc-provider writes its notices with console.info (stdout). Keep stdout for
// the listening line alone, and drop the development-only notices unless asked.
for (const method of ["log", "info", "warn"]) {
  console[method] = (...args) => {
    const text = args.map(String).join(" ");
    if (!debug && /^(\x1b\[[0-9;]*m)?oidc-provider (NOTICE|WARNING):/.test(text)) return;
    process.stderr.write(`${text}\n`);
  };
}

function list(value) {
  return (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

const port = Number(process.env.OP_PORT ?? 0);
const clientId = process.env.OP_CLIENT_ID || "roster-e2e";
const clientSecret = process.env.OP_CLIENT_SECRET || "roster-e2e-secret-0123456789abcdef";
const redirectUris = list(process.env.OP_REDIRECT_URIS);
const postLogoutRedirectUris = list(process.env.OP_POST_LOGOUT_REDIRECT_URIS);
if (redirectUris.length === 0) {
  process.stderr.write("op.mjs: OP_REDIRECT_URIS is required (comma-separated)\n");
  process.exit(2);
}
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`op.mjs: bad OP_PORT ${process.env.OP_PORT}\n`);
  process.exit(2);
}

/** sub -> {sub, email, name, groups} */
const accounts = new Map();

function normalizeAccount(input) {
  if (!input || typeof input !== "object") throw new Error("account must be an object");
  const { sub, email, name, groups } = input;
  if (typeof sub !== "string" || sub === "") throw new Error("account.sub must be a non-empty string");
  if (typeof email !== "string") throw new Error("account.email must be a string");
  if (typeof name !== "string") throw new Error("account.name must be a string");
  const groupList = groups ?? [];
  if (!Array.isArray(groupList) || !groupList.every((g) => typeof g === "string")) {
    throw new Error("account.groups must be an array of strings");
  }
  return { sub, email, name, groups: [...groupList] };
}

if (process.env.OP_USERS) {
  const users = JSON.parse(process.env.OP_USERS);
  if (!Array.isArray(users)) throw new Error("OP_USERS must be a JSON array");
  for (const user of users) {
    const account = normalizeAccount(user);
    accounts.set(account.sub, account);
  }
}

async function findAccount(_ctx, id) {
  const account = accounts.get(id);
  if (!account) return undefined;
  return {
    accountId: account.sub,
    async claims(_use, _scope, _claims, _rejected) {
      return {
        sub: account.sub,
        email: account.email,
        email_verified: true,
        name: account.name,
        preferred_username: account.email,
        groups: [...account.groups],
      };
    },
  };
}

// The development login page accepts any login. A login that names no account
// here ends the authorization with error=access_denied at the client (and drops
// that OP session) instead of oidc-provider failing on the missing account.
function interactionsPolicy() {
  const policy = interactionPolicy.base();
  policy.get("login").checks.add(
    new interactionPolicy.Check("unknown_account", "the signed-in account is not known", async (ctx) => {
      const { accountId } = ctx.oidc.session;
      if (accountId && !ctx.oidc.account) {
        await ctx.oidc.session.destroy();
        throw new errors.AccessDenied(`unknown account ${accountId}`);
      }
      return interactionPolicy.Check.NO_NEED_TO_PROMPT;
    }),
    0,
  );
  return policy;
}

// One RS256 signing key per run.
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: "jwk" }), kid: "roster-e2e-rs256", alg: "RS256", use: "sig" };

function configuration() {
  return {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        token_endpoint_auth_method: "client_secret_basic",
        grant_types: ["authorization_code"],
        response_types: ["code"],
        redirect_uris: redirectUris,
        post_logout_redirect_uris: postLogoutRedirectUris,
        id_token_signed_response_alg: "RS256",
      },
    ],
    jwks: { keys: [signingKey] },
    findAccount,
    interactions: { policy: interactionsPolicy() },
    pkce: { required: () => true, methods: ["S256"] },
    scopes: ["openid", "email", "profile", "groups"],
    claims: {
      openid: ["sub"],
      email: ["email", "email_verified"],
      profile: ["name", "preferred_username"],
      groups: ["groups"],
    },
    // OP_CLAIMS_IN_USERINFO=1: a stricter provider that keeps scope claims
    // (email, name, groups) out of the ID token, so the client needs userinfo.
    conformIdTokenClaims: Boolean(process.env.OP_CLAIMS_IN_USERINFO),
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    cookies: {
      keys: ["kq3Vt9XwLr2mB7sPz4Hc8Nf1Jd6Ye0Ua", "Gx5Rb8Tn2Wq7Lm4Kc9Vz1Hs6Pd3Jf0Ye"],
      // Plain http on loopback: never `secure`, and SameSite=Lax rather than the
      // default None for the session cookie (Chromium drops SameSite=None cookies
      // that are not Secure). The OP and Roster are both on 127.0.0.1, one site.
      long: { httpOnly: true, sameSite: "lax", secure: false },
      short: { httpOnly: true, sameSite: "lax", secure: false },
    },
    renderError(ctx, out, _error) {
      ctx.type = "html";
      const rows = Object.entries(out)
        .map(([key, value]) => `<p><strong>${escapeHtml(key)}</strong>: <span class="${escapeHtml(key)}">${escapeHtml(String(value))}</span></p>`)
        .join("\n");
      ctx.body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>oidc-provider error</title></head><body><h1>oops! something went wrong</h1>${rows}</body></html>`;
    },
  };
}

function escapeHtml(s) {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function readBody(req, limit = 64 * 1024) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    req.on("data", (chunk) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error("body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

async function testRoutes(req, res) {
  const url = new URL(req.url, "http://127.0.0.1");
  if (url.pathname === "/test/accounts" && req.method === "POST") {
    let account;
    try {
      account = normalizeAccount(JSON.parse(await readBody(req)));
    } catch (error) {
      res.writeHead(400, { "content-type": "text/plain" }).end(`${error.message}\n`);
      return;
    }
    accounts.set(account.sub, account);
    res.writeHead(204).end();
    return;
  }
  const match = url.pathname.match(/^\/test\/accounts\/([^/]+)$/);
  if (match && req.method === "GET") {
    let sub;
    try {
      sub = decodeURIComponent(match[1]);
    } catch {
      sub = match[1];
    }
    const account = accounts.get(sub);
    if (!account) {
      res.writeHead(404, { "content-type": "text/plain" }).end("no such account\n");
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(account));
    return;
  }
  res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
}

let providerCallback = null;

const server = createServer((req, res) => {
  if (req.url === "/test" || req.url.startsWith("/test/")) {
    testRoutes(req, res).catch((error) => {
      process.stderr.write(`op.mjs: ${error.stack ?? error}\n`);
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end("internal error\n");
    });
    return;
  }
  if (!providerCallback) {
    res.writeHead(503, { "content-type": "text/plain" }).end("starting\n");
    return;
  }
  providerCallback(req, res);
});

server.listen(port, "127.0.0.1", () => {
  const address = server.address();
  const issuer = `http://127.0.0.1:${address.port}`;
  const provider = new Provider(issuer, configuration());
  provider.on("server_error", (_ctx, error) => process.stderr.write(`oidc-provider server_error: ${error.stack ?? error}\n`));
  if (debug) {
    for (const event of ["authorization.error", "grant.error", "end_session.error", "userinfo.error", "discovery.error"]) {
      provider.on(event, (_ctx, error) => process.stderr.write(`oidc-provider ${event}: ${error.message} ${error.error_description ?? ""}\n`));
    }
  }
  providerCallback = provider.callback();
  process.stdout.write(`oidc-provider listening on ${issuer}\n`);
});

server.on("error", (error) => {
  process.stderr.write(`op.mjs: ${error.stack ?? error}\n`);
  process.exit(1);
});

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
