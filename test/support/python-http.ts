/**
 * Python's http.client as a strict second client for inetsrv's HTTP regression tests (issue 17):
 * it frames responses by the RFCs' rules, not ours, so a test that passes through it and through
 * raw sockets does not merely agree with the parser it tests. Loopback only; each call is bounded.
 */
import { execFile, spawnSync } from 'node:child_process';

/** Whether python3 can be run here; tests that need it say so in their result rather than skip. */
export const python3 = spawnSync('python3', ['-c', 'import http.client'], { stdio: 'ignore' }).status === 0;

export interface PyRequest {
  method: string;
  path: string;
  /** Sent as given, in order; a Host here replaces http.client's own. */
  headers?: Array<[string, string]>;
  /** A body; with chunked, sent in the chunked coding, one chunk per element. */
  body?: string[];
  chunked?: boolean;
}

export interface PyResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The connection was reused for this request (the previous response kept it open). */
  reused: boolean;
}

const SCRIPT = `
import base64, http.client, json, sys
port, reqs = int(sys.argv[1]), json.loads(sys.argv[2])
conn = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
out = []
for r in reqs:
    reused = conn.sock is not None
    host = any(k.lower() == 'host' for k, _ in r.get('headers', []))
    conn.putrequest(r['method'], r['path'], skip_host=host, skip_accept_encoding=True)
    body = r.get('body')
    for k, v in r.get('headers', []):
        conn.putheader(k, v)
    if body is not None and r.get('chunked'):
        conn.putheader('Transfer-Encoding', 'chunked')
        conn.endheaders()
        for c in body:
            b = c.encode('latin-1')
            conn.send(b'%x\\r\\n%s\\r\\n' % (len(b), b))
        conn.send(b'0\\r\\n\\r\\n')
    elif body is not None:
        b = ''.join(body).encode('latin-1')
        conn.putheader('Content-Length', str(len(b)))
        conn.endheaders(b)
    else:
        conn.endheaders()
    res = conn.getresponse()
    data = res.read()
    out.append({'status': res.status, 'headers': {k.lower(): v for k, v in res.getheaders()},
                'body': base64.b64encode(data).decode(), 'reused': reused})
    if res.will_close:
        conn.close()
print(json.dumps(out))
`;

/** The requests on one http.client connection (reopened after a response that closes it). */
export function pyRequests(port: number, requests: PyRequest[]): Promise<PyResponse[]> {
  return new Promise((resolve, reject) => {
    execFile(
      'python3',
      ['-c', SCRIPT, String(port), JSON.stringify(requests)],
      { timeout: 15_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`python3 http.client: ${err.message}\n${stderr}`));
          return;
        }
        const parsed = JSON.parse(stdout) as Array<Omit<PyResponse, 'body'> & { body: string }>;
        resolve(parsed.map((r) => ({ ...r, body: Buffer.from(r.body, 'base64') })));
      },
    );
  });
}
