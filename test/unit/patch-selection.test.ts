import {
  isHotpatchCapable,
  matchesPackageMask,
  normalizeKb,
  selectPatches,
  type SelectionCriteria,
} from '../../domain/patch-selection';
import type { AvailablePatch } from '../../domain/patches';

const win = (kb: string, over: Partial<AvailablePatch> = {}): AvailablePatch => ({
  patchId: kb,
  kbId: kb,
  name: `Update (${kb})`,
  classification: 'Security',
  rebootBehavior: 'AlwaysRequiresReboot',
  hotpatch: false,
  ...over,
});

const pkg = (name: string, version: string, over: Partial<AvailablePatch> = {}): AvailablePatch => ({
  patchId: `${name}=${version}`,
  name,
  version,
  classification: 'Security',
  rebootBehavior: 'NeverReboots',
  hotpatch: false,
  ...over,
});

const base: SelectionCriteria = {
  classifications: ['Critical', 'Security'],
  kbNumbersToInclude: [],
  kbNumbersToExclude: [],
  packageNameMasksToInclude: [],
  packageNameMasksToExclude: [],
  excludeKbsRequiringReboot: false,
  hotpatchOnly: false,
};

describe('isHotpatchCapable', () => {
  const img = (publisher: string, offer: string, sku: string) => ({ publisher, offer, sku });
  it.each([
    [img('MicrosoftWindowsServer', 'WindowsServer', '2022-Datacenter-Azure-Edition-Core'), true],
    [img('MicrosoftWindowsServer', 'WindowsServer', '2022-Datacenter-Azure-Edition-Core-smalldisk'), true],
    [img('MicrosoftWindowsServer', 'WindowsServer', '2022-Datacenter-Azure-Edition-Hotpatch'), true],
    [
      img('MicrosoftWindowsServer', 'WindowsServer', '2022-Datacenter-Azure-Edition-Hotpatch-smalldisk'),
      true,
    ],
    [img('microsoftwindowsserver', 'windowsserver', '2022-datacenter-azure-edition-hotpatch'), true],
    [img(' MicrosoftWindowsServer ', 'WindowsServer', '2022-DATACENTER-AZURE-EDITION-CORE'), true],
    [img('MicrosoftWindowsServer', 'WindowsServer', '2022-Datacenter-Azure-Edition'), false],
    [img('MicrosoftWindowsServer', 'WindowsServer', '2019-Datacenter'), false],
    [img('MicrosoftWindowsServer', 'WindowsServerSemiAnnual', '2022-Datacenter-Azure-Edition-Core'), false],
    [img('Canonical', 'WindowsServer', '2022-Datacenter-Azure-Edition-Core'), false],
    [img('Canonical', 'ubuntu-24_04-lts', 'server'), false],
    [undefined, false],
  ])('%j -> %s', (image, expected) => {
    expect(isHotpatchCapable(image)).toBe(expected);
  });
});

describe('normalizeKb', () => {
  it.each([
    ['KB5031234', '5031234'],
    ['kb5031234', '5031234'],
    ['5031234', '5031234'],
    [' Kb5031234 ', '5031234'],
  ])('%s -> %s', (kb, expected) => expect(normalizeKb(kb)).toBe(expected));
});

describe('matchesPackageMask', () => {
  const openssl = pkg('openssl', '3.0.2-0ubuntu1.15');
  const kernel = pkg('linux-image-5.15.0-1064-azure', '5.15.0-1064.73');
  it.each([
    [openssl, 'openssl', true],
    [openssl, 'open*', true],
    [openssl, '*ssl', true],
    [openssl, '*', true],
    [openssl, 'openss', false],
    [openssl, 'OpenSSL', false],
    [openssl, 'openssl=3.0.2*', true],
    [openssl, 'openssl=3.1*', false],
    [kernel, 'linux-image*', true],
    [kernel, 'linux-image-*-azure', true],
    [kernel, 'kernel*', false],
    [pkg('lib.c', '1'), 'lib.c', true],
    [pkg('libxc', '1'), 'lib.c', false],
    [openssl, '', false],
  ])('%j ~ %s -> %s', (patch, mask, expected) => expect(matchesPackageMask(patch, mask)).toBe(expected));
});

describe('selectPatches', () => {
  type Row = [
    string,
    AvailablePatch[],
    Partial<SelectionCriteria>,
    string[],
    Record<string, 'Excluded' | 'NotSelected'>,
  ];
  const rows: Row[] = [
    [
      'classifications select, others are NotSelected',
      [win('KB1'), win('KB2', { classification: 'Critical' }), win('KB3', { classification: 'Other' })],
      {},
      ['KB1', 'KB2'],
      { KB3: 'NotSelected' },
    ],
    [
      'a KB include selects regardless of classification',
      [win('KB3', { classification: 'Other' }), win('KB4', { classification: 'Other' })],
      { kbNumbersToInclude: ['3'] },
      ['KB3'],
      { KB4: 'NotSelected' },
    ],
    [
      'a KB include works with an empty classification match',
      [win('KB5031234', { classification: 'Other' })],
      { classifications: [], kbNumbersToInclude: ['kb5031234'] },
      ['KB5031234'],
      {},
    ],
    [
      'KB exclude compares with or without the prefix, any case',
      [win('KB1'), win('KB2'), win('KB3')],
      { kbNumbersToExclude: ['1', 'kb2'] },
      ['KB3'],
      { KB1: 'Excluded', KB2: 'Excluded' },
    ],
    [
      'exclusion wins over a KB include',
      [win('KB9', { classification: 'Other' })],
      { kbNumbersToInclude: ['KB9'], kbNumbersToExclude: ['9'] },
      [],
      { KB9: 'Excluded' },
    ],
    [
      'excludeKbsRequiringReboot keeps only NeverReboots KBs',
      [
        win('KB1', { rebootBehavior: 'NeverReboots' }),
        win('KB2', { rebootBehavior: 'CanRequestReboot' }),
        win('KB3', { rebootBehavior: 'AlwaysRequiresReboot' }),
      ],
      { excludeKbsRequiringReboot: true },
      ['KB1'],
      { KB2: 'Excluded', KB3: 'Excluded' },
    ],
    [
      'excludeKbsRequiringReboot does not touch Linux packages',
      [pkg('linux-image-azure', '6.8.0', { rebootBehavior: 'AlwaysRequiresReboot' })],
      { excludeKbsRequiringReboot: true },
      ['linux-image-azure=6.8.0'],
      {},
    ],
    [
      'excludeKbsRequiringReboot wins over a KB include',
      [win('KB7', { classification: 'Other', rebootBehavior: 'CanRequestReboot' })],
      { kbNumbersToInclude: ['KB7'], excludeKbsRequiringReboot: true },
      [],
      { KB7: 'Excluded' },
    ],
    [
      'hotpatch month: only hotpatches, even when included explicitly',
      [
        win('KB1', { hotpatch: true, rebootBehavior: 'NeverReboots' }),
        win('KB2'),
        win('KB3', { classification: 'Other', rebootBehavior: 'NeverReboots' }),
      ],
      { hotpatchOnly: true, kbNumbersToInclude: ['KB2'] },
      ['KB1'],
      { KB2: 'Excluded', KB3: 'Excluded' },
    ],
    [
      'hotpatch month: a hotpatch still needs its classification or an include',
      [win('KB1', { classification: 'Other', hotpatch: true, rebootBehavior: 'NeverReboots' })],
      { hotpatchOnly: true },
      [],
      { KB1: 'NotSelected' },
    ],
    [
      'package include mask selects regardless of classification',
      [
        pkg('linux-image-azure', '6.8.0', { classification: 'Other' }),
        pkg('vim', '9.1', { classification: 'Other' }),
      ],
      { packageNameMasksToInclude: ['linux-image*'] },
      ['linux-image-azure=6.8.0'],
      { 'vim=9.1': 'NotSelected' },
    ],
    [
      'package exclude mask wins over classification and include mask',
      [pkg('linux-image-azure', '6.8.0'), pkg('openssl', '3.0.13')],
      { packageNameMasksToInclude: ['linux-*'], packageNameMasksToExclude: ['linux-image*'] },
      ['openssl=3.0.13'],
      { 'linux-image-azure=6.8.0': 'Excluded' },
    ],
    [
      'package masks do not apply to KBs, KB lists not to packages',
      [win('KB1', { name: 'openssl' }), pkg('kb2', '1')],
      { packageNameMasksToExclude: ['openssl'], kbNumbersToExclude: ['KB2'] },
      ['KB1', 'kb2=1'],
      {},
    ],
    [
      'an exclude mask on a version',
      [pkg('openssl', '3.0.2-0ubuntu1.15'), pkg('openssl', '3.0.13-0ubuntu3.1')],
      { packageNameMasksToExclude: ['openssl=3.0.2*'] },
      ['openssl=3.0.13-0ubuntu3.1'],
      { 'openssl=3.0.2-0ubuntu1.15': 'Excluded' },
    ],
    ['no patches', [], {}, [], {}],
  ];

  it.each(rows)('%s', (_name, patches, criteria, selected, notSelected) => {
    const result = selectPatches(patches, { ...base, ...criteria });
    expect(result.selected).toEqual(selected);
    expect(Object.fromEntries(result.outcomes.map((o) => [o.patchId, o.state]))).toEqual(notSelected);
  });

  it('accounts for every patch exactly once, in input order', () => {
    const patches = [win('KB1'), win('KB2', { classification: 'Other' }), win('KB3'), win('KB4')];
    const result = selectPatches(patches, { ...base, kbNumbersToExclude: ['KB3'] });
    expect(result.selected).toEqual(['KB1', 'KB4']);
    expect(result.outcomes).toEqual([
      { patchId: 'KB2', state: 'NotSelected' },
      { patchId: 'KB3', state: 'Excluded', reason: 'PolicyExclusion' },
    ]);
  });

  it('gives every exclusion its reason: the first rule that applies', () => {
    const patches = [
      win('KB1', { rebootBehavior: 'AlwaysRequiresReboot' }), // listed and reboot-requiring: the list wins
      win('KB2', { rebootBehavior: 'CanRequestReboot', hotpatch: true }),
      win('KB3', { rebootBehavior: 'NeverReboots' }), // not a hotpatch
      win('KB4', { rebootBehavior: 'NeverReboots', hotpatch: true }),
    ];
    const result = selectPatches(patches, {
      ...base,
      kbNumbersToExclude: ['KB1'],
      excludeKbsRequiringReboot: true,
      hotpatchOnly: true,
    });
    expect(result.selected).toEqual(['KB4']);
    expect(result.outcomes.map((o) => [o.patchId, o.state, o.reason])).toEqual([
      ['KB1', 'Excluded', 'PolicyExclusion'],
      ['KB2', 'Excluded', 'RequiresReboot'],
      ['KB3', 'Excluded', 'HotpatchMonth'],
    ]);
  });
});
