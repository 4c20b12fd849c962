import { describe, expect, it } from 'vitest';
import { bundleHash, inventoryVersion, makeBundle, parseBundle } from './handoff.js';

describe('reconciler → agents hand-off shape', () => {
  const files = [
    { path: 'namespaces/shop/allow.yaml', text: 'kind: NyxNetworkPolicy\n' },
    { path: 'cluster/config.yaml', text: 'kind: NyxClusterConfig\n' },
  ];

  it('addresses a bundle by its content, whatever the order of its files', () => {
    expect(bundleHash(files)).toBe(bundleHash([...files].reverse()));
    expect(bundleHash(files)).not.toBe(bundleHash([{ ...files[0]!, text: 'changed' }, files[1]!]));
    const bundle = makeBundle('abc123', files, new Date('2026-01-01T00:00:00Z'));
    expect(bundle.files.map((f) => f.path)).toEqual(['cluster/config.yaml', 'namespaces/shop/allow.yaml']);
    expect(parseBundle(JSON.stringify(bundle))).toEqual(bundle);
  });

  it('refuses a bundle whose files do not match its hash, or of another version', () => {
    const bundle = makeBundle('abc123', files);
    const tampered = { ...bundle, files: [{ path: 'cluster/config.yaml', text: 'evil' }] };
    expect(() => parseBundle(JSON.stringify(tampered))).toThrow(/does not match its files/);
    expect(() => parseBundle(JSON.stringify({ ...bundle, version: 2 }))).toThrow(/unsupported version 2/);
  });

  it('versions an inventory by its text', () => {
    expect(inventoryVersion('{"items":[]}')).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(inventoryVersion('{"items":[]}')).not.toBe(inventoryVersion('{"items":[1]}'));
  });
});
