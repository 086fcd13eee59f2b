#!/usr/bin/env node
// mppx (npm, pinned in package-lock.json) as an interop peer for interop/run.sh.
//
//   node mppx.mjs serve <stripe api base> <secret key> <network id>
//     A merchant on mppx's server with its stripe charge method. Its Stripe
//     calls go to the given base (mock-link) through the `client` option: a
//     stripe-node instance with that host, port and protocol (mppx itself has
//     no Stripe base URL). Serves GET /paid (25.00 usd) on 127.0.0.1, free
//     port; prints `listening http://127.0.0.1:<port>` once it accepts.
//
//   node mppx.mjs client <url> <issue-spt command>
//     mppx's client pays <url>. Its stripe method's createToken runs the
//     command with `<network id> <amount> <currency>` appended and reads an
//     SPT on stdout (interop/issue-spt.sh: link-ref and mock-link). Prints one
//     JSON line: status, the receipt as mppx parses it, the response body,
//     or the error mppx threw.
//
//   node mppx.mjs decode < corpus.jsonl
//     mpp-testkit corpus cases decoded with Challenge.deserializeList (the
//     field values joined with ", ", as fetch's Headers.get does) under Link's
//     selection rule; one `{"name", "outcome", "id"?, "reason"?}` per line.

import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';

const [command, ...args] = process.argv.slice(2);

async function serve([apiBase, secretKey, networkId]) {
  const { Mppx, stripe } = await import('mppx/server');
  const { default: Stripe } = await import('stripe');
  const base = new URL(apiBase);
  const client = new Stripe(secretKey, {
    host: base.hostname,
    port: Number(base.port),
    protocol: base.protocol.replace(':', ''),
    maxNetworkRetries: 0,
  });
  const mppx = Mppx.create({
    methods: [stripe.charge({ client, networkId, paymentMethodTypes: ['card'], currency: 'usd', decimals: 2 })],
    realm: 'interop.mppx',
    secretKey: 'interop-mppx-challenge-binding-key-0123456789',
  });
  const charge = Mppx.toNodeListener(mppx.charge({ amount: '25.00', description: 'interop report' }));
  const server = createServer(async (req, res) => {
    if (new URL(req.url, 'http://x').pathname !== '/paid') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    const result = await charge(req, res);
    if (result.status === 402) return;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ paid: true }));
  });
  server.listen(0, '127.0.0.1', () => {
    console.log(`listening http://127.0.0.1:${server.address().port}`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

async function client([url, ...issueSpt]) {
  const { Mppx, stripe } = await import('mppx/client');
  const { Receipt } = await import('mppx');
  const createToken = async ({ networkId, amount, currency }) =>
    execFileSync(issueSpt[0], [...issueSpt.slice(1), networkId, String(amount), currency], {
      encoding: 'utf8',
    }).trim();
  const mppx = Mppx.create({
    methods: [stripe.charge({ createToken, paymentMethod: 'pm_card_visa' })],
    polyfill: false,
  });
  const out = { url };
  try {
    const response = await mppx.fetch(url);
    out.status = response.status;
    const body = await response.text();
    try {
      out.body = JSON.parse(body);
    } catch {
      out.body = body.slice(0, 500);
    }
    if (response.headers.get('payment-receipt')) {
      try {
        out.receipt = Receipt.fromResponse(response);
      } catch (error) {
        out.receipt_error = String(error?.message ?? error);
      }
    }
  } catch (error) {
    out.error = String(error?.message ?? error).split('\n')[0];
  }
  console.log(JSON.stringify(out));
}

/** The field values of a corpus case, each as the Latin-1 reading of its bytes. */
function wireValues(testCase) {
  if (Array.isArray(testCase.headers)) {
    return testCase.headers.map((v) => Buffer.from(v, 'utf8').toString('latin1'));
  }
  return testCase.headers_base64.map((v) => Buffer.from(v, 'base64').toString('latin1'));
}

/** Link's selection rule on what mppx parsed. */
function select(challenges) {
  const stripe = challenges.find((c) => c.method === 'stripe' && ['charge', 'session'].includes(c.intent));
  if (!stripe) return { outcome: 'reject', reason: 'no stripe challenge' };
  const r = stripe.request;
  const text = (v) => (typeof v === 'string' && v.length > 0 ? v : null);
  const network = text(r?.methodDetails?.networkId) ?? text(r?.networkId);
  if (typeof r?.amount !== 'string' || !/^[0-9]+$/.test(r.amount) || !text(r?.currency) || !network) {
    return { outcome: 'reject', reason: 'request lacks amount, currency or networkId' };
  }
  return { outcome: 'accept', id: stripe.id, network_id: network };
}

async function decode() {
  const { Challenge } = await import('mppx');
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    const testCase = JSON.parse(line);
    let verdict;
    try {
      verdict = select(Challenge.deserializeList(wireValues(testCase).join(', ')));
    } catch (error) {
      verdict = { outcome: 'reject', reason: String(error?.message ?? error).split('\n')[0].slice(0, 160) };
    }
    console.log(JSON.stringify({ name: testCase.name, ...verdict }));
  }
}

const commands = { serve, client, decode };
if (!commands[command]) {
  console.error('usage: mppx.mjs serve <api base> <secret key> <network id> | client <url> <issue-spt cmd...> | decode');
  process.exit(2);
}
await commands[command](args);
