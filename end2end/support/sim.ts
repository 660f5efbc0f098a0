// A thin client for the Okta simulator's admin API (/sim/*): the test plays
// the Okta admin who registers the service app and changes the org.
import { APIRequestContext, request, expect } from "@playwright/test";
import { generateKeyPairSync } from "node:crypto";

export const ROSTER_APP_LABEL = "Roster";

export type SimUser = { id: string; status: string; profile: Record<string, unknown> };

export class Sim {
  private constructor(
    private readonly api: APIRequestContext,
    readonly url: string,
  ) {}

  static async open(): Promise<Sim> {
    const url = process.env.OKTA_SIM_URL;
    if (!url) throw new Error("OKTA_SIM_URL is not set; global setup starts the simulator");
    return new Sim(await request.newContext({ baseURL: url }), url);
  }

  async close() {
    await this.api.dispose();
  }

  private async ok<T>(response: Promise<import("@playwright/test").APIResponse>): Promise<T> {
    const r = await response;
    expect(r.ok(), `${r.url()} → ${r.status()} ${await r.text()}`).toBeTruthy();
    return r.status() === 204 ? (undefined as T) : ((await r.json()) as T);
  }

  registerServiceApp(spec: Record<string, unknown>) {
    return this.ok(this.api.post("/sim/service-apps", { data: spec }));
  }

  updateServiceApp(clientId: string, patch: Record<string, unknown>) {
    return this.ok(this.api.patch(`/sim/service-apps/${clientId}`, { data: patch }));
  }

  org(): Promise<{ roster_app_id: string; roster_app_users: number; roster_app_groups: number }> {
    return this.ok(this.api.get("/sim/org"));
  }

  appUserIds(appId: string): Promise<string[]> {
    return this.ok(this.api.get(`/sim/apps/${appId}/users`));
  }

  appGroupIds(appId: string): Promise<string[]> {
    return this.ok(this.api.get(`/sim/apps/${appId}/groups`));
  }

  user(id: string): Promise<SimUser> {
    return this.ok(this.api.get(`/sim/users/${id}`));
  }

  createUser(firstName: string, lastName: string): Promise<SimUser> {
    return this.ok(this.api.post("/sim/users", { data: { firstName, lastName } }));
  }

  setUserStatus(id: string, status: string): Promise<SimUser> {
    return this.ok(this.api.patch(`/sim/users/${id}`, { data: { status } }));
  }

  assignUser(appId: string, userId: string) {
    return this.ok(this.api.post(`/sim/apps/${appId}/users/${userId}`));
  }

  /** Unassigns; a user assigned only through a group answers 409, like Okta. */
  async unassignUser(appId: string, userId: string): Promise<boolean> {
    const r = await this.api.delete(`/sim/apps/${appId}/users/${userId}`);
    return r.status() === 204;
  }

  unassignGroup(appId: string, groupId: string) {
    return this.ok(this.api.delete(`/sim/apps/${appId}/groups/${groupId}`));
  }

  /** Registers an Okta Event Hook (Okta's EventHook body); unverified until `verifyEventHook`. */
  createEventHook(spec: Record<string, unknown>): Promise<{ id: string; verificationStatus: string }> {
    return this.ok(this.api.post("/sim/event-hooks", { data: spec }));
  }

  /** Okta's verification call to the hook's URL. */
  verifyEventHook(id: string): Promise<{ verificationStatus: string }> {
    return this.ok(this.api.post(`/sim/event-hooks/${id}/lifecycle/verify`));
  }

  deleteEventHook(id: string) {
    return this.ok(this.api.delete(`/sim/event-hooks/${id}`));
  }

  addFault(rule: Record<string, unknown>) {
    return this.ok(this.api.post("/sim/faults", { data: rule }));
  }

  clearFaults() {
    return this.ok(this.api.delete("/sim/faults"));
  }

  /** Users Roster should show for the app: every assigned user but the deprovisioned. */
  async expectedCounts(appId: string): Promise<{ users: number; suspended: number; groups: number }> {
    const users = await Promise.all((await this.appUserIds(appId)).map((id) => this.user(id)));
    const present = users.filter((u) => u.status !== "DEPROVISIONED");
    return {
      users: present.length,
      suspended: present.filter((u) => u.status === "SUSPENDED").length,
      groups: (await this.appGroupIds(appId)).length,
    };
  }
}

/** A public JWK of a key Roster does not hold ("key not registered"). */
export function foreignJwk(): Record<string, unknown> {
  const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { ...(publicKey.export({ format: "jwk" }) as Record<string, unknown>), kid: "foreign-key", use: "sig", alg: "RS256" };
}
