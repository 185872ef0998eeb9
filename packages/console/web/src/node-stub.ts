// Stands in for the Node modules @keel/core imports; the console never calls what uses them.
const unavailable = () => {
  throw new Error("not available in the browser");
};
export const createHash = unavailable;
export const randomBytes = unavailable;
export const randomUUID = () => crypto.randomUUID();
export class AsyncLocalStorage {
  getStore() {
    return undefined;
  }
  run<T>(_store: unknown, fn: () => T): T {
    return fn();
  }
}
export default {};
