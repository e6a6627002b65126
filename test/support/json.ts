/**
 * A JSON body as the tests receive it: untyped, and checked field by field with expect().
 * The one place the tests opt out of `no-explicit-any`, so a typo in a field name fails the assertion, not the build.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;
