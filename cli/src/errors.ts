// The two ways a command fails on purpose. `main.ts` holds the one try/catch that turns them into
// exit codes; everything else is an unexpected error (exit 1).
// From the flow half of io (the same class): `impact` throws it before the engine has loaded.
export { InputError } from '@nyx/io/flows';

/** Exit codes, as documented in every command's `--help`. */
export const EXIT_OK = 0;
/** `lint` found at least one error-severity finding; also any unexpected failure. */
export const EXIT_FINDINGS = 1;
/** Invalid input (a policy tree, inventory or flow file that does not validate) or a usage error. */
export const EXIT_INVALID = 2;

// Input that does not validate is `InputError` (io's one error type: every problem as
// `file:line: message`, printed on stderr, exit 2); cli throws the same type io does.

/** Options that do not make sense together or a malformed option value: a message, exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
