import { SearchAttributeType } from '@temporalio/common';
import { SA } from '../workflows/messages';

/** `--search-attribute Name=Type` arguments for `temporal server start-dev`. */
export function devServerSearchAttributeArgs(): string[] {
  const type = (t: string) => (t === SearchAttributeType.INT ? 'Int' : 'Keyword');
  return Object.values(SA).flatMap((key) => ['--search-attribute', `${key.name}=${type(key.type)}`]);
}

/** Registers Offpeak's search attributes through the operator API (the test server; any cluster you administer). */
export async function registerSearchAttributes(
  operatorService: {
    addSearchAttributes(req: {
      namespace: string;
      searchAttributes: Record<string, number>;
    }): Promise<unknown>;
  },
  namespace: string,
): Promise<void> {
  // temporal.api.enums.v1.IndexedValueType: KEYWORD = 2, INT = 3.
  const searchAttributes = Object.fromEntries(
    Object.values(SA).map((k) => [k.name, k.type === SearchAttributeType.INT ? 3 : 2]),
  );
  await operatorService.addSearchAttributes({ namespace, searchAttributes });
}
