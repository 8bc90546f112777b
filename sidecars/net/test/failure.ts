import { NetFailure } from '../src/net-failure.js';

/** Awaits a promise that must fail with a {@link NetFailure}, and returns its code and message. */
export async function failureOf(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof NetFailure) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected the call to fail');
}
