// The baseline of the inetsrv benchmark: the smallest node:http server that answers every request
// with the same bytes inetsrv serves for the file (read once at start), keep-alive as node does it.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const [file, type] = process.argv.slice(2);
const body = readFileSync(file);
const server = createServer((_req, res) => {
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
