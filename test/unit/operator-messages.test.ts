import {
  assertOperatorMessage,
  MAX_APPROVER_NAME,
  MAX_TEXT_BYTES,
  operatorMessageProblems,
  operatorRequestProblem,
  type OperatorMessageKind,
} from '../../domain/operator-messages';

const paths = (kind: OperatorMessageKind, message: unknown) =>
  operatorMessageProblems(kind, message).map((p) => p.path);

describe('operator messages within bounds pass', () => {
  test.each<[OperatorMessageKind, unknown]>([
    ['gateDecision', { gate: 'phase-1', decision: 'approve', by: 'alice', comment: 'canary healthy' }],
    ['gateDecision', { gate: 'phase-0', decision: 'reject', by: 'bob.smith@example.com' }],
    ['gateDecision', { gate: 'phase-2', decision: 'approve', by: 'a', comment: 'é'.repeat(512) }],
    ['pause', { by: 'carol', reason: 'change freeze\n\tuntil Monday' }],
    ['resume', { by: 'carol', override: true, comment: 'x'.repeat(MAX_TEXT_BYTES) }],
    ['resume', { by: 'carol' }],
    ['cancel', { by: `c${'1'.repeat(MAX_APPROVER_NAME - 1)}`, reason: 'superseded' }],
  ])('%s %j', (kind, message) => {
    expect(operatorMessageProblems(kind, message)).toEqual([]);
    expect(() => assertOperatorMessage(kind, message)).not.toThrow();
  });
});

describe('operator messages out of bounds are refused with the field named', () => {
  test.each<[string, OperatorMessageKind, unknown, string[]]>([
    [
      'a comment over 1 KB',
      'gateDecision',
      { gate: 'phase-1', decision: 'approve', by: 'alice', comment: 'x'.repeat(1025) },
      ['comment'],
    ],
    [
      'a comment over 1 KB in UTF-8 bytes',
      'gateDecision',
      { gate: 'phase-1', decision: 'approve', by: 'alice', comment: 'é'.repeat(513) },
      ['comment'],
    ],
    ['a 200 KB reason', 'pause', { by: 'alice', reason: 'x'.repeat(200_000) }, ['reason']],
    ['a comment with an escape sequence', 'resume', { by: 'alice', comment: 'ok\u001b[2J' }, ['comment']],
    ['markup as an approver', 'resume', { by: '<svg onload=alert(1)>', override: true }, ['by']],
    ['an empty approver', 'cancel', { by: '' }, ['by']],
    ['a missing approver', 'cancel', {}, ['by']],
    ['an approver name too long', 'pause', { by: 'a'.repeat(MAX_APPROVER_NAME + 1) }, ['by']],
    ['an approver with a space', 'pause', { by: 'alice smith' }, ['by']],
    ['an approver that is not text', 'pause', { by: 42 }, ['by']],
    [
      'a gate that is not a phase',
      'gateDecision',
      { gate: 'phase-1; drop', decision: 'approve', by: 'alice' },
      ['gate'],
    ],
    [
      'an unknown decision',
      'gateDecision',
      { gate: 'phase-1', decision: 'maybe', by: 'alice' },
      ['decision'],
    ],
    ['an override that is not a boolean', 'resume', { by: 'alice', override: 'yes' }, ['override']],
    ['an extra field', 'cancel', { by: 'alice', payload: 'x'.repeat(1000) }, ['payload']],
    ['a comment that is not text', 'resume', { by: 'alice', comment: { nested: true } }, ['comment']],
  ])('%s', (_name, kind, message, expected) => {
    expect(paths(kind, message)).toEqual(expected);
    expect(() => assertOperatorMessage(kind, message)).toThrow(new RegExp(`^${expected[0]}: `));
  });

  test.each([null, 'approve', [], 7])('a message that is not an object: %j', (message) => {
    expect(operatorMessageProblems('cancel', message)).toEqual([{ path: '', message: 'must be an object' }]);
  });

  test('a prototype name as a field is refused, never looked up', () => {
    const message = JSON.parse('{"by":"alice","constructor":"x","__proto__":{"reason":"y"}}') as unknown;
    expect(paths('pause', message)).toEqual(['constructor', '__proto__']);
  });
});

describe("the rollout's one Update validator (any operator request)", () => {
  test.each<[unknown, string | undefined]>([
    [{ gate: 'phase-1', by: 'alice', comment: 'ok' }, undefined],
    [{ by: 'alice', reason: 'freeze' }, undefined],
    [{ by: 'alice', override: true, comment: 'known bad host' }, undefined],
    [
      { by: 'alice', comment: 'x'.repeat(200_000) },
      'comment: must be at most 1024 bytes (UTF-8), got 200000',
    ],
    [
      { by: '<svg onload=x>', override: true },
      'by: must start with a letter or digit and hold only letters, digits, ".", "_", "@", "+" or "-"',
    ],
    [{ gate: 'phase-1' }, 'by: must be a name (a string)'],
    [{ by: 'alice', signature: 'x'.repeat(100_000) }, 'signature: is not a field of this message'],
    ['approve', 'request: must be an object'],
  ])('%j', (request, problem) => {
    expect(operatorRequestProblem(request)).toBe(problem);
  });
});
