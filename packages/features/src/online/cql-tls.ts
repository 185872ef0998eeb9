import { readFileSync } from "node:fs";
import { BlockList, isIP } from "node:net";
import { invalidFeatures } from "../errors";

/** TLS settings for a CQL connection: verified against the system CAs plus `ca` when given. */
export interface CqlTlsOptions {
  /** PEM text of the CA that signs the nodes' certificates (e.g. ScyllaDB Cloud's). */
  ca?: string;
}

/** The host of a contact point: "host", "host:port", "[v6]:port" or a bare IPv6 address. */
export function contactHost(contactPoint: string): string {
  const cp = contactPoint.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(cp);
  if (bracketed) return bracketed[1];
  if (isIP(cp) === 6) return cp;
  const i = cp.lastIndexOf(":");
  return i > 0 && /^\d+$/.test(cp.slice(i + 1)) ? cp.slice(0, i) : cp;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

/** Loopback: `localhost` (and its subdomains), 127.0.0.0/8, ::1 (also IPv4-mapped 127.x). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, "");
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  const family = isIP(h);
  return family !== 0 && LOOPBACK.check(h, family === 4 ? "ipv4" : "ipv6");
}

/**
 * Whether a ScyllaDB/Cassandra connection uses TLS: always when TLS is configured; plain only
 * when every contact point is loopback (a node on this machine, as in `keel dev` and the
 * conformance tests). Anything else is refused before connecting, naming the host, since
 * credentials and feature values would otherwise cross the network in clear text.
 */
export function cqlTransport(contactPoints: string[], tls: CqlTlsOptions | undefined): "tls" | "plain" {
  if (tls) return "tls";
  const remote = contactPoints.map(contactHost).find((h) => !isLoopbackHost(h));
  if (remote !== undefined)
    throw invalidFeatures(
      `CQL contact point '${remote}' is not loopback: ScyllaDB/Cassandra connections require TLS ` +
        "unless every host is loopback (set KEEL_CQL_TLS=true, and KEEL_CQL_CA_FILE for a private CA)",
    );
  return "plain";
}

/** Reads the CA bundle named by KEEL_CQL_CA_FILE, failing with the file's name (never its content). */
export function readCaFile(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw invalidFeatures(`cannot read the CQL CA file '${file}': ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
}
