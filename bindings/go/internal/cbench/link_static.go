//go:build !bitcask_dynamic && !bitcask_pkgconfig

package cbench

// Default linking: the static library libbitcask.a, from the repository's
// target/release (after `cargo build --release`) or from any directory given
// with CGO_LDFLAGS=-L/dir. The Go program needs no libbitcask.so at run time.
// The system libraries are those the Rust standard library needs
// (`cargo rustc -- --print native-static-libs`).

/*
#cgo CFLAGS: -I${SRCDIR}/../../../../include
#cgo LDFLAGS: -L${SRCDIR}/../../../../target/release -Wl,-Bstatic -lbitcask -Wl,-Bdynamic -lgcc_s -lutil -lrt -lpthread -lm -ldl
*/
import "C"
