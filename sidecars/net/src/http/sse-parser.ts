import { NetFailure } from '../net-failure.js';

/** One server-sent event: its `event:` name (`message` when absent) and its `data:` lines joined by LF. */
export interface SseEvent {
  readonly event: string;
  readonly data: string;
}

/**
 * Incremental parser for `text/event-stream` bodies (the WHATWG rules for fields, comments and
 * CR, LF or CRLF line ends). One event, or one unfinished line, longer than `eventLengthMax`
 * UTF-16 code units fails the stream instead of growing without bound.
 */
export class SseParser {
  readonly #eventLengthMax: number;
  #buffer = '';
  #data: string[] = [];
  #dataLength = 0;
  #event = '';

  /** Creates a parser that refuses events longer than `eventLengthMax`. */
  constructor(eventLengthMax: number) {
    this.#eventLengthMax = eventLengthMax;
  }

  /** Feeds decoded text and returns the events it completed. */
  push(text: string): SseEvent[] {
    this.#buffer += text;
    const events: SseEvent[] = [];
    let start = 0;
    for (;;) {
      const lf = this.#buffer.indexOf('\n', start);
      const cr = this.#buffer.indexOf('\r', start);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        // A CR at the very end may be the first half of a CRLF that arrives with the next chunk.
        if (cr === this.#buffer.length - 1) break;
        end = cr;
        next = this.#buffer[cr + 1] === '\n' ? cr + 2 : cr + 1;
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else break;
      this.#line(this.#buffer.slice(start, end), events);
      start = next;
    }
    this.#buffer = this.#buffer.slice(start);
    if (this.#buffer.length > this.#eventLengthMax) {
      throw new NetFailure(
        'contentTooLarge',
        `provider sent a stream line longer than ${this.#eventLengthMax} characters`,
      );
    }
    return events;
  }

  /** Ends the stream; an event without its closing blank line is dropped, as the standard says. */
  end(): SseEvent[] {
    this.#buffer = '';
    this.#data = [];
    this.#dataLength = 0;
    return [];
  }

  #line(line: string, events: SseEvent[]): void {
    if (line === '') {
      if (this.#data.length > 0)
        events.push({ event: this.#event === '' ? 'message' : this.#event, data: this.#data.join('\n') });
      this.#data = [];
      this.#dataLength = 0;
      this.#event = '';
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      this.#dataLength += value.length + 1;
      if (this.#dataLength > this.#eventLengthMax) {
        throw new NetFailure(
          'contentTooLarge',
          `provider sent a stream event longer than ${this.#eventLengthMax} characters`,
        );
      }
      this.#data.push(value);
    } else if (field === 'event') {
      this.#event = value;
    }
  }
}
