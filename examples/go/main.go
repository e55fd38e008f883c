// Command bitcask-server is an HTTP key-value server on libbitcask, after
// Andrew Healey's bitcask-lite. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	bitcask "github.com/libbitcask/libbitcask/bindings/go"
)

func main() {
	err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, nil)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	default:
		fmt.Fprintln(os.Stderr, "bitcask-server:", err)
		os.Exit(1)
	}
}

type config struct {
	addr     string
	dir      string
	sync     bitcask.SyncMode
	maxValue int64
	selftest bool
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("bitcask-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&c.dir, "dir", "bitcask-data", "store directory (created if missing)")
	syncMode := fs.String("sync", "none", "sync mode: none, always or interval")
	fs.Int64Var(&c.maxValue, "max-value", 64<<20, "largest accepted value in bytes (the library's limit is 512 MiB)")
	fs.BoolVar(&c.selftest, "selftest", false, "serve on a free loopback port, send a few requests to itself, print them and exit (0 if all answered as expected)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if c.sync, err = bitcask.ParseSyncMode(*syncMode); err != nil {
		return c, err
	}
	if c.maxValue <= 0 || c.maxValue > int64(bitcask.MaxValueLen) {
		return c, fmt.Errorf("-max-value must be 1..%d", bitcask.MaxValueLen)
	}
	return c, nil
}

// run parses the flags, opens the store, serves until ctx is done or SIGINT or
// SIGTERM arrives, then shuts the HTTP server down gracefully (requests in
// flight finish) and closes the store. ready, if not nil, is called with the
// listening address once requests can be sent.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(addr string)) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	logger := log.New(stderr, "bitcask-server: ", log.LstdFlags)
	db, err := bitcask.Open(cfg.dir, bitcask.WithSync(cfg.sync))
	if err != nil {
		return err
	}
	addr := cfg.addr
	if cfg.selftest {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		db.Close()
		return err
	}
	srv := &http.Server{
		Handler:           (&server{db: db, maxValue: cfg.maxValue, log: logger}).routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          logger,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	logger.Printf("serving %s on %s (libbitcask %s)", cfg.dir, url, bitcask.Version())
	if ready != nil {
		ready(ln.Addr().String())
	}

	var runErr error
	if cfg.selftest {
		runErr = selfTest(ctx, url, stdout)
	} else {
		select {
		case <-ctx.Done():
			logger.Printf("shutting down")
		case runErr = <-served:
		}
	}

	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && runErr == nil {
		runErr = fmt.Errorf("shutdown: %w", err)
	}
	if err := db.Close(); err != nil && runErr == nil {
		runErr = fmt.Errorf("closing the store: %w", err)
	}
	if errors.Is(runErr, http.ErrServerClosed) {
		runErr = nil
	}
	logger.Printf("store closed")
	return runErr
}
