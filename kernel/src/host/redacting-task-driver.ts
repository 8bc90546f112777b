/**
 * A `TaskDriver` on the redaction boundary: every fact's free-text fields are redacted and their
 * hidden text neutralised before the fact is logged and stepped, so the log, the live state and
 * a replay all hold the same clean text. It also records each `Secret.expose` made while the task
 * runs as a `secretExposed` event (name and purpose, never the value).
 */
import type { Action } from '../core/index.js';
import type { LogWriter } from '../log/log-writer.js';
import { redactEventFields, type CleanText } from './redact-event.js';
import type { SecretsBoundary } from './secrets-boundary.js';
import { TaskDriver, type Fact } from './task-driver.js';

/** See the module comment. */
export class RedactingTaskDriver extends TaskDriver {
  readonly #clean: CleanText;
  readonly #boundary: SecretsBoundary | null;
  #stopRecording: (() => void) | null = null;

  /** `clean` redacts and neutralises one string; `boundary` supplies the exposures to record. */
  constructor(writer: LogWriter, clean: CleanText, boundary: SecretsBoundary | null) {
    super(writer);
    this.#clean = clean;
    this.#boundary = boundary;
  }

  /** Cleans the fact, then logs and steps it. Exposures are recorded from the first fact on. */
  override emit(fact: Fact): readonly Action[] {
    const actions = super.emit(redactEventFields(fact, this.#clean));
    if (this.#stopRecording === null && this.#boundary !== null) {
      this.#stopRecording = this.#boundary.recordExposures(({ name, purpose }) => {
        super.emit(redactEventFields({ kind: 'secretExposed', name, purpose }, this.#clean));
      });
    }
    return actions;
  }

  override close(): ReturnType<TaskDriver['close']> {
    this.#stop();
    return super.close();
  }

  override abandon(): void {
    this.#stop();
    super.abandon();
  }

  #stop(): void {
    this.#stopRecording?.();
    this.#stopRecording = () => undefined;
  }
}
