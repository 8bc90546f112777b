/**
 * A well-known credential shape. `prefix` (optional) is kept in the output so the reader still sees
 * what was there (`Authorization: Bearer [REDACTED:bearer-token]`); `body` is replaced.
 */
export type TokenShape = {
  /** The marker name: `[REDACTED:<name>]`. */
  readonly name: string;
  /** Literal starts of every match (ASCII, compared case-insensitively by the stream's trie). */
  readonly triggers: readonly string[];
  readonly prefix?: string;
  readonly body: string;
  /**
   * An upper bound of the characters the pattern may inspect from its start, failed probes included.
   * Streams hold back this much text after a trigger; it must bound every quantifier below.
   */
  readonly inspectChars: number;
};

/** `Bearer` → `[Bb][Ee][Aa][Rr][Ee][Rr]`: per-alternative case folding without the `i` flag. */
function anyCase(word: string): string {
  return [...word]
    .map((char) => (/[a-z]/i.test(char) ? `[${char.toUpperCase()}${char.toLowerCase()}]` : char))
    .join('');
}

const pemLabel = String.raw`(?:[A-Z0-9]{1,20} ){0,3}PRIVATE KEY(?: BLOCK)?-----`;
/** A line break, raw or escaped inside a JSON/shell string. */
const pemBreak = String.raw`(?:\r?\n|\\r\\n|\\n)`;
const pemLinesMax = 200;
const pemLineCharsMax = 100;

const authScheme = `(?:${['bearer', 'basic', 'token', 'bot'].map(anyCase).join('|')})`;

const urlSchemes = [
  'http',
  'https',
  'postgres',
  'postgresql',
  'mysql',
  'mongodb',
  'mongodb+srv',
  'redis',
  'rediss',
  'amqp',
  'amqps',
  'ftp',
  'sftp',
  'ssh',
  'git',
] as const;

/**
 * The token shapes the redaction boundary replaces even when no configured secret matches. Every
 * quantifier is bounded and every match begins at a non-token character (see `shapeBoundary`), so
 * a scan costs O(text length × longest shape) at worst and O(text length) in practice.
 */
export const tokenShapes: readonly TokenShape[] = [
  {
    name: 'private-key',
    triggers: ['-----BEGIN '],
    body:
      String.raw`-----BEGIN ${pemLabel}` +
      // A blank line is taken only when another line follows, so the break after the key stays.
      String.raw`(?:${pemBreak}(?!-----END)(?:[A-Za-z0-9+/=:,. -]{1,${pemLineCharsMax}}|(?=${pemBreak}))){0,${pemLinesMax}}` +
      String.raw`(?:${pemBreak}-----END ${pemLabel})?`,
    inspectChars: 200 + pemLinesMax * (4 + pemLineCharsMax + 8) + 200,
  },
  {
    name: 'aws-access-key-id',
    triggers: ['AKIA', 'ASIA'],
    body: String.raw`A(?:KI|SI)A[0-9A-Z]{16}`,
    inspectChars: 32,
  },
  {
    name: 'aws-secret-access-key',
    triggers: ['aws_secret_access_key'],
    prefix: String.raw`${anyCase('aws_secret_access_key')}["']?[ \t]{0,4}[:=][ \t]{0,4}["']?`,
    body: String.raw`[A-Za-z0-9/+=]{40}`,
    inspectChars: 21 + 1 + 4 + 1 + 4 + 1 + 40 + 16,
  },
  {
    name: 'github-token',
    triggers: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'github_pat_'],
    body: String.raw`(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})`,
    inspectChars: 11 + 255 + 16,
  },
  {
    name: 'gitlab-token',
    triggers: ['glpat-'],
    body: String.raw`glpat-[A-Za-z0-9_-]{20,255}`,
    inspectChars: 6 + 255 + 16,
  },
  {
    name: 'slack-token',
    triggers: ['xoxa-', 'xoxb-', 'xoxp-', 'xoxr-', 'xoxs-'],
    body: String.raw`xox[abprs]-[A-Za-z0-9-]{10,255}`,
    inspectChars: 5 + 255 + 16,
  },
  {
    name: 'npm-token',
    triggers: ['npm_'],
    body: String.raw`npm_[A-Za-z0-9]{36,255}`,
    inspectChars: 4 + 255 + 16,
  },
  {
    name: 'anthropic-key',
    triggers: ['sk-ant-'],
    body: String.raw`sk-ant-[A-Za-z0-9_-]{20,512}`,
    inspectChars: 7 + 512 + 16,
  },
  {
    name: 'openai-key',
    triggers: ['sk-'],
    body: String.raw`sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,512}|[A-Za-z0-9]{32,512})`,
    inspectChars: 11 + 512 + 16,
  },
  {
    name: 'google-api-key',
    triggers: ['AIza'],
    body: String.raw`AIza[0-9A-Za-z_-]{35}`,
    inspectChars: 4 + 35 + 16,
  },
  {
    name: 'stripe-key',
    triggers: ['sk_live_', 'sk_test_', 'rk_live_', 'rk_test_'],
    body: String.raw`[sr]k_(?:live|test)_[0-9A-Za-z]{16,255}`,
    inspectChars: 8 + 255 + 16,
  },
  {
    name: 'jwt',
    triggers: ['eyJ'],
    body: String.raw`eyJ[A-Za-z0-9_-]{8,4096}\.eyJ[A-Za-z0-9_-]{8,8192}\.[A-Za-z0-9_-]{0,2048}`,
    inspectChars: 3 + 4096 + 4 + 8192 + 1 + 2048 + 16,
  },
  {
    name: 'authorization-header',
    triggers: ['authorization', 'proxy-authorization'],
    prefix:
      String.raw`(?:${anyCase('proxy-')})?${anyCase('authorization')}["']?[ \t]{0,4}[:=][ \t]{0,4}["']?` +
      // A scheme word is consumed when present; it is never mistaken for the value.
      String.raw`(?:${authScheme}[ \t]{1,4}|(?!${authScheme}(?![A-Za-z0-9._~+/=-])))`,
    body: String.raw`[A-Za-z0-9._~+/=-]{4,4096}`,
    inspectChars: 19 + 1 + 4 + 1 + 4 + 1 + 6 + 4 + 4096 + 16,
  },
  {
    name: 'bearer-token',
    triggers: ['bearer'],
    prefix: String.raw`${anyCase('bearer')}[ \t]{1,4}`,
    body: String.raw`[A-Za-z0-9._~+/=-]{20,4096}`,
    inspectChars: 6 + 4 + 4096 + 16,
  },
  {
    name: 'url-password',
    triggers: urlSchemes.map((scheme) => `${scheme}://`),
    prefix: String.raw`(?:${urlSchemes.map((scheme) => scheme.replace('+', '\\+')).join('|')})://[^\s:/@]{0,256}:`,
    body: String.raw`[^\s/@]{1,256}(?=@)`,
    inspectChars: 14 + 256 + 1 + 256 + 1 + 16,
  },
];

/** Matches start only where the previous character cannot belong to the same token. */
export const shapeBoundary = String.raw`(?<![A-Za-z0-9_-])`;
