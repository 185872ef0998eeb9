import { expect, it } from "vitest";
import type { IamStatement, Synthesized } from "./synth";

/**
 * What a Lambda function's role may do to one item of the single table, decided the way IAM
 * does for a request naming one partition key: an explicit Deny wins, then any Allow. Only the
 * condition operators Keel uses on `dynamodb:LeadingKeys` are understood; any other condition
 * on a table statement fails the test instead of being guessed.
 */
export function tableDecision(
  statements: IamStatement[],
  action: string,
  partitionKey: string,
): "allow" | "deny" | "implicit-deny" {
  const applies = (st: IamStatement) =>
    [st.Action].flat().some((a) => matches(a, action)) &&
    onTable(st.Resource) &&
    conditionHolds(st, partitionKey);
  if (statements.some((st) => st.Effect === "Deny" && applies(st))) return "deny";
  return statements.some((st) => st.Effect === "Allow" && applies(st)) ? "allow" : "implicit-deny";
}

const matches = (pattern: string, value: string) =>
  new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`).test(value);

/** The statement names the table itself (not only its indexes or its stream). */
function onTable(resource: unknown): boolean {
  return [resource].flat().some((r) => {
    const s = JSON.stringify(r);
    return /Table/.test(s) && !s.includes("/index/") && !s.includes("StreamArn") && !s.includes("/stream/");
  });
}

function conditionHolds(st: IamStatement, partitionKey: string): boolean {
  for (const [op, byKey] of Object.entries(st.Condition ?? {})) {
    for (const [k, v] of Object.entries(byKey as Record<string, string | string[]>)) {
      if (k !== "dynamodb:LeadingKeys") throw new Error(`unexpected condition key ${k} on a table statement`);
      const values = [v].flat();
      const like = values.some((p) => matches(p, partitionKey));
      const equal = values.includes(partitionKey);
      const holds: Record<string, boolean> = {
        "ForAllValues:StringNotLike": !like,
        "ForAllValues:StringLike": like,
        "ForAnyValue:StringLike": like,
        "ForAllValues:StringEquals": equal,
        "ForAnyValue:StringEquals": equal,
      };
      if (!(op in holds)) throw new Error(`unexpected condition operator ${op} on a table statement`);
      if (!holds[op]) return false;
    }
  }
  return true;
}

/** Every Lambda function's role policy statements, keyed by "<stack>/<handler>". */
export function functionRoleStatements(out: Synthesized): Map<string, IamStatement[]> {
  const byFn = new Map<string, IamStatement[]>();
  for (const [stack, template] of Object.entries(out.templates)) {
    const policies = Object.values(template.findResources("AWS::IAM::Policy"));
    for (const fn of Object.values(template.findResources("AWS::Lambda::Function"))) {
      const roleId = fn.Properties.Role?.["Fn::GetAtt"]?.[0];
      if (!roleId || !fn.Properties.Handler?.startsWith("functions/")) continue;
      const statements = policies
        .filter((p) => JSON.stringify(p.Properties.Roles ?? []).includes(`"${roleId}"`))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as IamStatement[]);
      byFn.set(`${stack}/${fn.Properties.Handler}`, statements);
    }
  }
  return byFn;
}

const AUDIT_KEYS = ["AUDIT", "AUDIT_EXPORT"];
const CHANGES = ["dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"];

/**
 * The audit partition is append-only for every function: no role may update, delete or
 * batch-write an audit key; PutItem is allowed under `AUDIT` (the append) to functions that
 * write the table, and under `AUDIT_EXPORT` to the gap check only. `expectedWriters` names the
 * handlers that must be able to write ordinary items (so the check can tell a broken grant).
 */
export function itKeepsTheAuditPartitionAppendOnly(out: Synthesized, expectedWriters: string[]): void {
  it("lets no function update or delete audit items, and only the gap check write its cursor", () => {
    const roles = functionRoleStatements(out);
    const tableUsers = [...roles].filter(([, sts]) =>
      sts.some((st) => [st.Action].flat().some((a) => a.startsWith("dynamodb:")) && onTable(st.Resource)),
    );
    expect(tableUsers.length).toBeGreaterThan(0);
    const seen: Record<string, Record<string, string>> = {};
    for (const [fn, sts] of tableUsers) {
      const d = (action: string, pk: string) => tableDecision(sts, action, pk);
      for (const pk of AUDIT_KEYS) for (const a of CHANGES) expect(d(a, pk), `${fn} ${a} ${pk}`).toBe("deny");
      const handler = fn.split("/").slice(1).join("/");
      expect(d("dynamodb:PutItem", "AUDIT_EXPORT"), fn).toBe(
        handler === "functions/audit-reconcile.handler" ? "allow" : "implicit-deny",
      );
      seen[handler] = {
        append: d("dynamodb:PutItem", "AUDIT"),
        update: d("dynamodb:UpdateItem", "RM#model"),
        delete: d("dynamodb:DeleteItem", "RM#model"),
      };
    }
    for (const w of expectedWriters)
      expect(seen[w], w).toEqual({ append: "allow", update: "allow", delete: "allow" });
    expect(seen["functions/audit-reconcile.handler"]?.append ?? "implicit-deny").toBe("implicit-deny");
  });
}
