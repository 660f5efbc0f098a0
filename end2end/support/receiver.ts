// A webhook receiver on loopback, as a downstream app would run one: it
// keeps every request's raw body and Roster-Signature header, and checks
// signatures the way README tells receivers to (Node's crypto).
import { createServer, Server } from "node:http";
import { createHmac, timingSafeEqual } from "node:crypto";

export type Received = { signature: string; body: Buffer };
export type WebhookEvent = { id: string; type: string; entity_id: string; version: number; data: Record<string, unknown> };

export class Receiver {
  readonly received: Received[] = [];
  private constructor(private readonly server: Server, readonly url: string) {}

  static async start(): Promise<Receiver> {
    let receiver: Receiver | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        receiver?.received.push({ signature: String(req.headers["roster-signature"] ?? ""), body: Buffer.concat(chunks) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : 0;
    receiver = new Receiver(server, `http://127.0.0.1:${port}/hooks/roster`);
    return receiver;
  }

  events(): WebhookEvent[] {
    return this.received.flatMap((r) => JSON.parse(r.body.toString("utf8")).events as WebhookEvent[]);
  }

  /** The request that carried the event with this id. */
  requestOf(eventId: string): Received | undefined {
    return this.received.find((r) => (JSON.parse(r.body.toString("utf8")).events as WebhookEvent[]).some((e) => e.id === eventId));
  }

  close() {
    this.server.close();
  }
}

/** HMAC-SHA256(secret, "<t>.<raw body>") equals one of the header's v1 values. */
export function verifySignature(secret: string, header: string, body: Buffer): boolean {
  const parts = header.split(",").map((p) => p.split("=", 2) as [string, string]);
  const t = parts.find(([k]) => k === "t")?.[1];
  if (!t) return false;
  const expected = createHmac("sha256", secret).update(`${t}.`).update(body).digest();
  return parts
    .filter(([k]) => k === "v1")
    .some(([, v]) => {
      const given = Buffer.from(v, "hex");
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
}
