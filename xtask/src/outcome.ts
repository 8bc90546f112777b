/** What a command concluded: whether it passed, and the lines it has to say. */
export interface Outcome {
  readonly ok: boolean;
  readonly lines: readonly string[];
}
