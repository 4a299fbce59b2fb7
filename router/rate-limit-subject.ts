import { isIPv6 } from "node:net";

import type { ClientInfo, Identity } from "../platform/identity/identity";

/** Whose budget a request is charged to (decision 003): an API key, a user, or a client address. */

export type CallerClass = "anonymous" | "user" | "apiKey";

/** Whose budget a request is charged to. */
export interface RateLimitSubject {
  kind: CallerClass;
  key: string;
}

/** Who pays for a request: the API key, else the user, else the client's address. */
export function rateLimitSubject(identity: Identity, client: Pick<ClientInfo, "ip">): RateLimitSubject {
  if (identity.kind === "user" && identity.apiKeyId) return { kind: "apiKey", key: identity.apiKeyId };
  if (identity.kind === "user") return { kind: "user", key: identity.userId };
  return { kind: "anonymous", key: addressKey(client.ip) };
}

/**
 * An anonymous caller's counter key: the IPv4 address, or the /64 network of an IPv6 address (one
 * subscriber usually holds a whole /64, so per-address counting would be trivially evaded).
 */
export function addressKey(ip: string | null): string {
  if (!ip) return "unknown";
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return mapped[1]!;
  const address = ip.split("%")[0]!;
  if (!isIPv6(address)) return ip;
  return `${ipv6Groups(address).slice(0, 4).join(":")}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address, in lowercase hex without leading zeros. */
function ipv6Groups(address: string): string[] {
  const parse = (part: string) =>
    part === ""
      ? []
      : part.split(":").flatMap((group) => {
          if (!group.includes(".")) return [group];
          const [a, b, c, d] = group.split(".").map(Number) as [number, number, number, number];
          return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
        });
  const gap = address.indexOf("::");
  const groups =
    gap < 0
      ? parse(address)
      : (() => {
          const head = parse(address.slice(0, gap));
          const tail = parse(address.slice(gap + 2));
          return [...head, ...Array<string>(8 - head.length - tail.length).fill("0"), ...tail];
        })();
  return groups.map((group) => parseInt(group, 16).toString(16));
}
