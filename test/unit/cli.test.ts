import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../../client/main';
import { largeFleet } from '../support/large-fleet';

/** Runs the real CLI (the package's bin, built by `npm test`) and returns what a user sees. */
function offpeak(...args: string[]) {
  const root = join(__dirname, '..', '..');
  const run = spawnSync(process.execPath, [join(root, 'bin', 'offpeak.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1' },
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

const fixture = (name: string) => join('test', 'fixtures', 'fleets', name);

describe('offpeak CLI: bad input gets one clear line per problem and exit code 2', () => {
  test('every problem of an invalid fleet at once, as path: message, without a stack trace', () => {
    const { code, stderr, stdout } = offpeak('plan', '--fleet', fixture('invalid.yaml'));
    expect(code).toBe(2);
    expect(stdout).toBe('');
    const lines = stderr.trim().split('\n');
    const at = (path: string) => lines.find((l) => l.startsWith(`${fixture('invalid.yaml')}: ${path}`));
    expect(at('machines[0]: a machine cannot have both "zone" and "availabilitySet"')).toBeDefined();
    expect(at('machines[1].name: duplicate name "web-1"')).toBeDefined();
    expect(at('machines[2].updateDomain: is only valid with "availabilitySet"')).toBeDefined();
    expect(at('machines[3].timeZone: unknown time zone "Mars/Olympus_Mons"')).toBeDefined();
    expect(at('machines[4].patchMode:')).toBeDefined();
    expect(at('machines[5].region: unknown region "basement-dc"')).toBeDefined();
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  test('a malformed file names the file and the problem', () => {
    const { code, stderr } = offpeak('plan', '--fleet', fixture('malformed.yaml'));
    expect(code).toBe(2);
    expect(stderr).toMatch(/^--fleet: test\/fixtures\/fleets\/malformed\.yaml is not valid YAML or JSON: /);
  });

  test('an unreadable file names the file', () => {
    const { code, stderr } = offpeak('plan', '--fleet', fixture('does-not-exist.yaml'));
    expect(code).toBe(2);
    expect(stderr.trim()).toBe('--fleet: no such file: test/fixtures/fleets/does-not-exist.yaml');
  });

  test('a missing --sign-with key is named before any server is asked', () => {
    // TEMPORAL_ADDRESS points nowhere: a command that connected first would fail on the connection instead.
    const { code, stderr } = offpeak(
      'rollout',
      'approve',
      'nov-2026',
      '--gate',
      'phase-1',
      '--sign-with',
      'no-such.key',
    );
    expect(code).toBe(2);
    expect(stderr.trim()).toBe('--sign-with: no such file: no-such.key');
  });

  test('leases --names takes a whole number, checked before any server is asked', () => {
    const { code, stderr } = offpeak('leases', '--names', 'some');
    expect(code).toBe(2);
    expect(stderr.trim()).toBe('--names: "some" must be a whole number, 0 or more');
  });

  test('a bad policy value names its field', () => {
    const { code, stderr } = offpeak(
      'plan',
      '--fleet',
      fixture('small.yaml'),
      '--policy',
      join('test', 'fixtures', 'bad-policy.yaml'),
    );
    expect(code).toBe(2);
    expect(stderr).toContain('rebootSetting:');
    expect(stderr).toContain('errorBudget:');
  });

  test('an unknown flag and an unknown output format exit 2', () => {
    expect(offpeak('plan', '--fleet', fixture('small.yaml'), '--colour').code).toBe(2);
    const bad = offpeak('plan', '--fleet', fixture('small.yaml'), '--output', 'xml');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("argument 'xml' is invalid");
  });

  test('an unknown option is named, with a suggestion, before a missing required option', () => {
    const { code, stderr } = offpeak('plan', '--flet', fixture('small.yaml'));
    expect(code).toBe(2);
    expect(stderr).toContain("error: unknown option '--flet'");
    expect(stderr).toContain('(Did you mean --fleet?)');
    expect(stderr).not.toContain('required option');
  });

  test('a missing required option and a missing argument are named', () => {
    expect(offpeak('plan').stderr).toContain("required option '--fleet <file>' not specified");
    const status = offpeak('rollout', 'status');
    expect(status.code).toBe(2);
    expect(status.stderr).toContain("missing required argument 'id'");
  });

  test('a bad rollout ID is refused before anything is started', () => {
    const { code, stderr } = offpeak(
      'rollout',
      'start',
      '--fleet',
      fixture('small.yaml'),
      '--id',
      'no spaces please',
    );
    expect(code).toBe(2);
    expect(stderr).toContain('--id: must start with a letter or digit');
  });
});

describe('offpeak CLI conventions', () => {
  test('--version prints the package version', () => {
    const { code, stdout } = offpeak('--version');
    expect(code).toBe(0);
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(stdout.trim()).toBe(pkg.version);
  });

  test('--version loads no command (each command line loads only what it runs)', async () => {
    expect((await buildProgram(['node', 'offpeak', '--version'])).commands).toEqual([]);
    expect((await buildProgram(['node', 'offpeak', '-V'])).commands).toEqual([]);
    expect((await buildProgram(['node', 'offpeak', 'plan'])).commands.map((c) => c.name())).toEqual(['plan']);
  });

  test('the top-level help loads no command and is the help of every command loaded', async () => {
    const all = (await buildProgram()).helpInformation();
    expect(all).toContain('plan [options]');
    for (const args of [[], ['--help'], ['-h'], ['help']]) {
      const program = await buildProgram(['node', 'offpeak', ...args]);
      // Loaded, a command has its options or subcommands; the index's entries have neither.
      expect(program.commands.filter((c) => c.options.length > 0 || c.commands.length > 0)).toEqual([]);
      expect(program.helpInformation()).toBe(all);
    }
  });

  test('-o is --output', () => {
    const { code, stdout } = offpeak('plan', '--fleet', fixture('small.yaml'), '-o', 'json');
    expect(code).toBe(0);
    expect(JSON.parse(stdout).machines).toHaveLength(5);
  });

  test('every command, argument and option has help text, and every command an example', async () => {
    const problems: string[] = [];
    const walk = (c: Command, path: string) => {
      const name = `${path} ${c.name()}`.trim();
      if (!c.description()) problems.push(`${name}: no description`);
      for (const o of c.options) if (!o.description) problems.push(`${name} ${o.flags}: no description`);
      for (const a of c.registeredArguments)
        if (!a.description) problems.push(`${name} <${a.name()}>: no description`);
      if (c.commands.length === 0) {
        let help = '';
        c.configureOutput({ writeOut: (text) => (help += text) });
        c.outputHelp();
        if (!/\nExamples\b/.test(help)) problems.push(`${name}: no examples`);
      }
      for (const sub of c.commands) walk(sub, name);
    };
    walk(await buildProgram(), '');
    expect(problems).toEqual([]);
  });
});

describe('each command loads only its own modules', () => {
  /** Runs `main` of the built CLI in a fresh process; returns its exit code and the packages it loaded. */
  function loadedBy(...args: string[]): { code: number; packages: string[] } {
    const root = join(__dirname, '..', '..');
    const script = `
      const { main } = require('./dist/client/main');
      main(['node', 'offpeak', ...process.argv.slice(1)]).then((code) => {
        const packages = Object.keys(require.cache)
          .map((file) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(file)?.[1])
          .filter((name) => name !== undefined);
        process.stderr.write('\\n' + JSON.stringify({ code, packages: [...new Set(packages)] }));
      });`;
    const run = spawnSync(process.execPath, ['-e', script, ...args], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1' },
    });
    return JSON.parse(run.stderr.trim().split('\n').at(-1)!) as { code: number; packages: string[] };
  }

  test('plan loads neither the Temporal client, the worker nor the Azure SDK; rollout does', () => {
    const plan = loadedBy('plan', '--fleet', fixture('small.yaml'));
    expect(plan.code).toBe(0);
    expect(plan.packages).toContain('zod');
    expect(plan.packages.filter((p) => p.startsWith('@temporalio/') || p.startsWith('@azure/'))).toEqual([]);
    const status = loadedBy('rollout', 'status', 'some-rollout');
    expect(status.code).toBe(1);
    expect(status.packages).toContain('@temporalio/client');
  });

  test('a command loaded alone has the same options, arguments and help as with every command', async () => {
    const helpOf = (c: Command): string[] => [c.helpInformation(), ...c.commands.flatMap(helpOf)];
    const all = await buildProgram();
    expect(all.commands.length).toBeGreaterThan(10);
    for (const command of all.commands) {
      const alone = await buildProgram(['node', 'offpeak', command.name()]);
      expect(alone.commands.map((c) => c.name())).toEqual([command.name()]);
      expect(helpOf(alone.commands[0])).toEqual(helpOf(command));
    }
  });
});

describe('output through a pipe arrives whole', () => {
  test('plan --output json of a 7,000-machine fleet: more than 1 MB, complete JSON, exit 0', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'offpeak-cli-')), 'large.json');
    writeFileSync(file, JSON.stringify(largeFleet(7000)));
    const { code, stdout, stderr } = offpeak('plan', '--fleet', file, '--output', 'json');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(Buffer.byteLength(stdout)).toBeGreaterThan(1024 * 1024);
    expect(JSON.parse(stdout).machines).toHaveLength(7000);
  });

  test('a reader that stops early ends the command quietly (no EPIPE trace)', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'offpeak-cli-')), 'large.json');
    writeFileSync(file, JSON.stringify(largeFleet(7000)));
    const bin = join(__dirname, '..', '..', 'bin', 'offpeak.js');
    const run = spawnSync(
      'sh',
      ['-c', `"${process.execPath}" "${bin}" plan --fleet "${file}" -o json | head -c 10`],
      {
        encoding: 'utf8',
      },
    );
    expect(run.stdout).toHaveLength(10);
    expect(run.stderr).toBe('');
  });
});

describe('offpeak plan', () => {
  test('prints a readable plan and excludes Manual machines with a reason', () => {
    const { code, stdout } = offpeak('plan', '--fleet', fixture('small.yaml'));
    expect(code).toBe(0);
    expect(stdout).toMatch(/Rollout plan: 2 phases, 2 regions, 4 machines to patch, 1 excluded/);
  });

  test('JSON output carries phases, every machine once, the estimate and the lower bound', () => {
    const { code, stdout } = offpeak('plan', '--fleet', fixture('small.yaml'), '--output', 'json');
    expect(code).toBe(0);
    const plan = JSON.parse(stdout);
    expect(plan.phases.map((p: { index: number }) => p.index)).toEqual([0, 1]);
    expect(plan.machines.map((m: { name: string }) => m.name)).toEqual(['e1', 'e2', 'w1', 'w2', 'm1']);
    expect(plan.machines.find((m: { name: string }) => m.name === 'm1').excluded.reason).toBe(
      'ManualPatchMode',
    );
    expect(plan.estimateMinutes).toBeGreaterThanOrEqual(plan.lowerBoundMinutes);
  });
});

describe('offpeak worker against no server', () => {
  test('retries connecting with one clear line per attempt, and stops on SIGTERM without a stack trace', async () => {
    const child = spawn(process.execPath, [join(__dirname, '..', '..', 'bin', 'offpeak.js'), 'worker'], {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: '127.0.0.1:1',
        OFFPEAK_HOME: mkdtempSync(join(tmpdir(), 'op-')),
      },
      timeout: 60_000,
    });
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (stderr.includes('(attempt 2:')) child.kill('SIGTERM');
    });
    await new Promise((resolve) => child.on('close', resolve));
    const lines = stderr.trim().split('\n');
    expect(lines.slice(0, 2)).toEqual([
      'Cannot reach Temporal at 127.0.0.1:1 (attempt 1: Connection refused); retrying in 1 s',
      'Cannot reach Temporal at 127.0.0.1:1 (attempt 2: Connection refused); retrying in 2 s',
    ]);
    expect(lines.at(-1)).toBe('error: stopped before Temporal was reachable');
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stdout).toBe('');
  });
});

describe('offpeak rollout commands against no server', () => {
  test('an unreachable Temporal is an operation failure (exit 1) with what to do', () => {
    const { code, stderr } = offpeak('rollout', 'status', 'some-rollout');
    expect(code).toBe(1);
    expect(stderr).toContain('cannot reach Temporal at 127.0.0.1:1');
    expect(stderr).toContain('offpeak dev-server');
  });
});
