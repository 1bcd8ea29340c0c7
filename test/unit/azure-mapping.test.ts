import { maximumDuration, offpeakPatchId, toInstallResult } from '../../activities/drivers/azure/mapping';
import { missingAction } from '../../activities/drivers/azure/errors';

const NOW = Date.UTC(2026, 10, 10, 22);
const min = 60_000;

test.each([
  [90 * min + 59_000, 'PT1H30M'],
  [60 * min, 'PT1H'],
  [45 * min, 'PT45M'],
  [30_000, 'PT1M'], // never zero: Azure needs a duration
  [-5 * min, 'PT1M'],
  [10 * 60 * min, 'PT4H'], // Azure's limit
])('maximumDuration for %d ms left is %s', (left, iso) => {
  expect(maximumDuration(NOW + left, NOW)).toBe(iso);
});

test("patch ids: Windows KB numbers, Linux name=version (the other drivers' form)", () => {
  expect(offpeakPatchId('Windows', { kbId: '5044281', name: 'x' })).toBe('KB5044281');
  expect(offpeakPatchId('Windows', { kbId: 'KB5044281', name: 'x' })).toBe('KB5044281');
  expect(offpeakPatchId('Linux', { name: 'openssl', version: '3.0.15-1~deb12u1' })).toBe(
    'openssl=3.0.15-1~deb12u1',
  );
});

test('a selected patch Azure does not report is never Installed: Failed, or Pending when the window was exceeded', () => {
  const base = { status: 'Succeeded', rebootStatus: 'NotNeeded', patches: [] };
  expect(toInstallResult('Windows', ['KB1'], base).patches).toEqual([{ patchId: 'KB1', state: 'Failed' }]);
  expect(toInstallResult('Windows', ['KB1'], { ...base, maintenanceWindowExceeded: true }).patches).toEqual([
    { patchId: 'KB1', state: 'Pending' },
  ]);
  expect(() =>
    toInstallResult('Windows', ['KB1'], { status: 'Failed', error: { message: 'extension crashed' } }),
  ).toThrow("Azure's installPatches failed: extension crashed");
});

test('the action Azure names in an AuthorizationFailed message', () => {
  expect(
    missingAction(
      "The client 'x' with object id 'y' does not have authorization to perform action 'Microsoft.HybridCompute/machines/installPatches/action' over scope 'z'",
    ),
  ).toBe('Microsoft.HybridCompute/machines/installPatches/action');
  expect(missingAction('Forbidden')).toBeUndefined();
});
