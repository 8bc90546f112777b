/** The protocol version this package speaks, as a semver string. */
export const protocolVersion = '1.0.0';

/** A parsed `major.minor.patch` version. Pre-release and build suffixes are not part of the wire. */
export interface SemanticVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

const SEMVER = /^(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})$/;

/** Parses a strict `major.minor.patch` string (no `v` prefix, no leading zeros); `null` otherwise. */
export function parseVersion(text: string): SemanticVersion | null {
  const match = SEMVER.exec(text);
  if (match === null) return null;
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) };
}

/** The outcome of {@link negotiate}. */
export type NegotiationResult =
  | { readonly ok: true; readonly version: string }
  | { readonly ok: false; readonly code: 'versionMismatch'; readonly message: string };

function compare(left: SemanticVersion, right: SemanticVersion): number {
  return left.major - right.major || left.minor - right.minor || left.patch - right.patch;
}

/**
 * Decides whether two peers can talk. Versions with the same major version are compatible (for
 * major 0, the minor version must match too, as semver treats 0.x minors as breaking); the agreed
 * version is the lower of the two, so the newer peer restricts itself to what the older one knows.
 * Anything else, including a string that is not `major.minor.patch`, is refused with a message
 * that names both versions.
 */
export function negotiate(ours: string, theirs: string): NegotiationResult {
  const mine = parseVersion(ours);
  const peer = parseVersion(theirs);
  const both = `ours is ${JSON.stringify(ours.slice(0, 32))}, the peer's is ${JSON.stringify(theirs.slice(0, 32))}`;
  if (mine === null || peer === null) {
    return { ok: false, code: 'versionMismatch', message: `protocol version is not major.minor.patch: ${both}` };
  }
  const compatible = mine.major === peer.major && (mine.major !== 0 || mine.minor === peer.minor);
  if (!compatible) {
    return {
      ok: false,
      code: 'versionMismatch',
      message: `incompatible protocol versions: ${both}; upgrade the older side to the same major version`,
    };
  }
  return { ok: true, version: compare(mine, peer) <= 0 ? ours : theirs };
}
