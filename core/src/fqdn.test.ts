import { describe, expect, it } from 'vitest';
import { compileFqdnMatch, fqdnMatches, normalizeDnsName } from './fqdn.js';

describe('fqdnMatches', () => {
  it('matchName compares case-insensitively and ignores a trailing dot', () => {
    expect(fqdnMatches({ matchName: 'api.stripe.com' }, 'api.stripe.com')).toBe(true);
    expect(fqdnMatches({ matchName: 'api.stripe.com' }, 'API.Stripe.COM')).toBe(true);
    expect(fqdnMatches({ matchName: 'api.stripe.com.' }, 'api.stripe.com')).toBe(true);
    expect(fqdnMatches({ matchName: 'api.stripe.com' }, 'api.stripe.com.')).toBe(true);
    expect(fqdnMatches({ matchName: 'api.stripe.com' }, 'xapi.stripe.com')).toBe(false);
    expect(fqdnMatches({ matchName: 'api.stripe.com' }, 'api.stripe.com.evil.net')).toBe(false);
  });

  it('* is one or more labels, never the bare parent and never starting with a dot', () => {
    const m = { matchPattern: '*.example.com' };
    expect(fqdnMatches(m, 'a.example.com')).toBe(true);
    expect(fqdnMatches(m, 'a.b.example.com')).toBe(true);
    expect(fqdnMatches(m, 'A.B.Example.com.')).toBe(true);
    expect(fqdnMatches(m, 'example.com')).toBe(false);
    expect(fqdnMatches(m, '.example.com')).toBe(false);
    expect(fqdnMatches(m, 'a..example.com')).toBe(false);
    expect(fqdnMatches(m, 'aexample.com')).toBe(false);
    expect(fqdnMatches(m, 'a.example.com.evil.net')).toBe(false);
  });

  it('pattern characters other than * are literal', () => {
    expect(fqdnMatches({ matchPattern: 'api.*.svc' }, 'api.x.svc')).toBe(true);
    expect(fqdnMatches({ matchPattern: 'api.*.svc' }, 'apixx.svc')).toBe(false);
    expect(fqdnMatches({ matchPattern: 'a+b.*.com' }, 'a+b.x.com')).toBe(true);
    expect(fqdnMatches({ matchPattern: 'a+b.*.com' }, 'aab.x.com')).toBe(false);
  });

  it('an empty server name matches nothing', () => {
    expect(fqdnMatches({ matchPattern: '*' }, '')).toBe(false);
    expect(fqdnMatches({ matchPattern: '*' }, 'anything.at.all')).toBe(true);
  });

  it('compiled predicates are reusable', () => {
    const p = compileFqdnMatch({ matchName: 'a.com', matchPattern: '*.b.com' });
    expect(['a.com', 'x.b.com', 'b.com', 'x.a.com'].map(p)).toEqual([true, true, false, false]);
    expect(normalizeDnsName('X.Y.')).toBe('x.y');
  });
});
