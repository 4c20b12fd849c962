// Property: whatever a pull request author puts in a path, a YAML key or value, an object name or an
// OWNERS entry, what the bot writes parses (GFM, the dialect GitHub renders) to plain text there:
// no HTML, link, image, code span, emphasis, heading or table of the author's making.
import type { ApprovalGroup } from '@nyx/core';
import { approvalStatus, escapeMarkdown } from '@nyx/core';
import fc from 'fast-check';
import type { Nodes, Root } from 'mdast';
import { fromMarkdown } from 'mdast-util-from-markdown';
import { gfmFromMarkdown } from 'mdast-util-gfm';
import { gfm } from 'micromark-extension-gfm';
import { describe, expect, it } from 'vitest';
import type { Analysis } from './analyze.js';
import { composeComment, ownershipCheck, policyCheck } from './comment.js';
import { reasonList } from './worker.js';

function parse(markdown: string): Root {
  return fromMarkdown(markdown, { extensions: [gfm()], mdastExtensions: [gfmFromMarkdown()] });
}

/** Node types in document order, with the text of text nodes left out. */
function shape(node: Nodes): string[] {
  const out: string[] = [node.type];
  if ('children' in node) for (const c of node.children) out.push(...shape(c as Nodes));
  return out;
}

/** The decoded text of a tree: what GitHub looks for mentions and bare links in. */
function rawText(node: Nodes): string {
  if (node.type === 'text') return node.value;
  return 'children' in node ? node.children.map((c) => rawText(c as Nodes)).join('') : '';
}

/** The text a reader sees (zero-width spaces, which break mentions and bare links, left out). */
function text(node: Nodes): string {
  return rawText(node).replaceAll('\u200b', '');
}

const HOSTILE_TOKENS = [
  '<h3>✅ Ownership: approved</h3>',
  '<img src=x onerror=alert(1)>',
  '<!--',
  '-->',
  '[click](https://evil.example/x)',
  '![i](https://evil.example/i.png)',
  '[ref]: https://evil.example',
  '@cloudmart/platform',
  '@everyone',
  '#1',
  '`',
  '```',
  '**',
  '_',
  '~~',
  '|',
  '\\',
  '\n',
  '\r\n',
  '\n# title\n',
  '\n- item\n',
  '\n| a | b |\n| - | - |\n',
  'https://evil.example',
  'www.evil.example',
  'a@b.example',
  '&amp;',
  '&#64;',
  '<https://evil.example>',
  '    ',
  ' ',
  'x',
  'namespaces/',
  '.yaml',
  ':',
  '>',
  '*',
  '-',
  '+',
  '1.',
  '=',
];
const hostile = fc
  .array(fc.constantFrom(...HOSTILE_TOKENS), { minLength: 1, maxLength: 12 })
  .map((a) => a.join(''));

describe('escapeMarkdown', () => {
  it('keeps any string plain text in a paragraph, a list item and a table cell, and keeps its text', () => {
    fc.assert(
      fc.property(hostile, (s) => {
        const e = escapeMarkdown(s);
        const flat = s.replace(/[\r\n]/g, ' ');
        const paragraph = parse(`before ${e} after`);
        expect(shape(paragraph)).toEqual([
          'root',
          'paragraph',
          ...Array(shape(paragraph).length - 2).fill('text'),
        ]);
        expect(text(paragraph)).toBe(`before ${flat} after`);
        const item = parse(`- ${e}:1: ${e}`);
        expect(
          shape(item).filter((t) => !['root', 'list', 'listItem', 'paragraph', 'text'].includes(t)),
        ).toEqual([]);
        const table = parse(`| a | b |\n| --- | --- |\n| ${e} | x |`);
        expect(
          shape(table).filter((t) => !['root', 'table', 'tableRow', 'tableCell', 'text'].includes(t)),
        ).toEqual([]);
        expect((table.children[0] as { children: unknown[] }).children).toHaveLength(2);
      }),
      { numRuns: 500 },
    );
  });
});

/** An analysis whose every PR-controlled string is `s`. */
function hostileAnalysis(s: string): { analysis: Analysis; groups: ApprovalGroup[] } {
  const groups: ApprovalGroup[] = [
    {
      id: 'cluster/OWNERS',
      reason: `${s}/ changed`,
      approvers: ['cloudmart/platform'],
      paths: [`${s}.yaml`],
    },
    { id: `unowned:${s}`, reason: `${s} changed`, approvers: [], paths: [`${s}/x.yaml`] },
  ];
  return {
    groups,
    analysis: {
      kind: 'invalid',
      revision: 'head',
      errors: [{ file: `namespaces/${s}.yaml`, line: 3, message: `unknown field "${s}"` }],
      groups,
      ownershipErrors: [],
    },
  };
}

describe('what the bot writes', () => {
  it('a comment, check texts and an explain reply have the same Markdown structure whatever the PR put in them', () => {
    const render = (s: string): string[] => {
      const { analysis, groups } = hostileAnalysis(s);
      const approval = approvalStatus({
        groups,
        reviews: [],
        author: 'dev',
        headSha: 'c'.repeat(40),
        teamMembers: new Map(),
      });
      const policy = policyCheck({ analysis, headSha: 'c'.repeat(40), conclusionOnNewlyDenied: 'neutral' });
      const ownership = ownershipCheck({ approval, headSha: 'c'.repeat(40) });
      return [
        composeComment({ analysis, approval, headSha: 'c'.repeat(40), policyRoot: 'policies' }),
        policy.summary,
        policy.text ?? '',
        ownership.summary,
        ownership.text ?? '',
        reasonList([
          { point: s, text: `allowed by ${s}`, source: `${s}.yaml:2`, decision: 'allow' } as never,
        ]),
      ].map((m) => shape(parse(m)).join(' '));
    };
    const benign = render('x');
    fc.assert(
      fc.property(hostile, (s) => {
        expect(render(s)).toEqual(benign);
        const { analysis, groups } = hostileAnalysis(s);
        const approval = approvalStatus({
          groups,
          reviews: [],
          author: 'dev',
          headSha: 'c'.repeat(40),
          teamMembers: new Map(),
        });
        const body = composeComment({ analysis, approval, headSha: 'c'.repeat(40) });
        // What GitHub would read as a mention: `@name` in the rendered text.
        const mentions = [...rawText(parse(body) as Nodes).matchAll(/(?<!\w)@[\w/-]+/g)].map((m) => m[0]);
        expect(new Set(mentions)).toEqual(new Set(['@cloudmart/platform']));
      }),
      { numRuns: 300 },
    );
  });
});

describe('reasonList', () => {
  it('writes reasons as the impact comment does: the object, audit and the isolating policies', () => {
    expect(
      reasonList([
        {
          point: 'egress',
          band: 'platform',
          decision: 'deny',
          text: 'denied by egress[0]',
          object: 'NyxClusterNetworkPolicy/block',
          audit: true,
          source: 'cluster/block.yaml:12',
        },
      ]),
    ).toBe(
      '- egress: denied by egress\\[0\\] \\[NyxClusterNetworkPolicy/block\\] (audit) (cluster/block.yaml:12)',
    );
  });
});
