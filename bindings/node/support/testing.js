'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const roots = [];

/** A fresh, empty directory path (not created) under a per-process temp root. */
function tmpdir(name = 'db') {
  if (roots.length === 0) {
    roots.push(fs.mkdtempSync(path.join(os.tmpdir(), 'bitcask-node-test-')));
    process.on('exit', () => {
      for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
    });
  }
  return path.join(roots[0], `${name}-${process.pid}-${Math.random().toString(36).slice(2)}`);
}

const PKG = path.resolve(__dirname, '..');

/** The package's files (package.json "files" but the optional bundled library). */
const PACKAGE_FILES = ['package.json', 'README.md', ...require('../package.json').files.filter((f) => !f.startsWith('lib/'))];

module.exports = { tmpdir, PKG, PACKAGE_FILES };
