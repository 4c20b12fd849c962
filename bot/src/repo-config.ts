// `.github/nyx.yml` in the policy repository (read from the BASE branch, through the one YAML
// loader): which folder holds the policy tree, the check conclusion when a change newly denies
// observed flows, and the flow window length. Every key is optional; the defaults work.
import { type Diagnostic, parseYamlDocuments } from '@nyx/core';

export const REPO_CONFIG_PATH = '.github/nyx.yml';

export type Conclusion = 'failure' | 'neutral' | 'success';

export interface RepoConfig {
  /** Folder of the repository that holds the policy tree, `''` for the root; no leading/trailing `/`. */
  policyRoot: string;
  /** Conclusion of `nyx/policy` when the change newly denies observed flows (default `neutral`). */
  conclusionOnNewlyDenied: Conclusion;
  /** Flow window length in hours, for the Redis flow store (default 168 = 7 days). */
  windowHours: number;
  /** Upper bound of the sticky comment's length (default and maximum 65,000, under GitHub's 65,536). */
  maxCommentLength: number;
}

export const DEFAULT_REPO_CONFIG: Readonly<RepoConfig> = Object.freeze({
  policyRoot: '',
  conclusionOnNewlyDenied: 'neutral',
  windowHours: 168,
  maxCommentLength: 65_000,
});

const KEYS = new Set(['policyRoot', 'conclusionOnNewlyDenied', 'window', 'maxCommentLength']);

/** `90m`, `72h`, `3d`, `1w` → hours (rounded up, 1 hour minimum). */
export function parseWindowLength(text: string): number | undefined {
  const m = /^\s*(\d+)\s*(m|h|d|w)\s*$/.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  const hours = m[2] === 'm' ? Math.ceil(n / 60) : m[2] === 'h' ? n : m[2] === 'd' ? n * 24 : n * 168;
  return hours >= 1 && hours <= 24 * 90 ? hours : undefined;
}

/** Parses `.github/nyx.yml`; absent file (`undefined`) yields the defaults. */
export function parseRepoConfig(
  content: string | undefined,
): { ok: true; config: RepoConfig } | { ok: false; errors: Diagnostic[] } {
  const config: RepoConfig = { ...DEFAULT_REPO_CONFIG };
  if (content === undefined) return { ok: true, config };
  const parsed = parseYamlDocuments(REPO_CONFIG_PATH, content);
  if (!parsed.ok) return parsed;
  const doc = parsed.documents[0];
  if (!doc || doc.value === null || doc.value === undefined) return { ok: true, config };
  const errors: Diagnostic[] = [];
  const at = (key: string): number => doc.lines[`/${key}`] ?? doc.line;
  if (typeof doc.value !== 'object' || Array.isArray(doc.value)) {
    return {
      ok: false,
      errors: [{ file: REPO_CONFIG_PATH, line: doc.line, message: 'expected a mapping of settings' }],
    };
  }
  const value = doc.value as Record<string, unknown>;
  for (const key of Object.keys(value)) {
    if (!KEYS.has(key)) {
      errors.push({
        file: REPO_CONFIG_PATH,
        line: at(key),
        message: `unknown setting ${key}; expected one of ${[...KEYS].join(', ')}`,
      });
    }
  }
  if (value.policyRoot !== undefined) {
    const root =
      typeof value.policyRoot === 'string' ? value.policyRoot.replace(/^\/+|\/+$/g, '') : undefined;
    if (root === undefined || root.split('/').some((s) => s === '..' || s === '.') || /[\\\0]/.test(root)) {
      errors.push({
        file: REPO_CONFIG_PATH,
        line: at('policyRoot'),
        message: 'policyRoot: expected a folder of the repository such as `policies` (no `..`)',
      });
    } else config.policyRoot = root;
  }
  if (value.conclusionOnNewlyDenied !== undefined) {
    const c = value.conclusionOnNewlyDenied;
    if (c === 'failure' || c === 'neutral' || c === 'success') config.conclusionOnNewlyDenied = c;
    else
      errors.push({
        file: REPO_CONFIG_PATH,
        line: at('conclusionOnNewlyDenied'),
        message: `conclusionOnNewlyDenied: expected failure, neutral or success, got ${JSON.stringify(c)}`,
      });
  }
  if (value.window !== undefined) {
    const hours = typeof value.window === 'string' ? parseWindowLength(value.window) : undefined;
    if (hours === undefined)
      errors.push({
        file: REPO_CONFIG_PATH,
        line: at('window'),
        message: `window: expected a length such as 72h or 7d (1h to 90d), got ${JSON.stringify(value.window)}`,
      });
    else config.windowHours = hours;
  }
  if (value.maxCommentLength !== undefined) {
    const n = value.maxCommentLength;
    if (typeof n === 'number' && Number.isInteger(n) && n >= 2000 && n <= 65_000) config.maxCommentLength = n;
    else
      errors.push({
        file: REPO_CONFIG_PATH,
        line: at('maxCommentLength'),
        message: 'maxCommentLength: expected an integer between 2000 and 65000',
      });
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, config };
}
