import { describe, expect, it } from 'vitest';
import { commitStatusTarget } from './commit-status.js';

describe('commitStatusTarget', () => {
  it('targets github.com repositories with a token, other hosts only with an API URL', () => {
    expect(commitStatusTarget({ gitUrl: 'https://github.com/acme/policies.git', token: 't' })).toEqual({
      apiUrl: 'https://api.github.com',
      owner: 'acme',
      repo: 'policies',
      token: 't',
    });
    expect(commitStatusTarget({ gitUrl: 'https://github.com/acme/policies.git' })).toBeUndefined();
    expect(commitStatusTarget({ gitUrl: 'https://git.corp/acme/policies', token: 't' })).toBeUndefined();
    expect(
      commitStatusTarget({
        gitUrl: 'https://git.corp/acme/policies',
        token: 't',
        apiUrl: 'https://git.corp/api/v3/',
      }),
    ).toMatchObject({ apiUrl: 'https://git.corp/api/v3', owner: 'acme', repo: 'policies' });
    expect(commitStatusTarget({ gitUrl: 'https://github.com/only-one-segment', token: 't' })).toBeUndefined();
  });
});
