// Settings read from the environment, shared by the long-running processes (bot, agent): a bad
// value is one message in the list the process prints before it refuses to start.

/**
 * The integer `env[name]` in [min, max]; `fallback` when unset or empty. A value that is not such
 * an integer adds `NAME=value: expected an integer between min and max` to `errors`.
 */
export function integerSetting(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: number,
  min: number,
  max: number,
  errors: string[],
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    errors.push(`${name}=${raw}: expected an integer between ${min} and ${max}`);
    return fallback;
  }
  return n;
}
