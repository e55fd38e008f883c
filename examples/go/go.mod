module github.com/libbitcask/libbitcask/examples/go

go 1.24

require github.com/libbitcask/libbitcask/bindings/go v0.0.0-00010101000000-000000000000

replace github.com/libbitcask/libbitcask/bindings/go => ../../bindings/go
