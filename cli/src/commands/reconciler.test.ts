import { describe, expect, it } from 'vitest';
import { formatStatus, parsePauseDuration } from './reconciler.js';

describe('nyxctl pause and status helpers', () => {
  it('parses pause durations', () => {
    expect(parsePauseDuration('30m')).toBe(1_800_000);
    expect(parsePauseDuration('1h30m')).toBe(5_400_000);
    expect(parsePauseDuration('45s')).toBe(45_000);
    for (const bad of ['', '0m', '30', 'm', '1d', '-5m', '5m1h'])
      expect(parsePauseDuration(bad)).toBeUndefined();
  });

  it('prints the rollout, an invalid tip with its errors, and the pause', () => {
    const text = formatStatus({
      phase: 'InvalidRevision',
      reason: 'InvalidRevision',
      revision: 'a'.repeat(40),
      attemptedRevision: 'b'.repeat(40),
      errors: [
        'namespaces/shop/x.yaml:6: priority 50 is in the platform band (0–99); namespace policies use 100–899',
      ],
      held: [],
      inBackoff: [],
      paused: { until: '2026-12-03T12:00:00.000Z', reason: 'INC-1', by: 'alice' },
      rollout: {
        revision: 'a'.repeat(40),
        hash: 'sha256:x',
        applied: ['n1'],
        pending: ['n2'],
        failed: [{ node: 'n3', error: 'nft' }],
      },
    });
    expect(text).toContain(`tip:       ${'b'.repeat(40)} (not applied)`);
    expect(text).toContain('  namespaces/shop/x.yaml:6: priority 50');
    expect(text).toContain('paused:    until 2026-12-03T12:00:00.000Z by alice: INC-1');
    expect(text).toContain('rollout:   aaaaaaaaaaaa on 1/3 nodes; pending 1, failed 1');
    expect(text).toContain('  failed:  n3: nft');
  });
});
