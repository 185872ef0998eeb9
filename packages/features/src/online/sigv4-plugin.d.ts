/** The Keyspaces SigV4 plugin ships no types; this is the part Keel uses (a CommonJS module). */
declare module "aws-sigv4-auth-cassandra-plugin" {
  import type { auth } from "cassandra-driver";
  export class SigV4AuthProvider extends auth.AuthProvider {
    constructor(opts?: {
      region?: string;
      accessKeyId?: string;
      secretAccessKey?: string;
      sessionToken?: string;
    });
    newAuthenticator(endpoint: string, name: string): auth.Authenticator;
  }
  const plugin: { SigV4AuthProvider: typeof SigV4AuthProvider };
  export default plugin;
}
