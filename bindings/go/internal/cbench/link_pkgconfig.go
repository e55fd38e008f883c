//go:build bitcask_pkgconfig

package cbench

// -tags bitcask_pkgconfig: take the compiler and linker flags from
// `pkg-config bitcask` (bitcask.pc, installed by `make install`; set
// PKG_CONFIG_PATH if PREFIX is not a standard location).

/*
#cgo pkg-config: bitcask
*/
import "C"
