import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { test } from 'node:test';
import { isIPAddress } from '../../src/health/contract-rules.js';

test("isIPAddress answers as node's isIP, with or without its plain-IPv4 shortcut", () => {
  const addresses = [
    '127.0.0.1',
    '0.0.0.0',
    '255.255.255.255',
    '10.1.2.3',
    '256.1.1.1',
    '01.2.3.4',
    '1.2.3',
    '1.2.3.4.5',
    ' 1.2.3.4',
    '1.2.3.4 ',
    '1.2.3.4\n',
    '1..2.3',
    '١.٢.٣.٤',
    '::1',
    '::',
    'fe80::1%eth0',
    '::ffff:127.0.0.1',
    '2001:db8::1',
    '[::1]',
    'localhost',
    '',
    '0x7f.0.0.1',
    '127.1',
  ];
  for (const a of addresses) assert.equal(isIPAddress(a), isIP(a) !== 0, JSON.stringify(a));
  // and every dotted quad the shortcut may take is one isIP takes too
  for (const seg of ['0', '9', '10', '99', '100', '199', '200', '249', '250', '255', '256', '00', '010'])
    assert.equal(isIPAddress(`${seg}.${seg}.${seg}.${seg}`), isIP(`${seg}.${seg}.${seg}.${seg}`) !== 0, seg);
});
