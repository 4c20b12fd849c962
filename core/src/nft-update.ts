// Incremental updates of the `inet nyx` table (SPEC section 7 point 8, section 8.6: a new pod enforced
// within a second): the difference between the script in force and the next one, as one `nft -f`
// transaction. `compileRuleset` names sets after what they select and chains after their body, so
// pod churn (pods added, removed, relabelled, new addresses) changes set and verdict-map elements
// and the generation, and at most declares or deletes the chains and sets of a plan whose first pod
// arrives on the node or whose last pod leaves it. As in Cilium and Calico, the structure stays and
// the elements move: the update declares what is new, deletes and adds elements, rewrites the chains
// that carry the generation (`flush chain` and the new body), then empties and deletes what is gone,
// all in the same transaction. Any other difference (a base chain, a kept chain's rules, a set the
// kernel fills, the first address of a family) makes the update the whole script: the portable
// table replace. Either way the kernel ends equal to a fresh load of the next script (sets the
// kernel fills itself, `flags timeout`/`dynamic`, are left as they are; a declared chain or set is
// listed after the others where a fresh load lists it in name order).

/** One `nft -f` transaction that turns the table of `previous` into the table of `next`. */
export type RulesetUpdate =
  | { kind: 'unchanged' }
  | { kind: 'replace'; script: string; reason: string }
  | {
      kind: 'elements';
      script: string;
      /** Elements added and deleted (a map key whose value changed counts in both). */
      added: number;
      deleted: number;
      /** Chains whose rules were rewritten (the generation). */
      chains: number;
      /** Sets and chains declared (a plan new on this node) and removed (its last pod left). */
      declared: number;
      removed: number;
    };

interface Block {
  kind: string;
  name: string;
  /** The block's text as written in the script (comments included). */
  text: string;
  /** Its lines without comments and elements: what the structure comparison reads. */
  shape: string;
  /** Elements of a set or map the script fills (undefined: not a set/map, or the kernel fills it). */
  elements?: string[];
}

interface ParsedScript {
  generation?: string;
  outside: string;
  blocks: Block[];
}

const TABLE = 'table inet nyx {';
const BLOCK_START = /^\t(\S+) (\S+) \{$/;
const ELEMENTS_START = /^\t\telements = \{$/;

// The agent diffs each script against the one before: the `next` of one call is the `previous`
// of the next call, parsed once.
let lastParsed: { script: string; parsed: ParsedScript | undefined } | undefined;

function parse(script: string): ParsedScript | undefined {
  if (lastParsed?.script === script) return lastParsed.parsed;
  const parsed = parseUncached(script);
  lastParsed = { script, parsed };
  return parsed;
}

function parseUncached(script: string): ParsedScript | undefined {
  const lines = script.split('\n');
  const generation = /generation (0x[0-9a-f]{8})/.exec(lines[0] ?? '')?.[1];
  const start = lines.indexOf(TABLE);
  if (start < 0) return undefined;
  const outside = [...lines.slice(0, start), ...lines.slice(lines.lastIndexOf('}') + 1)]
    .filter((l) => !l.startsWith('#'))
    .join('\n');
  const blocks: Block[] = [];
  let i = start + 1;
  while (i < lines.length && lines[i] !== '}') {
    const line = lines[i]!;
    const head = BLOCK_START.exec(line);
    if (!head) {
      if (line.trim() !== '' && !line.trim().startsWith('#')) return undefined;
      i++;
      continue;
    }
    const text: string[] = [line];
    const shape: string[] = [line];
    let elements: string[] | undefined;
    i++;
    for (; i < lines.length && lines[i] !== '\t}'; i++) {
      const body = lines[i]!;
      text.push(body);
      if (ELEMENTS_START.test(body)) {
        elements = [];
        for (i++; i < lines.length && lines[i] !== '\t\t}'; i++) {
          text.push(lines[i]!);
          for (const e of lines[i]!.split(',')) if (e.trim() !== '') elements.push(e.trim());
        }
        text.push(lines[i] ?? '');
        continue;
      }
      if (!body.trim().startsWith('#')) shape.push(body);
    }
    text.push('\t}');
    i++;
    const [, kind, name] = head as unknown as [string, string, string];
    const kernelFilled = shape.some((l) => /^\t\tflags .*\b(timeout|dynamic)\b/.test(l));
    const fills = (kind === 'set' || kind === 'map') && !kernelFilled;
    blocks.push({
      kind,
      name,
      text: text.join('\n'),
      shape: shape.join('\n'),
      ...(fills ? { elements: elements ?? [] } : {}),
    });
  }
  return { ...(generation ? { generation } : {}), outside, blocks };
}

function withoutGeneration(text: string, generation: string | undefined): string {
  return generation ? text.replaceAll(generation, '@GENERATION@') : text;
}

/** A map element's key (`10.0.0.1 : jump e…` → `10.0.0.1`); a set element is its own key. */
function keyOf(kind: string, element: string): string {
  if (kind !== 'map') return element;
  const colon = element.indexOf(' : ');
  return colon < 0 ? element : element.slice(0, colon);
}

/**
 * The transaction from the table `previous` loaded to the table `next` describes (both scripts of
 * `compileRuleset`): element changes when only elements and the generation differ, else the whole
 * `next` script. Pure: the agent loads the result in one `nft -f`.
 */
export function rulesetUpdate(previous: string | undefined, next: string): RulesetUpdate {
  if (previous === undefined) return { kind: 'replace', script: next, reason: 'nothing in force yet' };
  if (previous === next) return { kind: 'unchanged' };
  const before = parse(previous);
  const after = parse(next);
  if (!before || !after) return { kind: 'replace', script: next, reason: 'not a script of compileRuleset' };
  if (
    withoutGeneration(before.outside, before.generation) !==
    withoutGeneration(after.outside, after.generation)
  ) {
    return { kind: 'replace', script: next, reason: 'the structure changed' };
  }
  const id = (b: Block) => `${b.kind} ${b.name}`;
  const beforeById = new Map(before.blocks.map((b) => [id(b), b]));
  const afterById = new Map(after.blocks.map((b) => [id(b), b]));
  // A block may come or go when it is a plan's chain or a set the script fills (the first or last
  // pod of a plan on this node, a namespace's first pod): anything else is a structural change.
  const mayComeOrGo = (b: Block) =>
    (b.kind === 'chain' && !/^\t\ttype .* hook /m.test(b.shape)) ||
    (b.kind === 'set' && b.elements !== undefined);
  const gone = before.blocks.filter((b) => !afterById.has(id(b)));
  const come = after.blocks.filter((b) => !beforeById.has(id(b)));
  const kept = after.blocks.filter((a) => beforeById.has(id(a)));
  const sameShape =
    gone.every(mayComeOrGo) &&
    come.every(mayComeOrGo) &&
    kept.every(
      (a) =>
        withoutGeneration(beforeById.get(id(a))!.shape, before.generation) ===
        withoutGeneration(a.shape, after.generation),
    );
  if (!sameShape) return { kind: 'replace', script: next, reason: 'the structure changed' };

  const deletes: string[] = [];
  const adds: string[] = [];
  const chains: string[] = [];
  let added = 0;
  let deleted = 0;
  for (const a of kept) {
    const b = beforeById.get(id(a))!;
    if (b.elements && a.elements) {
      const old = new Map(b.elements.map((e) => [keyOf(b.kind, e), e]));
      const now = new Map(a.elements.map((e) => [keyOf(a.kind, e), e]));
      // A map key whose value changed (a pod moved to another plan) is deleted and added again.
      const out = [...old].filter(([k, e]) => now.get(k) !== e).map(([k]) => k);
      const inn = [...now].filter(([k, e]) => old.get(k) !== e).map(([, e]) => e);
      if (out.length > 0) deletes.push(`delete element inet nyx ${b.name} { ${out.join(', ')} }`);
      if (inn.length > 0) adds.push(`add element inet nyx ${a.name} { ${inn.join(', ')} }`);
      deleted += out.length;
      added += inn.length;
    } else if (b.kind === 'chain' && b.shape !== a.shape) {
      // Same shape but for the generation: the chain's rules are replaced in this transaction.
      chains.push(`flush chain inet nyx ${a.name}`, `table inet nyx {\n${a.text}\n}`);
    }
  }
  // New sets and chains first (a verdict-map element may jump to a new chain); chains that go are
  // emptied, then deleted, once no element jumps to them; their sets after them.
  const declare =
    come.length > 0
      ? [
          `table inet nyx {\n${[...come.filter((b) => b.kind === 'set'), ...come.filter((b) => b.kind === 'chain')].map((b) => b.text).join('\n')}\n}`,
        ]
      : [];
  const goneChains = gone.filter((b) => b.kind === 'chain');
  const remove = [
    ...goneChains.map((b) => `flush chain inet nyx ${b.name}`),
    ...goneChains.map((b) => `delete chain inet nyx ${b.name}`),
    ...gone.filter((b) => b.kind === 'set').map((b) => `delete set inet nyx ${b.name}`),
  ];
  if (deletes.length + adds.length + chains.length + declare.length + remove.length === 0) {
    return { kind: 'unchanged' };
  }
  const header = `# nyx agent: incremental update of table inet nyx, generation ${before.generation ?? '?'} -> ${after.generation ?? '?'}`;
  return {
    kind: 'elements',
    script: [header, ...declare, ...deletes, ...chains, ...adds, ...remove, ''].join('\n'),
    added,
    deleted,
    chains: chains.length / 2,
    declared: come.length,
    removed: gone.length,
  };
}
