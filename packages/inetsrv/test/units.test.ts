/** The pure parts of inetsrv: request parsing, target checking, configuration, log format. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { field, formatEntry, logFileName } from '../src/access-log.js';
import { levelName, serverHeader, versionLine } from '../src/buildinfo.js';
import { applySettings, ConfigError, duration, parseConfText, parseSetArg } from '../src/config.js';
import { mimeType } from '../src/mime.js';
import { parseHead, wantsKeepAlive } from '../src/request-parser.js';
import { notModified } from '../src/static-files.js';
import { isLoopback } from '../src/status.js';
import { parseTarget } from '../src/url-path.js';

const LIMITS = { maxRequestBytes: 1024, maxUrlLength: 100, maxRequestEntityBytes: 50 };
const parse = (s: string) => parseHead(Buffer.from(s, 'latin1'), LIMITS);

test('request heads: complete, incomplete, pipelined', () => {
  const r = parse('GET /a?b HTTP/1.1\r\nHost: x\r\nAccept: a\r\naccept: b\r\n\r\nGET /next');
  assert.equal(r.kind, 'head');
  if (r.kind !== 'head') return;
  assert.equal(r.head.method, 'GET');
  assert.equal(r.head.target, '/a?b');
  assert.equal(r.head.minor, 1);
  assert.equal(r.head.headers.get('accept'), 'a, b');
  assert.equal(r.headBytes, 'GET /a?b HTTP/1.1\r\nHost: x\r\nAccept: a\r\naccept: b\r\n\r\n'.length);
  assert.equal(r.bodyLength, 0);
  assert.deepEqual(parse('GET / HTTP/1.1\r\nHost: x\r\n'), { kind: 'incomplete' });
  assert.equal(parse('\r\n\r\nGET / HTTP/1.0\n\n').kind, 'head', 'leading empty lines and bare LF');
});

test('request heads: what is refused, and with which status', () => {
  const status = (s: string) => {
    const r = parse(s);
    return r.kind === 'error' ? r.status : r.kind;
  };
  assert.equal(status('HELLO\r\n\r\n'), 400);
  assert.equal(status('GET /\r\n\r\n'), 400, 'HTTP/0.9');
  assert.equal(status('GET  / HTTP/1.1\r\nHost: x\r\n\r\n'), 400, 'double space');
  assert.equal(status('GET / HTTP/1.1\r\n\r\n'), 400, 'no Host');
  assert.equal(status('GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'), 400, 'two Hosts');
  assert.equal(status('GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n'), 400);
  assert.equal(status('GET / HTTP/1.1\r\nHost : x\r\n\r\n'), 400, 'space before colon');
  assert.equal(status('GET / HTTP/1.1\r\nHost: x\x01\r\n\r\n'), 400, 'control character');
  assert.equal(status('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n'), 400);
  assert.equal(status('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n'), 400);
  assert.equal(status('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n'), 400);
  assert.equal(status('GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'), 501);
  assert.equal(status('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 51\r\n\r\n'), 413);
  assert.equal(status(`GET / HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(1100)}`), 413, 'head too large before it ends');
  assert.equal(status(`GET /${'a'.repeat(100)} HTTP/1.1\r\nHost: x\r\n\r\n`), 414);
  assert.equal(status(`GET /${'a'.repeat(200)}`), 414, 'URL too long before the line ends');
  assert.equal(status('GET / HTTP/2.0\r\n\r\n'), 505);
  assert.equal(status('GET /\x7f HTTP/1.1\r\nHost: x\r\n\r\n'), 400);
});

test('keep-alive rules per HTTP version', () => {
  const head = (s: string) => {
    const r = parse(s);
    assert.equal(r.kind, 'head');
    return r.kind === 'head' ? r.head : undefined;
  };
  const ka = (s: string) => wantsKeepAlive(head(s) ?? assert.fail());
  assert.equal(ka('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), true);
  assert.equal(ka('GET / HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n'), false);
  assert.equal(ka('GET / HTTP/1.0\r\n\r\n'), false);
  assert.equal(ka('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n'), true);
});

test('targets: decoded segments, and every way out of the root refused', () => {
  assert.deepEqual(parseTarget('/a/b%20c/?q=1'), { ok: true, segments: ['a', 'b c'], trailingSlash: true, rawPath: '/a/b%20c/', query: 'q=1' });
  assert.deepEqual(parseTarget('http://example.com/x').ok && parseTarget('http://example.com/x'), {
    ok: true,
    segments: ['x'],
    trailingSlash: false,
    rawPath: '/x',
    query: '',
  });
  const refused: Array<[string, number]> = [
    ['/../x', 403],
    ['/a/%2e%2E/x', 403],
    ['/a%2fb', 403],
    ['/a%5cb', 403],
    ['/a\\b', 403],
    ['/x%00', 400],
    ['/%zz', 400],
    ['/%c0%ae', 400],
    ['/.git/config', 404],
    ['*', 400],
    ['/a#b', 400],
  ];
  for (const [t, s] of refused) {
    const r = parseTarget(t);
    assert.equal(r.ok, false, t);
    if (!r.ok) assert.equal(r.status, s, t);
  }
});

test('configuration: Key = Value, comments, case-insensitive keys, overrides, errors', () => {
  const settings = parseConfText('# c\n  port = 81 # trailing\nWwwRoot = "my site"\n\nLogDirectory =\n', 'x.conf');
  assert.deepEqual(
    settings.map((s) => [s.key, s.value, s.origin]),
    [
      ['port', '81', 'x.conf:2'],
      ['WwwRoot', 'my site', 'x.conf:3'],
      ['LogDirectory', '', 'x.conf:5'],
    ],
  );
  const { config, warnings } = applySettings('/opt/inetsrv', [...settings, parseSetArg('Port=82'), parseSetArg('Future=1')]);
  assert.equal(config.port, 82, 'later settings win');
  assert.equal(config.wwwRoot, '/opt/inetsrv/my site');
  assert.equal(config.logDirectory, null);
  assert.equal(config.connectionTimeoutMs, 900_000, 'IIS default');
  assert.deepEqual(warnings, ['--set: unknown key "Future" ignored']);
  assert.throws(() => parseConfText('just words\n', 'y.conf'), /y\.conf:1: expected "Key = Value"/);
  assert.throws(() => applySettings('/', [parseSetArg('ListenAddress=example.com')]), ConfigError);
  assert.throws(() => applySettings('/', [parseSetArg('DefaultDocument=../x.html')]), /not a file name/);
  assert.equal(duration('900'), 900_000);
  assert.equal(duration('1.5s'), 1500);
  assert.equal(duration('250ms'), 250);
  assert.throws(() => duration('0'));
  assert.throws(() => duration('30 days'));
});

test('MIME types', () => {
  assert.equal(mimeType('a.HTML'), 'text/html; charset=utf-8');
  assert.equal(mimeType('logo.png'), 'image/png');
  assert.equal(mimeType('noext'), 'application/octet-stream');
});

test('conditional GET: If-None-Match wins over If-Modified-Since', () => {
  const head = (h: Record<string, string>) => ({ method: 'GET', target: '/', minor: 1 as const, headers: new Map(Object.entries(h)) });
  const mtime = Date.parse('Sat, 01 Jan 2000 00:00:00 GMT') + 500;
  assert.equal(notModified(head({ 'if-none-match': 'W/"e"' }), '"e"', mtime), true);
  assert.equal(notModified(head({ 'if-none-match': '"f"', 'if-modified-since': 'Sun, 02 Jan 2000 00:00:00 GMT' }), '"e"', mtime), false);
  assert.equal(notModified(head({ 'if-modified-since': 'Sat, 01 Jan 2000 00:00:00 GMT' }), '"e"', mtime), true, 'same second');
  assert.equal(notModified(head({ 'if-modified-since': 'Fri, 31 Dec 1999 23:59:59 GMT' }), '"e"', mtime), false);
  assert.equal(notModified(head({ 'if-modified-since': 'yesterday' }), '"e"', mtime), false);
});

test('status page clients: loopback only', () => {
  for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) assert.equal(isLoopback(a), true, a);
  for (const a of ['10.0.0.1', '::ffff:10.0.0.1', '::', '0.0.0.0', 'fe80::1', undefined]) assert.equal(isLoopback(a), false, String(a));
});

test('W3C log lines cannot be forged and name the day file as IIS does', () => {
  assert.equal(field('Mozilla/4.0 (compatible)'), 'Mozilla/4.0+(compatible)');
  assert.equal(field('a\r\nb'), 'a%0d%0ab');
  assert.equal(field(''), '-');
  const line = formatEntry({
    time: new Date('1999-10-05T13:14:15.678Z'),
    clientIp: '127.0.0.1',
    method: 'GET',
    uriStem: '/index.html',
    uriQuery: undefined,
    status: 200,
    bytesSent: 1234,
    timeTakenMs: 5.4,
    version: 'HTTP/1.1',
    userAgent: 'x y',
    referer: undefined,
  });
  assert.equal(line, '1999-10-05 13:14:15 127.0.0.1 GET /index.html - 200 1234 5 HTTP/1.1 x+y -');
  assert.equal(logFileName(new Date('1999-10-05T23:59:59Z')), 'ex991005.log');
});

test('identity strings from BUILDINFO', () => {
  const info = { product: 'inetsrv', displayName: 'x', version: '4.0.0', level: 6, arch: 'alpha', build: '1381.6', hotfixes: [] };
  assert.equal(versionLine(info), 'inetsrv 4.0.0 Service Pack 6 (alpha, build 1381.6)');
  assert.equal(serverHeader(info), 'inetsrv/4.0 (SP6; alpha)');
  assert.equal(serverHeader({ ...info, level: 0, arch: 'x86' }), 'inetsrv/4.0 (RTM; x86)');
  const hot = { ...info, level: 5, hotfixes: ['Q236565'] };
  assert.equal(levelName(hot), 'Service Pack 5, hotfix Q236565');
  assert.equal(serverHeader(hot), 'inetsrv/4.0 (SP5; alpha; Q236565)');
});
