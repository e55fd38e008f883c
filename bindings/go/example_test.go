package bitcask_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"slices"
	"time"

	bitcask "github.com/libbitcask/libbitcask/bindings/go"
)

func Example() {
	dir, _ := os.MkdirTemp("", "bitcask-example")
	defer os.RemoveAll(dir)

	db, err := bitcask.Open(dir, bitcask.WithSync(bitcask.SyncAlways))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	if err := db.Put([]byte("greeting"), []byte("hello")); err != nil {
		log.Fatal(err)
	}
	v, err := db.Get([]byte("greeting"))
	fmt.Println(string(v), err)

	_, err = db.Get([]byte("nope"))
	fmt.Println(errors.Is(err, bitcask.ErrNotFound), err)

	var e *bitcask.Error
	if err := db.Put(nil, nil); errors.As(err, &e) {
		fmt.Println(e.Op, bitcask.CodeName(e.Code), e.Msg)
	}
	// Output:
	// hello <nil>
	// true bitcask: get: key not found (BC_NOT_FOUND)
	// put BC_INVALID_ARGUMENT key must not be empty
}

func ExampleDB_Iter() {
	dir, _ := os.MkdirTemp("", "bitcask-example")
	defer os.RemoveAll(dir)
	db, _ := bitcask.Open(dir)
	defer db.Close()
	for _, k := range []string{"b", "a", "c"} {
		db.Put([]byte(k), []byte("value of "+k))
	}

	var keys []string
	it := db.Iter()
	for k, v := range it.All() {
		keys = append(keys, string(k)+"="+string(v))
	}
	if err := it.Err(); err != nil {
		log.Fatal(err)
	}
	slices.Sort(keys) // iteration order is unspecified
	fmt.Println(keys)
	// Output: [a=value of a b=value of b c=value of c]
}

func ExampleDB_Batch() {
	dir, _ := os.MkdirTemp("", "bitcask-example")
	defer os.RemoveAll(dir)
	db, _ := bitcask.Open(dir)
	defer db.Close()
	db.Put([]byte("from"), []byte("100"))

	b := db.Batch()
	defer b.Close()
	b.Put([]byte("from"), []byte("70"))
	b.Put([]byte("to"), []byte("30"))
	b.PutWithTTL([]byte("receipt"), []byte("moved 30"), time.Hour)
	fmt.Println(b.Len(), b.Commit())

	from, _ := db.Get([]byte("from"))
	to, _ := db.Get([]byte("to"))
	fmt.Println(string(from), string(to))
	// Output:
	// 3 <nil>
	// 70 30
}

func ExampleDB_OpenValue() {
	dir, _ := os.MkdirTemp("", "bitcask-example")
	defer os.RemoveAll(dir)
	db, _ := bitcask.Open(dir)
	defer db.Close()
	db.Put([]byte("doc"), []byte("a large value, streamed in pieces\n"))

	v, err := db.OpenValue([]byte("doc"))
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	fmt.Println(v.Size())
	io.Copy(os.Stdout, v) // through a 256 KiB buffer, whatever the size
	// Output:
	// 34
	// a large value, streamed in pieces
}

func ExampleDB_GetInto() {
	dir, _ := os.MkdirTemp("", "bitcask-example")
	defer os.RemoveAll(dir)
	db, _ := bitcask.Open(dir)
	defer db.Close()
	db.Put([]byte("k"), []byte("twelve bytes"))

	buf := make([]byte, 4)
	n, err := db.GetInto([]byte("k"), buf)
	if errors.Is(err, bitcask.ErrBufferTooSmall) {
		buf = make([]byte, n) // n is the length needed
		n, err = db.GetInto([]byte("k"), buf)
	}
	fmt.Println(n, err, string(buf[:n]))
	// Output: 12 <nil> twelve bytes
}
