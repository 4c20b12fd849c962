import { describe, expect, it } from 'vitest';
import { diagnosticsFromMessage, displayPath } from './inputs.js';

describe('input helpers', () => {
  it('shows tree paths as reachable from the current directory', () => {
    expect(displayPath('.', 'namespaces/shop/a.yaml')).toBe('namespaces/shop/a.yaml');
    expect(displayPath('policy-repo-template', 'cluster/x.yaml')).toBe('policy-repo-template/cluster/x.yaml');
    expect(displayPath('trees/base/', 'cluster/x.yaml')).toBe('trees/base/cluster/x.yaml');
  });

  it('turns path:line: message lines back into diagnostics', () => {
    expect(diagnosticsFromMessage('inv.json:3: bad pod\ninv.json:9: bad node', 'inv.json')).toEqual([
      { file: 'inv.json', line: 3, message: 'bad pod' },
      { file: 'inv.json', line: 9, message: 'bad node' },
    ]);
    expect(diagnosticsFromMessage('something odd', 'inv.json')).toEqual([
      { file: 'inv.json', line: 1, message: 'something odd' },
    ]);
  });
});
