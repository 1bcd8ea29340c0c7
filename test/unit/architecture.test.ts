import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { testWorkflowBundle } from '../support/servers';

// The shape the code must keep: workflow files small, no import circle in `workflows/` or `domain/`
// (type imports included: a circle of types is still a circle to read), and a workflow bundle that holds
// only workflow code, pure domain code and the Temporal SDK (no zod, no Node built-ins).

const root = join(__dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative imports of a file, resolved to source paths (`x.ts` or `x/index.ts`). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(/(?:import|export)[^'"]*?from\s+'(\.[^']+)'/g)].map(([, spec]) => {
    const target = resolve(root, dirname(file), spec);
    const asFile = `${target}.ts`;
    const path = (() => {
      try {
        statSync(asFile);
        return asFile;
      } catch {
        return join(target, 'index.ts');
      }
    })();
    return relative(root, path);
  });
}

/** Every import circle in a graph (file to the files it imports), each as the path around it. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (f: string, path: string[]) => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'open') {
      found.push([...path.slice(path.indexOf(f)), f]);
      return;
    }
    state.set(f, 'open');
    for (const t of graph.get(f) ?? []) visit(t, [...path, f]);
    state.set(f, 'done');
  };
  for (const f of graph.keys()) visit(f, []);
  return found;
}

const importGraph = (files: string[]) =>
  new Map(files.map((f) => [f, importsOf(f).filter((t) => files.includes(t))]));

test.each(['workflows', 'domain'])('no import circle in %s/', (dir) => {
  const graph = importGraph(sources(dir));
  expect(graph.size).toBeGreaterThan(5);
  expect(cycles(graph)).toEqual([]);
});

test('the circle check finds a circle, type imports included', () => {
  expect(importsOf('workflows/messages.ts')).toContain('workflows/region-marks.ts');
  const graph = new Map([
    ['a.ts', ['b.ts']],
    ['b.ts', ['c.ts']],
    ['c.ts', ['a.ts']],
    ['d.ts', ['a.ts']],
  ]);
  expect(cycles(graph)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
});

test('no workflow file over 250 lines; the rollout under 150 and its region under 200', () => {
  const lines = (f: string) => readFileSync(join(root, f), 'utf8').split('\n').length;
  const long = sources('workflows').filter((f) => lines(f) > 250);
  expect(long).toEqual([]);
  expect(lines('workflows/rollout.ts')).toBeLessThanOrEqual(150);
  expect(lines('workflows/region.ts')).toBeLessThanOrEqual(200);
});

test('no patched() marker before the first release', () => {
  const marked = sources('workflows').filter((f) => /\bpatched\(/.test(readFileSync(join(root, f), 'utf8')));
  expect(marked).toEqual([]);
});

test('the workflow bundle holds workflow code, domain code and the Temporal SDK only: no zod, no Node built-ins', () => {
  const code = readFileSync(testWorkflowBundle().codePath, 'utf8');
  const modules = new Set(
    [...code.matchAll(/"\.\/([^"]+?\.(?:js|ts|json))"/g)].map(([, m]) =>
      m.startsWith('node_modules/')
        ? m.replace(/^node_modules\/((?:@[^/]+\/)?[^/]+).*/, 'node_modules/$1')
        : `${m.split('/')[0]}/`,
    ),
  );
  expect(modules.size).toBeGreaterThan(3);
  const allowed = /^(workflows\/|domain\/|node_modules\/(@temporalio\/(workflow|common)|long|nexus-rpc))$/;
  expect([...modules].filter((m) => !allowed.test(m))).toEqual([]);
  expect(code).not.toMatch(/node_modules\/zod\//);
  expect(code).not.toMatch(/require\("(node:)?(fs|path|child_process|net|http|https|os|crypto)"\)/);
});
