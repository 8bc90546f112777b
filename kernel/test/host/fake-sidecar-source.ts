/**
 * The wire half of the small fake sidecars some host tests start as real child processes: a
 * CommonJS source fragment that defines `send(message)` (Content-Length framing on stdout) and
 * reads framed JSON-RPC from stdin, calling the test's own `handle(message)` for each message.
 * A fake's source is its own part (which defines `handle`) followed by this fragment.
 */
export const fakeSidecarFraming = String.raw`
let buffer = Buffer.alloc(0);
function send(message) {
  const body = Buffer.from(JSON.stringify(message));
  process.stdout.write(Buffer.concat([Buffer.from('Content-Length: ' + body.length + '\r\n\r\n'), body]));
}
process.stdin.on('data', (chunk) => {
  buffer = Buffer.concat([buffer, chunk]);
  for (;;) {
    const end = buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const length = Number(/Content-Length: (\d+)/i.exec(buffer.subarray(0, end).toString())[1]);
    if (buffer.length < end + 4 + length) return;
    const body = buffer.subarray(end + 4, end + 4 + length).toString();
    buffer = buffer.subarray(end + 4 + length);
    handle(JSON.parse(body));
  }
});
`;
