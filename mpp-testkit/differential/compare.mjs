#!/usr/bin/env node
// Differential test of Link's stripe challenge decoding (mpp-wire, the oracle)
// against an independent implementation: the npm package mppx.
//
// Reads JSON Lines on stdin, one case per line:
//   {"name": "...", "values": ["<WWW-Authenticate value>", ...],
//    "oracle": {"outcome": "accept", "id": "...", "network_id": "...", "intent": "..."}
//            | {"outcome": "reject", "code": "...", "field": "..."}}
// (mpp-testkit's `generate`), or the corpus format of `mpp-testkit corpus`:
// "headers" or "headers_base64" (bytes that are not UTF-8) and "expect".
// Field values are bytes on the wire: each is handed to mppx as the Latin-1
// reading of its bytes (RFC 9110 §5.5), as Node's fetch reads a header and as
// mpp-wire's decode_field_value does. Accepted cases also compare `amount`,
// `currency` and `credential_header` when the oracle gives them.
// parses the values with mppx's `Challenge.deserializeList`, applies Link's
// selection rule to what mppx returns, compares with the oracle and prints a
// summary. Disagreements are findings, not failures: the exit code is 0 unless
// the harness itself broke (unreadable input, mppx missing).
//
// Usage: node compare.mjs [--summary FILE] [--cases FILE] [--examples-width N] < cases.jsonl
// (--cases writes one JSON line per case: name, verdicts and category.)

import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const PAYABLE_INTENTS = ['charge', 'session'];

function parseArgs(argv) {
  const args = { summary: null, cases: null, width: 400 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--summary') args.summary = argv[++i];
    else if (arg === '--cases') args.cases = argv[++i];
    else if (arg === '--examples-width') args.width = Number(argv[++i]);
    else if (arg === '-h' || arg === '--help') {
      console.log('usage: node compare.mjs [--summary FILE] [--cases FILE] [--examples-width N] < cases.jsonl');
      process.exit(0);
    } else {
      throw new Error(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  if (args.summary === undefined) throw new Error('--summary needs a file name');
  if (args.cases === undefined) throw new Error('--cases needs a file name');
  return args;
}

/** Shortens an mppx error message to a category: no values, no positions. */
function describeError(error) {
  if (Array.isArray(error?.issues)) {
    const issues = error.issues.map((issue) => {
      const path = issue.path?.length ? issue.path.join('.') : '(root)';
      const what = issue.format ? `${issue.code} ${issue.format}` : issue.code;
      return `${path}: ${what}`;
    });
    return `schema: ${[...new Set(issues)].join('; ')}`;
  }
  const message = String(error?.message ?? error).split('\n')[0];
  if (error?.name === 'SyntaxError' && /JSON/.test(message)) return 'request is not JSON';
  return message
    .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
    .replace(/\b\d+\b/g, 'N');
}

/** mppx's view of the values, with Link's selection rule applied to it. */
function mppxOutcome(Challenge, values) {
  // RFC 9110 §5.3: several field lines of a list-based field combine into one
  // value joined by commas; this is also what fetch's `Headers.get` returns,
  // which is how mppx's own clients read a 402.
  const combined = values.join(', ');
  let challenges;
  try {
    challenges = Challenge.deserializeList(combined);
  } catch (error) {
    const reason = describeError(error);
    if (reason === 'No Payment schemes found.') {
      return { outcome: 'reject', code: 'no_payment_challenge' };
    }
    return { outcome: 'reject', code: 'mppx_error', reason };
  }
  const stripe = challenges.find(
    (c) => c.method === 'stripe' && PAYABLE_INTENTS.includes(c.intent),
  );
  if (!stripe) return { outcome: 'reject', code: 'no_stripe_challenge' };

  // Link's rules for the stripe request (as mpp-wire's validate_stripe_request).
  const request = stripe.request;
  const invalid = (field, reason) => ({ outcome: 'reject', code: 'invalid_field', field, reason });
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    return invalid('request', 'not a JSON object');
  }
  const { amount, currency } = request;
  if (amount === undefined) return invalid('request.amount', 'missing');
  if (typeof amount !== 'string') return invalid('request.amount', `a ${typeof amount}`);
  if (!/^[0-9]+$/.test(amount)) return invalid('request.amount', 'not an integer string');
  if (currency === undefined) return invalid('request.currency', 'missing');
  if (typeof currency !== 'string') return invalid('request.currency', `a ${typeof currency}`);
  if (currency === '') return invalid('request.currency', 'empty');
  const nested = request.methodDetails?.networkId;
  const networkId = typeof nested === 'string' ? nested : request.networkId;
  if (typeof networkId !== 'string' || networkId === '') {
    return invalid('request.methodDetails.networkId', 'missing');
  }
  const header = Challenge.credentialHeader(stripe);
  return {
    outcome: 'accept',
    id: stripe.id,
    network_id: networkId,
    intent: stripe.intent,
    amount,
    currency,
    credential_header: header.toLowerCase() === 'authorization' ? null : header,
    challenge: stripe,
  };
}

/**
 * mppx's own credential for an accepted challenge must carry the id back and,
 * when the oracle gives the `request` as written on the wire, echo it
 * unchanged (the challenge id is an HMAC over the wire form).
 */
function credentialRoundTrip(Credential, challenge, wireRequest) {
  try {
    const header = Credential.serialize({ challenge, payload: { spt: 'spt_x' } });
    const parsed = Credential.deserialize(header);
    if (parsed.challenge.id !== challenge.id) return 'credential echoes another id';
    if (parsed.payload?.spt !== 'spt_x') return 'credential loses the spt';
    if (typeof wireRequest === 'string') {
      const json = Buffer.from(header.slice('Payment '.length), 'base64url').toString('utf8');
      const echoed = JSON.parse(json).challenge.request;
      if (echoed !== wireRequest) return 'credential echoes a re-encoded request, not the wire form';
    }
    return null;
  } catch (error) {
    return `credential round trip throws: ${describeError(error)}`;
  }
}

/** The category of a case, or null when mppx and the oracle agree. */
function classify(oracle, mppx) {
  if (oracle.outcome === 'accept' && mppx.outcome === 'accept') {
    const differs = ['id', 'network_id', 'intent', 'amount', 'currency', 'credential_header']
      .filter((k) => k in oracle || k === 'credential_header')
      .filter((k) => (oracle[k] ?? null) !== (mppx[k] ?? null));
    return differs.length ? `both accept, ${differs.join(' and ')} differ` : null;
  }
  if (oracle.outcome === 'accept') {
    return `oracle accepts, mppx rejects: ${mppx.code}${mppx.field ? ` ${mppx.field}` : ''}${mppx.reason && mppx.code === 'mppx_error' ? ` (${mppx.reason})` : ''}`;
  }
  const oracleReason = `${oracle.code}${oracle.field ? ` ${oracle.field}` : ''}`;
  if (mppx.outcome === 'accept') return `oracle rejects (${oracleReason}), mppx accepts`;
  // Both reject. mppx's own errors name no Link code: count them as agreement
  // on the outcome (tallied apart); a Link code from mppx's view must match.
  if (mppx.code === 'mppx_error') return null;
  const mppxReason = `${mppx.code}${mppx.field ? ` ${mppx.field}` : ''}`;
  return mppxReason === oracleReason ? null : `both reject, for other reasons: oracle ${oracleReason}, mppx ${mppxReason}`;
}

/** The field values of a case, each as the Latin-1 reading of its bytes. */
function wireValues(testCase) {
  const isStrings = (a) => Array.isArray(a) && a.every((v) => typeof v === 'string');
  const text = testCase.values ?? testCase.headers;
  if (isStrings(text)) return text.map((v) => Buffer.from(v, 'utf8').toString('latin1'));
  if (isStrings(testCase.headers_base64)) {
    return testCase.headers_base64.map((v) => Buffer.from(v, 'base64').toString('latin1'));
  }
  return null;
}

function clip(text, width) {
  return text.length > width ? `${text.slice(0, width)}… (${text.length} chars)` : text;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const here = new URL('.', import.meta.url);
  const mppxVersion = JSON.parse(
    readFileSync(new URL('node_modules/mppx/package.json', here), 'utf8'),
  ).version;
  const { Challenge, Credential } = await import('mppx');

  const summary = {
    mppx_version: mppxVersion,
    node_version: process.version,
    total: 0,
    agreements: 0,
    disagreements: 0,
    agreements_by_oracle_outcome: { accept: 0, reject: 0 },
    // Both reject, mppx with an error of its own (no Link code to compare).
    reject_agreements_unattributed: 0,
    credential_round_trip_failures: 0,
    // Both reject: how often each oracle reason met each mppx reason.
    reject_pairs: {},
    categories: {},
  };
  const record = (category, example) => {
    const entry = (summary.categories[category] ??= { count: 0, example });
    entry.count++;
  };

  const perCase = [];
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  let lineNo = 0;
  for await (const line of lines) {
    lineNo++;
    if (!line.trim()) continue;
    let testCase;
    try {
      testCase = JSON.parse(line);
    } catch (error) {
      throw new Error(`stdin line ${lineNo} is not JSON: ${error.message}`);
    }
    const { name } = testCase;
    const oracle = testCase.oracle ?? testCase.expect;
    const values = wireValues(testCase);
    if (!values) {
      throw new Error(
        `stdin line ${lineNo}: "values", "headers" or "headers_base64" must be an array of strings`,
      );
    }
    if (!oracle || !['accept', 'reject'].includes(oracle.outcome)) {
      throw new Error(`stdin line ${lineNo}: "oracle.outcome" must be accept or reject`);
    }
    summary.total++;

    const mppx = mppxOutcome(Challenge, values);
    if (mppx.outcome === 'accept') {
      const problem = credentialRoundTrip(Credential, mppx.challenge, oracle.request);
      if (problem) {
        summary.credential_round_trip_failures++;
        record(`mppx ${problem}`, {
          name,
          values: values.map((v) => clip(v, args.width)),
          ...(typeof oracle.request === 'string' && { wire_request: oracle.request }),
        });
      }
      delete mppx.challenge;
    }
    const category = classify(oracle, mppx);
    if (args.cases) perCase.push(JSON.stringify({ name, category, oracle, mppx }));
    if (oracle.outcome === 'reject' && mppx.outcome === 'reject') {
      const key = `${oracle.code}${oracle.field ? ` ${oracle.field}` : ''} / ${mppx.code === 'mppx_error' ? mppx.reason : `${mppx.code}${mppx.field ? ` ${mppx.field}` : ''}`}`;
      summary.reject_pairs[key] = (summary.reject_pairs[key] ?? 0) + 1;
    }
    if (category === null) {
      summary.agreements++;
      summary.agreements_by_oracle_outcome[oracle.outcome]++;
      if (mppx.code === 'mppx_error') summary.reject_agreements_unattributed++;
      continue;
    }
    summary.disagreements++;
    record(category, {
      name,
      values: values.map((v) => clip(v, args.width)),
      oracle,
      mppx,
    });
  }
  if (summary.total === 0) throw new Error('no cases on stdin');

  // Largest categories first, then by name: the same input gives the same output.
  const categories = Object.entries(summary.categories)
    .sort(([a, x], [b, y]) => y.count - x.count || (a < b ? -1 : a > b ? 1 : 0))
    .map(([category, { count, example }]) => ({ category, count, example }));
  summary.categories = categories;
  summary.reject_pairs = Object.fromEntries(
    Object.entries(summary.reject_pairs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );

  const out = [];
  out.push(`mppx ${summary.mppx_version} under Node ${summary.node_version}`);
  out.push(`cases: ${summary.total}`);
  out.push(
    `agreements: ${summary.agreements} (oracle accepts: ${summary.agreements_by_oracle_outcome.accept}, oracle rejects: ${summary.agreements_by_oracle_outcome.reject}, of which mppx threw an error of its own: ${summary.reject_agreements_unattributed})`,
  );
  out.push(`disagreements: ${summary.disagreements}`);
  out.push(`mppx credential round-trip failures: ${summary.credential_round_trip_failures}`);
  out.push('both reject (oracle reason / mppx reason):');
  for (const [pair, count] of Object.entries(summary.reject_pairs)) out.push(`  ${count}\t${pair}`);
  for (const { category, count, example } of categories) {
    out.push('');
    out.push(`[${count}] ${category}`);
    out.push(`    e.g. ${clip(JSON.stringify(example), 4 * args.width)}`);
  }
  console.log(out.join('\n'));
  if (args.cases) writeFileSync(args.cases, perCase.length ? `${perCase.join('\n')}\n` : '');
  if (args.summary) writeFileSync(args.summary, `${JSON.stringify(summary, null, 2)}\n`);
}

main().catch((error) => {
  console.error(`compare.mjs: ${error?.stack ?? error}`);
  process.exit(2);
});
