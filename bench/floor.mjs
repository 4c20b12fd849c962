// The whole-process floor: `node bench/floor.mjs FILE` reads FILE line by line (readline) and
// JSON.parses each line, as nyxctl must at least do. Plain JavaScript: nothing but Node starts.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

const lines = createInterface({
  input: createReadStream(process.argv[2], { encoding: 'utf8' }),
  crlfDelay: Infinity,
});
let records = 0;
for await (const line of lines) {
  if (line.trim() === '') continue;
  if (JSON.parse(line).port !== undefined) records++;
}
process.stdout.write(`${records}\n`);
