//go:build bitcask_dynamic && !bitcask_pkgconfig

package cbench

// -tags bitcask_dynamic: link the shared library libbitcask.so. Its SONAME is
// libbitcask.so.0, which the dynamic loader must find at run time: install it
// (`make install` puts it under PREFIX/lib) or point LD_LIBRARY_PATH/-rpath at
// a directory holding libbitcask.so.0. Add -L/-I for an installed copy with
// CGO_LDFLAGS/CGO_CFLAGS.

/*
#cgo CFLAGS: -I${SRCDIR}/../../../../include
#cgo LDFLAGS: -L${SRCDIR}/../../../../target/release -lbitcask -Wl,-rpath,${SRCDIR}/../../../../target/release
*/
import "C"
