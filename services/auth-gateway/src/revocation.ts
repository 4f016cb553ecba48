/**
 * Per-user revocation of the gateway's tokens: a "tokens valid after" instant (ms). Every MFA,
 * enrollment and remember-device token of the user issued at or before it is refused, here and by
 * resource servers that ask (`warden.gateway.v1.introspect`, or the `validAfter` of `user.reset`).
 * The cutoff lives behind the `Revocation` port (ports.ts; adapters/revocation.ts keeps it).
 *
 * It moves forward, never back, when:
 * - the user's first factor is confirmed (factor-changes.ts): enrollment tokens handed out while
 *   the user had no factor die, so whoever knew only the password cannot bind a factor of their own
 *   once the user has one;
 * - 2FA is reset (admin, or a permanent-loss recovery) or disabled (adapters/user-reset.ts).
 *
 * Precision: `iat` has whole seconds, so the gateway's tokens also carry `iat_ms`, and the cutoff is
 * compared in milliseconds; a token issued in the very millisecond of the cutoff is revoked (ties
 * revoke). A token without `iat_ms` counts from the start of its `iat` second.
 */

/** When a gateway token was issued, in ms: its `iat_ms` when it agrees with `iat`, else the start of the `iat` second (the earliest it can have been). */
export function issuedAtMs (iat: number, iatMs: unknown): number {
  return typeof iatMs === 'number' && Number.isInteger(iatMs) && Math.floor(iatMs / 1000) === iat ? iatMs : iat * 1000
}

/** True when something issued at `issuedAt` (ms) is still good: strictly after the cutoff. Pure. */
export function isCurrent (issuedAt: number, validAfter: number | undefined): boolean {
  return validAfter === undefined || issuedAt > validAfter
}
