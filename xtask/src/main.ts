import { build } from './build.js';

const [command = 'help', ...rest] = process.argv.slice(2);
switch (command) {
  case 'build':
    await build({ quiet: rest.includes('--quiet') });
    break;
  default:
    process.stderr.write(`xtask: unknown command '${command}'\n`);
    process.exit(2);
}
