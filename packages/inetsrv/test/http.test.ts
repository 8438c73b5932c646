/**
 * inetsrv 4.0 RTM over loopback: the server runs from source in a child process (port 0), serving
 * a copy of the shipped wwwroot with a secret file placed beside it that must never be served.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exchange, inetsrvSource, type RunningServer, startFromSource, waitFor } from '../../../test/support/inetsrv.js';

const SECRET = 'TOP-SECRET-7f3a';
const shipped = join(inetsrvSource, 'wwwroot');
let site: string;
let www: string;
let server: RunningServer;

function get(path: string, headers = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${headers}\r\n`;
}

async function one(request: string, method = 'GET') {
  const r = await exchange(server.port, request, [method]);
  const [res] = r.responses;
  assert.ok(res, `a response to ${JSON.stringify(request.slice(0, 60))}`);
  return { ...res, closedByServer: r.closedByServer };
}

before(async () => {
  site = mkdtempSync(join(tmpdir(), 'inetsrv-http-'));
  www = join(site, 'wwwroot');
  cpSync(shipped, www, { recursive: true });
  writeFileSync(join(site, 'secret.txt'), `${SECRET}\n`);
  writeFileSync(join(www, '.hidden'), `${SECRET}\n`);
  mkdirSync(join(www, 'empty'));
  // A link inside the root that leads outside it: the real-path check must refuse it.
  symlinkSync(join(site, 'secret.txt'), join(www, 'link-out.txt'));
  server = await startFromSource({ set: { WwwRoot: www } });
});

after(async () => {
  await server?.dispose();
  rmSync(site, { recursive: true, force: true });
});

describe('GET and HEAD', () => {
  test('GET / serves the default document with validators and the Server header', async () => {
    const res = await one(get('/'));
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, readFileSync(join(shipped, 'index.html')));
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(res.headers.get('content-length'), String(res.body.length));
    assert.equal(res.headers.get('server'), 'inetsrv/4.0 (RTM; x86)');
    assert.match(res.headers.get('etag') ?? '', /^"[0-9a-f]+-[0-9a-f]+"$/);
    assert.ok(Number.isFinite(Date.parse(res.headers.get('last-modified') ?? '')));
    assert.ok(Number.isFinite(Date.parse(res.headers.get('date') ?? '')));
  });

  test('HEAD has the same Content-Length and no body', async () => {
    // HEAD then GET on one connection: if HEAD sent a body, the GET's status line would be garbage.
    const r = await exchange(server.port, `HEAD /readme.txt HTTP/1.1\r\nHost: x\r\n\r\n${get('/readme.txt')}`, ['HEAD', 'GET']);
    const [head, full] = r.responses;
    assert.equal(head?.status, 200);
    assert.equal(full?.status, 200);
    assert.equal(head?.body.length, 0);
    assert.equal(head?.headers.get('content-length'), String(readFileSync(join(shipped, 'readme.txt')).length));
    assert.equal(head?.headers.get('content-length'), full?.headers.get('content-length'));
    assert.equal(head?.headers.get('etag'), full?.headers.get('etag'));
  });

  test('MIME types by extension, binary files byte for byte', async () => {
    for (const [path, type] of [
      ['/styles/site.css', 'text/css; charset=utf-8'],
      ['/images/logo.png', 'image/png'],
      ['/images/spacer.gif', 'image/gif'],
      ['/readme.txt', 'text/plain; charset=utf-8'],
      ['/docs/index.html', 'text/html; charset=utf-8'],
    ] as const) {
      const res = await one(get(path));
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('content-type'), type, path);
      assert.deepEqual(res.body, readFileSync(join(shipped, path)), path);
    }
  });

  test('a folder is served through its default document; without the slash, a redirect', async () => {
    const res = await one(get('/docs/'));
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, readFileSync(join(shipped, 'docs', 'index.html')));
    const redirect = await one(get('/docs?x=1'));
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.get('location'), '/docs/?x=1');
    assert.equal((await one(get('/empty/'))).status, 403, 'no directory listings');
  });

  test('404 for a missing file, and the error page still names the server', async () => {
    const res = await one(get('/no-such-page.html'));
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('server'), 'inetsrv/4.0 (RTM; x86)');
    assert.match(res.body.toString(), /404 Not Found/);
  });
});

describe('connections', () => {
  test('HTTP/1.1 keeps the connection open between requests', async () => {
    const r = await exchange(server.port, get('/readme.txt'), ['GET'], { waitForClose: true, timeoutMs: 300 });
    assert.equal(r.responses[0]?.status, 200);
    assert.equal(r.responses[0]?.headers.get('connection'), undefined);
    assert.equal(r.closedByServer, false, 'still open 300 ms after the response');
  });

  test('HTTP/1.0 keep-alive on request; plain HTTP/1.0 and Connection: close end the connection', async () => {
    const ka = 'GET /readme.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n';
    const r = await exchange(server.port, ka + ka, ['GET', 'GET'], { waitForClose: true, timeoutMs: 300 });
    assert.deepEqual(
      r.responses.map((x) => [x.status, x.headers.get('connection')]),
      [
        [200, 'keep-alive'],
        [200, 'keep-alive'],
      ],
    );
    assert.equal(r.closedByServer, false);
    for (const req of ['GET /readme.txt HTTP/1.0\r\n\r\n', get('/readme.txt', 'Connection: close\r\n')]) {
      const c = await exchange(server.port, req, ['GET'], { waitForClose: true });
      assert.equal(c.responses[0]?.status, 200);
      assert.equal(c.responses[0]?.headers.get('connection'), 'close');
      assert.equal(c.closedByServer, true);
    }
  });

  test('pipelined requests are answered in order', async () => {
    const r = await exchange(server.port, get('/readme.txt') + get('/styles/site.css') + get('/images/logo.png'), ['GET', 'GET', 'GET']);
    assert.deepEqual(
      r.responses.map((x) => x.headers.get('content-type')),
      ['text/plain; charset=utf-8', 'text/css; charset=utf-8', 'image/png'],
    );
    assert.deepEqual(r.responses[2]?.body, readFileSync(join(shipped, 'images', 'logo.png')));
  });

  test('connections closed mid-request, or after Connection: close, are released', async () => {
    // RTM leaks only connections closed while idle (Q236565); these paths must not add to it.
    const before = (await server.stats()).connections;
    const { connect } = await import('node:net');
    const midRequest = Array.from(
      { length: 5 },
      () =>
        new Promise<void>((resolve) => {
          const s = connect({ port: server.port, host: '127.0.0.1' }, () => s.end('GET /readme.txt HTTP/1.1\r\nHost: x\r\n'));
          s.on('data', () => {});
          s.on('close', () => resolve());
        }),
    );
    await Promise.all(midRequest);
    for (let i = 0; i < 5; i++) await exchange(server.port, get('/readme.txt', 'Connection: close\r\n'), ['GET'], { waitForClose: true });
    await waitFor('connections back to where they were', async () => (await server.stats()).connections === before, { timeoutMs: 2000 });
  });

  test('a client that half-closes after its request still gets the answer', async () => {
    const { connect } = await import('node:net');
    const body = await new Promise<string>((resolve, reject) => {
      const s = connect({ port: server.port, host: '127.0.0.1' }, () => s.end('GET /readme.txt HTTP/1.0\r\n\r\n'));
      let data = '';
      s.on('data', (d: Buffer) => {
        data += d.toString('latin1');
      });
      s.on('end', () => resolve(data));
      s.on('error', reject);
      s.setTimeout(3000, () => reject(new Error('no answer')));
    });
    assert.match(body, /^HTTP\/1\.1 200 OK\r\n/);
  });
});

describe('conditional requests', () => {
  test('304 on a matching ETag, 200 on another', async () => {
    const first = await one(get('/styles/site.css'));
    const etag = first.headers.get('etag') ?? '';
    const res = await one(get('/styles/site.css', `If-None-Match: "nope", ${etag}\r\n`));
    assert.equal(res.status, 304);
    assert.equal(res.body.length, 0);
    assert.equal(res.headers.get('etag'), etag);
    assert.equal((await one(get('/styles/site.css', 'If-None-Match: "other"\r\n'))).status, 200);
  });

  test('304 when not modified since, 200 when modified since', async () => {
    const first = await one(get('/readme.txt'));
    const lm = first.headers.get('last-modified') ?? '';
    assert.equal((await one(get('/readme.txt', `If-Modified-Since: ${lm}\r\n`))).status, 304);
    const earlier = new Date(Date.parse(lm) - 3600_000).toUTCString();
    assert.equal((await one(get('/readme.txt', `If-Modified-Since: ${earlier}\r\n`))).status, 200);
  });
});

describe('errors', () => {
  test('400 for a garbage request line, then the connection closes', async () => {
    const r = await exchange(server.port, 'HELLO THERE\r\n\r\n', ['GET'], { waitForClose: true });
    assert.equal(r.responses[0]?.status, 400);
    assert.equal(r.closedByServer, true);
  });

  test('400 for HTTP/1.1 without Host, 505 for HTTP/2.0, 501 for a chunked body', async () => {
    assert.equal((await one('GET / HTTP/1.1\r\n\r\n')).status, 400);
    assert.equal((await one('GET / HTTP/2.0\r\nHost: x\r\n\r\n')).status, 505);
    assert.equal((await one('GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')).status, 501);
  });

  test('405 with Allow for other methods; the body is skipped and the connection stays usable', async () => {
    const r = await exchange(server.port, `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello${get('/readme.txt')}`, ['POST', 'GET']);
    assert.equal(r.responses[0]?.status, 405);
    assert.equal(r.responses[0]?.headers.get('allow'), 'GET, HEAD');
    assert.equal(r.responses[1]?.status, 200);
    for (const m of ['PUT', 'DELETE', 'OPTIONS', 'get']) assert.equal((await one(`${m} / HTTP/1.1\r\nHost: x\r\n\r\n`)).status, 405, m);
  });

  test('413 for an oversized head or body', async () => {
    const big = await exchange(server.port, get('/', `X-Filler: ${'a'.repeat(20_000)}\r\n`), ['GET'], { waitForClose: true });
    assert.equal(big.responses[0]?.status, 413);
    assert.equal(big.closedByServer, true);
    assert.equal((await one(`GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n`)).status, 413);
  });

  test('414 for an overlong URL', async () => {
    assert.equal((await one(get(`/${'x'.repeat(5000)}`))).status, 414);
  });
});

describe('the web root is a fence', () => {
  const attempts = [
    '/../secret.txt',
    '/images/../../secret.txt',
    '/%2e%2e/secret.txt',
    '/%2E%2E%2Fsecret.txt',
    '/..%2fsecret.txt',
    '/..%5csecret.txt',
    '/%2e%2e%5csecret.txt',
    '/.%2e/secret.txt',
    '/%252e%252e/secret.txt',
    '/secret.txt%00.html',
    '/index.html%00',
    '/..\\secret.txt',
    '//../secret.txt',
    'http://localhost/../secret.txt',
    '/link-out.txt',
    '/.hidden',
    '/%2ehidden',
    '/%c0%ae%c0%ae/secret.txt',
    '/%ZZ',
  ];
  for (const path of attempts) {
    test(`GET ${path}`, async () => {
      const res = await one(get(path));
      assert.ok([400, 403, 404].includes(res.status), `${path}: ${res.status}`);
      assert.ok(!res.body.toString('latin1').includes(SECRET), `${path} leaked the secret`);
    });
  }
});

describe('operations', () => {
  test('the status page reports live connections to a loopback client', async () => {
    const res = await one(get('/server-status'));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    const s = JSON.parse(res.body.toString()) as Record<string, unknown>;
    assert.equal(s['level'], 0);
    assert.equal(s['arch'], 'x86');
    assert.equal(s['pid'], server.pid);
    assert.deepEqual(s['platform'], { name: 'Intel x86', pageSize: 4096, ioChunkSize: 65536 });
    assert.ok(typeof s['connections'] === 'number' && s['connections'] >= 1, 'counts the asking connection');
    const stats = await server.stats();
    assert.ok(stats.requests >= 1 && stats.accepted >= 1);
  });

  test('every request is logged in W3C extended format', async () => {
    await one(get('/readme.txt?from=log-test', 'User-Agent: Log Tester/1.0\r\n'));
    let text = '';
    await waitFor('the log line', () => {
      const files = readdirSync(server.logDir).filter((f) => /^ex\d{6}\.log$/.test(f));
      text = files.map((f) => readFileSync(join(server.logDir, f), 'utf8')).join('');
      return text.includes('from=log-test');
    });
    assert.match(text, /^#Software: inetsrv 4\.0\.0 RTM \(x86, build dev\)$/m);
    assert.match(text, /^#Version: 1\.0$/m);
    assert.match(text, /^#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query sc-status sc-bytes time-taken /m);
    const line = text.split('\n').find((l) => l.includes('from=log-test')) ?? '';
    const size = readFileSync(join(shipped, 'readme.txt')).length;
    const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) 127\.0\.0\.1 GET \/readme\.txt from=log-test 200 (\d+) (\d+) HTTP\/1\.1 Log\+Tester\/1\.0 -$/.exec(line);
    assert.ok(m, `log line: ${line}`);
    assert.ok(Number(m[3]) > size, 'sc-bytes counts headers and body');
  });
});
