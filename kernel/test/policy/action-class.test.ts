/** Which actions need approval under each review mode, as one whole table. */
import { describe, expect, it } from 'vitest';
import {
  actionKinds,
  classifyAction,
  requiresApproval,
  reviewModeDefault,
  reviewModes,
} from '../../src/policy/index.js';

describe('action classes and review modes', () => {
  it('classifies every action kind', () => {
    expect(Object.fromEntries(actionKinds.map((kind) => [kind, classifyAction(kind)]))).toEqual({
      read: 'reversible',
      runWorker: 'reversible',
      runVerify: 'reversible',
      writeNewBranch: 'reversible',
      integrateExistingBranch: 'irreversible',
      push: 'irreversible',
      openPullRequest: 'irreversible',
      exposeSecretToSidecar: 'irreversible',
    });
  });

  it('defaults to approve-before-merge', () => {
    expect(reviewModeDefault).toBe('approve-before-merge');
  });

  it('requires approval exactly where each review mode says', () => {
    const table = Object.fromEntries(
      reviewModes.map((mode) => [mode, actionKinds.filter((kind) => requiresApproval(kind, mode))]),
    );
    expect(table).toEqual({
      auto: ['exposeSecretToSidecar'],
      'approve-before-merge': ['integrateExistingBranch', 'push', 'openPullRequest', 'exposeSecretToSidecar'],
      'approve-before-execute': [
        'runWorker',
        'integrateExistingBranch',
        'push',
        'openPullRequest',
        'exposeSecretToSidecar',
      ],
      'approve-every-step': [
        'runWorker',
        'runVerify',
        'writeNewBranch',
        'integrateExistingBranch',
        'push',
        'openPullRequest',
        'exposeSecretToSidecar',
      ],
    });
  });

  it('crashes on an action kind that slipped past the types', () => {
    expect(() => classifyAction('deleteRepo' as never)).toThrow("unhandled variant 'deleteRepo'");
  });
});
