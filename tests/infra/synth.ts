import { readFileSync, rmSync } from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";
import { Aspects } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { CfnFunction } from "aws-cdk-lib/aws-lambda";
import { AwsSolutionsChecks } from "cdk-nag";
import { App, getStack, Function as SstFunction } from "sst/constructs";
import { initProject, useProject } from "sst/project.js";
import { beforeAll, expect, it } from "vitest";
import { configureApp } from "../../stacks/app";
import type { KeelStack } from "../../stacks/index";
import type { StageSettingsInput } from "../../stacks/settings";

/**
 * Time a synthesis may take: esbuild bundles every function (tens of MB for the app), which on
 * a busy 2-core machine can take minutes; pass it to the `beforeAll` that calls synthStacks.
 */
export const SYNTH_TIMEOUT_MS = 600_000;

export interface NagFinding {
  stack: string;
  path: string;
  message: string;
}

export interface Synthesized {
  /** One CloudFormation template per stack function, keyed by the function's name. */
  templates: Record<string, Template>;
  /** Unsuppressed cdk-nag AwsSolutions errors and warnings across all stacks. */
  errors: NagFinding[];
  warnings: NagFinding[];
  /** Bundle folder of every SST function, keyed by its handler (e.g. "functions/api.handler"). */
  bundles: Record<string, string>;
}

/**
 * Synthesizes stacks offline, the way `sst deploy --stage <stage>` would build them: no AWS
 * credentials, functions bundled by esbuild, then cdk-nag AwsSolutions applied once.
 * Call it ONCE per test file (SST keeps module state per process; vitest forks per file)
 * and give each file its own stage so bundles do not share a folder.
 */
export async function synthStacks(
  stacks: KeelStack[],
  opts: { stage: string; config?: StageSettingsInput },
): Promise<Synthesized> {
  process.env.SST_TELEMETRY_DISABLED = "1";
  await initProject({ stage: opts.stage });
  const app = new App({
    mode: "deploy",
    stage: opts.stage,
    name: "keel",
    region: "us-east-1",
    account: "123456789012",
  });
  configureApp(app, opts.config);
  for (const s of stacks) app.stack(s);
  await app.finish();
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));

  // One synthesis for all stacks: SST's unique-id aspect throws if the app is synthesized twice.
  const assembly = app.synth();
  const templates: Record<string, Template> = {};
  const errors: NagFinding[] = [];
  const warnings: NagFinding[] = [];
  for (const fn of stacks) {
    const artifact = assembly.getStackByName(getStack(fn).stackName);
    for (const m of artifact.messages) {
      const message = String(m.entry.data);
      if (!message.startsWith("AwsSolutions-")) continue;
      const finding = { stack: fn.name, path: m.id, message };
      if (m.level === "error") errors.push(finding);
      else if (m.level === "warning") warnings.push(finding);
    }
    templates[fn.name] = Template.fromJSON(artifact.template);
  }
  // The cloud assembly (a temporary cdk.out with a copy of every bundle, hundreds of MB once
  // LanceDB's binding ships) is not read after this: remove it so test runs leave no gigabytes in /tmp.
  rmSync(assembly.directory, { recursive: true, force: true });
  const bundles: Record<string, string> = {};
  for (const c of app.node.findAll()) {
    // SST bundles each function into .sst/artifacts/<construct address>.
    if (c instanceof SstFunction) {
      const handler = (c.node.defaultChild as CfnFunction).handler;
      if (handler) bundles[handler] = path.join(useProject().paths.artifacts, c.node.addr);
    }
  }
  return { templates, errors, warnings, bundles };
}

/** The Properties of every resource of one CloudFormation type in a template. */
// biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are untyped JSON.
export function resourcesOf(template: Template, type: string): any[] {
  return Object.values(template.findResources(type)).map((r) => r.Properties);
}

/** Fails with every unsuppressed cdk-nag error, and with any suppression lacking a real reason. */
export function expectNoNagErrors(out: Synthesized): void {
  const lines = out.errors.map((e) => `${e.path}: ${e.message.split(": ")[0]}`);
  if (lines.length) throw new Error(`unsuppressed cdk-nag errors:\n${lines.join("\n")}`);
  for (const [stack, template] of Object.entries(out.templates)) {
    for (const [id, res] of Object.entries(
      template.toJSON().Resources as Record<string, { Metadata?: Record<string, unknown> }>,
    )) {
      const rules =
        (res.Metadata?.cdk_nag as { rules_to_suppress?: Array<{ id: string; reason: string }> } | undefined)
          ?.rules_to_suppress ?? [];
      for (const r of rules) {
        if (r.reason.trim().length < 30)
          throw new Error(`${stack}/${id}: suppression of ${r.id} has no real reason: "${r.reason}"`);
      }
    }
  }
}

/**
 * Actions AWS grants only on Resource "*" (they have no resource-level permissions). None
 * reads or writes platform data: tracing, metrics, ENI management and VPC description,
 * image-pull tokens, vended log delivery setup, listing state machine names.
 */
export const RESOURCELESS_ACTIONS: RegExp[] = [
  /^xray:(PutTraceSegments|PutTelemetryRecords|GetSamplingRules|GetSamplingTargets)$/,
  /^logs:(Create|Get|Update|Delete|List)LogDeliver(y|ies)$/,
  /^logs:(PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups)$/,
  /^ec2:(Create|Delete)NetworkInterface(Permission)?$/,
  /^ec2:Describe(NetworkInterfaces|Vpcs|DhcpOptions|Subnets|SecurityGroups)$/,
  /^ecr:GetAuthorizationToken$/,
  /^cloudwatch:PutMetricData$/,
  /^dynamodb:ListStreams$/,
  /^states:ListStateMachines$/,
];

/** One IAM policy statement as it appears in a template. */
export interface IamStatement {
  Effect: "Allow" | "Deny";
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, unknown>;
}

export interface IamFinding {
  stack: string;
  policy: string;
  statement: IamStatement;
}

/**
 * Least-privilege check over every inline IAM policy: no `*` or `service:*` action anywhere,
 * and Resource "*" only for actions that have no resource-level permissions.
 */
export function iamViolations(out: Synthesized): IamFinding[] {
  const found: IamFinding[] = [];
  for (const [stack, template] of Object.entries(out.templates)) {
    for (const [policy, res] of Object.entries(template.findResources("AWS::IAM::Policy"))) {
      for (const st of res.Properties.PolicyDocument.Statement) {
        if (st.Effect !== "Allow") continue;
        const actions: string[] = [st.Action].flat();
        const resources: unknown[] = [st.Resource].flat();
        const starAction = actions.some((a) => a === "*" || a.endsWith(":*"));
        const starResource =
          resources.includes("*") && actions.some((a) => !RESOURCELESS_ACTIONS.some((r) => r.test(a)));
        if (starAction || starResource) found.push({ stack, policy, statement: st });
      }
    }
  }
  return found;
}

/**
 * Bare-specifier modules a bundle imports statically at its top level. Lambda has only the
 * bundle and Node's builtins, so anything listed here (other than `node:` builtins) fails
 * the cold start; externals must be loaded lazily with `await import()` where they are used.
 */
export function staticImports(bundleFile: string): string[] {
  const code = readFileSync(bundleFile, "utf8");
  const found = new Set<string>();
  for (const m of code.matchAll(/^import\s+(?:[\w*{}\s,$]+\s+from\s+)?["']([^"'.][^"']*)["'];?$/gm))
    found.add(m[1]);
  return [...found].filter((s) => !s.startsWith("node:") && !builtinModules.includes(s)).sort();
}

/**
 * Synthesizes once for the calling test file (in its `beforeAll`) and returns the result
 * object, filled in place when synthesis is done: read it inside tests, not at load time.
 */
export function synthOnce(
  stacks: KeelStack[],
  opts: { stage: string; config?: StageSettingsInput },
): Synthesized {
  const out: Synthesized = { templates: {}, errors: [], warnings: [], bundles: {} };
  beforeAll(async () => {
    Object.assign(out, await synthStacks(stacks, opts));
  }, SYNTH_TIMEOUT_MS);
  return out;
}

/** The checks every stack test file makes: least privilege, then cdk-nag. */
export function itPassesSecurityChecks(out: Synthesized): void {
  it("grants no wildcard actions and no data action on '*'", () => {
    expect(iamViolations(out)).toEqual([]);
  });
  it("passes cdk-nag AwsSolutions with a reason for every suppression", () => {
    expectNoNagErrors(out);
  });
}
