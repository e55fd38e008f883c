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
	"strconv"
	"syscall"
	"time"

	bitcask "github.com/libbitcask/libbitcask/bindings/go"
)

func main() {
	err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, nil)
	var usage usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.As(err, &usage):
		os.Exit(2) // the message and the usage are printed already
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

// A usageError is a mistake on the command line. As with the flag package's
// flag.ExitOnError, the message and the usage have been printed to stderr and
// main exits with status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// parseFlags parses and checks the command line; it touches neither the
// network nor the disk.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	c := config{sync: bitcask.SyncNone, maxValue: 64 << 20}
	fs := flag.NewFlagSet("bitcask-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&c.dir, "dir", "bitcask-data", "store `directory` (created if missing)")
	fs.Var(syncFlag{&c.sync}, "sync", "when writes are fsynced, the `mode`: none, always or interval")
	fs.Var(maxValueFlag{&c.maxValue}, "max-value", fmt.Sprintf("largest accepted value, in `bytes`: 1 to %d (%d MiB, the library's limit); a larger body gets 413", bitcask.MaxValueLen, bitcask.MaxValueLen>>20))
	fs.BoolVar(&c.selftest, "selftest", false, "serve on a free loopback port, send a few requests to itself, print them and exit (0 if all answered as expected)")
	if err := fs.Parse(args); err != nil {
		return c, usageError{err} // printed by fs with the usage
	}
	var err error
	switch {
	case fs.NArg() > 0:
		err = fmt.Errorf("unexpected argument %q (bitcask-server takes only flags)", fs.Arg(0))
	case c.dir == "":
		err = errors.New("-dir must not be empty")
	}
	if err != nil {
		fmt.Fprintln(fs.Output(), err)
		fs.Usage()
		return c, usageError{err}
	}
	return c, nil
}

// syncFlag is the -sync flag: a bitcask.SyncMode by name.
type syncFlag struct{ mode *bitcask.SyncMode }

func (f syncFlag) String() string {
	if f.mode == nil { // the flag package's zero value, for the usage
		return ""
	}
	return f.mode.String()
}

func (f syncFlag) Set(s string) error {
	m, err := bitcask.ParseSyncMode(s)
	if err != nil {
		return errors.New("want none, always or interval")
	}
	*f.mode = m
	return nil
}

// maxValueFlag is the -max-value flag: a number of bytes the library accepts
// as a value's length.
type maxValueFlag struct{ n *int64 }

func (f maxValueFlag) String() string {
	if f.n == nil {
		return ""
	}
	return strconv.FormatInt(*f.n, 10)
}

func (f maxValueFlag) Set(s string) error {
	n, err := strconv.ParseInt(s, 0, 64)
	if err != nil || n < 1 || n > bitcask.MaxValueLen {
		return fmt.Errorf("want a number of bytes from 1 to %d", bitcask.MaxValueLen)
	}
	*f.n = n
	return nil
}

// run parses the flags, listens, opens the store, serves until ctx is done or
// SIGINT or SIGTERM arrives, then shuts the HTTP server down gracefully
// (requests in flight finish) and closes the store. ready, if not nil, is
// called with the listening address once requests can be sent.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(addr string)) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	logger := log.New(stderr, "bitcask-server: ", log.LstdFlags)
	addr := cfg.addr
	if cfg.selftest {
		addr = "127.0.0.1:0"
	}
	// Listen first: an address in use or not ours fails here, before the
	// store's directory is created or its lock taken.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	db, err := bitcask.Open(cfg.dir, bitcask.WithSync(cfg.sync))
	if err != nil {
		ln.Close()
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
