/** The Keyspaces SigV4 plugin ships no types; this is the part Keel uses. */
declare module "aws-sigv4-auth-cassandra-plugin" {
  import type { auth } from "cassandra-driver";
  export default class SigV4AuthProvider extends auth.AuthProvider {
    constructor(opts?: {
      region?: string;
      accessKeyId?: string;
      secretAccessKey?: string;
      sessionToken?: string;
    });
    newAuthenticator(endpoint: string, name: string): auth.Authenticator;
  }
}
