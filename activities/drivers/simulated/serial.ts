/**
 * Per-key serialisation within one process: calls for the same key run one after another, calls for
 * different keys run concurrently. Module-level on purpose, so two driver instances on the same state
 * directory (a test, or a worker that builds a new driver) still serialise.
 */
const tails = new Map<string, Promise<void>>();

export async function serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = tails.get(key) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  const tail = previous.then(() => mine);
  tails.set(key, tail);
  await previous;
  try {
    return await fn();
  } finally {
    release();
    if (tails.get(key) === tail) tails.delete(key);
  }
}
