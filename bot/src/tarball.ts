// Reading a repository tarball (`GET /repos/{o}/{r}/tarball/{sha}`, gzip'd tar as GitHub and `git
// archive` write it): one request for a whole revision instead of one per blob, which keeps a large
// policy tree within an installation's rate budget. Node has no tar reader; the format is small:
// 512-byte headers (ustar), pax `x` records for long paths, GNU `L` long names; the first path
// segment is GitHub's `<owner>-<repo>-<sha>/` prefix and is dropped. Only the wanted regular files
// are kept; everything else is skipped without being held in memory.
import { createGunzip } from 'node:zlib';

const BLOCK = 512;

function field(header: Buffer, start: number, length: number): string {
  const raw = header.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? length : end).toString('utf8');
}

function octal(header: Buffer, start: number, length: number): number {
  const text = field(header, start, length).trim();
  return text === '' ? 0 : Number.parseInt(text, 8);
}

function paxPath(body: Buffer): string | undefined {
  let at = 0;
  let path: string | undefined;
  while (at < body.length) {
    const space = body.indexOf(0x20, at);
    if (space === -1) break;
    const length = Number(body.subarray(at, space).toString('ascii'));
    if (!(length > 0)) break;
    const record = body.subarray(space + 1, at + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (record.slice(0, eq) === 'path') path = record.slice(eq + 1);
    at += length;
  }
  return path;
}

/**
 * The wanted regular files of a gzip'd tarball (`path` relative to the archive's top folder), read
 * as a stream. Throws when the archive holds more than `maxBytes` bytes once unpacked.
 */
export async function readTarball(
  gzipped: AsyncIterable<Uint8Array>,
  wanted: (path: string) => boolean,
  maxBytes: number,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const gunzip = createGunzip();
  const feed = (async () => {
    for await (const chunk of gzipped)
      if (!gunzip.write(chunk)) await new Promise((r) => gunzip.once('drain', r));
    gunzip.end();
  })();
  let pending: Buffer = Buffer.alloc(0);
  let total = 0;
  let longName: string | undefined;
  // The entry being read: its path (undefined when skipped), bytes left, padding, chunks kept.
  let entry:
    | { path: string | undefined; left: number; pad: number; chunks: Buffer[]; type: string }
    | undefined;
  for await (const chunk of gunzip as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) {
      gunzip.destroy();
      throw new Error(`the tarball unpacks to more than ${maxBytes} bytes`);
    }
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    for (;;) {
      if (entry) {
        const take = Math.min(entry.left, pending.length);
        const collect = entry.path !== undefined || entry.type === 'x' || entry.type === 'L';
        if (take > 0 && collect) entry.chunks.push(pending.subarray(0, take));
        entry.left -= take;
        pending = pending.subarray(take);
        if (entry.left > 0) break;
        if (pending.length < entry.pad) break;
        pending = pending.subarray(entry.pad);
        const body = Buffer.concat(entry.chunks);
        if (entry.type === 'x') longName = paxPath(body) ?? longName;
        else if (entry.type === 'L') longName = body.toString('utf8').replace(/\0+$/, '');
        else if (entry.path !== undefined) out.set(entry.path, body.toString('utf8'));
        entry = undefined;
        continue;
      }
      if (pending.length < BLOCK) break;
      const header = pending.subarray(0, BLOCK);
      pending = pending.subarray(BLOCK);
      if (header.every((b) => b === 0)) continue;
      const type = field(header, 156, 1) || '0';
      const size = octal(header, 124, 12);
      const prefix = field(header, 345, 155);
      const name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
      if (type !== 'x' && type !== 'L') longName = undefined;
      const relative = name.split('/').slice(1).join('/');
      const keep = (type === '0' || type === '\0') && relative !== '' && wanted(relative);
      const meta = type === 'x' || type === 'L';
      entry = {
        path: keep ? relative : undefined,
        left: size,
        pad: (BLOCK - (size % BLOCK)) % BLOCK,
        chunks: [],
        type: meta ? type : 'file',
      };
    }
  }
  await feed;
  return out;
}
