'use strict';

// Safety nets: native handles whose JS object is garbage-collected without being closed.
// Each registry holds a small "cell" ({ h, native, ... }) that does not reference the JS
// object, so the object stays collectable.

const dbRegistry = new FinalizationRegistry((cell) => {
  if (cell.h === null) return;
  const h = cell.h;
  cell.h = null;
  cell.native.f.close(h);
  process.emitWarning(
    `a bitcask store (${cell.path}) was garbage-collected without close(); it has been closed now. `
      + 'Call close() to release its lock deterministically.',
    { code: 'BITCASK_UNCLOSED' },
  );
});

function freer(method) {
  return new FinalizationRegistry((cell) => {
    if (cell.h === null) return;
    const h = cell.h;
    cell.h = null;
    cell.native[method](h);
  });
}
const iterRegistry = freer('iterFree');
const batchRegistry = freer('batchFree');
const valueRegistry = freer('valueClose');

module.exports = { dbRegistry, iterRegistry, batchRegistry, valueRegistry };
