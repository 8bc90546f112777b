/**
 * The output side of the redaction boundary: a writer whose every byte passes the streaming
 * redactor (a secret split across two writes is still caught) and then the hidden-text
 * neutraliser. Text that could still be the start of a secret is held back until more arrives or
 * the writer ends, so `end()` must run before the process exits.
 */
import type { Redactor } from '../secrets/redact.js';
import { hiddenTextStream } from './hidden-text.js';

/** A text sink, such as `process.stdout.write`. */
export type TextSink = (text: string) => void;

/** A redacting writer over one sink. */
export type RedactingWriter = {
  /** Redacts and forwards what is already decided; holds back a possible partial secret. */
  readonly write: (text: string) => void;
  /** Flushes what is held back. Later writes start a fresh stream. */
  readonly end: () => void;
};

/** Wraps `sink`; the redactor is fetched when a stream starts, so it sees every secret learnt by then. */
export function redactingWriter(sink: TextSink, redactor: () => Redactor): RedactingWriter {
  let stream: ReturnType<Redactor['stream']> | null = null;
  let hidden = hiddenTextStream();
  const forward = (text: string): void => {
    if (text !== '') sink(text);
  };
  return {
    write(text: string): void {
      stream ??= redactor().stream();
      forward(hidden.push(stream.push(text)));
    },
    end(): void {
      if (stream === null) return;
      forward(hidden.push(stream.end()) + hidden.end());
      stream = null;
      hidden = hiddenTextStream();
    },
  };
}
