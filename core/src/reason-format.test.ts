import { describe, expect, it } from 'vitest';
import { markdownReason } from './render/markdown.js';
import { formatReason, type Reason, reasonFormatter } from './verdict-model.js';

const auditDeny: Reason = {
  point: 'egress',
  band: 'platform',
  decision: 'deny',
  text: 'denied by egress[0]',
  object: 'NyxClusterNetworkPolicy/block-*',
  audit: true,
  source: 'cluster/block_*.yaml:12',
};

const isolation: Reason = {
  point: 'ingress',
  band: 'networkpolicy',
  decision: 'deny',
  text: 'isolated: no rule matched',
  object: 'NetworkPolicy/shop/deny',
  isolatedBy: ['NetworkPolicy/shop/deny', 'NetworkPolicy/shop/other'],
  source: 'namespaces/shop/deny.yaml:1',
};

describe('the one reason formatter', () => {
  it('writes plain text, Markdown and the explain column from the same words', () => {
    expect(formatReason(auditDeny)).toBe(
      'egress: denied by egress[0] [NyxClusterNetworkPolicy/block-*] (audit) at cluster/block_*.yaml:12',
    );
    expect(markdownReason(auditDeny)).toBe(
      'egress: denied by egress\\[0\\] \\[NyxClusterNetworkPolicy/block-\\*\\] (audit) (cluster/block\\_\\*.yaml:12)',
    );
    expect(reasonFormatter({ point: false, object: false, source: (s) => `  [${s}]` })(auditDeny)).toBe(
      'denied by egress[0] (audit)  [cluster/block_*.yaml:12]',
    );
  });

  it('names the isolating policies instead of one object', () => {
    expect(formatReason(isolation)).toBe(
      'ingress: isolated: no rule matched (isolated by NetworkPolicy/shop/deny, NetworkPolicy/shop/other) at namespaces/shop/deny.yaml:1',
    );
  });
});
