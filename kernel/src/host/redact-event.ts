/**
 * The redaction policy for events: which fields carry free text (redacted and neutralised before
 * the event is stepped and written) and which carry ids, digests, codes or enums (never altered,
 * because the hash chain, the reducer and replay depend on them). A structural field that holds a
 * secret is a bug in the host that produced it, and throws.
 */
import { assertNever, type EventKind, type Violation } from '../core/index.js';

/** Text in, clean text out: redaction, then hidden-text neutralisation. */
export type CleanText = (text: string) => string;

/** An event or a fact (an event before the driver stamps `seq` and `atMs`). */
export type EventLike = { readonly kind: string };

/** Thrown when an id, digest or other structural field of an event holds a secret. */
export class SecretInStructuralFieldError extends Error {
  override readonly name = 'SecretInStructuralFieldError';
}

const eventKinds: ReadonlySet<string> = new Set<EventKind>([
  'taskCreated',
  'attemptStarted',
  'patchDerived',
  'patchRefused',
  'verifyStarted',
  'jobHeartbeat',
  'verifyFinished',
  'approvalRequested',
  'approvalResolved',
  'integrationRequested',
  'integrationFinished',
  'integrationFailed',
  'usageCharged',
  'clockTicked',
  'modelClaimedDone',
  'taskCancelled',
  'sandboxUnavailable',
  'attemptFailed',
  'kernelRecovered',
  'secretExposed',
]);

/** The free-text fields of each event kind; every other field is structural. */
function freeTextFields(kind: EventKind): readonly string[] {
  switch (kind) {
    case 'taskCreated':
      return ['goal', 'verifyCommand', 'risks'];
    case 'patchDerived':
      return ['files'];
    case 'patchRefused':
    case 'attemptFailed':
      return ['detail'];
    case 'verifyFinished':
      return ['integrity'];
    case 'integrationFailed':
    case 'taskCancelled':
    case 'sandboxUnavailable':
      return ['reason'];
    case 'modelClaimedDone':
      return ['text'];
    case 'secretExposed':
      return ['name', 'purpose'];
    case 'attemptStarted':
    case 'verifyStarted':
    case 'jobHeartbeat':
    case 'approvalRequested':
    case 'approvalResolved':
    case 'integrationRequested':
    case 'integrationFinished':
    case 'usageCharged':
    case 'clockTicked':
    case 'kernelRecovered':
      return [];
    default:
      return assertNever(kind);
  }
}

/** Cleans every string inside a free-text value; integrity violations keep their rule names. */
function cleanValue(value: unknown, clean: CleanText): unknown {
  if (typeof value === 'string') return clean(value);
  if (Array.isArray(value)) return value.map((item) => cleanValue(item, clean));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, cleanValue(item, clean)]));
  }
  return value;
}

/** A verify integrity verdict: violation paths are untrusted text; the verdict and rules are the kernel's. */
function cleanIntegrity(integrity: unknown, clean: CleanText): unknown {
  if (typeof integrity !== 'object' || integrity === null) return integrity;
  const cleanViolations = (list: unknown): unknown =>
    Array.isArray(list)
      ? list.map((violation: unknown) =>
          typeof violation === 'object' && violation !== null
            ? { ...(violation as Violation), path: clean(String((violation as Violation).path)) }
            : violation,
        )
      : list;
  const record = integrity as Readonly<Record<string, unknown>>;
  return Object.fromEntries(
    Object.entries(record).map(([key, item]) => [
      key,
      key === 'violations' || key === 'accepted' ? cleanViolations(item) : item,
    ]),
  );
}

/**
 * Returns `event` with its free-text fields cleaned. Structural fields are checked, never changed:
 * one that `clean` would alter throws `SecretInStructuralFieldError`. An object whose `kind` is not
 * a known event has every string value cleaned (keys and `kind` kept).
 */
export function redactEventFields<E extends EventLike>(event: E, clean: CleanText): E {
  const known = eventKinds.has(event.kind);
  const free = known ? freeTextFields(event.kind as EventKind) : null;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event)) {
    if (key === 'kind') {
      out[key] = value;
    } else if (free === null || free.includes(key)) {
      out[key] = key === 'integrity' ? cleanIntegrity(value, clean) : cleanValue(value, clean);
    } else {
      assertStructural(event.kind, key, value, clean);
      out[key] = value;
    }
  }
  return out as E;
}

function assertStructural(kind: string, key: string, value: unknown, clean: CleanText): void {
  const strings: string[] = [];
  const collect = (item: unknown): void => {
    if (typeof item === 'string') strings.push(item);
    else if (Array.isArray(item)) item.forEach(collect);
    else if (typeof item === 'object' && item !== null) Object.values(item).forEach(collect);
  };
  collect(value);
  if (strings.some((text) => clean(text) !== text)) {
    throw new SecretInStructuralFieldError(
      `${kind}.${key} holds a secret or hidden text; refusing to record it (an id or digest is never rewritten)`,
    );
  }
}
