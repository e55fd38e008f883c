module github.com/libbitcask/libbitcask/bench/go

go 1.24

require (
	git.mills.io/prologic/bitcask v1.0.2
	github.com/akrylysov/pogreb v0.10.2
	github.com/libbitcask/libbitcask/bindings/go v0.0.0
	github.com/nutsdb/nutsdb v1.0.4
	github.com/rosedblabs/rosedb/v2 v2.3.6
)

require (
	github.com/abcum/lcp v0.0.0-20201209214815-7a3f3840be81 // indirect
	github.com/antlabs/stl v0.0.1 // indirect
	github.com/antlabs/timer v0.0.11 // indirect
	github.com/bwmarrin/snowflake v0.3.0 // indirect
	github.com/gofrs/flock v0.8.1 // indirect
	github.com/google/btree v1.1.2 // indirect
	github.com/hashicorp/golang-lru/v2 v2.0.4 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/plar/go-adaptive-radix-tree v1.0.4 // indirect
	github.com/robfig/cron/v3 v3.0.0 // indirect
	github.com/rosedblabs/wal v1.3.6-0.20230924022528-3202245af020 // indirect
	github.com/sirupsen/logrus v1.8.1 // indirect
	github.com/tidwall/btree v1.6.0 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	github.com/xujiajun/mmap-go v1.0.1 // indirect
	github.com/xujiajun/utils v0.0.0-20220904132955-5f7c5b914235 // indirect
	golang.org/x/exp v0.0.0-20200228211341-fcea875c7e85 // indirect
	golang.org/x/sys v0.15.0 // indirect
)

replace github.com/libbitcask/libbitcask/bindings/go => ../../bindings/go
