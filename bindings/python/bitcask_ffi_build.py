"""Build description of the ``bitcask._native`` extension (cffi, API mode).

Used by setup.py through ``cffi_modules``. The C declarations come from the repository's
``include/bitcask.h`` (so the binding follows the header), plus a small C shim compiled into
the extension (``shim.c``) that guards every call on a handle against a concurrent close.

The extension links ``libbitcask.a`` statically: the wheel holds one shared object and needs
no libbitcask.so, rpath or loader setup at run time. ``BITCASK_LIB_DIR`` names a directory
that already holds ``libbitcask.a`` (for example the checkout's ``target/release`` after
``cargo build --release``); without it setup.py runs cargo first.
"""

import os
import re
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
HEADER = REPO / "include" / "bitcask.h"
SHIM = HERE / "shim.c"


def lib_dir() -> Path:
    env = os.environ.get("BITCASK_LIB_DIR")
    return Path(env).resolve() if env else REPO / "target" / "release"


def header_cdef(text: str) -> str:
    """The header as cffi's cdef accepts it: no comments, no preprocessor lines (integer
    #defines kept), no C++ guard."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    out = []
    skipping = False
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("#ifdef __cplusplus"):
            skipping = True
            continue
        if skipping:
            if s.startswith("#endif"):
                skipping = False
            continue
        if s.startswith("#"):
            m = re.match(r"#define\s+(BC_\w+)\s+(-?\d+)\s*$", s)
            if m:
                out.append(f"#define {m.group(1)} {m.group(2)}")
            continue
        out.append(line)
    return "\n".join(out)


# Declarations of shim.c (kept beside it: shim.c's comment says what each one does).
SHIM_CDEF = """
#define BCPY_CLOSED -1
#define BCPY_NOMEM -2
typedef struct bcpy_db bcpy_db;
typedef struct bcpy_buf { char *data; size_t len; size_t cap; } bcpy_buf;
typedef struct bcpy_kv { const char *key; size_t key_len; const char *val; size_t val_len; } bcpy_kv;
typedef struct bcpy_versioned { uint64_t expires_at_ms; uint64_t version; } bcpy_versioned;

int32_t bcpy_open(const char *path, const bc_options *opts, bcpy_db **out);
int32_t bcpy_close(bcpy_db *h);
void bcpy_release(bcpy_db *h);
bool bcpy_is_closed(bcpy_db *h);

bcpy_buf *bcpy_buf_new(void);
void bcpy_buf_free(bcpy_buf *b);
void bcpy_buf_trim(bcpy_buf *b);

int32_t bcpy_get(bcpy_db *h, const char *k, size_t kl, bcpy_buf *out);
#define BCPY_STATUS_BASE 100
#define BCPY_SCRATCH 65536
int64_t bcpy_get_small(bcpy_db *h, const char *k, size_t kl, char *scratch);
int64_t bcpy_get_many(bcpy_db *h, const char *keys, const size_t *klens, size_t n, size_t *state, char *buf, size_t cap, int64_t *lens);
int64_t bcpy_get_into_len(bcpy_db *h, const char *k, size_t kl, char *buf, size_t cap);
int32_t bcpy_get_versioned(bcpy_db *h, const char *k, size_t kl, bcpy_buf *out, bcpy_versioned *meta);
int32_t bcpy_get_version(bcpy_db *h, const char *k, size_t kl, uint64_t *version_out);
int32_t bcpy_put(bcpy_db *h, const char *k, size_t kl, const char *v, size_t vl);
int32_t bcpy_put_ttl(bcpy_db *h, const char *k, size_t kl, const char *v, size_t vl, uint64_t ttl_ms);
int32_t bcpy_put_expiring(bcpy_db *h, const char *k, size_t kl, const char *v, size_t vl, uint64_t at_ms);
int32_t bcpy_delete(bcpy_db *h, const char *k, size_t kl);
int32_t bcpy_sync(bcpy_db *h);
int32_t bcpy_merge(bcpy_db *h);
int32_t bcpy_needs_merge(bcpy_db *h, bool *out);
int32_t bcpy_checkpoint(bcpy_db *h, const char *dir);
int32_t bcpy_get_stats(bcpy_db *h, bc_stats *out);
int32_t bcpy_get_file_stats(bcpy_db *h, bc_file_stat **files_out, size_t *count_out);
int32_t bcpy_value_open(bcpy_db *h, const char *k, size_t kl, bc_value **out, uint64_t *len_out);
int32_t bcpy_value_read(const bc_value *v, uint64_t offset, char *buf, size_t len, size_t *n_out);
int32_t bcpy_iter_new(bcpy_db *h, bc_iter **out);
int32_t bcpy_iter_next(bc_iter *it, bcpy_kv *out, bool with_value);
int32_t bcpy_batch_put(bc_batch *b, const char *k, size_t kl, const char *v, size_t vl);
int32_t bcpy_batch_put_ttl(bc_batch *b, const char *k, size_t kl, const char *v, size_t vl, uint64_t ttl_ms);
int32_t bcpy_batch_put_expiring(bc_batch *b, const char *k, size_t kl, const char *v, size_t vl, uint64_t at_ms);
int32_t bcpy_batch_delete(bc_batch *b, const char *k, size_t kl);
int32_t bcpy_batch_commit(bcpy_db *h, bc_batch *b);
int32_t bcpy_batch_commit_if(bcpy_db *h, bc_batch *b, const bc_condition *conds, size_t n);
"""

ffibuilder = FFI()
ffibuilder.cdef(header_cdef(HEADER.read_text()) + SHIM_CDEF)

_lib = lib_dir()
ffibuilder.set_source(
    "bitcask._native",
    SHIM.read_text(),
    include_dirs=[str(REPO / "include")],
    extra_objects=[str(_lib / "libbitcask.a")],
    # What the Rust standard library needs (`cargo rustc -- --print native-static-libs`).
    libraries=["gcc_s", "util", "rt", "pthread", "m", "dl"],
    extra_compile_args=["-std=c11", "-O2"],
    # --exclude-libs keeps libbitcask's symbols private to the extension, so another copy of
    # the library in the process (another binding) is never interposed; --gc-sections and
    # --strip-debug keep the wheel small (the release profile carries debug info).
    extra_link_args=["-Wl,--exclude-libs,ALL", "-Wl,--gc-sections", "-Wl,--strip-debug"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
