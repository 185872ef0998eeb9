import { ServingError } from "../../errors";

/** Rejects with DEADLINE_EXCEEDED when `work` has not settled within `ms`; the work itself runs on. */
export function withDeadline<T>(work: Promise<T>, ms: number, target: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ServingError("DEADLINE_EXCEEDED", `${target} did not answer within ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
