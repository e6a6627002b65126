import { sessionCookie } from './session-resolver';

describe('sessionCookie', () => {
  it('finds churn_session among other cookies', () => {
    expect(sessionCookie('a=1; churn_session=abc_DEF-123; b=2')).toBe('abc_DEF-123');
    expect(sessionCookie('churn_session=x')).toBe('x');
  });

  it('ignores a missing or empty cookie and look-alike names', () => {
    expect(sessionCookie(undefined)).toBeUndefined();
    expect(sessionCookie('churn_session=')).toBeUndefined();
    expect(sessionCookie('my_churn_session=x; churn_session_old=y')).toBeUndefined();
    expect(sessionCookie(['churn_session=x'])).toBeUndefined();
  });
});
