import { hostname, networkInterfaces } from "node:os";

const LOOPBACK = ["localhost", "127.0.0.1", "[::1]"];
const WILDCARD = new Set(["0.0.0.0", "::", "[::]", ""]);

/** An address as it appears in a Host header: IPv6 in brackets, lower case. */
function asHostName(name: string): string {
  const n = name.toLowerCase();
  return n.includes(":") && !n.startsWith("[") ? `[${n}]` : n;
}

/** Whether an allow-list entry names a port already (`host:port`, `[v6]:port`). */
function hasPort(entry: string): boolean {
  return /^\[.*\]:\d+$/.test(entry) || /^[^:[\]]+:\d+$/.test(entry);
}

/**
 * The `Host` headers `keel dev` answers to: the bound host, localhost, 127.0.0.1 and [::1],
 * each with the bound port, plus `extra` (names, or `host:port`). Bound to a wildcard address
 * (`--host 0.0.0.0`), the machine's own name and interface addresses are added, so other
 * machines on the network reach it by those; any other name is a DNS rebinding attempt.
 */
export function allowedHostHeaders(bound: string, port: number, extra: readonly string[] = []): Set<string> {
  const names = new Set([...LOOPBACK, asHostName(bound)]);
  if (WILDCARD.has(bound)) {
    names.add(hostname().toLowerCase());
    for (const addrs of Object.values(networkInterfaces()))
      for (const a of addrs ?? []) names.add(asHostName(a.address.split("%")[0]));
  }
  const out = new Set<string>();
  const add = (name: string) => {
    out.add(`${name}:${port}`);
    if (port === 80) out.add(name);
  };
  for (const n of names) if (!WILDCARD.has(n)) add(n);
  for (const e of extra) {
    const entry = e.trim().toLowerCase();
    if (hasPort(entry)) out.add(entry);
    else if (entry) add(asHostName(entry));
  }
  return out;
}
