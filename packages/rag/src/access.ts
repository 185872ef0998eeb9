import { currentContext, KeelError } from "@keel/core";
import type { KnowledgeBase } from "./knowledge-base";
import type { AccessScope } from "./vector-store";

/** The teams of a knowledge base the principal belongs to. */
export function teamsOf(kb: KnowledgeBase, principal: string): string[] {
  return Object.entries(kb.teams)
    .filter(([, members]) => members.includes(principal))
    .map(([team]) => team);
}

/**
 * Which documents of `kb` the current caller may read: those of the caller's teams, and those
 * whose classification the knowledge base opens to every caller ("*") or to one of the caller's
 * roles. No role reads everything: an admin outside a team sees what the rules give admins.
 */
export function readScope(kb: KnowledgeBase): AccessScope & { teams: string[]; classifications: string[] } {
  const { principal, roles, teams: actingFor = [] } = currentContext();
  const classifications = Object.entries(kb.access.classifications)
    .filter(
      ([, readers]) => readers.includes("*") || readers.some((r) => (roles as readonly string[]).includes(r)),
    )
    .map(([c]) => c);
  const teams = new Set([...teamsOf(kb, principal), ...actingFor.filter((t) => Object.hasOwn(kb.teams, t))]);
  return { teams: [...teams], classifications };
}

/** Ingesting and managing a knowledge base is for its owner team's members (and admins). */
export function requireManager(kb: KnowledgeBase, action: string): void {
  const { principal, roles } = currentContext();
  if (roles.includes("admin") || kb.teams[kb.ownerTeam]?.includes(principal)) return;
  throw new KeelError(
    "PERMISSION_DENIED",
    `${principal} may not ${action} knowledge base '${kb.name}': only members of team ${kb.ownerTeam} may`,
  );
}
