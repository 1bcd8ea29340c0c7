/**
 * Azure batches VMs outside availability sets "best effort so that not all of a subscription's VMs
 * update at once". Offpeak's rule for a region's standalone machines: when they need more than one
 * batch (`batches = ceil(n / budget)` > 1), a subscription with `k` of them gets at most
 * `ceil(k / batches)` per batch, so it is spread over the batches and never whole in one batch when
 * it has two machines or more. Machines without a subscription are not limited. Pure; for `pack`.
 */
export interface SubscriptionGroups {
  /** Per item (parallel to the input): a local group id, or -1 without a subscription. */
  groups: number[];
  /** Per group: the most machines of it one batch may hold. */
  caps: number[];
}

/** The groups and caps for `pack`, or null when one batch holds every machine (nothing to spread). */
export function subscriptionGroups(
  subscriptions: ReadonlyArray<string | undefined>,
  budget: number,
): SubscriptionGroups | null {
  const batches = Math.ceil(subscriptions.length / budget);
  if (batches <= 1) return null;
  const ids = new Map<string, number>();
  const sizes: number[] = [];
  const groups = subscriptions.map((s) => {
    if (s === undefined) return -1;
    let g = ids.get(s);
    if (g === undefined) {
      ids.set(s, (g = sizes.length));
      sizes.push(0);
    }
    sizes[g]++;
    return g;
  });
  if (sizes.length === 0) return null;
  return { groups, caps: sizes.map((k) => Math.ceil(k / batches)) };
}
