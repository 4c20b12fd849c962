import { execFile } from 'node:child_process';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { createGitRepo } from '@nyx/test';
import { describe, expect, it } from 'vitest';
import { readTarball } from './tarball.js';

const exec = promisify(execFile);

describe('readTarball', () => {
  it('reads the wanted files of a git archive, long paths included, and skips the rest', async () => {
    const git = await createGitRepo();
    try {
      const long = `namespaces/${'n'.repeat(90)}/${'p'.repeat(60)}.yaml`;
      const sha = await git.commit({
        'cluster/a.yaml': 'a: 1\n',
        [long]: 'long: true\n',
        'README.md': 'skip me\n',
        'cluster/link.yaml': { symlink: 'a.yaml' },
      });
      const { stdout } = await exec(
        'git',
        ['archive', '--format=tar.gz', `--prefix=cloudmart-network-policy-${sha.slice(0, 7)}/`, sha],
        { cwd: git.dir, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
      );
      const files = await readTarball(Readable.from([stdout]), (p) => p.endsWith('.yaml'), 1024 * 1024);
      expect([...files.keys()].sort()).toEqual(['cluster/a.yaml', long].sort());
      expect(files.get(long)).toBe('long: true\n');
      await expect(readTarball(Readable.from([stdout]), () => true, 100)).rejects.toThrow(
        /more than 100 bytes/,
      );
    } finally {
      await git.close();
    }
  });
});
