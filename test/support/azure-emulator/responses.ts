import { randomUUID } from 'node:crypto';
import { choose, keyOf, requestClasses, type EmulatedPatch } from './patches';
import type { LedgerEntry, MachineState, Operation } from './server';

/**
 * The emulator's response bodies, each shaped as the Azure/azure-rest-api-specs example it names,
 * filled from the emulated machine's state. Completing an install changes that state and the ledger.
 */

export function completeOperation(op: Operation, ledger: LedgerEntry[]): Record<string, unknown> {
  const m = op.machine;
  const activityId = op.id;
  const available = m.patches.filter((p) => !m.installed.has(keyOf(m.os, p)));
  if (op.kind === 'assessPatches') {
    ledger.push({
      at: Date.now(),
      resourceId: m.resourceId,
      kind: 'assessPatches',
      operationId: op.id,
    });
    const start = new Date().toISOString();
    if (m.kind === 'arc') {
      // Machine_AssessPatches.json (hybridcompute 2024-07-10): counts by classification, no list.
      const count = (c: string) =>
        available.filter((p) => requestClasses(p).includes(c.toLowerCase())).length;
      const classes =
        m.os === 'Windows'
          ? [
              'security',
              'critical',
              'updateRollup',
              'featurePack',
              'servicePack',
              'definition',
              'tools',
              'updates',
            ]
          : ['security', 'critical', 'other'];
      return {
        status: 'Succeeded',
        assessmentActivityId: activityId,
        rebootPending: m.rebootPending ?? false,
        startDateTime: start,
        lastModifiedDateTime: start,
        availablePatchCountByClassification: Object.fromEntries(classes.map((c) => [c, count(c)])),
        startedBy: 'User',
        osType: m.os,
        errorDetails: null,
      };
    }
    // VirtualMachine_AssessPatches.json (compute 2024-03-01).
    const cs = available.filter((p) =>
      requestClasses(p).some((c) => c === 'critical' || c === 'security'),
    ).length;
    return {
      status: 'Succeeded',
      assessmentActivityId: activityId,
      rebootPending: m.rebootPending ?? false,
      criticalAndSecurityPatchCount: cs,
      otherPatchCount: available.length - cs,
      startDateTime: start,
      availablePatches: available.map((p) => ({
        patchId: randomUUID(),
        name: p.name,
        version: p.version ?? '',
        ...(p.kbId ? { kbId: p.kbId } : {}),
        classifications: p.classifications,
        rebootBehavior: p.rebootBehavior,
        activityId,
        publishedDate: '2026-11-10T00:00:00Z',
        lastModifiedDateTime: start,
        assessmentState: 'Available',
      })),
      error: null,
    };
  }

  // VirtualMachine_InstallPatches.json (compute 2024-07-01), Machine_InstallPatches.json (hybridcompute 2024-07-10).
  const states = new Map<EmulatedPatch, string>();
  const installed: string[] = [];
  let room = m.windowFitsPatches ?? Number.MAX_SAFE_INTEGER;
  for (const p of available) {
    const choice = choose(p, op.body);
    if (choice === 'excluded') states.set(p, 'Excluded');
    else if (choice === 'notSelected') states.set(p, 'NotSelected');
    else if (room <= 0) states.set(p, 'Pending');
    else if ((m.failing ?? []).includes(p.kbId ?? p.name)) {
      states.set(p, 'Failed');
      room--;
    } else {
      states.set(p, 'Installed');
      m.installed.add(keyOf(m.os, p));
      installed.push(keyOf(m.os, p));
      room--;
    }
  }
  const exceeded = [...states.values()].includes('Pending');
  const needs =
    (m.rebootPending ?? false) ||
    available.some((p) => states.get(p) === 'Installed' && p.rebootBehavior !== 'NeverReboots');
  const setting = op.body.rebootSetting;
  let rebootStatus = 'NotNeeded';
  if (exceeded && needs) rebootStatus = 'Required';
  else if (setting === 'Always' || (setting === 'IfRequired' && needs))
    rebootStatus = m.rebootFails ? 'Failed' : 'Completed';
  else if (needs) rebootStatus = 'Required';
  ledger.push({
    at: Date.now(),
    resourceId: m.resourceId,
    kind: 'installPatches',
    operationId: op.id,
    installed,
  });
  if (rebootStatus === 'Completed') {
    m.rebootPending = false;
    ledger.push({ at: Date.now(), resourceId: m.resourceId, kind: 'reboot', operationId: op.id });
  } else if (needs) m.rebootPending = true;
  const count = (s: string) => [...states.values()].filter((v) => v === s).length;
  const start = op.startedAt;
  return {
    status: count('Failed') ? 'CompletedWithWarnings' : 'Succeeded',
    installationActivityId: activityId,
    rebootStatus,
    maintenanceWindowExceeded: exceeded,
    excludedPatchCount: count('Excluded'),
    notSelectedPatchCount: count('NotSelected'),
    pendingPatchCount: count('Pending'),
    installedPatchCount: count('Installed'),
    failedPatchCount: count('Failed'),
    startDateTime: start,
    ...(m.kind === 'arc'
      ? {
          lastModifiedDateTime: new Date().toISOString(),
          startedBy: 'User',
          osType: m.os,
          errorDetails: null,
        }
      : {
          patches: available.map((p) => ({
            patchId: randomUUID(),
            name: p.name,
            version: p.version ?? '',
            ...(p.kbId ? { kbId: p.kbId } : {}),
            classifications: p.classifications,
            installationState: states.get(p),
          })),
          error: null,
        }),
  };
}

/** VirtualMachine_Get_InstanceView.json (compute 2024-07-01), trimmed to what matters here. */
export function instanceViewOf(m: MachineState): Record<string, unknown> {
  const running = m.power === 'running';
  return {
    // The platform domains of a VM in an availability set (Resource Graph does not carry them).
    ...(m.availabilitySet !== undefined
      ? { platformUpdateDomain: m.updateDomain ?? 0, platformFaultDomain: m.faultDomain ?? 0 }
      : {}),
    computerName: m.resourceId.split('/').pop(),
    osName: m.os === 'Windows' ? 'Windows Server 2022 Datacenter' : 'Ubuntu 22.04',
    vmAgent: {
      vmAgentVersion: '2.7.41491.949',
      statuses: [
        running
          ? {
              code: 'ProvisioningState/succeeded',
              level: 'Info',
              displayStatus: 'Ready',
              message: 'GuestAgent is running and accepting new configurations.',
            }
          : {
              code: 'ProvisioningState/Unavailable',
              level: 'Warning',
              displayStatus: 'Not Ready',
              message: 'VM status blob is found but not yet populated.',
            },
      ],
    },
    patchStatus: { configurationStatuses: [] },
    statuses: [
      { code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded' },
      {
        code: `PowerState/${m.power}`,
        level: 'Info',
        displayStatus: running ? 'VM running' : 'VM stopped',
      },
    ],
  };
}

/** VirtualMachine_Get.json (compute 2024-07-01), trimmed to identity and patch settings. */
export function vmOf(m: MachineState): Record<string, unknown> {
  const patchSettings = {
    patchMode: m.patchMode ?? 'AutomaticByPlatform',
    assessmentMode: 'AutomaticByPlatform',
    automaticByPlatformSettings: {
      rebootSetting: 'IfRequired',
      bypassPlatformSafetyChecksOnUserSchedule: m.bypassPlatformSafetyChecksOnUserSchedule ?? true,
    },
  };
  return {
    id: m.resourceId,
    name: m.resourceId.split('/').pop(),
    type: 'Microsoft.Compute/virtualMachines',
    location: 'eastus',
    properties: {
      vmId: '0f47b100-583c-48e3-a4c0-aefc2c9bbcc1',
      osProfile: {
        computerName: m.resourceId.split('/').pop(),
        ...(m.os === 'Windows'
          ? {
              windowsConfiguration: { provisionVMAgent: true, enableAutomaticUpdates: true, patchSettings },
            }
          : { linuxConfiguration: { provisionVMAgent: true, patchSettings } }),
      },
      storageProfile: { osDisk: { osType: m.os } },
      provisioningState: 'Succeeded',
    },
  };
}

/** Machine_Get.json (hybridcompute 2024-07-10), trimmed. */
export function arcMachineOf(m: MachineState): Record<string, unknown> {
  return {
    id: m.resourceId,
    name: m.resourceId.split('/').pop(),
    type: 'Microsoft.HybridCompute/machines',
    location: 'eastus',
    properties: {
      provisioningState: 'Succeeded',
      status: m.arcStatus,
      lastStatusChange: new Date().toISOString(),
      osName: m.os.toLowerCase(),
      osType: m.os.toLowerCase(),
      agentVersion: '1.47.02904.1790',
    },
  };
}
