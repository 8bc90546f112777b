/**
 * The native agent loop: one attempt of a model working on a fresh attempt tree through the
 * kernel's tools, until it submits, runs out of turns, or the task's budgets end it.
 *
 * What the model says is a claim: "done" is logged as `modelClaimedDone` and changes nothing; a
 * receipt it presents is checked with `verifyReceipt` and a forged one is logged and ignored. On
 * `submit` the kernel derives the patch from the tree itself; `run-task` then applies it to a
 * second fresh tree and runs the user's verify command there, exactly as for a worker. Every
 * completion's usage is charged through the reducer (`usageCharged`), its cost at the provider's
 * configured prices, so the token, cost, output and wall budgets end the task from the log. A
 * sidecar failure becomes `attemptFailed`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ParamsOf, ResultOf } from '@crustcore/protocol';
import { derivePatch, type Attempt } from '../attempt/index.js';
import { isInFlight, type Action, type Task } from '../core/index.js';
import { issueReceipt, resultSha256, verifyReceipt, type Receipt } from '../log/receipts.js';
import { redactorForSecrets } from '../secrets/redact.js';
import type { Secret } from '../secrets/secret.js';
import { AgentModelLimits, completionCostMicros, type ModelCandidate } from './agent-model.js';
import {
  AgentTools,
  agentSystemPrompt,
  agentToolDefinitions,
  parseToolArguments,
  type ToolOutput,
} from './agent-tools.js';
import { claimsDone, labelUntrusted } from './agent-untrusted.js';
import { SidecarSupervisor, SupervisorError } from './sidecar-supervisor.js';
import type { MacKey } from './state-dir.js';
import type { Fact } from './task-driver.js';
import type { PreviousAttempt } from './worker.js';

export type { ModelCandidate } from './agent-model.js';

type ChatMessage = ParamsOf<'net/complete'>['messages'][number];
type Completion = ResultOf<'net/complete'>;

/** Bounds of the loop's own text. */
export const AgentLoopLimits = {
  /** Characters of a claim or a presented receipt kept in the log. */
  claimCharsMax: 500,
  /** Files named in the first message. */
  contextFilesMax: 200,
  /** Search hits for the goal's words in the first message. */
  contextHitsMax: 12,
} as const;

/** The run's receipt chain, shared with the verify receipts of `run-task`. */
export interface ReceiptChain {
  readonly key: MacKey;
  readonly logId: string;
  /** The chain's last receipt, or null before the first. */
  last(): Receipt | null;
  /** Records a newly issued receipt as the chain's last. */
  append(receipt: Receipt): void;
}

/** What the loop needs from the task runner. */
export interface AgentContext {
  readonly taskId: string;
  readonly goal: string;
  readonly verifyCommand: string;
  readonly attemptsMax: number;
  /** Records a fact in the log and steps it; returns the actions to perform. */
  readonly emit: (fact: Fact) => readonly Action[];
  /** The task as the core sees it now. */
  readonly task: () => Task;
  /** The run's redaction boundary. */
  readonly redact: (text: string) => string;
  readonly progress: (line: string) => void;
  readonly receipts: ReceiptChain;
  /** The sequence number of the log's last record (a receipt is bound to the record it follows). */
  readonly headSeq: () => number;
}

/** One attempt's outcome: the kernel-derived patch, or the actions of the events that ended it. */
export type AgentOutcome =
  { readonly ok: true; readonly patch: Uint8Array } | { readonly ok: false; readonly actions: readonly Action[] };

const receiptIdPattern = /\bcrr-\d{1,6}-[0-9a-f]{16}\b/gu;

/** The id shown to the model for a receipt: its chain position and the head of its MAC. */
export function receiptId(receipt: Receipt): string {
  return `crr-${receipt.index}-${receipt.mac.slice(0, 16)}`;
}

/** Runs the agent's attempts of one task; owns the net sidecar's supervisor for the run. */
export class AgentRunner {
  readonly #candidate: ModelCandidate;
  readonly #context: AgentContext;
  readonly #issued: Receipt[] = [];
  #supervisor: SidecarSupervisor | null = null;
  #configDir: string | null = null;

  /** Binds the runner to one task; the sidecar starts with the first completion. */
  constructor(candidate: ModelCandidate, context: AgentContext) {
    this.#candidate = candidate;
    this.#context = context;
  }

  /** Kills the sidecar and removes its private config; safe to call more than once. */
  dispose(): void {
    this.#supervisor?.dispose();
    this.#supervisor = null;
    if (this.#configDir !== null) rmSync(this.#configDir, { recursive: true, force: true });
    this.#configDir = null;
  }

  #supervisorFor(): SidecarSupervisor {
    if (this.#supervisor !== null) return this.#supervisor;
    const candidate = this.#candidate;
    let command = candidate.sidecar;
    if (candidate.netProviders !== null) {
      // The bundled sidecar learns the providers from a private file; it never holds a key.
      this.#configDir = mkdtempSync(join(tmpdir(), 'crustcore-net-'));
      const file = join(this.#configDir, 'net.json');
      const offline = Object.values(candidate.netProviders).every((p) => p.kind === 'mock' || p.kind === 'scripted');
      writeFileSync(file, JSON.stringify({ providers: candidate.netProviders, offline }), { mode: 0o600 });
      command = { ...command, args: [...command.args, '--config', file] };
    }
    this.#supervisor = new SidecarSupervisor({
      command,
      redact: this.#context.redact,
      onEvent: (event) => {
        if (event.kind === 'heartbeatMissed') this.#context.progress('net sidecar missed a heartbeat; restarting it');
        if (event.kind === 'circuitOpened') this.#context.progress('net sidecar keeps failing; calls are paused');
      },
    });
    return this.#supervisor;
  }

  /** Runs one attempt in `tree` (which the caller removes); `previous` is the last verify's feedback. */
  async runAttempt(tree: Attempt, attempt: number, previous: PreviousAttempt | null): Promise<AgentOutcome> {
    const context = this.#context;
    const candidate = this.#candidate;
    const collected: Action[] = [];
    const emit = (fact: Fact): boolean => {
      collected.push(...context.emit(fact));
      return isInFlight(context.task().status);
    };
    const failed = (code: string, detail: string): AgentOutcome => {
      if (!isInFlight(context.task().status)) return { ok: false, actions: collected };
      context.progress(`attempt ${attempt}: failed: ${detail}`);
      emit({ kind: 'attemptFailed', taskId: context.taskId, attempt, code, detail: context.redact(detail) });
      return { ok: false, actions: collected };
    };
    const key = candidate.keySecret === null ? null : candidate.secret(candidate.keySecret);
    if (candidate.keySecret !== null && key === null) {
      return failed(
        'secretMissing',
        `the secret ${candidate.keySecret} for provider '${candidate.provider}' is not available`,
      );
    }
    const keyRedactor = key === null ? null : redactorForSecrets([key]);
    const redact = (text: string): string => {
      const once = context.redact(text);
      return keyRedactor === null ? once : keyRedactor.redact(once);
    };
    const tools = new AgentTools(tree);
    const messages: ChatMessage[] = [
      { role: 'system', content: agentSystemPrompt(context.verifyCommand) },
      { role: 'user', content: await this.#briefing(tree, tools, attempt, previous, redact) },
    ];
    context.progress(`attempt ${attempt}: model ${candidate.label} at work (at most ${candidate.turnsMax} turns)`);
    for (let turn = 1; turn <= candidate.turnsMax; turn++) {
      let completion: Completion;
      try {
        completion = await this.#complete(messages, key);
      } catch (error) {
        if (!(error instanceof SupervisorError)) throw error;
        const tail =
          error.stderrTail === ''
            ? ''
            : ` (stderr: ${error.stderrTail.split('\n').filter(Boolean).slice(-3).join(' | ')})`;
        const code = error.code === 'sidecarExited' || error.code === 'startFailed' ? 'sidecarExited' : 'modelFailed';
        return failed(code, `${error.message}${tail}`);
      }
      const tokens = completion.usage.inputTokens + completion.usage.outputTokens;
      const costMicros = completionCostMicros(completion.usage, candidate.pricing);
      if (!emit({ kind: 'usageCharged', taskId: context.taskId, tokens, costMicros, outputBytes: 0 })) {
        return { ok: false, actions: collected };
      }
      const message = completion.message;
      messages.push(message);
      if (!this.#checkClaims(message.content, emit)) return { ok: false, actions: collected };
      const calls = message.toolCalls ?? [];
      if (calls.length === 0) {
        messages.push({
          role: 'user',
          content: 'No tool was called. Change files with the tools, then call submit; only the verify run decides.',
        });
        continue;
      }
      for (const call of calls) {
        const args = parseToolArguments(call.arguments);
        if (call.name === 'submit' && typeof args !== 'string') {
          const submitted = await this.#submit(tree, attempt, args, emit);
          if (submitted.kind === 'patch') return { ok: true, patch: submitted.patch };
          if (submitted.kind === 'ended') return { ok: false, actions: collected };
          messages.push(
            this.#toolMessage(call.id, { source: 'submit', text: submitted.text, failed: true }, emit, redact),
          );
          continue;
        }
        const output: ToolOutput =
          typeof args === 'string'
            ? { source: call.name, text: `refused: ${args}`, failed: true }
            : await tools.run(call.name, args);
        messages.push(this.#toolMessage(call.id, output, emit, redact));
        if (!isInFlight(context.task().status)) return { ok: false, actions: collected };
      }
    }
    return failed('turnsExhausted', `the model used its ${candidate.turnsMax} turns without submitting`);
  }

  async #complete(messages: readonly ChatMessage[], key: Secret | null): Promise<Completion> {
    const candidate = this.#candidate;
    const params: ParamsOf<'net/complete'> = {
      provider: candidate.provider,
      model: candidate.model,
      messages: [...messages],
      tools: agentToolDefinitions,
      maxTokens: AgentModelLimits.maxTokens,
      // The key leaves its wrapper only inside the params of the one call that needs it.
      ...(key === null ? {} : { apiKey: key.expose(`net/complete for ${candidate.provider}`) }),
    };
    return this.#supervisorFor().call('net/complete', params, { timeoutMs: AgentModelLimits.completionTimeoutMs });
  }

  /** The first user message: the goal, the verify command, the files and hits for the goal's words, the last failure. */
  async #briefing(
    tree: Attempt,
    tools: AgentTools,
    attempt: number,
    previous: PreviousAttempt | null,
    redact: (text: string) => string,
  ): Promise<string> {
    const context = this.#context;
    const files = (await tree.view.listTree(tree.baseCommit)).map((entry) => entry.path);
    const shown = files.slice(0, AgentLoopLimits.contextFilesMax);
    const words = [...new Set(context.goal.toLowerCase().match(/[a-z_][a-z0-9_]{3,}/gu) ?? [])].slice(0, 8);
    const hits = words.flatMap((word) => tools.search(word)).slice(0, AgentLoopLimits.contextHitsMax);
    const parts = [
      `Goal: ${context.goal === '' ? '(none given: make the verify command pass)' : context.goal}`,
      `Verify command (run by the kernel, not by you): ${context.verifyCommand}`,
      `Attempt ${attempt} of ${context.attemptsMax}.`,
      `Files (${files.length}${files.length > shown.length ? `, first ${shown.length}` : ''}):`,
      labelUntrusted('list_files', redact(shown.join('\n')), null).content,
    ];
    if (hits.length > 0) {
      parts.push(
        'Lines that mention words of the goal:',
        labelUntrusted('search', redact(hits.join('\n')), null).content,
      );
    }
    if (previous !== null) {
      parts.push(
        `Attempt ${previous.attempt} was rejected by the kernel (${previous.reason}); verify ${previous.timedOut ? 'timed out' : `exited with ${String(previous.exitCode)}`}.`,
        'The end of its verify output:',
        labelUntrusted(`verify:attempt-${previous.attempt}`, redact(previous.output), null).content,
        'This attempt starts again from a fresh tree at the base commit.',
      );
    }
    return parts.join('\n');
  }

  /** Redacts, labels and receipts one tool result; the receipt is bound to the record that charges its bytes. */
  #toolMessage(
    toolCallId: string,
    output: ToolOutput,
    emit: (fact: Fact) => boolean,
    redact: (text: string) => string,
  ): ChatMessage {
    const context = this.#context;
    const text = redact(output.text);
    const bytes = Buffer.byteLength(text);
    emit({ kind: 'usageCharged', taskId: context.taskId, tokens: 0, costMicros: 0, outputBytes: bytes });
    const receipt = issueReceipt(
      context.receipts.key,
      context.receipts.logId,
      context.receipts.last(),
      context.headSeq(),
      resultSha256(text),
    );
    context.receipts.append(receipt);
    this.#issued.push(receipt);
    const labelled = labelUntrusted(output.source, text, receiptId(receipt), output.text);
    if (labelled.flags.includes('invisible-unicode')) {
      context.progress(
        `flagged: ${output.source.slice(0, 120)} holds invisible or bidi Unicode (shown escaped, as data)`,
      );
    }
    return { role: 'tool', toolCallId, content: labelled.content };
  }

  /** Logs a claim of success and every receipt the text presents that the kernel did not issue. */
  #checkClaims(text: string, emit: (fact: Fact) => boolean): boolean {
    const context = this.#context;
    for (const presented of text.match(receiptIdPattern) ?? []) {
      if (this.#issued.some((receipt) => receiptId(receipt) === presented)) continue;
      if (
        !emit({ kind: 'modelClaimedDone', taskId: context.taskId, text: `receipt rejected (unknown id): ${presented}` })
      ) {
        return false;
      }
    }
    if (claimsDone(text)) {
      const claim = context.redact(text).slice(0, AgentLoopLimits.claimCharsMax);
      context.progress(`model claims: ${claim.split('\n')[0] ?? ''} (advisory; only verify decides)`);
      return emit({ kind: 'modelClaimedDone', taskId: context.taskId, text: claim });
    }
    return true;
  }

  /** Checks a presented receipt (an id or a whole receipt as JSON) against the receipts issued. */
  #checkEvidence(evidence: string): string | null {
    const trimmed = evidence.trim();
    if (/^crr-\d{1,6}-[0-9a-f]{16}$/u.test(trimmed)) {
      return this.#issued.some((receipt) => receiptId(receipt) === trimmed)
        ? null
        : 'unknown id: the kernel never issued it';
    }
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch {
      return 'not a receipt: evidence must be a receipt id the kernel showed, or a receipt';
    }
    const index = typeof value === 'object' && value !== null ? (value as { index?: unknown }).index : undefined;
    const position = typeof index === 'number' && Number.isSafeInteger(index) && index > 0 ? index : 0;
    const previous = position === 0 ? null : (this.#issued.find((receipt) => receipt.index === position - 1) ?? null);
    const verdict = verifyReceipt(this.#context.receipts.key, value, { logId: this.#context.receipts.logId, previous });
    return verdict.ok ? null : `${verdict.code}: ${verdict.reason}`;
  }

  async #submit(
    tree: Attempt,
    attempt: number,
    args: Readonly<Record<string, unknown>>,
    emit: (fact: Fact) => boolean,
  ): Promise<
    | { readonly kind: 'patch'; readonly patch: Uint8Array }
    | { readonly kind: 'ended' }
    | { readonly kind: 'retry'; readonly text: string }
  > {
    const context = this.#context;
    const summary = typeof args['summary'] === 'string' ? args['summary'] : '';
    const claim = `submit: ${context.redact(summary).slice(0, AgentLoopLimits.claimCharsMax)}`;
    if (!emit({ kind: 'modelClaimedDone', taskId: context.taskId, text: claim })) return { kind: 'ended' };
    const evidence = args['evidence'];
    if (evidence !== undefined) {
      const rejection =
        typeof evidence === 'string' ? this.#checkEvidence(evidence) : 'not a receipt: evidence must be a string';
      if (rejection !== null) {
        context.progress(
          `attempt ${attempt}: the model presented a receipt the kernel did not issue (${rejection.split(':')[0] ?? ''}); ignored`,
        );
        const presented =
          typeof evidence === 'string' ? context.redact(evidence).slice(0, AgentLoopLimits.claimCharsMax) : '';
        const text = `receipt rejected (${rejection.slice(0, 200)}): ${presented}`;
        if (!emit({ kind: 'modelClaimedDone', taskId: context.taskId, text })) return { kind: 'ended' };
      }
    }
    const derived = await derivePatch(tree);
    if (!derived.ok) {
      const error = derived.error;
      const detail = 'path' in error ? `${error.code}: ${error.path}` : error.detail;
      if ('path' in error) {
        emit({ kind: 'patchRefused', taskId: context.taskId, attempt, code: error.code, detail: error.path });
        return { kind: 'ended' };
      }
      return { kind: 'retry', text: `the kernel could not derive the change: ${detail}` };
    }
    if (derived.patch.files.length === 0) {
      return {
        kind: 'retry',
        text: 'nothing changed: the tree equals the base commit; change files before submitting',
      };
    }
    context.progress(`attempt ${attempt}: the model submitted ${derived.patch.files.length} changed file(s)`);
    return { kind: 'patch', patch: derived.patch.patch };
  }
}
