/** Child process for the approval-store race test: consumes one approval and prints the verdict. */
import { ApprovalStore } from '../../src/policy/index.js';
import type { ActionDigest } from '../../src/policy/index.js';

const [dir, token, actionDigest, keyHex] = process.argv.slice(2);
if (dir === undefined || token === undefined || actionDigest === undefined || keyHex === undefined) {
  process.stderr.write('usage: consume-child <dir> <token> <actionDigest> <keyHex>\n');
  process.exit(2);
}
const store = new ApprovalStore(dir);
const verdict = store.consume({
  key: Buffer.from(keyHex, 'hex'),
  token,
  actionDigest: actionDigest as ActionDigest,
  nowMs: 3000,
  used: () => false,
});
process.stdout.write(`${JSON.stringify(verdict)}\n`);
