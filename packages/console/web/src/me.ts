/** The caller as the server sees them (GET /api/v1/me): for hiding buttons; the server still decides. */
export type Me = { principal: string; roles: string[]; kind?: string };

let current: Me | undefined;

export function setMe(me: Me | undefined) {
  current = me;
}
export const whoami = () => current;
export const hasRole = (...roles: string[]) => !!current && roles.some((r) => current?.roles.includes(r));
