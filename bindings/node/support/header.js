'use strict';

// A small reader of include/bitcask.h (as cbindgen writes it) for test/header.test.js:
// its #defines, its function prototypes with their doc comments, its opaque types, and
// the range of values a function's documentation states for a parameter.

const fs = require('fs');
const path = require('path');

const HEADER = path.resolve(__dirname, '..', '..', '..', 'include', 'bitcask.h');

/** 'struct bc_db  **' -> 'bc_db**'; 'const uint8_t *' -> 'const uint8_t*'. */
function normType(t) {
  return t.replace(/\bstruct\s+/g, '').replace(/\s*\*\s*/g, '*').replace(/\s+/g, ' ').trim();
}

/** 'int32_t bc_put(bc_db *db, size_t n)' -> { name, ret, params: [{ type, name }] }. */
function parsePrototype(text) {
  const m = /^([\s\S]*?)\b(bc_\w+)\s*\(([\s\S]*)\)\s*;?\s*$/.exec(text.trim());
  if (!m) throw new Error(`not a prototype: ${text}`);
  const params = m[3].trim() === 'void' ? [] : m[3].split(',').map((p) => {
    const pm = /^([\s\S]*?)(\w+)\s*$/.exec(p.trim());
    return { type: normType(pm[1]), name: pm[2] };
  });
  return { name: m[2], ret: normType(m[1]), params };
}

function docText(comment) {
  return comment.split('\n').map((l) => l.replace(/^\s*\*\s?/, '')).join(' ').replace(/\s+/g, ' ').trim();
}

function readHeader(file = HEADER) {
  const text = fs.readFileSync(file, 'utf8');
  const defines = new Map();
  for (const m of text.matchAll(/^#define (BC_\w+) (.+)$/gm)) {
    const v = m[2].trim();
    defines.set(m[1], /^-?\d+$/.test(v) ? BigInt(v) : JSON.parse(v));
  }
  const functions = new Map();
  for (const m of text.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*([^;{}#/]*?\bbc_\w+\s*\([^;{}]*\));/g)) {
    const fn = parsePrototype(m[2]);
    fn.doc = docText(m[1]);
    functions.set(fn.name, fn);
  }
  const opaques = [...text.matchAll(/^typedef struct (\w+) \1;$/gm)].map((m) => m[1]);
  return { file, defines, functions, opaques };
}

const TYPE_RANGES = {
  uint32_t: [0n, 2n ** 32n - 1n],
  uint64_t: [0n, 2n ** 64n - 1n],
  size_t: [0n, 2n ** 64n - 1n], // 64-bit platforms only (native.js checks)
  int32_t: [-(2n ** 31n), 2n ** 31n - 1n],
};

/**
 * The range [min, max] of `param` of function `fn`: its C type's, narrowed by what the
 * documentation says about it ("from 4096 to 4294967295", "(0..=100", "at least 1",
 * "`key`: 1 to `BC_MAX_KEY_LEN` bytes"). The sentences considered are those naming the
 * parameter (or, for `x_len`, `x`), or the whole comment when the function has a single
 * integer parameter.
 */
function statedRange(header, fnName, param) {
  const fn = header.functions.get(fnName);
  if (!fn) throw new Error(`${fnName} is not in ${header.file}`);
  const p = fn.params.find((q) => q.name === param);
  if (!p) throw new Error(`${fnName} has no parameter ${param}`);
  const typeRange = TYPE_RANGES[p.type];
  if (!typeRange) throw new Error(`${fnName}(${param}): ${p.type} is not an integer type`);
  let [min, max] = typeRange;
  const names = [`\`${param}\``];
  if (param.endsWith('_len')) names.push(`\`${param.slice(0, -4)}\``);
  const sentences = fn.doc.split(/(?<=\.)\s+(?=[A-Z`])/);
  let text = sentences.filter((s) => names.some((n) => s.includes(n))).join(' ');
  const integerParams = fn.params.filter((q) => TYPE_RANGES[q.type]);
  if (text === '' && integerParams.length === 1) text = fn.doc;
  const value = (s) => (/^\d+$/.test(s) ? BigInt(s) : header.defines.get(s));
  let m;
  if ((m = /from (\d+) to (\d+)/.exec(text))) [min, max] = [value(m[1]), value(m[2])];
  else if ((m = /\b(\d+)\.\.=(\d+)/.exec(text))) [min, max] = [value(m[1]), value(m[2])];
  else if ((m = /(\d+) to `(BC_\w+)`/.exec(text))) [min, max] = [value(m[1]), value(m[2])];
  if ((m = /at least (\d+)/.exec(text))) min = value(m[1]);
  return [min, max];
}

module.exports = { HEADER, readHeader, parsePrototype, normType, statedRange, TYPE_RANGES };
