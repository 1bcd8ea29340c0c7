import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import { fleetDrivers, simulatedDrivers } from '../../worker/worker';
import { DEFAULT_TASK_QUEUE } from '../../domain/rollout-spec';
import { readSlice } from '../../store/spec-store';
import { rolloutWorkflowId } from '../../workflows/ids';
import { reportOf } from '../support/workflow-harness';
import { testWorkflowBundle, timeSkippingEnv } from '../support/servers';
import { rolloutInputOf, tempDir, vm } from '../support/rollouts';
import { startTestHosts, type TestHosts } from '../hosts/test-host';

/**
 * A rollout of three REAL Debian hosts (test/hosts/test-host.ts) through Offpeak's workflows, on the
 * time-skipping server: assess, select (Security and Other, `offpeak-extra` excluded by mask),
 * pre-script, install, reboot, health, all over SSH. The reboot is the hosts' test double (a real
 * reboot of the CI machine is impossible): a new boot id and sshd restarted.
 */
jest.setTimeout(300_000);

let hosts: TestHosts;
let env: TestWorkflowEnvironment;

beforeAll(async () => {
  [hosts, env] = await Promise.all([
    startTestHosts([
      { name: 'deb-a', subnet: 21 },
      { name: 'deb-b', subnet: 22 },
      { name: 'deb-c', subnet: 23 },
    ]),
    timeSkippingEnv(),
  ]);
}, 600_000);
afterAll(async () => {
  await env?.teardown();
  await hosts?.stop();
});

test('a rollout patches the hosts to exactly the expected versions and reboots them; a failing pre-script skips its host', async () => {
  const pre = '#!/bin/sh\nset -e\ndate > "$HOME/pre-script-ran"\n';
  const bootsBefore = hosts.hosts.map((h) => h.bootId());
  const fleet = {
    maintenanceConfigurations: {
      weekly: {
        startDateTime: '2025-01-04 22:00',
        duration: '03:00',
        timeZone: 'UTC',
        recurEvery: 'Week Saturday',
        preScript: { path: '/usr/local/bin/offpeak-pre', args: ['--drain', '"now" ;'] },
      },
      // deb-c's pre-script fails: the documented policy skips the machine (nothing installed, no
      // reboot) and counts it against the error budget.
      failing: {
        startDateTime: '2025-01-04 22:00',
        duration: '03:00',
        timeZone: 'UTC',
        recurEvery: 'Week Saturday',
        preScript: '#!/bin/sh\necho "not draining today" >&2\nexit 7\n',
      },
    },
    machines: hosts.hosts.map((h, i) =>
      vm(h.name, {
        zone: String(i + 1),
        driver: 'ssh',
        ssh: h.settings(),
        maintenanceConfiguration: h.name === 'deb-c' ? 'failing' : 'weekly',
      }),
    ),
  };
  for (const h of hosts.hosts)
    await writeFile(
      join(h.rootfs, 'usr/local/bin/offpeak-pre'),
      `${pre.trimEnd()}\nprintf '%s|' "$@" > "$HOME/pre-script-args"\n`,
      { mode: 0o755 },
    );
  const input = rolloutInputOf({
    rolloutId: 'ssh-fleet',
    fleet,
    policy: {
      windows: 'always',
      classifications: ['Critical', 'Security', 'Other'],
      packageNameMasksToExclude: ['offpeak-extra'],
      errorBudget: 1,
      maxAttempts: 1,
    },
    now: new Date(),
  });
  // Workflow payloads carry key references and pins only, never key material.
  expect(JSON.stringify(input)).not.toContain('PRIVATE KEY');
  expect(
    input.regions
      .flatMap((r) => r.slices.flatMap((ref) => readSlice('', ref).machines))
      .map((m) => m.ssh?.keyRef),
  ).toEqual(hosts.hosts.map(() => ({ path: hosts.keyPath })));

  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: DEFAULT_TASK_QUEUE,
    workflowBundle: testWorkflowBundle(),
    activities: createActivities(fleetDrivers(simulatedDrivers(tempDir('ssh-rollout'), 0))),
  });
  const report = await worker.runUntil(async () => {
    await env.client.workflow.execute('rolloutWorkflow', {
      taskQueue: DEFAULT_TASK_QUEUE,
      workflowId: rolloutWorkflowId(input.rolloutId),
      args: [input],
    });
    return reportOf(env, input.rolloutId);
  });

  expect(report.status).toBe('Completed');
  expect(report.errors).toEqual({ count: 1, allowed: 1 });
  expect(report.machines.map((m) => [m.name, m.outcome, m.rebooted]).sort()).toEqual([
    ['deb-a', 'Succeeded', true],
    ['deb-b', 'Succeeded', true],
    ['deb-c', 'PreScriptFailed', false],
  ]);
  const [a, b, c] = hosts.hosts;
  for (const [i, h] of [a, b].entries()) {
    expect(await h.installedVersion('offpeak-hello')).toBe('1.0-2');
    expect(await h.installedVersion('offpeak-tool')).toBe('2.1-1');
    expect(await h.installedVersion('offpeak-extra')).toBe('1.0-1');
    expect(h.bootId()).not.toBe(bootsBefore[i]);
    expect(existsSync(join(h.rootfs, 'run/reboot-required'))).toBe(false);
    expect(readFileSync(join(h.rootfs, 'home/offpeak/pre-script-args'), 'utf8')).toBe('--drain|"now" ;|');
  }
  for (const m of report.machines.filter((m) => m.name !== 'deb-c')) {
    expect(m).toMatchObject({ installed: 2, excluded: 1, failed: 0, pending: 0, notSelected: 0 });
    expect(m.patches.map((p) => [p.patchId, p.state]).sort()).toEqual([
      ['offpeak-extra=1.1-1', 'Excluded'],
      ['offpeak-hello=1.0-2', 'Installed'],
      ['offpeak-tool=2.1-1', 'Installed'],
    ]);
  }
  // The machine whose pre-script failed: untouched, and the failure is in the report.
  expect(report.machines.find((m) => m.name === 'deb-c')?.detail).toMatch(/exited 7: not draining today/);
  expect(await c.installedVersion('offpeak-hello')).toBe('1.0-1');
  expect(await c.installedVersion('offpeak-tool')).toBe('2.0-1');
  expect(c.bootId()).toBe(bootsBefore[2]);
});
