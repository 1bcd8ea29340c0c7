/** Names in code-unit order (not locale order): the planner's ties break the same way on every machine. */
export const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
