process.stdout.write('crustcore 0.1.0\n');
